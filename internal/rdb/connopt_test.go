package rdb_test

import (
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// TestConnOptIsTheRDBsClient checks that what takes the RDB's ConnOpt
// talks to Redis through the RDB's own client, not one of its own.
func TestConnOptIsTheRDBsClient(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	db := rdb.New(r.Client, "")
	require.Same(t, r.Client, db.ConnOpt().MakeRedisClient(), "the RDB's client, not a copy")

	_, err := db.Enqueue(t.Context(), asynq.NewTask("test:noop", nil), asynq.Queue(queue), asynq.TaskID("t1"))
	require.NoError(t, err)
	insp := asynq.NewInspector(db.ConnOpt())
	tasks, err := insp.ListPendingTasks(queue)
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, "t1", tasks[0].ID)
}
