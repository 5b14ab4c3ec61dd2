package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"google.golang.org/protobuf/encoding/protojson"

	commandops "github.com/oof-gg/platform/command/ops"
	"github.com/oof-gg/platform/internal/platform"
)

const statusUsage = `usage:
  oof status [-json] [-all]
      consumer lag per projector and partition (stored offset vs the
      topic's end), open dead letters per projector, and the outbox relay's
      backlog; -all lists partitions without lag too; -json prints what
      oof.ops.v1 GetStatus answers

Connects with the same OOF_* variables as the platform.`

// status runs `oof status`: the same code as oof.ops.v1 GetStatus.
func status(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the GetStatus answer as JSON")
	all := fs.Bool("all", false, "list every partition, also those without lag")
	rest, err := parseInterleaved(fs, args)
	if err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", rest[0])
		}
		return cliUsageError{err.Error(), statusUsage}
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		svc, err := op.Ops()
		if err != nil {
			return err
		}
		st, err := svc.Status.Status(ctx)
		if err != nil {
			return err
		}
		resp := commandops.StatusProto(st)
		if *asJSON {
			b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(resp)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			return nil
		}
		if resp.GetKafkaError() != "" {
			fmt.Fprintf(stdout, "kafka: %s (end offsets unknown)\n", resp.GetKafkaError())
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECTOR\tTOPIC\tPARTITION\tSTORED\tEND\tLAG")
		var total int64
		for _, l := range resp.GetLag() {
			total += max(l.GetLag(), 0)
			if *all || l.GetLag() != 0 {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", l.GetProjector(), l.GetTopic(), l.GetPartition(),
					l.GetStoredOffset(), l.GetEndOffset(), l.GetLag())
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "total lag: %d records\n", total)
		for _, d := range resp.GetDeadLetters() {
			if d.GetOpen() > 0 {
				fmt.Fprintf(stdout, "open dead letters: %s: %d (oof deadletters list)\n", d.GetProjector(), d.GetOpen())
			}
		}
		r := resp.GetRelay()
		fmt.Fprintf(stdout, "outbox backlog: %d events not yet on Kafka (oldest %.1fs)\n", r.GetPending(), r.GetOldestAgeSeconds())
		return nil
	})
}
