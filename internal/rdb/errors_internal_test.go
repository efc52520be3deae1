package rdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	oom := errors.New("INTERNAL_ERROR: redis eval error: OOM command not allowed when used memory > 'maxmemory'.")
	tests := []struct {
		name           string
		err            error
		transient, oom bool
	}{
		{"nil", nil, false, false},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true, false},
		{"reset", syscall.ECONNRESET, true, false},
		{"EOF", io.EOF, true, false},
		{"asynq refused", errors.New("UNKNOWN: redis eval error: dial tcp 127.0.0.1:6390: connect: connection refused"), true, false},
		{"asynq EOF", errors.New("INTERNAL_ERROR: redis eval error: EOF"), true, false},
		{"loading", errors.New("redis eval error: LOADING Redis is loading the dataset in memory"), true, false},
		{"readonly", errors.New("READONLY You can't write against a read only replica."), true, false},
		{"pool timeout", errors.New("redis: connection pool timeout"), true, false},
		{"out of memory", oom, false, true},
		{"no permission", errors.New("NOPERM this user has no permissions to run the 'evalsha' command"), false, false},
		{"wrong type", errors.New("WRONGTYPE Operation against a key holding the wrong kind of value"), false, false},
		{"missing result", errors.New("bitqueue:result:EOF:3: result not found"), false, false},
		{"bad result", errors.New(`bitqueue:result:r:3: bad result hash: count "EOF", want 1 to 100000`), false, false},
		{"cancelled", context.Canceled, false, false},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), false, false},
		{"run id looks like EOF", errors.New("run EOF-run is odd"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.transient, IsTransient(tt.err), "IsTransient(%v)", tt.err)
			require.Equal(t, tt.oom, IsOutOfMemory(tt.err), "IsOutOfMemory(%v)", tt.err)
		})
	}
}
