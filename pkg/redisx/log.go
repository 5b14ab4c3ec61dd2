package redisx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// logRepeatWindow is how long one go-redis message is not repeated: while
// Redis is away its pool prints the same dial failure for every attempt,
// many times a second, which buried everything else in the log.
const logRepeatWindow = 10 * time.Second

var routeLogs sync.Once

// RouteClientLogs sends go-redis's own messages (pool and dial trouble) to
// slog as warnings, each text at most once per logRepeatWindow with the
// count it stood for, instead of go-redis's plain stderr logger.
func RouteClientLogs() {
	routeLogs.Do(func() { redis.SetLogger(&slogLogger{last: map[string]*seen{}}) })
}

type seen struct {
	at    time.Time
	count int
}

type slogLogger struct {
	mu   sync.Mutex
	last map[string]*seen
}

func (l *slogLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	now := time.Now()
	l.mu.Lock()
	s := l.last[msg]
	if s != nil && now.Sub(s.at) < logRepeatWindow {
		s.count++
		l.mu.Unlock()
		return
	}
	repeated := 0
	if s != nil {
		repeated = s.count
	}
	if len(l.last) > 1000 { // messages carry addresses and counts; keep the map small
		clear(l.last)
	}
	l.last[msg] = &seen{at: now}
	l.mu.Unlock()
	slog.WarnContext(ctx, "redis client", "detail", msg, "repeated_before", repeated)
}
