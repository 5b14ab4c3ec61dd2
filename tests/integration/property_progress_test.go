package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/oof-gg/platform/internal/platform"
	entitiesprojector "github.com/oof-gg/platform/projector/entities"
	gamesprojector "github.com/oof-gg/platform/projector/games"
	playersprojector "github.com/oof-gg/platform/projector/players"
	sessionsprojector "github.com/oof-gg/platform/projector/sessions"
	trendingprojector "github.com/oof-gg/platform/projector/trending"
	usersprojector "github.com/oof-gg/platform/projector/users"
	"github.com/oof-gg/platform/tests/harness"
)

// How far the projectors are, and whether they gave up on a record: a
// projector that fails on an event either retries it forever (a stall: its
// offset stops short of the log's end) or dead-letters it (a row in
// projector_dead_letters). Either fails the property.

// projectorTopics is which topics each projector consumes
// (internal/platform.projectors).
func projectorTopics(e *harness.Env) map[string]string {
	return map[string]string{
		usersprojector.Name: e.Topic(platform.TopicUser), gamesprojector.Name: e.Topic(platform.TopicGame),
		sessionsprojector.Name: e.Topic(platform.TopicSession), trendingprojector.Name: e.Topic(platform.TopicSession),
		entitiesprojector.Name: e.Topic(platform.TopicEntity), playersprojector.Name: e.Topic(platform.TopicPlayer),
	}
}

// partitionLag is a projector's position in one partition against the end
// of the log (the high-water mark: the producer is idempotent, not
// transactional, so there are no control records after the last event).
type partitionLag struct {
	projector, topic string
	partition        int32
	next, end        int64
}

func (l partitionLag) String() string {
	return fmt.Sprintf("%s at %s/%d: next offset %d, log end %d (lag %d)", l.projector, l.topic, l.partition, l.next, l.end, l.end-l.next)
}

// projectorLags lists every projector partition that is behind the log.
func projectorLags(ctx context.Context, e *harness.Env) ([]partitionLag, error) {
	next := map[[2]string]map[int32]int64{}
	rows, err := e.Pool.Query(ctx, `SELECT projector, topic, partition, next_offset FROM projector_offsets`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var proj, topic string
		var p int32
		var n int64
		if err := rows.Scan(&proj, &topic, &p, &n); err != nil {
			rows.Close()
			return nil, err
		}
		k := [2]string{proj, topic}
		if next[k] == nil {
			next[k] = map[int32]int64{}
		}
		next[k][p] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var behind []partitionLag
	for proj, topic := range projectorTopics(e) {
		parts, err := e.Kafka.Partitions(topic)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			end, err := e.Kafka.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return nil, err
			}
			if n := next[[2]string{proj, topic}][p]; n < end {
				behind = append(behind, partitionLag{projector: proj, topic: topic, partition: p, next: n, end: end})
			}
		}
	}
	return behind, nil
}

// deadLetters describes every dead-lettered record.
func deadLetters(ctx context.Context, e *harness.Env) ([]string, error) {
	rows, err := e.Pool.Query(ctx, `SELECT projector, topic, partition, "offset", event_type, error
		FROM projector_dead_letters ORDER BY projector, topic, partition, "offset"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var proj, topic, typ, msg string
		var p int32
		var off int64
		if err := rows.Scan(&proj, &topic, &p, &off, &typ, &msg); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s dead-lettered %s at %s/%d@%d: %s", proj, typ, topic, p, off, msg))
	}
	return out, rows.Err()
}

// projectionMonitor watches the projectors while commands run and stops the
// run at the first dead letter or stall.
type projectionMonitor struct {
	stopping chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	problem  string
}

// stallAfter is how long a partition may stay behind without any progress
// before its projector counts as stalled (a retrying projector backs off
// to 5 s between attempts; a working one moves within milliseconds).
const stallAfter = 15 * time.Second

func startProjectionMonitor(ctx context.Context, e *harness.Env, cancel context.CancelCauseFunc) *projectionMonitor {
	m := &projectionMonitor{stopping: make(chan struct{}), done: make(chan struct{})}
	report := func(problem string) {
		m.mu.Lock()
		m.problem = problem
		m.mu.Unlock()
		cancel(errors.New(problem))
	}
	go func() {
		defer close(m.done)
		type key struct {
			projector, topic string
			partition        int32
		}
		last := map[key]int64{}
		since := map[key]time.Time{}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.stopping:
				return
			case <-tick.C:
			}
			if dl, err := deadLetters(ctx, e); err == nil && len(dl) > 0 {
				report("projectors dead-lettered events:\n" + strings.Join(dl, "\n"))
				return
			}
			lags, err := projectorLags(ctx, e)
			if err != nil {
				continue // a transient read error; the final check repeats it
			}
			now := time.Now()
			seen := map[key]bool{}
			for _, l := range lags {
				k := key{l.projector, l.topic, l.partition}
				seen[k] = true
				if prev, ok := last[k]; !ok || prev != l.next {
					last[k], since[k] = l.next, now
					continue
				}
				if now.Sub(since[k]) > stallAfter {
					report(fmt.Sprintf("projector stalled: %s, no progress for %s\n%s", l, stallAfter, diagnoseStall(ctx, e, l)))
					return
				}
			}
			for k := range last {
				if !seen[k] {
					delete(last, k)
					delete(since, k)
				}
			}
		}
	}()
	return m
}

// stop ends the monitor; it returns what it found ("" for nothing).
func (m *projectionMonitor) stop() string {
	close(m.stopping)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.problem
}

// requireCaughtUp waits until every projector has reached the end of its
// topics, failing with the remaining lag (and any dead letters) at deadline.
func requireCaughtUp(t *testing.T, e *harness.Env, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within+10*time.Second)
	defer cancel()
	deadline := time.Now().Add(within)
	for {
		lags, err := projectorLags(ctx, e)
		if err == nil && len(lags) == 0 {
			return
		}
		if time.Now().After(deadline) {
			dl, _ := deadLetters(ctx, e)
			var lines []string
			for _, l := range lags {
				lines = append(lines, l.String(), "  "+diagnoseStall(ctx, e, l))
			}
			t.Fatalf("projectors not caught up after %s (err %v):\n%s\ndead letters: %v", within, err, strings.Join(lines, "\n"), dl)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func requireNoDeadLetters(t *testing.T, e *harness.Env) {
	t.Helper()
	dl, err := deadLetters(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) > 0 {
		t.Fatalf("projectors dead-lettered events:\n%s", strings.Join(dl, "\n"))
	}
}
