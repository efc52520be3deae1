package worker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/worker"
	"bitqueue/redistest"
)

// TestLookupTableThroughServe runs the example's lookup-table state through
// Serve and Redis end to end: the table is built once, every known code is
// named, and the unknown one is archived rather than retried.
func TestLookupTableThroughServe(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)

	client := asynq.NewClientFromRedisClient(r.Client)
	codes := []string{"BR", "FR", "JP", "NZ", "XX"}
	for _, code := range codes {
		_, err := client.Enqueue(asynq.NewTask(typeCountryName, []byte(code)),
			asynq.Queue(queue), asynq.TaskID("country-"+code), asynq.MaxRetry(3))
		require.NoError(t, err)
	}

	var hookCalls atomic.Int32
	load := loadCountries(countryCSV)
	hook := worker.HookFunc[countries](func(ctx context.Context) (countries, error) {
		hookCalls.Add(1)
		return load(ctx)
	})
	var mu sync.Mutex
	named := map[string]string{}
	newHandler := func(names countries) asynq.Handler {
		return &countryHandler{names: names, emit: func(code, name string) {
			mu.Lock()
			defer mu.Unlock()
			named[code] = name
		}}
	}

	srv := startServe(t, testConfig(t, r, queue, 4), hook, newHandler)
	waitUntil(t, 15*time.Second, "known codes named and the unknown one archived", func() bool {
		info := queueInfo(t, r, queue)
		return info.Archived == 1 && info.Size == 1
	})
	require.NoError(t, srv.stop(t, 15*time.Second))

	require.EqualValues(t, 1, hookCalls.Load(), "hook calls")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string]string{"BR": "Brazil", "FR": "France", "JP": "Japan", "NZ": "New Zealand"}, named)
	archived, err := asynq.NewInspectorFromRedisClient(r.Client).GetTaskInfo(queue, "country-XX")
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStateArchived, archived.State)
	require.Zero(t, archived.Retried, "retries of a permanent failure")
	require.Contains(t, archived.LastErr, `unknown country code "XX"`)
}
