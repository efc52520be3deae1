package worker_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/redisconn"
	"bitqueue/internal/worker"
)

// The worker's own state is a bitstring cache (see cmd/worker), but any state
// plugs in the same way. Here it is a lookup table from country codes to
// names, parsed once per process and shared by every handler invocation.

// countries maps ISO 3166-1 alpha-2 codes to country names.
type countries map[string]string

// countryCSV is the table the hook parses; a real one would come from a file
// or a service, which is why it belongs in a startup hook.
const countryCSV = `code,name
BR,Brazil
FR,France
JP,Japan
NZ,New Zealand
`

// loadCountries returns the startup hook that builds the table from src.
func loadCountries(src string) worker.HookFunc[countries] {
	return func(context.Context) (countries, error) {
		rows, err := csv.NewReader(strings.NewReader(src)).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("country table: %w", err)
		}
		if len(rows) < 2 {
			return nil, errors.New("country table is empty")
		}
		table := make(countries, len(rows)-1)
		for _, row := range rows[1:] {
			table[row[0]] = row[1]
		}
		return table, nil
	}
}

// typeCountryName is the task type: name the country whose code is the
// payload.
const typeCountryName = "country:name"

// countryHandler names countries with the table the hook built. An unknown
// code is a permanent failure.
type countryHandler struct {
	names countries
	emit  func(code, name string)
}

func (h *countryHandler) ProcessTask(_ context.Context, t *asynq.Task) error {
	code := string(t.Payload())
	name, ok := h.names[code]
	if !ok {
		return fmt.Errorf("unknown country code %q: %w", code, asynq.SkipRetry)
	}
	h.emit(code, name)
	return nil
}

// This example wires a second kind of state, a lookup table, through a
// HookFunc and a handler constructor. It does by hand what Serve does once per
// process before pulling the first task — call the hook, pass its state to
// newHandler — then gives the handler three tasks directly.
func ExampleHookFunc() {
	ctx := context.Background()
	hook := loadCountries(countryCSV)
	newHandler := func(names countries) asynq.Handler {
		return &countryHandler{names: names, emit: func(code, name string) {
			fmt.Printf("%s is %s\n", code, name)
		}}
	}

	table, err := hook.Start(ctx)
	if err != nil {
		fmt.Println("startup hook:", err)
		return
	}
	h := newHandler(table)
	for _, code := range []string{"JP", "NZ", "XX"} {
		if err := h.ProcessTask(ctx, asynq.NewTask(typeCountryName, []byte(code))); err != nil {
			fmt.Println("error:", err)
		}
	}
	// Output:
	// JP is Japan
	// NZ is New Zealand
	// error: unknown country code "XX": skip retry for the task
}

// This example serves the country tasks of a Redis queue with the same hook
// and handler until SIGTERM. (It needs Redis, so it is compiled, not run.)
func ExampleServe() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	const url = redisconn.DefaultURL
	db, err := redisconn.Setup{URL: url, PoolSize: 18}.Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer db.Close()

	err = worker.Serve(ctx, worker.Config{
		RDB:         db,
		RedisURL:    url,
		RedisWait:   30 * time.Second,
		Queues:      []string{"countries"},
		Concurrency: 8,
	}, loadCountries(countryCSV), func(names countries) asynq.Handler {
		return &countryHandler{names: names, emit: func(code, name string) {
			fmt.Printf("%s is %s\n", code, name)
		}}
	})
	if err != nil {
		// The hook failed or Redis never answered, and no task was
		// pulled: a real worker exits 1 here (see cmd/worker).
		fmt.Fprintln(os.Stderr, "worker:", err)
	}
}
