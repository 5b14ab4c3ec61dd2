package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
)

const rebuildUsage = `usage:
  oof rebuild PROJECTOR|all [-restart] [-batch=N] [-pause=DURATION]
      build the projector's read model again from offset 0 into a shadow
      schema while reads keep using the live tables, then swap it in with
      one transaction and print each table's checksum before and after.
      Projectors that mirror into Redis (entities, trending, scores) build
      PostgreSQL only and copy the new tables into Redis at the swap; the
      live fan-outs (live, global) are refused, since replaying them would
      send their events to players again ("all" lists them as skipped).
      A run interrupted (even kill -9) leaves its shadow, which the next
      run resumes; -restart drops it instead.
      -batch: records per transaction (default 5000);
      -pause: sleep after each batch, to spare a busy database.

Connects with the same OOF_* variables as the platform. Progress goes to
standard error, the checksums to standard output. Exit 1 if a rebuild
failed (its shadow stays for the next run).`

// rebuild runs `oof rebuild` (docs/operations.md, Rebuild).
func rebuild(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	restart := fs.Bool("restart", false, "drop a shadow left by an interrupted run instead of resuming it")
	batch := fs.Int("batch", 0, "records per transaction")
	pause := fs.Duration("pause", 0, "sleep after every batch")
	rest, err := parseInterleaved(fs, args)
	if err == nil && len(rest) != 1 {
		err = errors.New("name one projector, or all")
	}
	if err == nil && (*batch < 0 || *pause < 0) {
		err = errors.New("-batch and -pause must not be negative")
	}
	if err != nil {
		return cliUsageError{err.Error(), rebuildUsage}
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newProgressBar(os.Stderr)
	results, err := platform.RebuildOnline(ctx, cfg, rest[0], platform.RebuildOptions{
		BatchMax: *batch, Pause: *pause, Restart: *restart, Progress: bar.update,
	}, newLogger(cfg.LogLevel))
	bar.finish()
	for _, r := range results {
		if r.Skipped != "" {
			fmt.Fprintf(stdout, "%s: skipped: %s\n", r.Projector, r.Skipped)
			continue
		}
		how := "rebuilt"
		if r.Resumed {
			how = "rebuilt (resumed an interrupted run)"
		}
		fmt.Fprintf(stdout, "%s: %s from %d records\n", r.Projector, how, r.Records)
		for _, t := range r.Tables {
			verdict := "identical"
			if !t.Equal() {
				verdict = "DIFFERENT (the old table was not what a replay builds; the new one is)"
			}
			fmt.Fprintf(stdout, "  %s: old %d rows md5 %s, new %d rows md5 %s: %s\n",
				t.Table, t.OldRows, t.OldSum, t.NewRows, t.NewSum, verdict)
		}
	}
	return err
}

// progressBar shows events/s and the ETA: one redrawn line on a terminal,
// a line every few seconds otherwise (logs).
type progressBar struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	start    time.Time
	last     time.Time
	lastProj string
	drawn    bool
}

func newProgressBar(f *os.File) *progressBar {
	st, err := f.Stat()
	return &progressBar{w: f, tty: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (b *progressBar) update(p platform.RebuildProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if p.Projector != b.lastProj {
		if b.drawn && b.tty {
			fmt.Fprintln(b.w)
		}
		b.lastProj, b.start, b.last, b.drawn = p.Projector, now, time.Time{}, false
	}
	every := 5 * time.Second
	if b.tty {
		every = 200 * time.Millisecond
	}
	if now.Sub(b.last) < every && p.Done < p.Total {
		return
	}
	b.last = now
	rate := float64(p.Done) / max(now.Sub(b.start).Seconds(), 0.001)
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(max(p.Total-p.Done, 0)) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Done) / float64(p.Total)
	}
	line := fmt.Sprintf("%s %-8s %d/%d (%.0f%%) %.0f events/s ETA %s", p.Projector, p.Phase, p.Done, p.Total, pct, rate, eta)
	if b.tty {
		const width = 30
		fill := min(int(pct/100*width), width)
		fmt.Fprintf(b.w, "\r[%s%s] %s\033[K", strings.Repeat("#", fill), strings.Repeat(".", width-fill), line)
	} else {
		fmt.Fprintln(b.w, line)
	}
	b.drawn = true
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn && b.tty {
		fmt.Fprintln(b.w)
	}
}
