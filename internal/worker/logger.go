package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// asynqLogger routes asynq's own log lines into slog. Its warning that a task
// is archived is logged at debug level: Serve's error handler has already
// logged that failure, with its cause. asynq exposes nothing but the line's
// wording for it; TestAsynqRetryExhaustedWording pins that wording.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) log(level slog.Level, args []any) {
	msg := fmt.Sprint(args...)
	if level == slog.LevelWarn && strings.HasPrefix(msg, "Retry exhausted for task id=") {
		level = slog.LevelDebug
	}
	a.l.Log(context.Background(), level, msg, "component", "asynq")
}

func (a asynqLogger) Debug(args ...any) { a.log(slog.LevelDebug, args) }
func (a asynqLogger) Info(args ...any)  { a.log(slog.LevelInfo, args) }
func (a asynqLogger) Warn(args ...any)  { a.log(slog.LevelWarn, args) }
func (a asynqLogger) Error(args ...any) { a.log(slog.LevelError, args) }
func (a asynqLogger) Fatal(args ...any) {
	a.log(slog.LevelError, args)
	os.Exit(1)
}
