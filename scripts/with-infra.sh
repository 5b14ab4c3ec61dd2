#!/usr/bin/env bash
# scripts/with-infra.sh CMD [ARGS...]: run CMD with OOF_TEST_POSTGRES_URL,
# OOF_TEST_REDIS_ADDR and OOF_TEST_KAFKA_BROKERS pointing at real servers.
# It reuses the servers of a running `make up`; otherwise it starts an
# ephemeral set on free ports in a temporary folder and stops and removes it
# when CMD ends. Each test or bench run then makes its own database, topic
# prefix and Redis prefix, so runs never see each other's data, and only
# what this script started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

if scripts/infra.sh status >/dev/null 2>&1; then
  echo "reusing the running make-up infrastructure" >&2
  eval "$(scripts/infra.sh env)"
else
  tmp=$(mktemp -d /tmp/oof-infra-XXXXXX)
  chmod 755 "$tmp" # PostgreSQL runs as its own user when we are root
  mapfile -t ports < <(scripts/infra.sh free-port 4)
  # The set's settings, for its start, env and stop (the command itself
  # must not inherit them).
  infra=(DATA_DIR="$tmp" PG_PORT="${ports[0]}" REDIS_PORT="${ports[1]}" KAFKA_PORT="${ports[2]}" KAFKA_CONTROLLER_PORT="${ports[3]}")
  cleanup() {
    env "${infra[@]}" scripts/infra.sh stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  env "${infra[@]}" scripts/infra.sh start >&2
  eval "$(env "${infra[@]}" scripts/infra.sh env)"
fi
export OOF_TEST_POSTGRES_URL="$OOF_POSTGRES_URL" OOF_TEST_REDIS_ADDR="$OOF_REDIS_ADDR" OOF_TEST_KAFKA_BROKERS="$OOF_KAFKA_BROKERS"
unset OOF_POSTGRES_URL OOF_REDIS_ADDR OOF_KAFKA_BROKERS

# Not exec: the EXIT trap must still stop what we started.
"$@"
