// Package game serves the game reads of GameService: GetGame (one, or a
// page) and TrendingGame.
package game

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/projector/trending"
	"github.com/oof-gg/platform/query/kit"
)

// Reader reads the games read model and the trending ranking.
type Reader struct {
	Pool        *pgxpool.Pool
	Redis       *redis.Client
	TrendingKey string
	// TrendingWindow: games with no activity within it are not trending.
	TrendingWindow time.Duration
	Now            func() time.Time
}

// Page is one page of games.
type Page struct {
	Games []*gamepb.Game
	Next  string // "" on the last page
	Size  int
}

// Get returns one game.
func (r *Reader) Get(ctx context.Context, id string) (*gamepb.Game, error) {
	var snap []byte
	err := r.Pool.QueryRow(ctx, `SELECT snapshot FROM games WHERE id = $1::uuid`, id).Scan(&snap)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("game not found")
	}
	if err != nil {
		return nil, apperr.Unavailable("games unavailable", err)
	}
	return decode(snap)
}

// List returns games in creation order after the cursor.
func (r *Reader) List(ctx context.Context, limit *int32, cursor *string) (Page, error) {
	size, err := kit.PageSize(limit)
	if err != nil {
		return Page{}, err
	}
	after, err := kit.ParseKeyCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	q := `SELECT id::text, snapshot FROM games ORDER BY id LIMIT $1`
	args := []any{size + 1}
	if after != "" {
		q = `SELECT id::text, snapshot FROM games WHERE id > $2::uuid ORDER BY id LIMIT $1`
		args = append(args, after)
	}
	rows, err := r.Pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, apperr.Unavailable("games unavailable", err)
	}
	defer rows.Close()
	var page Page
	var lastID string
	for rows.Next() {
		var id string
		var snap []byte
		if err := rows.Scan(&id, &snap); err != nil {
			return Page{}, apperr.Unavailable("games unavailable", err)
		}
		if len(page.Games) == size {
			page.Next = kit.KeyCursor(lastID)
			break
		}
		g, err := decode(snap)
		if err != nil {
			return Page{}, err
		}
		page.Games, lastID = append(page.Games, g), id
	}
	page.Size = len(page.Games)
	return page, rows.Err()
}

// Trending returns games ranked by decayed recent activity.
func (r *Reader) Trending(ctx context.Context, limit *int32, cursor *string) (Page, error) {
	size, err := kit.PageSize(limit)
	if err != nil {
		return Page{}, err
	}
	offset, err := kit.ParseOffsetCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	// A game whose whole activity predates the window scores below one
	// event at the window's start.
	min := trending.LogWeight(r.Now().Add(-r.TrendingWindow))
	ids, err := r.Redis.ZRevRangeByScore(ctx, r.TrendingKey, &redis.ZRangeBy{
		Max: "+inf", Min: fmt.Sprintf("%f", min), Offset: int64(offset), Count: int64(size + 1),
	}).Result()
	if err != nil {
		return Page{}, apperr.Unavailable("trending unavailable", err)
	}
	var page Page
	if len(ids) > size {
		ids, page.Next = ids[:size], kit.OffsetCursor(offset+size)
	}
	for _, id := range ids {
		g, err := r.Get(ctx, id)
		if apperr.Is(err, apperr.KindNotFound) {
			continue // activity seen before the game's own projection caught up
		}
		if err != nil {
			return Page{}, err
		}
		page.Games = append(page.Games, g)
	}
	page.Size = len(page.Games)
	return page, nil
}

func decode(snap []byte) (*gamepb.Game, error) {
	return kit.Decode(snap, func() *gamepb.Game { return &gamepb.Game{} })
}
