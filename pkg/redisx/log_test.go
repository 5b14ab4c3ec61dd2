package redisx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestClientLogsFoldRepeats(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	l := &slogLogger{last: map[string]*seen{}}
	ctx := context.Background()
	for range 50 {
		l.Printf(ctx, "dial tcp %s: connection refused", "127.0.0.1:1")
	}
	l.Printf(ctx, "another %d", 7)
	if got := strings.Count(buf.String(), "connection refused"); got != 1 {
		t.Fatalf("a repeated message was logged %d times within the window, want once:\n%s", got, buf.String())
	}
	if !strings.Contains(buf.String(), "another 7") {
		t.Fatalf("a different message was folded away:\n%s", buf.String())
	}
	// Once the window passed, the message shows again with what it stood for.
	l.last["dial tcp 127.0.0.1:1: connection refused"].at = time.Now().Add(-logRepeatWindow)
	l.Printf(ctx, "dial tcp %s: connection refused", "127.0.0.1:1")
	if !strings.Contains(buf.String(), "repeated_before=49") {
		t.Fatalf("the next line does not count the 49 folded repeats:\n%s", buf.String())
	}
}
