package personal

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
)

// FieldEmail is the one personal field sealed today (UserRegistered.email,
// PlayerCreated/PlayerUpdated player.email).
const FieldEmail = "email"

// States of a personal field after Reveal (`oof tail` prints them).
const (
	// StateOpen: the field was sealed and its key is live; it now holds the
	// plaintext.
	StateOpen = "open"
	// StateErased: the key is destroyed (or the legacy plaintext belongs to
	// an erased subject); the field is now empty.
	StateErased = "erased"
	// StateLegacy: a plaintext field of an event older than sealing, of a
	// subject not erased; left as it is.
	StateLegacy = "plaintext"
	// StateUnreadable: the sealed value is corrupt; the field is empty.
	StateUnreadable = "unreadable"
)

// Reveal turns msg's personal fields into what a reader may show, in
// place: a sealed field is replaced by its plaintext, or by "" when erased;
// a legacy plaintext field of an erased subject is emptied. It returns the
// state of every personal field msg carried (nil when none). Only a failure
// to reach PostgreSQL is an error.
func (k *Keys) Reveal(ctx context.Context, msg proto.Message) (map[string]string, error) {
	switch e := msg.(type) {
	case *eventspb.UserRegistered:
		v, st, err := k.reveal(ctx, e.GetPersonalKeyId(), e.GetEmailSealed(), e.GetEmail(), e.GetUserId())
		if err != nil || st == "" {
			return nil, err
		}
		e.Email, e.EmailSealed = v, nil
		return map[string]string{FieldEmail: st}, nil
	case *eventspb.PlayerCreated:
		return k.revealPlayer(ctx, e.GetPlayer(), &e.EmailSealed, e.GetPersonalKeyId(), e.GetCreatedBy())
	case *eventspb.PlayerUpdated:
		// A legacy event does not name the owner: a HUMAN player's id is its
		// user's (an erased AI owner's players got PlayerUpdated without the
		// e-mail at the erasure, so their state ends erased all the same).
		return k.revealPlayer(ctx, e.GetPlayer(), &e.EmailSealed, e.GetPersonalKeyId(), e.GetPlayer().GetId())
	}
	return nil, nil
}

func (k *Keys) revealPlayer(ctx context.Context, p *playerpb.Player, sealed *[]byte, keyID, owner string) (map[string]string, error) {
	if p == nil {
		return nil, nil
	}
	v, st, err := k.reveal(ctx, keyID, *sealed, p.GetEmail(), owner)
	if err != nil || st == "" {
		return nil, err
	}
	*sealed, p.Email = nil, nil
	if v != "" {
		p.Email = proto.String(v)
	}
	return map[string]string{FieldEmail: st}, nil
}

// reveal decides one field: (value to show, state); state "" means the
// field was absent.
func (k *Keys) reveal(ctx context.Context, keyID string, sealed []byte, plain, subject string) (string, string, error) {
	switch {
	case len(sealed) > 0:
		v, err := k.Open(ctx, keyID, FieldEmail, sealed)
		switch {
		case err == nil:
			return v, StateOpen, nil
		case errors.Is(err, ErrErased):
			return "", StateErased, nil
		case errors.Is(err, ErrMalformed):
			return "", StateUnreadable, nil
		}
		return "", "", err
	case plain != "":
		erased, err := k.SubjectErased(ctx, subject)
		if err != nil {
			return "", "", err
		}
		if erased {
			return "", StateErased, nil
		}
		return plain, StateLegacy, nil
	}
	return "", "", nil
}
