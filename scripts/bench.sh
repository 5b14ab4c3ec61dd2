#!/usr/bin/env bash
# The benchmark command (`make bench`): starts an isolated platform in-process
# with the production password-hash cost and prints a Markdown table of
# throughput, latency and speed goals (cmd/oofbench). Arguments go to
# oofbench, e.g. `scripts/bench.sh -duration 5s -run 'Login|hash'`.
#
# Infrastructure as in scripts/test.sh (scripts/with-infra.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '\n== %s\n' "$*" >&2; }

step "oofbench $* (infrastructure: scripts/with-infra.sh)"
scripts/with-infra.sh go run ./cmd/oofbench "$@"
