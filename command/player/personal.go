package player

import (
	"context"

	"google.golang.org/protobuf/proto"

	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/personal"
)

// forEvent is what a player event carries of p: everything but the e-mail,
// which is sealed with the personal-data key of the player's owner (a
// HUMAN player's own user, an AI player's creator), created in this
// transaction when the owner has none. The write model keeps p as it is;
// an erasure clears it there (Erase). docs/events.md, "Personal data".
func forEvent(ctx context.Context, tx aggregate.Tx, p *playerpb.Player, owner string) (*playerpb.Player, []byte, string, error) {
	if p.Email == nil {
		return p, nil, "", nil
	}
	sealed, keyID, err := personal.Seal(ctx, tx, owner, personal.FieldEmail, p.GetEmail())
	if err != nil {
		return nil, nil, "", apperr.Unavailable("personal-data keys unavailable", err)
	}
	out := proto.Clone(p).(*playerpb.Player)
	out.Email = nil
	return out, sealed, keyID, nil
}
