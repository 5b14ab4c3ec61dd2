#!/usr/bin/env bash
# The benchmark command (`make bench`): starts an isolated platform in-process
# with the production password-hash cost and prints a Markdown table of
# throughput, latency and speed goals (cmd/oofbench). Arguments go to
# oofbench, e.g. `scripts/bench.sh -duration 5s -run 'Login|hash'`.
#
# Infrastructure as in scripts/test.sh: it reuses the servers of a running
# `make up`; otherwise it starts an ephemeral set on free ports in a temporary
# folder and stops and removes it on exit. Either way the run gets its own
# database, topic prefix and Redis prefix, and only what this script started
# is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '\n== %s\n' "$*" >&2; }

step "infrastructure"
if scripts/infra.sh status >/dev/null 2>&1; then
  echo "reusing the running make-up infrastructure" >&2
  eval "$(scripts/infra.sh env)"
else
  tmp=$(mktemp -d /tmp/oof-bench-XXXXXX)
  chmod 755 "$tmp"
  mapfile -t ports < <(scripts/infra.sh free-port 4)
  pg=${ports[0]} redis=${ports[1]} kafka=${ports[2]} controller=${ports[3]}
  export DATA_DIR="$tmp" PG_PORT="$pg" REDIS_PORT="$redis" KAFKA_PORT="$kafka" KAFKA_CONTROLLER_PORT="$controller"
  cleanup() {
    scripts/infra.sh stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  scripts/infra.sh start >&2
  eval "$(scripts/infra.sh env)"
fi
export OOF_TEST_POSTGRES_URL="$OOF_POSTGRES_URL" OOF_TEST_REDIS_ADDR="$OOF_REDIS_ADDR" OOF_TEST_KAFKA_BROKERS="$OOF_KAFKA_BROKERS"
unset OOF_POSTGRES_URL OOF_REDIS_ADDR OOF_KAFKA_BROKERS

step "oofbench $*"
# Not exec: the EXIT trap must still stop what we started.
go run ./cmd/oofbench "$@"
