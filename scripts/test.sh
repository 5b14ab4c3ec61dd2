#!/usr/bin/env bash
# The one test command (`make test`, and all that .ci/run does): static
# checks, then every Go test with -race against real PostgreSQL, Redis and
# Kafka. It reuses the servers of a running `make up`; otherwise it starts an
# ephemeral set on free ports in a temporary folder and removes it after.
# Either way each run gets its own database, topic prefix and Redis prefix,
# and only what this script started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "generated code is up to date"
scripts/check-generated.sh

step "infrastructure"
if scripts/infra.sh status >/dev/null 2>&1; then
  echo "reusing the running make-up infrastructure"
  eval "$(scripts/infra.sh env)"
else
  tmp=$(mktemp -d /tmp/oof-test-XXXXXX)
  chmod 755 "$tmp"
  mapfile -t ports < <(scripts/infra.sh free-port 4)
  pg=${ports[0]} redis=${ports[1]} kafka=${ports[2]} controller=${ports[3]}
  export DATA_DIR="$tmp" PG_PORT="$pg" REDIS_PORT="$redis" KAFKA_PORT="$kafka" KAFKA_CONTROLLER_PORT="$controller"
  cleanup() {
    scripts/infra.sh stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  scripts/infra.sh start
  eval "$(scripts/infra.sh env)"
fi
export OOF_TEST_POSTGRES_URL="$OOF_POSTGRES_URL" OOF_TEST_REDIS_ADDR="$OOF_REDIS_ADDR" OOF_TEST_KAFKA_BROKERS="$OOF_KAFKA_BROKERS"
unset OOF_POSTGRES_URL OOF_REDIS_ADDR OOF_KAFKA_BROKERS

step "go test -race"
go test -race -count=1 -timeout 20m ./... "$@"
