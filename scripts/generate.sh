#!/usr/bin/env bash
# Regenerates the Go code in api/gen from the protos in api/proto.
# buf, protoc-gen-go and protoc-gen-go-grpc are Go `tool` deps of tools/go.mod
# (fetched from the Go module proxy on first use, then cached).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# tools/go.mod is used via -modfile (also by the plugins in buf.gen.yaml), which
# cannot be combined with a go.work workspace.
export GOWORK=off

buf() { go tool -modfile=tools/go.mod buf "$@"; }

echo "==> buf lint" >&2
buf lint

echo "==> buf generate (api/proto -> api/gen)" >&2
rm -rf api/gen
buf generate

# The event schema for analytics (api/events.binpb, embedded by api/events.go):
# checked against the committed one first, so regenerating cannot quietly
# accept a change that breaks readers of the topics (additive only in .v1).
echo "==> buf breaking (event protos vs api/events.binpb), buf build -> api/events.binpb" >&2
if [[ -f api/events.binpb ]]; then
  buf breaking --against api/events.binpb
fi
buf build --path api/proto/oof/events -o api/events.binpb

echo "==> done: $(find api/gen -name '*.go' | wc -l | tr -d ' ') files in api/gen" >&2
