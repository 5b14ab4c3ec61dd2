#!/usr/bin/env bash
# Fails when api/gen is not exactly what scripts/generate.sh would produce from
# api/proto (stale, hand-edited, missing or extra files). Generates into a
# temporary directory and compares it with the api/gen in the work tree, so it
# never modifies the tree; in a clean checkout the work tree is git HEAD.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# tools/go.mod is used via -modfile (also by the plugins in buf.gen.yaml), which
# cannot be combined with a go.work workspace.
export GOWORK=off

buf() { go tool -modfile=tools/go.mod buf "$@"; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

buf lint
buf generate --output "$tmp/out"
mkdir -p "$tmp/out/api/gen"

if [[ ! -d api/gen ]]; then
  echo "check-generated: api/gen is missing; run scripts/generate.sh and commit the result." >&2
  exit 1
fi

if ! diff -qr "$tmp/out/api/gen" api/gen >"$tmp/summary" 2>&1; then
  {
    echo "check-generated: api/gen is out of date with api/proto."
    echo "Run scripts/generate.sh and commit the result. Differences (fresh vs api/gen):"
    sed "s#$tmp/out/#(fresh) #g" "$tmp/summary"
    echo "--- first 200 lines of the diff ---"
    diff -ru "$tmp/out/api/gen" api/gen | sed "s#$tmp/out/#(fresh) #g" | head -n 200 || true
  } >&2
  exit 1
fi

echo "check-generated: api/gen is up to date." >&2
