// Package entity serves GetEntity: the live Redis copy of an entity when it
// is current, else the entities table.
package entity

import (
	"context"
	"errors"
	"github.com/oof-gg/platform/pkg/headers"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
	"github.com/oof-gg/platform/pkg/validate"
	"github.com/oof-gg/platform/projector/entities"
	"github.com/oof-gg/platform/query/kit"
)

// VersionHeader carries the version of the entity read, for the commands'
// expected-version header (the same name the commands answer with).
const VersionHeader = headers.Version

// Reader reads the entities read model.
type Reader struct {
	Pool      *pgxpool.Pool
	Redis     *redis.Client
	KeyPrefix string
}

// errNotFound is the one answer for unknown, deleted and misplaced entities.
var errNotFound = apperr.NotFound("entity not found in this session")

// Get returns a live entity of the session and its version.
func (r *Reader) Get(ctx context.Context, id, sessionID string) (*gamepb.Entity, int64, error) {
	if e, v, ok := r.live(ctx, id, sessionID); ok {
		return e, v, nil
	}
	var snap []byte
	var version int64
	var deleted bool
	err := r.Pool.QueryRow(ctx, `SELECT snapshot, version, deleted FROM entities WHERE id = $1::uuid AND session_id = $2::uuid`,
		id, sessionID).Scan(&snap, &version, &deleted)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && deleted) {
		return nil, 0, errNotFound
	}
	if err != nil {
		return nil, 0, apperr.Unavailable("entities unavailable", err)
	}
	e, err := decode(snap)
	return e, version, err
}

// live reads the Redis copy. It is a cache: any error, a missing copy, or a
// copy older than a pending change (see projector/entities) is a miss.
func (r *Reader) live(ctx context.Context, id, sessionID string) (*gamepb.Entity, int64, bool) {
	vals, err := r.Redis.HMGet(ctx, entities.Key(r.KeyPrefix, sessionID, id),
		entities.FieldVersion, entities.FieldSnapshot, entities.FieldPending).Result()
	if err != nil || len(vals) != 3 {
		return nil, 0, false
	}
	vs, ok1 := vals[0].(string)
	snap, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return nil, 0, false
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return nil, 0, false
	}
	if ps, ok := vals[2].(string); ok {
		if p, err := strconv.ParseInt(ps, 10, 64); err != nil || p > v {
			return nil, 0, false
		}
	}
	e, err := decode([]byte(snap))
	if err != nil {
		return nil, 0, false
	}
	return e, v, true
}

func decode(snap []byte) (*gamepb.Entity, error) {
	return kit.Decode(snap, func() *gamepb.Entity { return &gamepb.Entity{} })
}

// GRPC serves GetEntity.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	r *Reader
}

// NewGRPC returns the adapter.
func NewGRPC(r *Reader) *GRPC { return &GRPC{r: r} }

// Mount adds GetEntity to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "GetEntity")
}

// GetEntity answers through the PaginatedResponse's added `entity` oneof
// member (field 9): the contract's oneof has none.
func (g *GRPC) GetEntity(ctx context.Context, req *gamepb.EntityGetRequest) (*gamepb.PaginatedResponse, error) {
	if _, err := authz.Caller(ctx); err != nil {
		return nil, respond.GamePageError(err)
	}
	var c validate.Checks
	c.ID("id", req.GetId())
	c.ID("session_id", req.GetSessionId())
	c.ID("game_id", req.GetGameId())
	if err := c.Err(); err != nil {
		return nil, respond.GamePageError(err)
	}
	e, v, err := g.r.Get(ctx, req.GetId(), req.GetSessionId())
	if err == nil && (e.GetSessionId() != req.GetSessionId() || e.GetGameId() != req.GetGameId()) {
		err = errNotFound
	}
	if err != nil {
		return nil, respond.GamePageError(err)
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(VersionHeader, strconv.FormatInt(v, 10)))
	return respond.GamePage(func(r *gamepb.PaginatedResponse) { r.Data = &gamepb.PaginatedResponse_Entity{Entity: e} }), nil
}
