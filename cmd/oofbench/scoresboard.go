package main

// The board the score read scenarios share, seeded straight into the read
// models, and the floor service that runs their Redis commands behind an
// empty RPC.
//
// The seed bypasses the command path on purpose: a million SubmitScore
// calls at the rate the platform takes them (about a thousand a second
// here) would take a quarter of an hour, and what the reads cost depends
// only on what the projector leaves behind. So the seed writes exactly that,
// pipelined: the standings in score_boards (COPY) and their Redis copy
// (sorted set, player index, last update), the rows and members the
// projector writes for a submission. It writes no events and no history
// rows (the reads do not touch them), so a rebuild of the bench database
// would not have it.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/redisx"
	"github.com/oof-gg/platform/projector/scores"
)

// boardPage is the page the read scenarios ask for (the most a page has).
const boardPage = 100

// seedChunk is how many members one ZADD/HSET or COPY step carries.
const seedChunk = 1000

// The board and floor server are made once per run and shared by the four
// read scenarios (bench belongs to main.go; these stay in this file).
var (
	scoreMu    sync.Mutex
	scoreBoard *seededBoard
	scoreFloor *scoreFloorClients
)

// seededBoard is the all-time "points" board of one game with players
// standings on it.
type seededBoard struct {
	fixture *sessionFixture // the game's owner, whose token the reads carry
	game    string
	board   string // scores.Board id
	players int
	tag     uint32 // makes the seeded ids unique to this run
}

// player is the id of the i-th seeded player.
func (s *seededBoard) player(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.tag, i) }

// standing is the i-th player's standing: pseudo-random values (some
// ties, as on a real board), reached at distinct microseconds.
func (s *seededBoard) standing(i int, base time.Time) scores.Standing {
	return scores.Standing{
		Value:   int64((uint64(i) * 0x9E3779B97F4A7C15) >> 40),
		Reached: base.Add(-time.Duration(i) * time.Microsecond),
		ScoreID: fmt.Sprintf("%08x-0000-7000-8000-%012x", s.tag, i),
		Sign:    1,
	}
}

// seededBoard makes the board once: a game of a developer, and
// -score-players standings on it.
func (b *bench) seededBoard(ctx context.Context) (*seededBoard, error) {
	scoreMu.Lock()
	defer scoreMu.Unlock()
	if scoreBoard != nil {
		return scoreBoard, nil
	}
	if *scorePlayers < 1 {
		return nil, fmt.Errorf("-score-players must be ≥ 1")
	}
	f, err := b.sessionFixture(ctx, "sr", 1)
	if err != nil {
		return nil, err
	}
	sb := &seededBoard{fixture: f, game: f.games[0], players: *scorePlayers, tag: rand.Uint32()}
	sb.board = scores.Board(sb.game, scores.DefaultType, scores.AllTime)
	start := time.Now()
	if err := b.seed(ctx, sb); err != nil {
		return nil, fmt.Errorf("seed the board: %w", err)
	}
	fmt.Fprintf(os.Stderr, "oofbench: seeded %s players on one board in %v\n", fmtInt(sb.players), time.Since(start).Round(time.Millisecond))
	scoreBoard = sb
	return sb, nil
}

// seed writes the standings into PostgreSQL and Redis at once, then the
// names of the top page into the name cache (what the first read of a
// board whose players are users leaves there).
func (b *bench) seed(ctx context.Context, sb *seededBoard) error {
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	prefix, rdb := b.env.Cfg.RedisKeyPrefix, b.env.Redis
	zkey, pkey, ukey := scores.ZKey(prefix, sb.board), scores.PKey(prefix, sb.board), scores.UKey(prefix, sb.board)
	vkey := scores.VKey(prefix, sb.board)
	b.floorMu.Lock()
	b.closers = append(b.closers, func() { // the shared Redis keeps no million-member board after the run
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rdb.Unlink(ctx, zkey, pkey, ukey, vkey).Err()
	})
	b.floorMu.Unlock()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		i := 0
		_, err := b.env.Pool.CopyFrom(gctx, pgx.Identifier{"score_boards"},
			[]string{"board", "player_id", "value", "reached_at", "score_id", "sign"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == sb.players {
					return nil, nil
				}
				st := sb.standing(i, base)
				// [16]byte: pgx encodes it natively (uuid.UUID goes through
				// driver.Valuer and text, most of the seed's time).
				row := []any{sb.board, sb.player(i), st.Value, st.Reached, [16]byte(uuid.MustParse(st.ScoreID)), st.Sign}
				i++
				return row, nil
			}))
		if err != nil {
			return err
		}
		_, err = b.env.Pool.Exec(gctx, `INSERT INTO score_board_updates (board, updated_at) VALUES ($1, $2)`, sb.board, base)
		return err
	})
	g.Go(func() error {
		pipe := rdb.Pipeline()
		for from := 0; from < sb.players; from += seedChunk {
			to := min(from+seedChunk, sb.players)
			zs := make([]redis.Z, 0, to-from)
			hs := make([]any, 0, 2*(to-from))
			for i := from; i < to; i++ {
				st := sb.standing(i, base)
				m := scores.Member(sb.player(i), st)
				zs = append(zs, redis.Z{Score: st.SortScore(), Member: m})
				hs = append(hs, sb.player(i), m)
			}
			pipe.ZAdd(gctx, zkey, zs...)
			pipe.HSet(gctx, pkey, hs...)
			if pipe.Len() >= 40 || to == sb.players {
				if _, err := pipe.Exec(gctx); err != nil {
					return err
				}
			}
		}
		// The last update and the version, as the projector's writes leave them.
		if err := rdb.Set(gctx, ukey, base.UnixMicro(), 0).Err(); err != nil {
			return err
		}
		return rdb.Set(gctx, vkey, fmt.Sprintf("seed-%08x", sb.tag), 0).Err()
	})
	if err := g.Wait(); err != nil {
		return err
	}
	// Redis now holds what score_boards holds; the marker tells the
	// projector so (it is already there if a submission came first).
	if err := rdb.SetNX(ctx, scores.MarkerKey(prefix), base.Format(time.RFC3339Nano), 0).Err(); err != nil {
		return err
	}
	top, err := rdb.ZRevRange(ctx, zkey, 0, boardPage-1).Result()
	if err != nil {
		return err
	}
	names := make([]any, 0, 2*len(top))
	for _, m := range top {
		id := m[16 : 16+36] // see scores.Member
		names = append(names, id, "bench player "+id[len(id)-6:])
	}
	return rdb.HSet(ctx, scores.NamesKey(prefix), names...).Err()
}

const (
	scoreFloorService = "oofbench.ScoreFloor"
	scoreFloorTop     = "/" + scoreFloorService + "/Top"
	scoreFloorRank    = "/" + scoreFloorService + "/Rank"
)

// floorPageScript does what GetLeaderboard's page script does for the
// top of a board: the last update and the page plus one member, with scores.
var floorPageScript = redis.NewScript(`
return {redis.call('GET', KEYS[3]) or '', redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]), 'WITHSCORES')}`)

// floorRankScript does what GetPlayerRank's script does.
var floorRankScript = redis.NewScript(`
local m = redis.call('HGET', KEYS[2], ARGV[1])
local r = m and redis.call('ZREVRANK', KEYS[1], m)
if not r then return {-1, '', redis.call('ZCARD', KEYS[1])} end
return {r, redis.call('ZSCORE', KEYS[1], m), redis.call('ZCARD', KEYS[1]), m}`)

type scoreFloorHandler interface {
	Top(context.Context, *emptypb.Empty) (*wrapperspb.Int64Value, error)
	Rank(context.Context, *wrapperspb.StringValue) (*wrapperspb.Int64Value, error)
}

type scoreFloorImpl struct {
	rdb                     *redis.Client
	zkey, pkey, ukey, names string
}

// Top runs the page script and reads the names of the page's players;
// it answers how many entries the page had.
func (f scoreFloorImpl) Top(ctx context.Context, _ *emptypb.Empty) (*wrapperspb.Int64Value, error) {
	res, err := floorPageScript.Run(ctx, f.rdb, []string{f.zkey, f.pkey, f.ukey}, boardPage).Slice()
	if err != nil {
		return nil, err
	}
	items, _ := res[1].([]any)
	ids := make([]string, 0, boardPage)
	for i := 0; i+1 < len(items) && len(ids) < boardPage; i += 2 {
		if m, _ := items[i].(string); len(m) == scores.MemberLen {
			ids = append(ids, m[16:16+36])
		}
	}
	if err := f.rdb.HMGet(ctx, f.names, ids...).Err(); err != nil {
		return nil, err
	}
	return wrapperspb.Int64(int64(len(ids))), nil
}

// Rank runs the rank script; it answers the 0-based rank (-1: none).
func (f scoreFloorImpl) Rank(ctx context.Context, player *wrapperspb.StringValue) (*wrapperspb.Int64Value, error) {
	res, err := floorRankScript.Run(ctx, f.rdb, []string{f.zkey, f.pkey}, player.GetValue()).Slice()
	if err != nil {
		return nil, err
	}
	rank, _ := res[0].(int64)
	return wrapperspb.Int64(rank), nil
}

// scoreFloorMethod adapts one method the way generated code does (as
// floorserver.go's unaryHandler, for this service's handler type).
func scoreFloorMethod[Req any, Resp any](path string, call func(scoreFloorHandler, context.Context, *Req) (*Resp, error)) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		in := new(Req)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, req any) (any, error) { return call(srv.(scoreFloorHandler), ctx, req.(*Req)) }
		if ic == nil {
			return h(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: path}, h)
	}
}

var scoreFloorDesc = grpc.ServiceDesc{
	ServiceName: scoreFloorService,
	HandlerType: (*scoreFloorHandler)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Top", Handler: scoreFloorMethod(scoreFloorTop, scoreFloorHandler.Top)},
		{MethodName: "Rank", Handler: scoreFloorMethod(scoreFloorRank, scoreFloorHandler.Rank)},
	},
}

type scoreFloorClients struct{ conns []*grpc.ClientConn }

func (c *scoreFloorClients) top(ctx context.Context, worker int) (int, error) {
	out := new(wrapperspb.Int64Value)
	err := c.conns[worker%len(c.conns)].Invoke(ctx, scoreFloorTop, &emptypb.Empty{}, out)
	return int(out.GetValue()), err
}

func (c *scoreFloorClients) rank(ctx context.Context, worker int, player string) (int, error) {
	out := new(wrapperspb.Int64Value)
	err := c.conns[worker%len(c.conns)].Invoke(ctx, scoreFloorRank, wrapperspb.String(player), out)
	return int(out.GetValue()), err
}

// scoreFloorServer starts the score floor service once, on a server built
// like the platform's (NewBareServer, served by grpcx.Serve), with a Redis
// client built like the platform's (redisx.Connect).
func (b *bench) scoreFloorServer(ctx context.Context, sb *seededBoard) (*scoreFloorClients, error) {
	scoreMu.Lock()
	defer scoreMu.Unlock()
	if scoreFloor != nil {
		return scoreFloor, nil
	}
	rdb, err := redisx.Connect(ctx, b.env.Cfg.RedisAddr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	p := b.env.Cfg.RedisKeyPrefix
	impl := scoreFloorImpl{rdb: rdb, zkey: scores.ZKey(p, sb.board), pkey: scores.PKey(p, sb.board),
		ukey: scores.UKey(p, sb.board), names: scores.NamesKey(p)}
	srv, err := platform.NewBareServer(b.env.Cfg, b.env.Log, func(s *grpcx.Services) {
		s.Add(&scoreFloorDesc, impl, "Top", "Rank")
	})
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := grpcx.Serve(sctx, lis, srv, floorServeGrace, b.env.Log); err != nil {
			b.env.Log.Error("score floor server", "err", err)
		}
	}()
	fc := &scoreFloorClients{}
	b.floorMu.Lock()
	b.closers = append(b.closers, func() {
		for _, c := range fc.conns {
			_ = c.Close()
		}
		stop()
		<-done
		_ = rdb.Close()
	})
	b.floorMu.Unlock()
	for range b.opts.conns {
		c, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("score floor client: %w", err)
		}
		fc.conns = append(fc.conns, c)
	}
	scoreFloor = fc
	return fc, nil
}
