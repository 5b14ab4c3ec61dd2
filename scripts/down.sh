#!/usr/bin/env bash
# `make down`: stop the platform and the infrastructure `make up` started.
# Data under .data/ is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR="${DATA_DIR:-$PWD/.data}"
export DATA_DIR
pidfile="$DATA_DIR/oof.pid"
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  echo "platform stopped"
fi
rm -f "$pidfile"
scripts/infra.sh stop
