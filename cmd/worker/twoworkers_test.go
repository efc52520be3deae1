package main

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// TestTwoWorkersOneHost starts two workers with the default flags on one
// host, as the README's fleet example does with `worker &` twice: both
// serve, each on its own HTTP address, and each logs the address it took.
func TestTwoWorkersOneHost(t *testing.T) {
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	env := map[string]string{"BITQUEUE_REDIS_URL": r.URL, "BITQUEUE_QUEUE": queue, "BITQUEUE_PREFIX": prefix, "BITQUEUE_CACHE_BITS": "4"}
	getenv := func(k string) string { return env[k] }
	var logs [2]redistest.LogBuffer
	var done [2]chan error
	var addrs [2]string
	for i := range 2 {
		done[i] = make(chan error, 1)
		go func() { done[i] <- run(ctx, nil, getenv, &logs[i], &logs[i]) }()
		// The second starts once the first holds its port, so that the
		// first free port is really taken.
		addrs[i] = waitFor(t, &logs[i], regexp.MustCompile(`msg="http listening" addr=(\S+)`), done[i])
	}
	require.NotEqual(t, addrs[0], addrs[1], "each worker has its own address")
	for i, addr := range addrs {
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		url := "http://127.0.0.1:" + port + "/readyz"
		waitFor(t, &logs[i], regexp.MustCompile(`msg=serving`), done[i])
		resp, err := http.Get(url)
		require.NoError(t, err, "worker %d at %s", i, addr)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "worker %d at %s is ready", i, addr)
	}

	cancel()
	for i := range 2 {
		select {
		case err := <-done[i]:
			require.NoError(t, err, logs[i].String())
		case <-time.After(30 * time.Second):
			require.FailNow(t, "worker did not stop", "worker %d:\n%s", i, logs[i].String())
		}
	}
}

// waitFor waits until the log holds a match of re and returns its first
// group, failing the test if the worker returns first or nothing matches
// within a minute.
func waitFor(t *testing.T, log *redistest.LogBuffer, re *regexp.Regexp, done <-chan error) string {
	t.Helper()
	deadline := time.After(time.Minute)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(log.String()); m != nil {
			if len(m) > 1 {
				return m[1]
			}
			return m[0]
		}
		select {
		case err := <-done:
			require.FailNow(t, "worker stopped", "err %v; log:\n%s", err, log.String())
		case <-deadline:
			require.FailNow(t, "no "+re.String()+" in the log", log.String())
		case <-tick.C:
		}
	}
}
