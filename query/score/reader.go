// Package score answers GetLeaderboard, GetPlayerRank and GetPlayerScores
// from the read models of projector/scores: boards from the Redis sorted
// sets, history from PostgreSQL. Handlers take the caller as an argument;
// the gRPC adapter reads metadata at the edge.
package score

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/projector/scores"
)

// Reader reads the score read models.
type Reader struct {
	Pool   *pgxpool.Pool
	Redis  *redis.Client
	Prefix string           // Redis key prefix
	Now    func() time.Time // picks the current daily/weekly/monthly board

	pages pageCache // top pages by board version (pagecache.go)
	known nameCache // player names
}

// NewReader returns a reader on the platform's stores.
func NewReader(pool *pgxpool.Pool, rdb *redis.Client, prefix string) *Reader {
	return &Reader{Pool: pool, Redis: rdb, Prefix: prefix, Now: time.Now}
}

// board resolves (game, score_type, period) to a board id. An empty game
// means all games; an empty score_type the game's primary type ("points"
// across games).
func (r *Reader) board(ctx context.Context, game, scoreType, period string) (string, string, error) {
	if game == "" {
		game = scores.AllGames
		if scoreType == "" {
			scoreType = scores.DefaultType
		}
	} else if scoreType == "" {
		var err error
		if scoreType, err = r.primaryType(ctx, game); err != nil {
			return "", "", err
		}
	}
	return scores.Board(game, scoreType, period), scoreType, nil
}

// primaryType reads a game's data.scores.primary_type from the games read
// model.
func (r *Reader) primaryType(ctx context.Context, game string) (string, error) {
	var snap []byte
	err := r.Pool.QueryRow(ctx, `SELECT snapshot FROM games WHERE id = $1`, game).Scan(&snap)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", apperr.NotFound("game not found")
	}
	if err != nil {
		return "", err
	}
	g := &gamepb.Game{}
	if err := proto.Unmarshal(snap, g); err != nil {
		return "", apperr.Internal("decode game", err)
	}
	st, err := scores.ParseSettings(g.GetData())
	if err != nil {
		return scores.DefaultType, nil // an unusable setting: the default
	}
	return st.PrimaryType, nil
}

// names returns the names of players: from the Redis cache, else from the
// users and players read models (then cached; names do not change).
func (r *Reader) names(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ids = r.known.lookup(ids, out)
	if len(ids) == 0 {
		return out, nil
	}
	key := scores.NamesKey(r.Prefix)
	vals, err := r.Redis.HMGet(ctx, key, ids...).Result()
	if err != nil {
		return nil, err
	}
	var missing []string
	cached := make(map[string]string, len(ids))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[ids[i]], cached[ids[i]] = s, s
		} else {
			missing = append(missing, ids[i])
		}
	}
	r.known.add(cached)
	if len(missing) == 0 {
		return out, nil
	}
	found, err := r.lookupNames(ctx, missing)
	if err != nil {
		return nil, err
	}
	r.known.add(found)
	if len(found) > 0 {
		args := make([]any, 0, 2*len(found))
		for id, n := range found {
			out[id] = n
			args = append(args, id, n)
		}
		_ = r.Redis.HSet(ctx, key, args...).Err() // only a cache
	}
	return out, nil
}

func (r *Reader) lookupNames(ctx context.Context, ids []string) (map[string]string, error) {
	found := map[string]string{}
	rows, err := r.Pool.Query(ctx, `SELECT id::text, username FROM users WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, err
		}
		found[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// AI players (and HUMAN players' profile names) from players.
	rows, err = r.Pool.Query(ctx, `SELECT id, snapshot FROM players WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var snap []byte
		if err := rows.Scan(&id, &snap); err != nil {
			return nil, err
		}
		pl := &playerpb.Player{}
		if proto.Unmarshal(snap, pl) == nil && pl.GetUsername() != "" {
			if _, ok := found[id]; !ok {
				found[id] = pl.GetUsername()
			}
		}
	}
	return found, rows.Err()
}
