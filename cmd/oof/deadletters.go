package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/projection"
)

const deadLettersUsage = `usage:
  oof deadletters list [-all] [-projector=NAME] [-limit=N]
      open dead letters, oldest first (-all: re-driven ones too)
  oof deadletters retry ID
  oof deadletters retry -all [-projector=NAME]
      apply dead-lettered records again through their projector (after the
      cause is fixed); a re-driven record is never applied twice

Connects with the same OOF_* variables as the platform.`

// usageError makes the process exit with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n" + deadLettersUsage }

// errReported: the outcome is already printed; exit non-zero quietly.
var errReported = errors.New("")

// deadLetters runs `oof deadletters ...` with args after "deadletters".
func deadLetters(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"missing subcommand"}
	}
	switch args[0] {
	case "list":
		return listDeadLetters(args[1:], stdout)
	case "retry":
		return retryDeadLetters(args[1:], stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, deadLettersUsage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown subcommand %q", args[0])}
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("oof deadletters "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors come back as a usageError with the usage text
	return fs
}

func listDeadLetters(args []string, stdout io.Writer) error {
	fs := newFlagSet("list")
	all := fs.Bool("all", false, "include re-driven dead letters")
	projector := fs.String("projector", "", "only this projector's")
	limit := fs.Int("limit", 100, "at most this many (0: all)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		list, err := projection.ListDeadLetters(ctx, op.Pool(), projection.ListOptions{
			Projector: *projector, Redriven: *all, Limit: *limit})
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no dead letters")
			return nil
		}
		if err := writeDeadLetterTable(stdout, list); err != nil {
			return err
		}
		if len(list) == *limit {
			fmt.Fprintf(stdout, "(the oldest %d; -limit=0 lists all)\n", *limit)
		}
		return nil
	})
}

// writeDeadLetterTable prints one dead letter per line; the error is cut to
// its first line (the full text is in the table and in the log).
func writeDeadLetterTable(w io.Writer, list []projection.DeadLetter) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPROJECTOR\tTOPIC\tPARTITION\tOFFSET\tEVENT TYPE\tEVENT ID\tKEY\tATTEMPTS\tFIRST FAILED\tLAST FAILED\tERROR")
	for _, d := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n",
			d.ID, d.Status, d.Projector, d.Topic, d.Partition, d.Offset, orDash(d.EventType), orDash(d.EventID),
			orDash(printable(d.Key)), d.Attempts,
			d.FirstFailedAt.UTC().Format(time.RFC3339), d.LastFailedAt.UTC().Format(time.RFC3339), firstLine(d.Error, 120))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable shows a key's bytes with anything unprintable escaped.
func printable(b []byte) string {
	q := strconv.QuoteToGraphic(string(b))
	return q[1 : len(q)-1]
}

func firstLine(s string, limit int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

func retryDeadLetters(args []string, stdout io.Writer) error {
	fs := newFlagSet("retry")
	all := fs.Bool("all", false, "re-drive every open dead letter")
	projector := fs.String("projector", "", "with -all: only this projector's")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	var id int64
	switch {
	case *all && fs.NArg() > 0:
		return usageError{"give an ID or -all, not both"}
	case *all:
	case *projector != "":
		return usageError{"-projector goes with -all"}
	case fs.NArg() != 1:
		return usageError{"give one dead letter ID, or -all"}
	default:
		var err error
		if id, err = strconv.ParseInt(fs.Arg(0), 10, 64); err != nil || id <= 0 {
			return usageError{fmt.Sprintf("dead letter ID %q is not a positive number", fs.Arg(0))}
		}
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		if !*all {
			res, err := projection.RetryDeadLetter(ctx, op.Pool(), op.Projector, id)
			if !printOutcome(stdout, res, err) {
				return errReported
			}
			return nil
		}
		var redriven, already, failed int
		err := projection.RetryOpenDeadLetters(ctx, op.Pool(), op.Projector, *projector, func(res projection.RedriveResult, err error) {
			switch {
			case !printOutcome(stdout, res, err):
				failed++
			case res.Outcome == projection.AlreadyRedriven:
				already++
			default:
				redriven++
			}
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "re-driven: %d, already re-driven: %d, still failing or not tried: %d\n", redriven, already, failed)
		if failed > 0 {
			return errReported
		}
		return nil
	})
}

// printOutcome prints one re-drive and reports whether it succeeded (a
// no-op on an already re-driven dead letter counts as success).
func printOutcome(w io.Writer, res projection.RedriveResult, err error) bool {
	switch {
	case err != nil:
		fmt.Fprintf(w, "not re-driven: %v\n", err) // err names the dead letter
		return false
	case res.Outcome == projection.Redriven:
		fmt.Fprintf(w, "dead letter %d: re-driven: the record is applied\n", res.ID)
	case res.Outcome == projection.AlreadyRedriven:
		fmt.Fprintf(w, "dead letter %d: already re-driven; nothing to do\n", res.ID)
	default:
		fmt.Fprintf(w, "dead letter %d: still failing, stays dead: %s\n", res.ID, firstLine(res.Err.Error(), 300))
		return false
	}
	return true
}

// withOperator connects to the platform's database (and Redis) for fn.
func withOperator(fn func(context.Context, *platform.Operator) error) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	op, err := platform.OpenOperator(ctx, cfg, newLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer op.Close()
	return fn(ctx, op)
}
