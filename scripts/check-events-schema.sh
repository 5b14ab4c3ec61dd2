#!/usr/bin/env bash
# The event protos are read by consumers outside this repository (analytics,
# docs/events.md), so within .v1 they may only grow: buf breaking (WIRE_JSON,
# buf.yaml) checks api/proto against the committed descriptor set
# api/events.binpb, and the committed set must be what `make generate` writes
# now (else the embedded schema of `oof schema` lags the code).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOWORK=off
buf() { go tool -modfile=tools/go.mod buf "$@"; }

buf breaking --against api/events.binpb
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
buf build --path api/proto/oof/events -o "$tmp/events.binpb"
if ! cmp -s "$tmp/events.binpb" api/events.binpb; then
  echo "check-events-schema: api/events.binpb is out of date; run make generate and commit it." >&2
  exit 1
fi
echo "check-events-schema: no breaking change; api/events.binpb is up to date." >&2
