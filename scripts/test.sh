#!/usr/bin/env bash
# The one test command (`make test`, and all that .ci/run does): static
# checks, then every Go test with -race against real PostgreSQL, Redis and
# Kafka (found or started by scripts/with-infra.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "no build outputs or files over 1 MiB committed"
scripts/check-committed-files.sh

step "go vet"
go vet ./...
# deploy/ and tests/browser are modules of their own, so the service's go.mod
# lists only what it runs on (compose-go, go-control-plane and the browser
# driver are test-only).
(cd deploy && go vet ./...)
(cd tests/browser && go vet ./...)

step "generated code is up to date"
scripts/check-generated.sh

step "event protos: no breaking change vs api/events.binpb, and it is up to date"
scripts/check-events-schema.sh

step "chromium for the browser test (Debian package)"
scripts/infra.sh install-browser

step "node and npm for the Node gRPC-Web acceptance test (tests/node)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [[ -n ${CI:-} ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  else
    echo "node/npm missing: TestNodeClientAcceptance will be skipped (apt-get install -y nodejs npm)"
  fi
fi
command -v node >/dev/null 2>&1 && echo "node $(node --version), npm $(npm --version)"

step "go test -race (infrastructure: scripts/with-infra.sh)"
# The service module, then the deployment test module, then the browser test
# module (the Chromium test and the Node client test, which runs npm ci in
# tests/node), against the same servers.
# shellcheck disable=SC2016
scripts/with-infra.sh bash -c 'go test -race -count=1 -timeout 20m ./... "$@" &&
  (cd deploy && go test -race -count=1 -timeout 5m ./...) &&
  (cd tests/browser && go test -race -count=1 -timeout 5m ./...)' test.sh "$@"
