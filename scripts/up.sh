#!/usr/bin/env bash
# `make up`: install and start PostgreSQL, Redis and Kafka on loopback, then
# build and start the platform (-target=all) in the background and wait until
# it is ready. Running it again while everything is up changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
DATA_DIR="${DATA_DIR:-$PWD/.data}"
export DATA_DIR
mkdir -p "$DATA_DIR"

scripts/infra.sh start
eval "$(scripts/infra.sh env)"

# One JWT key per checkout, kept across restarts so issued tokens stay valid.
keys="$DATA_DIR/jwt.env"
if [[ ! -s "$keys" ]]; then
  umask 077
  printf 'OOF_JWT_KEYS=local1:%s\nOOF_JWT_ACTIVE_KID=local1\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$keys"
fi
set -a; . "$keys"; set +a

export OOF_GRPC_ADDR="${OOF_GRPC_ADDR:-127.0.0.1:8080}"
export OOF_ADMIN_ADDR="${OOF_ADMIN_ADDR:-127.0.0.1:8081}"
pidfile="$DATA_DIR/oof.pid"
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "platform already running (pid $(cat "$pidfile"))"
else
  mkdir -p bin
  go build -o bin/oof ./cmd/oof
  nohup bin/oof -target=all >>"$DATA_DIR/oof.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if bin/oof -healthcheck "http://$OOF_ADMIN_ADDR/readyz" 2>/dev/null; then break; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "platform exited; last log lines:"; tail -n 30 "$DATA_DIR/oof.log"; exit 1
    fi
    sleep 0.5
  done
  bin/oof -healthcheck "http://$OOF_ADMIN_ADDR/readyz" || { echo "platform not ready after 60s"; tail -n 30 "$DATA_DIR/oof.log"; exit 1; }
fi

cat <<INFO

oof.gg platform is up.
  gRPC + gRPC-Web   $OOF_GRPC_ADDR   (reflection on: grpcurl -plaintext $OOF_GRPC_ADDR list)
  health, metrics   http://$OOF_ADMIN_ADDR/readyz  http://$OOF_ADMIN_ADDR/metrics
  PostgreSQL        $OOF_POSTGRES_URL
  Redis             $OOF_REDIS_ADDR
  Kafka             $OOF_KAFKA_BROKERS
  logs              $DATA_DIR/oof.log
Stop everything with: make down
INFO
