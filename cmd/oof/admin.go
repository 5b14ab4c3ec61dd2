package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"strings"

	commandauth "github.com/oof-gg/platform/command/auth"
	"github.com/oof-gg/platform/internal/platform"
)

// opsSubcommands are the operator subcommands of docs/operations.md.
var opsSubcommands = map[string]func(args []string, stdin io.Reader, stdout io.Writer) error{
	"admin":  admin,
	"status": status,
	"tail":   tail,
	"schema": schema,
}

// cliUsageError is a usage mistake in an operator subcommand: exit 2 with
// the subcommand's usage.
type cliUsageError struct{ msg, usage string }

func (e cliUsageError) Error() string { return e.msg + "\n" + e.usage }

const adminUsage = `usage:
  oof admin create-user USERNAME [-email=ADDRESS] [-role=ROLE] [-password-stdin]
      create a password account (UserRegistered on oof.user.v1); without
      -password-stdin a random password is generated and printed once
  oof admin grant-role USER ROLE
      set the role (player, developer, admin, service) of the account USER
      (id, username or e-mail); tokens carry it from the next login or refresh
  oof admin erase-user USER
      erase the personal data (e-mail) of the account USER (id, username or
      e-mail): its personal-data keys are destroyed and UserErased is
      recorded; the log is not rewritten (docs/events.md, "Personal data")

Connects with the same OOF_* variables as the platform. Flags may also be
written with two dashes (--password-stdin).`

// admin runs `oof admin ...`: the same Go code as oof.ops.v1's CreateUser
// and GrantRole (command/ops), through the command path, so every change is
// an event on the log.
func admin(args []string, stdin io.Reader, stdout io.Writer) error {
	usage := func(msg string) error { return cliUsageError{msg, adminUsage} }
	if len(args) == 0 {
		return usage("missing subcommand")
	}
	switch args[0] {
	case "create-user":
		return createUser(args[1:], stdin, stdout, usage)
	case "grant-role":
		rest, err := parseInterleaved(flag.NewFlagSet("grant-role", flag.ContinueOnError), args[1:])
		if err != nil {
			return usage(err.Error())
		}
		if len(rest) != 2 {
			return usage("give USER and ROLE")
		}
		return withOperator(func(ctx context.Context, op *platform.Operator) error {
			svc, err := op.Ops()
			if err != nil {
				return err
			}
			res, err := svc.GrantRole(ctx, rest[0], rest[1], "")
			if err != nil {
				return err
			}
			if !res.Changed {
				fmt.Fprintf(stdout, "user %s already has role %s; nothing changed\n", res.UserID, res.Role)
				return nil
			}
			fmt.Fprintf(stdout, "user %s: role %s (was %s); tokens carry it from the next login or token refresh\n",
				res.UserID, res.Role, res.PreviousRole)
			return nil
		})
	case "erase-user":
		return eraseUser(args[1:], stdout, usage)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, adminUsage)
		return nil
	default:
		return usage(fmt.Sprintf("unknown subcommand %q", args[0]))
	}
}

func eraseUser(args []string, stdout io.Writer, usage func(string) error) error {
	rest, err := parseInterleaved(flag.NewFlagSet("erase-user", flag.ContinueOnError), args)
	if err != nil {
		return usage(err.Error())
	}
	if len(rest) != 1 {
		return usage("give one USER")
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		svc, err := op.Ops()
		if err != nil {
			return err
		}
		res, err := svc.EraseUser(ctx, rest[0], "")
		if err != nil {
			return err
		}
		if !res.Changed {
			fmt.Fprintf(stdout, "user %s was already erased; nothing changed\n", res.UserID)
			return nil
		}
		fmt.Fprintf(stdout, "user %s erased: %d personal-data key(s) destroyed, e-mail cleared from %d player(s); UserErased recorded\n",
			res.UserID, len(res.KeyIDs), len(res.PlayerIDs))
		return nil
	})
}

func createUser(args []string, stdin io.Reader, stdout io.Writer, usage func(string) error) error {
	fs := flag.NewFlagSet("create-user", flag.ContinueOnError)
	email := fs.String("email", "", "the account's e-mail address (optional)")
	role := fs.String("role", "", "the account's role (default player)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usage(err.Error())
	}
	if len(rest) != 1 {
		return usage("give one USERNAME")
	}
	password, generated := "", false
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		password, generated = base64.RawURLEncoding.EncodeToString(b), true
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		svc, err := op.Ops()
		if err != nil {
			return err
		}
		acct, err := svc.CreateUser(ctx, commandauth.CreateAccountInput{
			Username: rest[0], Email: *email, Password: password, Role: *role})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s (%s), role %s\n", acct.Username, acct.UserID, acct.Role)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", password)
		}
		return nil
	})
}

// parseInterleaved parses flags that may come before or after the
// positional arguments (`create-user ada --email=...`), which the flag
// package alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest, args = append(rest, args[0]), args[1:]
	}
}
