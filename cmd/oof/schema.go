package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/oof-gg/platform/api"
)

const schemaUsage = `usage:
  oof schema [-o=FILE]
      write the FileDescriptorSet of the event protos (api/events.binpb,
      embedded in this binary) to FILE or standard output, e.g. for
      protoc --decode or a schema registry (docs/events.md)`

// schema runs `oof schema`; it needs no connection.
func schema(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	out := fs.String("o", "", "write to this file instead of standard output")
	rest, err := parseInterleaved(fs, args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q", rest[0])
	}
	if err != nil {
		return cliUsageError{err.Error(), schemaUsage}
	}
	if *out == "" {
		_, err := stdout.Write(api.EventsDescriptorSet)
		return err
	}
	return os.WriteFile(*out, api.EventsDescriptorSet, 0o644)
}
