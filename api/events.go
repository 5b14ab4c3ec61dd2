// Package api embeds the platform's event schema: events.binpb is the
// FileDescriptorSet of api/proto/oof/events (with its imports), written by
// `make generate` (buf build) and committed, so analytics can decode the
// topics without this repository (`oof schema`, docs/events.md), and
// `make test` checks the protos against it (buf breaking: additive only
// within .v1).
package api

import _ "embed"

// EventsDescriptorSet is events.binpb: a serialized
// google.protobuf.FileDescriptorSet.
//
//go:embed events.binpb
var EventsDescriptorSet []byte
