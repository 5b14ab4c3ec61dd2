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

echo "==> done: $(find api/gen -name '*.go' | wc -l | tr -d ' ') files in api/gen" >&2
