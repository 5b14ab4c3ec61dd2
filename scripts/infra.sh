#!/usr/bin/env bash
# scripts/infra.sh — local infrastructure of the platform on loopback:
# PostgreSQL (Debian package), Redis (Debian package) and Apache Kafka 4.x
# (single-node KRaft, jars fetched from Maven Central with Maven).
#
# Usage: scripts/infra.sh <command> [args]
#
#   install                  install missing apt packages and the Kafka jars (cached in .tools/)
#   install-browser          install Debian's chromium if missing (the gRPC-Web browser test, tests/browser)
#   start                    install if needed, start what is not running from $DATA_DIR, wait healthy
#   stop                     stop the services of $DATA_DIR
#   status                   print each service; exit 0 only if all three run healthy from $DATA_DIR
#   env                      print `export OOF_...=...` lines for these ports (eval "$(scripts/infra.sh env)")
#   free-port [N]            print N (default 1) distinct free TCP ports on 127.0.0.1, one per line
#   kafka-run-class CLASS [ARGS...]
#                            run a Kafka Java class with the Kafka classpath, e.g.
#                            org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#
# Environment (defaults):
#   DATA_DIR=<repo>/.data  PG_PORT=5432  REDIS_PORT=6379  KAFKA_PORT=9092  KAFKA_CONTROLLER_PORT=9093
#   TOOLS_DIR=<repo>/.tools  KAFKA_VERSION=4.4.0  KAFKA_HEAP_OPTS="-Xmx768m -Xms256m"
#   INFRA_START_TIMEOUT=120 (seconds per service)  KAFKA_STOP_TIMEOUT=30
#   INFRA_MVN_ARGS (extra mvn args, e.g. -Dmaven.repo.local=...)  KAFKA_OPTS / KAFKA_TOOL_OPTS (extra JVM args)
#
# Layout of $DATA_DIR:
#   postgres/            the cluster (PGDATA; also holds the unix socket and server.log)
#   redis/               redis.conf, redis.pid, redis.log, AOF/RDB files
#   kafka/               server.properties, cluster.id, kafka.pid, kafka.out, logs/server.log, data/
#   started-by-infra     services started by the last `start` (one name per line)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
TPL_DIR="$SCRIPT_DIR/infra"

DATA_DIR="${DATA_DIR:-$REPO_ROOT/.data}"
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
TOOLS_DIR="${TOOLS_DIR:-$REPO_ROOT/.tools}"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx768m -Xms256m}"
INFRA_START_TIMEOUT="${INFRA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

PG_USER=oof
PG_PASSWORD=oof
PG_DB=oof
SERVICES=(postgres redis kafka)

KAFKA_HOME="$TOOLS_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"

# Keep the caller's libpq / redis-cli environment from redirecting our checks.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGPASSFILE PGSSLMODE PGOPTIONS PGDATA \
  REDISCLI_AUTH 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
log() { printf '[infra %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
warn() { log "WARN: $*"; }
die() {
  log "ERROR: $*"
  exit 1
}

# tail_log NAME FILE...: print the last lines of service logs (used on failures)
tail_log() {
  local name=$1 f
  shift
  for f in "$@"; do
    if [[ -s $f ]]; then
      printf -- '----- last lines of %s log %s -----\n' "$name" "$f" >&2
      tail -n 40 "$f" >&2 || true
      printf -- '----- end of %s -----\n' "$f" >&2
    fi
  done
}

is_port() { [[ $1 =~ ^[0-9]+$ ]] && (($1 > 0 && $1 < 65536)); }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT
port_open() {
  # shellcheck disable=SC2016
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

port_owner() { # best effort description of who listens on PORT
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | head -n 3
  fi
}

# ensure_port_free SERVICE PORT
ensure_port_free() {
  if port_open "$2"; then
    local who
    who=$(port_owner "$2")
    die "$1: port 127.0.0.1:$2 is already in use by another process (not the $1 of DATA_DIR=$DATA_DIR)${who:+ — $who}. Stop it or choose another port (see \`$0 free-port\`)."
  fi
}

pid_alive() { # a zombie (exited, not yet reaped by its new parent) counts as dead
  [[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(<"/proc/$1/stat") 2>/dev/null || return 0
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}

read_pid() { # read_pid FILE -> prints the first line if it is a number
  local pid=""
  if [[ -r $1 ]]; then read -r pid <"$1" 2>/dev/null || true; fi
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
}

proc_cwd_is() { # proc_cwd_is PID DIR
  local cwd
  cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
  [[ $cwd == "$2" ]]
}

# render TEMPLATE OUT KEY=VALUE...: replace @KEY@ placeholders; write atomically
render() {
  local tpl=$1 out=$2 kv content
  shift 2
  content=$(<"$tpl")
  for kv in "$@"; do
    content=${content//"@${kv%%=*}@"/"${kv#*=}"}
  done
  if [[ $content =~ @[A-Z_]+@ ]]; then
    die "template $tpl: placeholder ${BASH_REMATCH[0]} was not filled in"
  fi
  printf '%s\n' "$content" >"$out.tmp.$$"
  mv -f "$out.tmp.$$" "$out"
}

validate_ports() {
  local p
  for p in PG_PORT REDIS_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT; do
    is_port "${!p}" || die "$p=${!p} is not a valid TCP port"
  done
  local -A seen=()
  for p in PG_PORT REDIS_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT; do
    [[ -z ${seen[${!p}]:-} ]] || die "$p and ${seen[${!p}]} are both ${!p}; every service needs its own port"
    seen[${!p}]=$p
  done
}

# init_paths: make DATA_DIR absolute (creating it if asked) and derive the service dirs
init_paths() {
  local create=${1:-}
  if [[ $create == create ]]; then
    mkdir -p "$DATA_DIR"
  fi
  if [[ -d $DATA_DIR ]]; then
    DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"
  elif [[ $DATA_DIR != /* ]]; then
    DATA_DIR="$PWD/$DATA_DIR"
  fi
  PGDATA_DIR="$DATA_DIR/postgres"
  REDIS_DIR="$DATA_DIR/redis"
  KAFKA_DIR="$DATA_DIR/kafka"
  KAFKA_DATA="$KAFKA_DIR/data"
  STARTED_FILE="$DATA_DIR/started-by-infra"
}

lock_data_dir() {
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$DATA_DIR/.infra.lock"
  if ! flock -n 9; then
    log "another infra.sh is working on DATA_DIR=$DATA_DIR; waiting for it"
    flock -w 300 9 || die "timed out waiting for the lock $DATA_DIR/.infra.lock"
  fi
}

find_java() {
  if [[ -n ${JAVA:-} ]]; then return 0; fi
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA=$(command -v java)
  else
    JAVA=""
    return 1
  fi
}

java_major() { # prints the major version of $JAVA
  "$JAVA" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ {print $2; exit}' | sed 's/^1\.//'
}

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------
POLICY_RC_CREATED=""
SUDO=()
cleanup() {
  if [[ -n $POLICY_RC_CREATED ]]; then
    "${SUDO[@]}" rm -f "$POLICY_RC_CREATED" || true
  fi
}
trap cleanup EXIT

apt_install() {
  local pkgs=("$@") aptlog
  SUDO=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    else
      die "missing packages: ${pkgs[*]} — run as root, or install them: sudo apt-get install -y ${pkgs[*]}"
    fi
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${pkgs[*]} (or equivalents) manually"
  aptlog=$(mktemp)
  log "installing with apt-get: ${pkgs[*]}"
  # Do not let the packages' maintainer scripts start the distro's own instances
  # (system postgres cluster "main" on 5432, redis-server.service on 6379): they would
  # occupy our default ports. policy-rc.d is honoured by invoke-rc.d and deb-systemd-invoke.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, created by scripts/infra.sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=/usr/sbin/policy-rc.d
  fi
  local apt_get=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0)
  if ! "${apt_get[@]}" install --no-install-recommends "${pkgs[@]}" >"$aptlog" 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    if ! { "${apt_get[@]}" update && "${apt_get[@]}" install --no-install-recommends "${pkgs[@]}"; } >>"$aptlog" 2>&1; then
      tail_log apt "$aptlog"
      rm -f "$aptlog"
      die "apt-get install ${pkgs[*]} failed"
    fi
  fi
  rm -f "$aptlog"
  if [[ -n $POLICY_RC_CREATED ]]; then
    "${SUDO[@]}" rm -f "$POLICY_RC_CREATED"
    POLICY_RC_CREATED=""
  fi
}

newest_pg_bin() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres && -x $d/psql && -x $d/pg_isready ]] || continue
    if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1) == "$d" ]]; then best=$d; fi
  done
  [[ -n $best ]] && printf '%s\n' "$best"
}

ensure_packages() {
  local missing=()
  newest_pg_bin >/dev/null || missing+=(postgresql)
  { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || missing+=(redis-server)
  find_java || missing+=(default-jre-headless)
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
    hash -r
    newest_pg_bin >/dev/null || die "PostgreSQL binaries still missing in /usr/lib/postgresql/*/bin after installing"
    command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after installing"
    JAVA=""
    find_java || die "java still missing after installing"
  fi
  if ((EUID == 0)) && ! id -u postgres >/dev/null 2>&1; then
    die "running as root but there is no 'postgres' OS user to run PostgreSQL as (normally created by the postgresql package)"
  fi
}

kafka_libs_ready() { [[ -f $KAFKA_LIBS/.complete ]]; }

ensure_kafka_libs() {
  kafka_libs_ready && return 0
  mkdir -p "$TOOLS_DIR"
  # Several infra.sh (default + ephemeral sets) may install at once: serialise on a lock.
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$TOOLS_DIR/.kafka-$KAFKA_VERSION.lock"
    flock -w 900 8 || die "timed out waiting for $TOOLS_DIR/.kafka-$KAFKA_VERSION.lock"
  fi
  if ! kafka_libs_ready; then
    find_java || die "java not found"
    local major
    major=$(java_major)
    if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
      die "Kafka $KAFKA_VERSION needs Java 17+, $JAVA is Java ${major:-?}"
    fi
    if ! command -v mvn >/dev/null 2>&1; then
      apt_install maven
      hash -r
      command -v mvn >/dev/null 2>&1 || die "mvn still missing after installing maven"
    fi
    local tmp="$KAFKA_HOME/libs.tmp.$$" mvnlog="$KAFKA_HOME/mvn.log" t0=$SECONDS
    rm -rf "$tmp"
    mkdir -p "$tmp"
    log "kafka: downloading org.apache.kafka:kafka_2.13:$KAFKA_VERSION + tools + log4j2 from Maven Central (mvn)"
    # shellcheck disable=SC2086
    if ! (cd "$TPL_DIR" && mvn -B -q --no-transfer-progress ${INFRA_MVN_ARGS:-} -f "$TPL_DIR/kafka-pom.xml" \
      "-Dkafka.version=$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$tmp" \
      dependency:copy-dependencies) >"$mvnlog" 2>&1; then
      tail_log mvn "$mvnlog"
      rm -rf "$tmp"
      die "kafka: mvn dependency:copy-dependencies failed (full log: $mvnlog)"
    fi
    local j
    for j in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
      [[ -f $tmp/$j ]] || die "kafka: $j missing after download (see $mvnlog)"
    done
    compgen -G "$tmp/log4j-core-*.jar" >/dev/null || die "kafka: log4j-core missing after download"
    date -u +%FT%TZ >"$tmp/.complete"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS ($((SECONDS - t0))s)"
  fi
  if command -v flock >/dev/null 2>&1; then exec 8>&-; fi
}

cmd_install() {
  ensure_packages
  ensure_kafka_libs
  log "installed: PostgreSQL $(basename "$(dirname "$(newest_pg_bin)")"), $(redis-server --version | awk '{print $1, $3}'), Kafka $KAFKA_VERSION ($KAFKA_LIBS), java $JAVA"
}

# The browser test drives Debian's chromium headless; `make test` installs it
# so a fresh machine runs that test instead of skipping it.
cmd_install_browser() {
  command -v chromium >/dev/null 2>&1 && return 0
  apt_install chromium
  hash -r
  command -v chromium >/dev/null 2>&1 || die "chromium still missing after installing"
  log "installed: $(chromium --version 2>/dev/null || echo chromium)"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
PG_OS_USER=""
pg_setup() {
  if [[ -z ${PG_BIN:-} ]]; then
    if [[ -f $PGDATA_DIR/PG_VERSION ]]; then
      local v
      v=$(<"$PGDATA_DIR/PG_VERSION")
      PG_BIN="/usr/lib/postgresql/$v/bin"
      [[ -x $PG_BIN/postgres ]] || die "postgres: $PGDATA_DIR was created by PostgreSQL $v but $PG_BIN/postgres is missing (apt-get install postgresql-$v)"
    else
      PG_BIN=$(newest_pg_bin) || die "postgres: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (run: $0 install)"
    fi
  fi
  if ((EUID == 0)); then
    # PostgreSQL refuses to run as root: run as the owner of an existing cluster, else as 'postgres'.
    local owner=""
    [[ -e $PGDATA_DIR ]] && owner=$(stat -c %U "$PGDATA_DIR")
    if [[ -n $owner && $owner != root && $owner != UNKNOWN ]]; then PG_OS_USER=$owner; else PG_OS_USER=postgres; fi
  else
    PG_OS_USER=$(id -un)
  fi
}

as_pg() { # run a PostgreSQL server program as the cluster's OS user
  if ((EUID == 0)); then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

# As root, the postgres OS user must be able to reach $DATA_DIR (mktemp dirs are 0700).
pg_fix_traversal() {
  ((EUID == 0)) || return 0
  runuser -u "$PG_OS_USER" -- test -x "$DATA_DIR/." 2>/dev/null && return 0
  local d=$DATA_DIR
  while [[ -n $d && $d != / ]]; do
    if ! runuser -u "$PG_OS_USER" -- test -x "$d/." 2>/dev/null; then
      # it may fail only because of an ancestor; granting o+x on each blocking dir is enough
      if [[ $(stat -c %a "$d") != *[1357] ]]; then
        log "postgres: granting o+x on $d so that OS user '$PG_OS_USER' can reach $PGDATA_DIR"
        chmod o+x "$d"
      fi
    fi
    d=$(dirname "$d")
  done
  runuser -u "$PG_OS_USER" -- test -x "$DATA_DIR/." ||
    die "postgres: OS user '$PG_OS_USER' cannot traverse to $DATA_DIR; choose a DATA_DIR outside private directories"
}

postgres_pid() { # prints the postmaster pid if the cluster of this DATA_DIR is running
  local pid
  pid=$(read_pid "$PGDATA_DIR/postmaster.pid") || return 1
  pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]] || return 1
  proc_cwd_is "$pid" "$PGDATA_DIR" || return 1
  printf '%s\n' "$pid"
}

pg_url() { printf 'postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable\n' "$PG_USER" "$PG_PASSWORD" "$PG_PORT" "$PG_DB"; }

pg_psql() { PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$@"; }

# pg_healthy: accepting connections on PG_PORT, `select 1` works as oof@oof, and it is OUR cluster
pg_healthy() {
  if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1; then
    PG_HEALTH_MSG="pg_isready: not accepting connections on 127.0.0.1:$PG_PORT"
    return 1
  fi
  local dd
  if ! dd=$(pg_psql -d "$PG_DB" -Atqc "select 1, current_setting('data_directory')" 2>&1); then
    PG_HEALTH_MSG="psql as $PG_USER@$PG_DB failed: $(tail -n 1 <<<"$dd")"
    return 1
  fi
  if [[ $dd != "1|$PGDATA_DIR" ]]; then
    PG_HEALTH_MSG="port $PG_PORT answers but serves data directory '${dd#1|}', not $PGDATA_DIR"
    return 1
  fi
}

pg_init() {
  [[ -f $PGDATA_DIR/PG_VERSION ]] && return 0
  if [[ -d $PGDATA_DIR ]] && [[ -n $(ls -A "$PGDATA_DIR") ]]; then
    die "postgres: $PGDATA_DIR is not empty but is no PostgreSQL cluster (no PG_VERSION); remove it to re-initialise"
  fi
  local tmp="$DATA_DIR/postgres.init.$$" pwfile="$DATA_DIR/.pg-pw.$$" initlog="$DATA_DIR/postgres-initdb.log"
  rm -rf "$tmp"
  mkdir -m 700 "$tmp"
  (umask 077 && printf '%s\n' "$PG_PASSWORD" >"$pwfile")
  if ((EUID == 0)); then chown "$PG_OS_USER:" "$tmp" "$pwfile"; fi
  log "postgres: initdb $PGDATA_DIR (superuser $PG_USER, $("$PG_BIN/postgres" --version))"
  if ! as_pg "$PG_BIN/initdb" -D "$tmp" -U "$PG_USER" --pwfile="$pwfile" -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$initlog" 2>&1; then
    rm -rf "$tmp" "$pwfile"
    tail_log initdb "$initlog"
    die "postgres: initdb failed"
  fi
  rm -f "$pwfile"
  printf "\n# --- added by scripts/infra.sh: port/listen/socket/tuning, regenerated on every start ---\ninclude_if_exists = 'infra.conf'\n" >>"$tmp/postgresql.conf"
  # Create the application database in single-user mode, so the cluster is complete before it
  # is moved into place (an interrupted init never leaves a half-made $DATA_DIR/postgres).
  if ! printf 'CREATE DATABASE %s OWNER %s;\n' "$PG_DB" "$PG_USER" |
    as_pg "$PG_BIN/postgres" --single -D "$tmp" -c listen_addresses= postgres >>"$initlog" 2>&1 ||
    grep -q 'ERROR' "$initlog"; then
    rm -rf "$tmp"
    tail_log initdb "$initlog"
    die "postgres: creating database $PG_DB failed"
  fi
  [[ -d $PGDATA_DIR ]] && rmdir "$PGDATA_DIR"
  mv "$tmp" "$PGDATA_DIR"
}

pg_write_conf() {
  local sock=$PGDATA_DIR
  # sun_path is limited to 107 bytes: without room for the socket, serve TCP only.
  if ((${#sock} + 20 > 107)); then
    warn "postgres: $sock is too long for a unix socket path; unix socket disabled (TCP only)"
    sock=""
  fi
  render "$TPL_DIR/postgresql.conf.tmpl" "$PGDATA_DIR/infra.conf" "PG_PORT=$PG_PORT" "PG_SOCKET_DIR=${sock//\'/\'\'}"
  if ((EUID == 0)); then chown "$PG_OS_USER:" "$PGDATA_DIR/infra.conf"; fi
}

pg_launch() {
  ensure_port_free postgres "$PG_PORT"
  pg_fix_traversal
  pg_init
  pg_write_conf
  log "postgres: starting on 127.0.0.1:$PG_PORT (log $PGDATA_DIR/server.log)"
  if ! as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t "$INFRA_START_TIMEOUT" -s 9>&-; then
    tail_log postgres "$PGDATA_DIR/server.log"
    die "postgres: pg_ctl start failed"
  fi
}

pg_stop() {
  if ! postgres_pid >/dev/null; then
    log "postgres: not running"
    return 0
  fi
  log "postgres: stopping (pg_ctl stop -m fast)"
  as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 -s ||
    die "postgres: pg_ctl stop failed (log $PGDATA_DIR/server.log)"
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
redis_pid() {
  local pid
  pid=$(read_pid "$REDIS_DIR/redis.pid") || return 1
  pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
  proc_cwd_is "$pid" "$REDIS_DIR" || return 1
  printf '%s\n' "$pid"
}

redis_cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# redis_healthy PID: PING answers PONG on REDIS_PORT and the server there is process PID
redis_healthy() {
  local pong
  pong=$(redis_cli ping 2>&1) || true
  if [[ $pong != PONG ]]; then
    REDIS_HEALTH_MSG="PING on 127.0.0.1:$REDIS_PORT answered '${pong:-nothing}'"
    return 1
  fi
  local spid
  spid=$(redis_cli info server 2>/dev/null | tr -d '\r' | awk -F: '$1 == "process_id" {print $2}')
  if [[ $spid != "$1" ]]; then
    REDIS_HEALTH_MSG="port $REDIS_PORT answers but is served by pid ${spid:-?}, not $1"
    return 1
  fi
}

redis_launch() {
  mkdir -p "$REDIS_DIR"
  ensure_port_free redis "$REDIS_PORT"
  render "$TPL_DIR/redis.conf.tmpl" "$REDIS_DIR/redis.conf" "REDIS_PORT=$REDIS_PORT" "REDIS_DIR=$REDIS_DIR"
  rm -f "$REDIS_DIR/redis.pid"
  log "redis: starting on 127.0.0.1:$REDIS_PORT (log $REDIS_DIR/redis.log)"
  (cd "$REDIS_DIR" && redis-server "$REDIS_DIR/redis.conf" </dev/null >>"$REDIS_DIR/redis.out" 2>&1 9>&-) || {
    tail_log redis "$REDIS_DIR/redis.out" "$REDIS_DIR/redis.log"
    die "redis: redis-server failed to start"
  }
}

redis_stop() {
  local pid
  if ! pid=$(redis_pid); then
    log "redis: not running"
    rm -f "$REDIS_DIR/redis.pid"
    return 0
  fi
  log "redis: stopping (pid $pid)"
  local spid
  spid=$(redis_cli info server 2>/dev/null | tr -d '\r' | awk -F: '$1 == "process_id" {print $2}') || true
  if [[ $spid == "$pid" ]]; then
    redis_cli shutdown >/dev/null 2>&1 || true
  else
    kill -TERM "$pid" 2>/dev/null || true # not reachable on REDIS_PORT (port changed?): signal it
  fi
  wait_exit redis "$pid" 30
}

# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------
kafka_pid() {
  local pid
  pid=$(read_pid "$KAFKA_DIR/kafka.pid") || return 1
  pid_alive "$pid" || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$KAFKA_DIR/server.properties" || return 1
  printf '%s\n' "$pid"
}

# kafka_java_cmd: sets KJ to the java command line for Kafka tools (small heap, fast JVM start,
# log4j2 warnings to stderr only); KAFKA_TOOL_OPTS adds JVM options.
kafka_java_cmd() {
  find_java || die "java not found (run: $0 install)"
  kafka_libs_ready || die "Kafka $KAFKA_VERSION jars missing in $KAFKA_LIBS (run: $0 install)"
  KJ=("$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$TPL_DIR/kafka-tools-log4j2.xml" -cp "$KAFKA_LIBS/*")
  # shellcheck disable=SC2206
  if [[ -n ${KAFKA_TOOL_OPTS:-} ]]; then KJ+=($KAFKA_TOOL_OPTS); fi
}

kafka_java() { # kafka_java CLASS ARGS...
  kafka_java_cmd
  "${KJ[@]}" "$@"
}

kafka_cluster_id() { sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties" 2>/dev/null; }

kafka_write_conf() {
  mkdir -p "$KAFKA_DIR/logs" "$KAFKA_DATA"
  render "$TPL_DIR/server.properties.tmpl" "$KAFKA_DIR/server.properties" \
    "KAFKA_PORT=$KAFKA_PORT" "KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT" "KAFKA_LOG_DIRS=$KAFKA_DATA"
  printf '%s\n' 'request.timeout.ms=5000' 'default.api.timeout.ms=10000' 'retry.backoff.ms=200' \
    >"$KAFKA_DIR/client.properties"
}

new_kafka_uuid() { # Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* && ${#id} == 22 ]] && break
  done
  printf '%s\n' "$id"
}

kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local cid
  if [[ -s $KAFKA_DIR/cluster.id ]]; then cid=$(<"$KAFKA_DIR/cluster.id"); else
    cid=$(new_kafka_uuid)
    printf '%s\n' "$cid" >"$KAFKA_DIR/cluster.id"
  fi
  log "kafka: formatting storage $KAFKA_DATA (cluster id $cid)"
  # Static quorum (controller.quorum.voters in server.properties): format takes no
  # --standalone / --initial-controllers flag (those are for dynamic quorums only).
  if ! kafka_java kafka.tools.StorageTool format --config "$KAFKA_DIR/server.properties" \
    --cluster-id "$cid" --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1; then
    tail_log kafka-storage "$KAFKA_DIR/format.log"
    die "kafka: storage format failed"
  fi
}

kafka_launch() {
  kafka_libs_ready || die "Kafka $KAFKA_VERSION jars missing in $KAFKA_LIBS (run: $0 install)"
  find_java || die "java not found"
  ensure_port_free kafka "$KAFKA_PORT"
  ensure_port_free kafka-controller "$KAFKA_CONTROLLER_PORT"
  kafka_write_conf
  kafka_format
  rm -f "$KAFKA_DIR/kafka.pid" "$KAFKA_DIR/healthy.pid"
  log "kafka: starting $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT, log $KAFKA_DIR/logs/server.log)"
  printf '=== %(%FT%T)T starting kafka %s\n' -1 "$KAFKA_VERSION" >>"$KAFKA_DIR/kafka.out"
  # One process all along: the background subshell closes our lock fds, exec()s setsid (new
  # session: detached from our terminal/process group), whose shell writes its pid and exec()s java.
  # shellcheck disable=SC2086,SC2016
  (
    cd "$KAFKA_DIR" || exit 1
    exec 8>&- 9>&- </dev/null >>"$KAFKA_DIR/kafka.out" 2>&1
    exec setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_DIR/kafka.pid" \
      "$JAVA" $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      "-XX:ErrorFile=$KAFKA_DIR/hs_err_pid%p.log" -Djava.awt.headless=true ${KAFKA_OPTS:-} \
      "-Dlog4j2.configurationFile=$TPL_DIR/kafka-log4j2.xml" "-Dkafka.logs.dir=$KAFKA_DIR/logs" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties"
  ) &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $KAFKA_DIR/kafka.pid ]] && return 0
    sleep 0.1
  done
  die "kafka: process did not start (see $KAFKA_DIR/kafka.out)"
}

# kafka_healthy PID [full]: a real request (DescribeCluster) answered with OUR cluster id.
# Without "full", a broker that already passed that check (healthy.pid) only needs an open port.
kafka_healthy() {
  local pid=$1 mode=${2:-}
  if ! port_open "$KAFKA_PORT"; then
    KAFKA_HEALTH_MSG="nothing accepts connections on 127.0.0.1:$KAFKA_PORT"
    return 1
  fi
  if [[ $mode != full && $(read_pid "$KAFKA_DIR/healthy.pid" || true) == "$pid" ]]; then return 0; fi
  local out want
  want=$(kafka_cluster_id)
  kafka_java_cmd
  out=$(timeout 30 "${KJ[@]}" org.apache.kafka.tools.ClusterTool cluster-id \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" --command-config "$KAFKA_DIR/client.properties" 2>&1) || {
    KAFKA_HEALTH_MSG="cluster-id request failed: $(tail -n 1 <<<"$out")"
    return 1
  }
  if [[ -z $want || $out != *"Cluster ID: $want"* ]]; then
    KAFKA_HEALTH_MSG="port $KAFKA_PORT answers with '$out', expected cluster id ${want:-?} of $KAFKA_DATA"
    return 1
  fi
  printf '%s\n' "$pid" >"$KAFKA_DIR/healthy.pid"
}

kafka_stop() {
  local pid
  if ! pid=$(kafka_pid); then
    log "kafka: not running"
    rm -f "$KAFKA_DIR/kafka.pid" "$KAFKA_DIR/healthy.pid"
    return 0
  fi
  log "kafka: stopping (SIGTERM pid $pid, up to ${KAFKA_STOP_TIMEOUT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  wait_exit kafka "$pid" "$KAFKA_STOP_TIMEOUT"
  rm -f "$KAFKA_DIR/kafka.pid" "$KAFKA_DIR/healthy.pid"
}

# wait_exit NAME PID SECONDS: wait for PID to exit, SIGKILL it after SECONDS
wait_exit() {
  local name=$1 pid=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  warn "$name: pid $pid still alive after ${secs}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  die "$name: pid $pid did not exit even after SIGKILL"
}

# ---------------------------------------------------------------------------------------------
# generic service plumbing
# ---------------------------------------------------------------------------------------------
svc_pid() { "${1}_pid"; }

svc_pidfile_dead() { # the service wrote its pidfile and that process is gone
  local f pid
  case $1 in
  redis) f=$REDIS_DIR/redis.pid ;;
  kafka) f=$KAFKA_DIR/kafka.pid ;;
  *) return 1 ;;
  esac
  pid=$(read_pid "$f") && ! pid_alive "$pid"
}

svc_logs() {
  case $1 in
  postgres) echo "$PGDATA_DIR/server.log" ;;
  redis) echo "$REDIS_DIR/redis.log" ;;
  kafka) echo "$KAFKA_DIR/logs/server.log $KAFKA_DIR/kafka.out" ;;
  esac
}

svc_healthy() { # svc_healthy NAME PID [full]
  case $1 in
  postgres) pg_healthy ;;
  redis) redis_healthy "$2" ;;
  kafka) kafka_healthy "$2" "${3:-}" ;;
  esac
}

svc_addr() {
  case $1 in
  postgres) pg_url ;;
  redis) echo "127.0.0.1:$REDIS_PORT" ;;
  kafka) echo "127.0.0.1:$KAFKA_PORT" ;;
  esac
}

# wait_healthy NAME: poll until healthy; on timeout/death print the log tail and fail
wait_healthy() {
  local name=$1 deadline=$((SECONDS + INFRA_START_TIMEOUT)) pid="" t0=$SECONDS
  while :; do
    if pid=$(svc_pid "$name"); then
      PG_HEALTH_MSG="" REDIS_HEALTH_MSG="" KAFKA_HEALTH_MSG=""
      if svc_healthy "$name" "$pid" full; then
        log "$name: healthy (pid $pid, $((SECONDS - t0))s)"
        return 0
      fi
    elif svc_pidfile_dead "$name" || ((SECONDS - t0 > 5)); then
      # shellcheck disable=SC2046
      tail_log "$name" $(svc_logs "$name")
      die "$name: process exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      local msg="${PG_HEALTH_MSG:-}${REDIS_HEALTH_MSG:-}${KAFKA_HEALTH_MSG:-}"
      # shellcheck disable=SC2046
      tail_log "$name" $(svc_logs "$name")
      die "$name: not healthy after ${INFRA_START_TIMEOUT}s${msg:+ ($msg)}; still running as pid ${pid:-?} — \`$0 stop\` to clean up"
    fi
    sleep 0.5
  done
}

parse_services() { # parse_services [NAMES...] -> SELECTED array
  SELECTED=()
  local s
  if (($# == 0)); then
    SELECTED=("${SERVICES[@]}")
    return
  fi
  for s in "$@"; do
    case $s in
    postgres | redis | kafka) SELECTED+=("$s") ;;
    *) die "unknown service '$s' (expected: ${SERVICES[*]})" ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------
cmd_start() {
  parse_services "$@"
  validate_ports
  init_paths create
  lock_data_dir
  local t0=$SECONDS s pid started=() running=()
  : >"$STARTED_FILE"
  # Fast path: everything already up -> no installation checks at all.
  for s in "${SELECTED[@]}"; do
    if [[ $s == postgres ]]; then pg_setup; fi
    if pid=$(svc_pid "$s"); then running+=("$s"); fi
  done
  if ((${#running[@]} < ${#SELECTED[@]})); then
    ensure_packages
    [[ " ${SELECTED[*]} " == *" kafka "* ]] && ensure_kafka_libs
  fi
  # Launch what is missing (Kafka first: it takes longest), then wait for all.
  for s in kafka postgres redis; do
    [[ " ${SELECTED[*]} " == *" $s "* ]] || continue
    if pid=$(svc_pid "$s"); then
      log "$s: already running from this DATA_DIR (pid $pid)"
      continue
    fi
    case $s in
    postgres) pg_setup && pg_launch ;;
    redis) redis_launch ;;
    kafka) kafka_launch ;;
    esac
    started+=("$s")
    printf '%s\n' "$s" >>"$STARTED_FILE"
  done
  for s in "${SELECTED[@]}"; do
    if [[ " ${started[*]} " == *" $s "* ]]; then
      wait_healthy "$s"
    else
      pid=$(svc_pid "$s") || die "$s: stopped while checking"
      PG_HEALTH_MSG="" REDIS_HEALTH_MSG="" KAFKA_HEALTH_MSG=""
      svc_healthy "$s" "$pid" || wait_healthy "$s"
    fi
  done
  log "ready in $((SECONDS - t0))s; started now: ${started[*]:-nothing} (recorded in $STARTED_FILE)"
  cat <<EOF
infra is up (DATA_DIR=$DATA_DIR)
  postgres  $(pg_url)
  redis     127.0.0.1:$REDIS_PORT
  kafka     127.0.0.1:$KAFKA_PORT  (KRaft controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, Kafka $KAFKA_VERSION)
  logs      $PGDATA_DIR/server.log  $REDIS_DIR/redis.log  $KAFKA_DIR/logs/server.log
EOF
}

cmd_stop() {
  parse_services "$@"
  init_paths
  if [[ ! -d $DATA_DIR ]]; then
    log "nothing to stop: $DATA_DIR does not exist"
    return 0
  fi
  lock_data_dir
  local s
  for s in kafka redis postgres; do
    [[ " ${SELECTED[*]} " == *" $s "* ]] || continue
    case $s in
    postgres) pg_setup && pg_stop ;;
    redis) redis_stop ;;
    kafka) kafka_stop ;;
    esac
  done
  log "stopped: ${SELECTED[*]} (DATA_DIR=$DATA_DIR)"
}

cmd_status() {
  parse_services "$@"
  validate_ports
  init_paths
  local s pid rc=0 port state
  for s in "${SELECTED[@]}"; do
    case $s in
    postgres) port=$PG_PORT ;;
    redis) port=$REDIS_PORT ;;
    kafka) port=$KAFKA_PORT ;;
    esac
    if [[ $s == postgres ]] && [[ -z ${PG_BIN:-} ]] && ! newest_pg_bin >/dev/null; then
      printf '%-9s %s\n' "$s" "stopped  (PostgreSQL is not installed)"
      rc=1
      continue
    fi
    if [[ $s == postgres ]]; then pg_setup; fi
    PG_HEALTH_MSG="" REDIS_HEALTH_MSG="" KAFKA_HEALTH_MSG=""
    if [[ -d $DATA_DIR ]] && pid=$(svc_pid "$s"); then
      if svc_healthy "$s" "$pid" full; then
        state="running  healthy    pid $pid  $(svc_addr "$s")"
      else
        local msg="${PG_HEALTH_MSG}${REDIS_HEALTH_MSG}${KAFKA_HEALTH_MSG}"
        state="running  UNHEALTHY  pid $pid  $(svc_addr "$s")${msg:+  ($msg)}"
        rc=1
      fi
    else
      state="stopped"
      port_open "$port" && state+="  (port $port is in use by another process)"
      rc=1
    fi
    printf '%-9s %s\n' "$s" "$state"
  done
  return $rc
}

cmd_env() {
  validate_ports
  cat <<EOF
export OOF_POSTGRES_URL='$(pg_url)'
export OOF_REDIS_ADDR='127.0.0.1:$REDIS_PORT'
export OOF_KAFKA_BROKERS='127.0.0.1:$KAFKA_PORT'
EOF
}

cmd_free_port() {
  local n=${1:-1}
  if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1)); then die "free-port: count must be a positive number"; fi
  if command -v python3 >/dev/null 2>&1 && python3 - "$n" 2>/dev/null <<'PY'; then
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
    return 0
  fi
  # fallback: random ports in 20000-59999 that nothing accepts connections on
  local -A picked=()
  local p tries=0
  while ((${#picked[@]} < n)); do
    ((tries++ < 1000)) || die "free-port: no free port found"
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if [[ -n ${picked[$p]:-} ]] || port_open "$p"; then continue; fi
    picked[$p]=1
    echo "$p"
  done
}

cmd_kafka_run_class() {
  (($# >= 1)) || die "usage: $0 kafka-run-class CLASS [ARGS...]"
  kafka_java "$@"
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; }

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
  install) cmd_install "$@" ;;
  install-browser) cmd_install_browser "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  env) cmd_env "$@" ;;
  free-port) cmd_free_port "$@" ;;
  kafka-run-class) cmd_kafka_run_class "$@" ;;
  -h | --help | help) usage ;;
  *)
    usage
    exit 2
    ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
