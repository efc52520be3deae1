package peers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// Config describes one run of a peer. The zero value of each optional field
// takes the default given beside it.
type Config struct {
	Peer      string // Celery or Pool
	Python    string // the interpreter; DefaultPython
	RedisURL  string // redis:// URL of the Redis the peer uses as broker and store
	Workers   int    // worker processes, at least 1
	BatchSize int    // integers per batch, 1 to base.MaxBatch
	Numbers   string // path of the integers, decimal, one per line
	// Prefix roots the keys the run writes (its own namespace): the
	// results at base.ResultKey(Prefix, RunID, seq), and Celery's keys
	// under <Prefix>:peer:<RunID>:. Default "bitqueue-peers".
	Prefix    string
	Queue     string        // Celery's queue; "peers-<RunID>"
	RunID     string        // names the run's keys; "<Peer>-<random hex>"
	Timeout   time.Duration // the whole run, workers' start-up included; 10 minutes
	CacheBits int           // the cache holds every integer below 2^CacheBits; 20
	TTL       time.Duration // of each result; base.DefaultTTL
	// KeepResults leaves the results in Redis (until their TTL) for the
	// caller to read; the peer's other keys are deleted either way.
	KeepResults bool
}

func (c Config) withDefaults() Config {
	if c.Python == "" {
		c.Python = DefaultPython
	}
	if c.Prefix == "" {
		c.Prefix = "bitqueue-peers"
	}
	if c.RunID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.RunID = c.Peer + "-" + hex.EncodeToString(b[:])
	}
	if c.Queue == "" {
		c.Queue = "peers-" + c.RunID
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.CacheBits == 0 {
		c.CacheBits = 20
	}
	if c.TTL == 0 {
		c.TTL = base.DefaultTTL
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Peer != Celery && c.Peer != Pool {
		errs = append(errs, fmt.Errorf("peers: Config.Peer %q, want %q or %q", c.Peer, Celery, Pool))
	}
	if _, err := redis.ParseURL(c.RedisURL); err != nil {
		errs = append(errs, fmt.Errorf("peers: Config.RedisURL %q: %w", c.RedisURL, err))
	}
	if c.Workers < 1 || c.Workers > 1024 {
		errs = append(errs, fmt.Errorf("peers: Config.Workers %d, want 1 to 1024", c.Workers))
	}
	if c.BatchSize < 1 || c.BatchSize > base.MaxBatch {
		errs = append(errs, fmt.Errorf("peers: Config.BatchSize %d, want 1 to %d", c.BatchSize, base.MaxBatch))
	}
	if st, err := os.Stat(c.Numbers); err != nil {
		errs = append(errs, fmt.Errorf("peers: Config.Numbers: %w", err))
	} else if !st.Mode().IsRegular() {
		errs = append(errs, fmt.Errorf("peers: Config.Numbers %q is not a regular file", c.Numbers))
	}
	if err := base.CheckPrefix(c.Prefix); err != nil {
		errs = append(errs, fmt.Errorf("peers: Config.Prefix: %w", err))
	} else if strings.ContainsAny(c.Prefix, `*?[]\`) {
		// The run's keys are deleted by pattern.
		errs = append(errs, fmt.Errorf("peers: Config.Prefix %q must not hold any of *?[]\\", c.Prefix))
	}
	if c.Queue == "" || strings.ContainsAny(c.Queue, " \t\r\n") {
		errs = append(errs, fmt.Errorf("peers: Config.Queue %q must be non-empty without spaces", c.Queue))
	}
	if err := base.ValidateRunID(c.RunID); err != nil {
		errs = append(errs, fmt.Errorf("peers: Config.RunID: %w", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("peers: Config.Timeout %s must not be negative", c.Timeout))
	}
	if c.CacheBits < 1 || c.CacheBits > 24 {
		errs = append(errs, fmt.Errorf("peers: Config.CacheBits %d, want 1 to 24", c.CacheBits))
	}
	if c.TTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("peers: Config.TTL %s, want at least 1ms", c.TTL))
	}
	return errors.Join(errs...)
}
