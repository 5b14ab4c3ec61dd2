package main

// Live events end to end (docs/realtime.md): every player holds one
// GameService.StreamEvents stream and sends events at a steady rate; every
// member of a session receives every event of it (command/live → Kafka →
// projector/live → Redis stream → query/live hub → stream). Each event
// carries its send time; each receiver records the latency of every other
// member's event. Judged against the relay floor (realtime_floor.go).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

const (
	nameLive       = "live events"
	liveEventName  = "rt"
	livePingName   = "ping"
	liveReadyLimit = 60 * time.Second
	// liveDrain is how long after the window the bench waits for owed
	// deliveries before counting what is missing as lost.
	liveDrain = 15 * time.Second
)

var (
	rtPlayers  = flag.Int("rt-players", 1000, "live events: players, each with one stream")
	rtSessions = flag.Int("rt-sessions", 250, "live events: sessions the players are spread over")
	rtRate     = flag.Float64("rt-rate", 10, "live events: events per second each player sends")
)

func rtShapeFromFlags() (rtShape, error) {
	s := rtShape{players: *rtPlayers, sessions: *rtSessions, rate: *rtRate}
	if s.players < 2 || s.sessions < 1 || s.sessions*2 > s.players || s.rate <= 0 {
		return s, errors.New("-rt-players ≥ 2×-rt-sessions, -rt-sessions ≥ 1 and -rt-rate > 0 (each session needs two members)")
	}
	return s, nil
}

// liveConn is one player's open stream; only its sender goroutine sends.
type liveConn struct {
	st     commonpb.GameService_StreamEventsClient
	ready  atomic.Bool // received anything: its subscription is live
	done   chan struct{}
	sendMu sync.Mutex // the barrier's pings and the sender never overlap
}

func liveEvents(b *bench) scenario {
	var (
		shape    rtShape
		players  []rtPlayer
		sessions []string
		conns    []*liveConn
		tr       *rtTracker
		cancel   context.CancelFunc
		outcome  rtCheck
	)
	return scenario{
		name:        nameLive,
		concurrency: *rtPlayers,
		setup: func(ctx context.Context) (err error) {
			if shape, err = rtShapeFromFlags(); err != nil {
				return err
			}
			if players, err = b.rtPlayers(ctx, "rt", shape.players); err != nil {
				return err
			}
			if sessions, err = b.rtSessions(ctx, "rtd", shape, players); err != nil {
				return err
			}
			tr = newTracker(shape)
			var sctx context.Context
			sctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
			b.closers = append(b.closers, cancel)
			for p := range shape.players {
				c, err := openLive(sctx, b, p, players[p], sessions[shape.session(p)], tr)
				if err != nil {
					return fmt.Errorf("open stream of player %d: %w", p, err)
				}
				conns = append(conns, c)
			}
			return liveBarrier(ctx, shape, sessions, conns)
		},
		drive: func(ctx context.Context, start, from, until time.Time) driven {
			tr.start, tr.from, tr.until = start, from, until
			var wg sync.WaitGroup
			for p, c := range conns {
				sid := sessions[shape.session(p)]
				wg.Add(1)
				go func() {
					defer wg.Done()
					tr.sendLoop(ctx, p, start, func(seq int, at time.Time) error {
						c.sendMu.Lock()
						defer c.sendMu.Unlock()
						return c.st.Send(&gamepb.GameEvent{SessionId: &sid, Id: proto.String(liveID(p, seq)),
							EventName: proto.String(liveEventName), Data: proto.String(strconv.FormatInt(at.UnixNano(), 10))})
					})
				}()
			}
			wg.Wait()
			tr.drain(ctx, liveDrain)
			for _, c := range conns {
				_ = c.st.CloseSend()
			}
			cancel()
			for _, c := range conns {
				<-c.done
			}
			var d driven
			d, outcome = tr.result("through the platform")
			return d
		},
		goal:        "0 lost/duplicated/misordered, p99 ≤ 2× floor p99",
		floor:       nameRelayFloor,
		maxP99Ratio: 2,
		check: func(result, map[string]result) (bool, string) {
			return outcome.clean(), fmt.Sprintf("%d lost, %d dup, %d misordered", outcome.lost, outcome.duplicated+outcome.alien, outcome.misordered)
		},
	}
}

func liveID(p, seq int) string { return strconv.Itoa(p) + "." + strconv.Itoa(seq) }

// parseLiveID is liveID's inverse.
func parseLiveID(id string) (p, seq int, ok bool) {
	a, c, found := strings.Cut(id, ".")
	if !found {
		return 0, 0, false
	}
	p, err1 := strconv.Atoi(a)
	seq, err2 := strconv.Atoi(c)
	return p, seq, err1 == nil && err2 == nil
}

// openLive opens player p's stream into its session and starts its
// receiver.
func openLive(ctx context.Context, b *bench, p int, pl rtPlayer, sessionID string, tr *rtTracker) (*liveConn, error) {
	st, err := b.games(p).StreamEvents(pl.with(ctx))
	if err != nil {
		return nil, err
	}
	if err := st.Send(&gamepb.GameEvent{SessionId: proto.String(sessionID)}); err != nil {
		return nil, err
	}
	c := &liveConn{st: st, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			ev, err := st.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) && status.Code(err) != codes.Canceled && ctx.Err() == nil {
					tr.fail(fmt.Errorf("stream of player %d: %w", p, err))
				}
				return
			}
			c.ready.Store(true)
			liveReceived(tr, p, ev)
		}
	}()
	return c, nil
}

// liveReceived records one event member got: a bench event, or a refusal
// of one of member's own.
func liveReceived(tr *rtTracker, member int, ev *gamepb.GameEvent) {
	switch {
	case ev.GetType() == gamepb.GameEvent_TYPE_SYSTEM && ev.GetEventName() == "error":
		ref := ev.GetAttributes()["ref"].GetStringValue()
		msg := ev.GetAttributes()["message"].GetStringValue()
		if p, seq, ok := parseLiveID(ref); ok && p == member {
			tr.refusedEvent(p, seq, msg)
		} else {
			tr.fail(fmt.Errorf("refused: %s", msg))
		}
	case ev.GetEventName() == liveEventName:
		p, seq, ok := parseLiveID(ev.GetId())
		sent, err := strconv.ParseInt(ev.GetData(), 10, 64)
		if !ok || err != nil || p < 0 || p >= tr.shape.players {
			tr.fail(fmt.Errorf("malformed event %q", ev.GetId()))
			return
		}
		tr.got(member, p, seq, sent)
	}
}

// liveBarrier waits until every stream is live: a subscription that has
// delivered one event delivers every later one, so members send pings
// (ignored by the count) until each member has received something.
func liveBarrier(ctx context.Context, shape rtShape, sessions []string, conns []*liveConn) error {
	deadline := time.Now().Add(liveReadyLimit)
	for {
		waiting := 0
		for s := range shape.sessions {
			members := shape.members(s)
			all := true
			for _, p := range members {
				all = all && conns[p].ready.Load()
			}
			if all {
				continue
			}
			waiting++
			c := conns[members[0]]
			c.sendMu.Lock()
			err := c.st.Send(&gamepb.GameEvent{SessionId: proto.String(sessions[s]), EventName: proto.String(livePingName)})
			c.sendMu.Unlock()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%d sessions' streams not live after %v", waiting, liveReadyLimit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
