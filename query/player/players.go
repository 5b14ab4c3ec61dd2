// Package player serves GetPlayer of PlayerService from the players read
// model.
package player

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
)

// Reader reads the players read model.
type Reader struct {
	Pool *pgxpool.Pool
}

// Get returns the player with id as viewer may see it: the e-mail is
// personal data, shown only to the player's owner (a HUMAN player's own
// user, an AI player's creator) and to admins.
func (r *Reader) Get(ctx context.Context, viewer auth.Principal, id string) (*playerpb.Player, error) {
	var owner string
	var snap []byte
	err := r.Pool.QueryRow(ctx, `SELECT owner_id, snapshot FROM players WHERE id = $1`, id).Scan(&owner, &snap)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("player not found")
	}
	if err != nil {
		return nil, apperr.Unavailable("players unavailable", err)
	}
	p := &playerpb.Player{}
	if err := proto.Unmarshal(snap, p); err != nil {
		return nil, apperr.Internal("decode player snapshot", err)
	}
	if viewer.UserID != owner && !authz.IsAdmin(viewer) {
		p.Email = nil
	}
	return p, nil
}
