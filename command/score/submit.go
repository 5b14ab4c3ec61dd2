package score

import (
	"context"
	"fmt"
	"math"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/validate"
	"github.com/oof-gg/platform/projector/scores"
)

// Bounds of a submission (docs/scores.md).
const (
	// MaxValue bounds |value|: sums of many stay exact in the boards'
	// float64 scores (2^53).
	MaxValue         = 1_000_000_000_000
	maxInstanceLen   = 64
	maxMetadata      = 16
	maxMetaKeyLen    = 64
	maxMetaValueLen  = 256
	maxMetadataBytes = 4096
)

// Submit records a score. caller is who asks (the gRPC adapter passes the
// authenticated principal). The answer is the stored Score: its id, the
// score_type ("points" when empty) and created_at.
func (h *Handler) Submit(ctx context.Context, caller auth.Principal, req *scorepb.ScoreSubmission) (*scorepb.Score, error) {
	if err := checkSubmission(req); err != nil {
		return nil, err
	}
	g, err := h.loadGame(ctx, req.GetGameId())
	if err != nil {
		return nil, fmt.Errorf("submit score: %w", err)
	}
	if err := canSubmit(caller, g, req.GetPlayerId()); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, apperr.Internal("score id", err)
	}
	scoreType := req.GetScoreType()
	if scoreType == "" {
		scoreType = scores.DefaultType
	}
	s := &scorepb.Score{
		Id: id.String(), PlayerId: req.GetPlayerId(), GameId: req.GetGameId(), InstanceId: req.GetInstanceId(),
		Value: req.GetValue(), ScoreType: scoreType, CreatedAt: timestamppb.New(h.Now()), Metadata: req.GetMetadata(),
	}
	ev := &eventspb.ScoreSubmitted{Score: s, Operator: g.settings.Operator(scoreType), SubmittedBy: caller.UserID}
	err = h.ExecuteOnce(ctx, kit.Once{Command: "SubmitScore", Caller: caller.UserID, Request: req, Result: s}, func(ctx context.Context) error {
		// Nothing is read or locked inside: the submission joins the group
		// commit (pkg/aggregate) with only its outbox row (and outcome).
		return h.Execute(ctx, Projector, func(aggregate.Tx) ([]eventlog.Event, error) {
			// Keyed by player: a player's submissions to a board stay in
			// order, and boards of busy games spread over partitions.
			return []eventlog.Event{kit.NewEvent(h.Topic, s.GetPlayerId(), "score/"+s.GetId(), source, ev)}, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("submit score: %w", err)
	}
	return s, nil
}

// checkSubmission validates a submission; nothing is stored for a bad one.
func checkSubmission(req *scorepb.ScoreSubmission) error {
	var c validate.Checks
	c.ID("player_id", req.GetPlayerId())
	c.ID("game_id", req.GetGameId())
	c.Text("instance_id", req.GetInstanceId(), 0, maxInstanceLen)
	if v := req.GetValue(); v > MaxValue || v < -MaxValue || v == math.MinInt64 {
		c.Add("value", "must be between -1000000000000 and 1000000000000")
	}
	if t := req.GetScoreType(); t != "" && !scores.ValidType(t) {
		c.Add("score_type", "must be empty (points) or 1 to 32 of A-Z a-z 0-9 _ . -")
	}
	md := req.GetMetadata()
	if len(md) > maxMetadata {
		c.Add("metadata", "must have at most 16 entries")
	}
	size := 0
	for k, v := range md {
		size += len(k) + len(v)
		if !validate.Storable(k) || len(k) == 0 || len(k) > maxMetaKeyLen {
			c.Add("metadata", "keys must be 1 to 64 bytes of text")
			break
		}
		if !validate.Storable(v) || len(v) > maxMetaValueLen {
			c.Add("metadata", "values must be at most 256 bytes of text")
			break
		}
	}
	if size > maxMetadataBytes {
		c.Add("metadata", "must be at most 4096 bytes in all")
	}
	return c.Err()
}
