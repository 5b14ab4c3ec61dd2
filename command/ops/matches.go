package ops

import (
	"context"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/types/known/timestamppb"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	queryops "github.com/oof-gg/platform/query/ops"
)

// Replay reads a finished match's events from Kafka (query/ops.ReadMatch),
// decoded as `oof tail` decodes them, in time order. Kafka opens a client
// for the call, as status does.
func (s *Service) Replay(ctx context.Context, sessionID string) ([]*sarama.ConsumerMessage, error) {
	m, err := s.Matches.Get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	client, err := s.Kafka()
	if err != nil {
		return nil, apperr.Unavailable("kafka", err)
	}
	defer client.Close()
	return queryops.ReadMatch(ctx, client, m)
}

// MayWatch allows caller to replay the session's match: admins always (an
// unknown match is then NOT_FOUND), others when authz.CanWatchMatch says
// so. An unknown session is PERMISSION_DENIED for them, like a stranger's,
// so the answer tells a non-member nothing about which sessions exist.
func (s *Service) MayWatch(ctx context.Context, caller auth.Principal, sessionID string) error {
	if authz.IsAdmin(caller) {
		return nil
	}
	sp, ok, err := s.Matches.Spectators(ctx, sessionID)
	if err != nil {
		return err
	}
	if !ok || !authz.CanWatchMatch(caller, sp.Host, sp.GameOwner, sp.Players) {
		return authz.Denied("replay this match (its players, host and game owner, and admins may)")
	}
	return nil
}

// MatchProto is the wire form of a match (also what `oof matches -json`
// and `oof match` print).
func MatchProto(m queryops.Match) *opspb.Match {
	out := &opspb.Match{
		SessionId: m.SessionID, GameId: m.GameID, UserIds: m.UserIDs, EndedAt: timestamppb.New(m.EndedAt),
		FinalState: gamepb.GameState(m.FinalState).String(), EventCount: m.EventCount(),
		SessionEvents: rangeProto(m.Session),
	}
	if m.StartedAt != nil {
		out.StartedAt = timestamppb.New(*m.StartedAt)
	}
	if m.Live != nil {
		out.LiveEvents = rangeProto(*m.Live)
	}
	return out
}

func rangeProto(r queryops.Range) *opspb.KafkaRange {
	return &opspb.KafkaRange{Topic: r.Topic, Partition: r.Partition, FirstOffset: r.First, LastOffset: r.Last, Count: r.Count}
}

// ReplayedProto is one replayed record on the wire.
func ReplayedProto(m *sarama.ConsumerMessage) *opspb.ReplayedEvent {
	l := queryops.DecodeRecord(m)
	return &opspb.ReplayedEvent{Topic: l.Topic, Partition: l.Partition, Offset: l.Offset,
		Time: timestamppb.New(queryops.EventTime(m)), Key: l.Key, Headers: l.Headers, Type: l.Type,
		DataJson: string(l.Data), Error: l.Error, Raw: l.Raw}
}

// Pace sends recs through send keeping their original relative timing
// divided by speed (speed 0: no waiting). The schedule is absolute (from
// the first event), so the time send takes does not add up as drift.
func Pace(ctx context.Context, recs []*sarama.ConsumerMessage, speed float64, send func(*sarama.ConsumerMessage) error) error {
	if speed < 0 {
		return apperr.Invalid("speed", "must be 0 (no pacing) or positive")
	}
	start := time.Now()
	var t0 time.Time
	for i, m := range recs {
		at := queryops.EventTime(m)
		if i == 0 {
			t0 = at
		}
		if speed > 0 {
			due := start.Add(time.Duration(float64(at.Sub(t0)) / speed))
			if wait := time.Until(due); wait > 0 {
				timer := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					timer.Stop()
					return ctx.Err()
				case <-timer.C:
				}
			}
		}
		if err := send(m); err != nil {
			return err
		}
	}
	return nil
}

// ListMatches serves oof.ops.v1 ListMatches.
func (g *GRPC) ListMatches(ctx context.Context, req *opspb.ListMatchesRequest) (*opspb.ListMatchesResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	f := queryops.MatchFilter{GameID: req.GetGameId(), UserID: req.GetUserId(), Limit: int(req.GetLimit()), Cursor: req.GetCursor()}
	if req.EndedSince != nil {
		f.Since = req.GetEndedSince().AsTime()
	}
	if req.EndedUntil != nil {
		f.Until = req.GetEndedUntil().AsTime()
	}
	ms, next, err := g.s.Matches.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &opspb.ListMatchesResponse{NextCursor: next}
	for _, m := range ms {
		out.Matches = append(out.Matches, MatchProto(m))
	}
	return out, nil
}

// GetMatch serves oof.ops.v1 GetMatch.
func (g *GRPC) GetMatch(ctx context.Context, req *opspb.GetMatchRequest) (*opspb.GetMatchResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	m, err := g.s.Matches.Get(ctx, req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &opspb.GetMatchResponse{Match: MatchProto(m)}, nil
}

// ReplayMatch serves oof.ops.v1 ReplayMatch, the one method of the
// package that is not for admins only: a match's spectators may watch its
// replay (authz.CanWatchMatch; docs/authorization.md). The whole match is
// read before the first event is sent (a match is bounded), so a Kafka
// failure ends the call before anything was streamed.
func (g *GRPC) ReplayMatch(req *opspb.ReplayMatchRequest, stream opspb.OpsService_ReplayMatchServer) error {
	ctx := stream.Context()
	caller, err := authz.Caller(ctx)
	if err != nil {
		return err
	}
	if req.GetSpeed() < 0 {
		return apperr.Invalid("speed", "must be 0 (no pacing) or positive")
	}
	if err := g.s.MayWatch(ctx, caller, req.GetSessionId()); err != nil {
		return err
	}
	recs, err := g.s.Replay(ctx, req.GetSessionId())
	if err != nil {
		return err
	}
	return Pace(ctx, recs, req.GetSpeed(), func(m *sarama.ConsumerMessage) error {
		return stream.Send(&opspb.ReplayMatchResponse{Event: ReplayedProto(m)})
	})
}
