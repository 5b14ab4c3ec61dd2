package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	commandops "github.com/oof-gg/platform/command/ops"
	"github.com/oof-gg/platform/internal/platform"
	queryops "github.com/oof-gg/platform/query/ops"
)

// The match-history subcommands share oof.ops.v1's code (command/ops,
// query/ops): ListMatches, GetMatch and ReplayMatch.
func init() {
	opsSubcommands["matches"] = matches
	opsSubcommands["match"] = match
	opsSubcommands["replay"] = replay
}

const matchesUsage = `usage:
  oof matches [-game=ID] [-player=USER_ID] [-since=TIME] [-until=TIME] [-limit=N] [-cursor=C] [-json]
      finished matches, newest end first; TIME is RFC 3339 or a duration
      before now (24h); -since/-until bound the end time ([since, until));
      the last line names the next page's -cursor
  oof match SESSION_ID
      one finished match as JSON: players, times, final state, event count
      and the Kafka ranges of its lifecycle and live events
  oof replay SESSION_ID [-speed=N]
      the match's events (oof.session.v1 and oof.live.v1, read by the
      recorded ranges only) as JSON lines like oof tail's, in time order;
      -speed=1 keeps the original gaps, N divides them, 0 (default) none

Connects with the same OOF_* variables as the platform.`

func matchesUsageErr(err error) error { return cliUsageError{err.Error(), matchesUsage} }

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("-%s %q: want an RFC 3339 time or a duration (24h)", name, s)
}

func matches(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("matches", flag.ContinueOnError)
	game := fs.String("game", "", "only this game's matches (game id)")
	player := fs.String("player", "", "only matches this user played in (user id)")
	sinceS := fs.String("since", "", "ended at or after (RFC 3339 or a duration ago)")
	untilS := fs.String("until", "", "ended before (RFC 3339 or a duration ago)")
	limit := fs.Int("limit", 50, "page size (1..500)")
	cursor := fs.String("cursor", "", "the page after this cursor")
	asJSON := fs.Bool("json", false, "print the ListMatches answer as JSON")
	rest, err := parseInterleaved(fs, args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q", rest[0])
	}
	if err != nil {
		return matchesUsageErr(err)
	}
	f := queryops.MatchFilter{GameID: *game, UserID: *player, Limit: *limit, Cursor: *cursor}
	if f.Since, err = parseWhen("since", *sinceS); err != nil {
		return matchesUsageErr(err)
	}
	if f.Until, err = parseWhen("until", *untilS); err != nil {
		return matchesUsageErr(err)
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		svc, err := op.Ops()
		if err != nil {
			return err
		}
		ms, next, err := svc.Matches.List(ctx, f)
		if err != nil {
			return err
		}
		resp := &opspb.ListMatchesResponse{NextCursor: next}
		for _, m := range ms {
			resp.Matches = append(resp.Matches, commandops.MatchProto(m))
		}
		if *asJSON {
			return printProto(stdout, resp)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SESSION\tGAME\tPLAYERS\tSTARTED\tENDED\tSTATE\tEVENTS")
		for _, m := range resp.GetMatches() {
			started := "-"
			if m.StartedAt != nil {
				started = m.GetStartedAt().AsTime().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", m.GetSessionId(), m.GetGameId(), strings.Join(m.GetUserIds(), ","),
				started, m.GetEndedAt().AsTime().Format(time.RFC3339), m.GetFinalState(), m.GetEventCount())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if next != "" {
			fmt.Fprintf(stdout, "next page: -cursor=%s\n", next)
		}
		return nil
	})
}

func printProto(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func match(args []string, _ io.Reader, stdout io.Writer) error {
	rest, err := parseInterleaved(flag.NewFlagSet("match", flag.ContinueOnError), args)
	if err == nil && len(rest) != 1 {
		err = fmt.Errorf("give one SESSION_ID")
	}
	if err != nil {
		return matchesUsageErr(err)
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		svc, err := op.Ops()
		if err != nil {
			return err
		}
		m, err := svc.Matches.Get(ctx, rest[0])
		if err != nil {
			return err
		}
		return printProto(stdout, commandops.MatchProto(m))
	})
}

func replay(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	speed := fs.Float64("speed", 0, "1: original pace, N: N times faster, 0: no pacing")
	rest, err := parseInterleaved(fs, args)
	if err == nil && len(rest) != 1 {
		err = fmt.Errorf("give one SESSION_ID")
	}
	if err == nil && *speed < 0 {
		err = fmt.Errorf("-speed must be 0 or positive")
	}
	if err != nil {
		return matchesUsageErr(err)
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		svc, err := op.Ops()
		if err != nil {
			return err
		}
		recs, err := svc.Replay(ctx, rest[0])
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		return commandops.Pace(ctx, recs, *speed, func(m *sarama.ConsumerMessage) error {
			return enc.Encode(queryops.DecodeRecord(m))
		})
	})
}
