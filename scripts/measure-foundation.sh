#!/usr/bin/env bash
# Measures the foundation (issue 2): binary size, cold start of `demo` on an
# empty data dir and of `serve` on an existing database (until /readyz
# answers), idle RSS after a few requests, and test counts per database.
#
#   scripts/measure-foundation.sh            # everything (runs the test suite twice)
#   scripts/measure-foundation.sh --no-tests # skip the test counts
#
# With TEST_DATABASE_URL set (or PostgreSQL on 127.0.0.1:5432), `serve` on
# PostgreSQL and the PostgreSQL test counts are measured too.
# Needs: go, curl. Binds only 127.0.0.1.
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
TESTS=1
[ "${1:-}" = "--no-tests" ] && TESTS=0
PG_URL=${TEST_DATABASE_URL:-}
if [ -z "$PG_URL" ] && command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  PG_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

# wait_ready URL START_MS PID: prints ms from START_MS until URL answers 200 (max 120 s).
wait_ready() {
  local url=$1 start=$2 pid=$3
  for _ in $(seq 1 12000); do
    if curl -fs -o /dev/null --max-time 1 "$url"; then
      echo $(($(now_ms) - start))
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "process $pid died" >&2; return 1; }
    sleep 0.01
  done
  echo "not ready after 120 s" >&2
  return 1
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

echo "== build (as the Dockerfile does)"
bin=$work/jianfu
t0=$(now_ms)
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin" .
echo "build time:           $(($(now_ms) - t0)) ms (with a warm module and build cache)"
size=$(stat -c %s "$bin")
echo "binary size:          $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') MiB), $(file -b "$bin" 2>/dev/null | cut -d, -f1-2 || true)"
echo "go version:           $(go version | awk '{print $3, $4}')"

echo
echo "== cold start of demo on an empty data dir (migrate + seed the district + serve, until /readyz), $RUNS runs"
times=()
for i in $(seq 1 "$RUNS"); do
  dir=$work/demo$i
  mkdir -p "$dir"
  port=$(free_port)
  t0=$(now_ms)
  (cd "$dir" && LOG_LEVEL=warn exec "$bin" demo --addr "127.0.0.1:$port" >"$dir/out.txt" 2>"$dir/err.txt") &
  pid=$!
  pids+=("$pid")
  ms=$(wait_ready "http://127.0.0.1:$port/readyz" "$t0" "$pid")
  times+=("$ms")
  stop "$pid"
done
echo "demo cold start:      $(printf '%s\n' "${times[@]}" | median) ms median (runs: ${times[*]} ms)"
db=$work/demo1/data/jianfu.db
echo "demo database:        $(du -sh "$work/demo1/data" | cut -f1) ($(ls "$work/demo1/data" | tr '\n' ' '))"

echo
echo "== cold start of serve on the existing SQLite database, $RUNS runs"
times=()
for i in $(seq 1 "$RUNS"); do
  port=$(free_port)
  t0=$(now_ms)
  DATABASE_URL=$db LOG_LEVEL=warn "$bin" serve --addr "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  pids+=("$pid")
  ms=$(wait_ready "http://127.0.0.1:$port/readyz" "$t0" "$pid")
  times+=("$ms")
  if [ "$i" = "$RUNS" ]; then
    base="http://127.0.0.1:$port"
    tok=$(curl -fs -XPOST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
      -d '{"username":"bureau.haizhou","password":"jianfu-demo"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    n_schools=$(curl -fs "$base/api/v1/schools" -H "Authorization: Bearer $tok" | grep -o '"id":' | wc -l)
    for _ in $(seq 1 20); do
      curl -fs -o /dev/null "$base/api/v1/me" -H "Authorization: Bearer $tok"
      curl -fs -o /dev/null "$base/healthz"
      curl -fs -o /dev/null "$base/login"
    done
    sleep 1
    rss=$(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")
    hwm=$(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")
    threads=$(awk '/Threads/ {print $2}' "/proc/$pid/status")
  fi
  stop "$pid"
done
echo "serve cold start:     $(printf '%s\n' "${times[@]}" | median) ms median (runs: ${times[*]} ms)"
echo "RSS idle (SQLite):    $rss (peak $hwm, $threads threads) after login + 61 requests"
echo "bureau.haizhou sees:  $n_schools schools via GET /api/v1/schools"

if [ -n "$PG_URL" ] && command -v psql >/dev/null; then
  echo
  echo "== serve on PostgreSQL (a fresh schema, seeded once), $RUNS runs"
  schema="measure_$$"
  psql -q "$PG_URL" -c "CREATE SCHEMA $schema" >/dev/null
  sep='?'
  case "$PG_URL" in *\?*) sep='&' ;; esac
  purl="${PG_URL}${sep}search_path=$schema"
  t0=$(now_ms)
  DATABASE_URL=$purl LOG_LEVEL=warn "$bin" migrate up >/dev/null 2>&1
  echo "migrate up (empty):   $(($(now_ms) - t0)) ms"
  t0=$(now_ms)
  DATABASE_URL=$purl LOG_LEVEL=warn "$bin" seed >/dev/null 2>&1
  echo "seed demo district:   $(($(now_ms) - t0)) ms"
  times=()
  for i in $(seq 1 "$RUNS"); do
    port=$(free_port)
    t0=$(now_ms)
    DATABASE_URL=$purl LOG_LEVEL=warn "$bin" serve --addr "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    pids+=("$pid")
    ms=$(wait_ready "http://127.0.0.1:$port/readyz" "$t0" "$pid")
    times+=("$ms")
    if [ "$i" = "$RUNS" ]; then
      base="http://127.0.0.1:$port"
      tok=$(curl -fs -XPOST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d '{"username":"bureau.haizhou","password":"jianfu-demo"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
      for _ in $(seq 1 20); do
        curl -fs -o /dev/null "$base/api/v1/me" -H "Authorization: Bearer $tok"
        curl -fs -o /dev/null "$base/healthz"
        curl -fs -o /dev/null "$base/login"
      done
      sleep 1
      prss=$(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")
    fi
    stop "$pid"
  done
  psql -q "$PG_URL" -c "DROP SCHEMA $schema CASCADE" >/dev/null
  echo "serve cold start:     $(printf '%s\n' "${times[@]}" | median) ms median (runs: ${times[*]} ms)"
  echo "RSS idle (PostgreSQL): $prss after login + 61 requests"
fi

if [ "$TESTS" = 1 ]; then
  echo
  echo "== test counts (go test ./... -count=1 -v)"
  count() { # file
    local f=$1
    printf '  top-level tests passed: %s, failed: %s, skipped: %s\n' \
      "$(grep -c '^--- PASS' "$f" || true)" "$(grep -c '^--- FAIL' "$f" || true)" "$(grep -c '^--- SKIP' "$f" || true)"
    printf '  all PASS lines (tests + subtests): %s\n' "$(grep -c -- '--- PASS' "$f" || true)"
    for d in sqlite postgres; do
      printf '  %-8s dialect runs passed: %s (subtests under them: %s)\n' "$d" \
        "$(grep -cE -- "--- PASS: [^ /]+/$d " "$f" || true)" "$(grep -cE -- "--- PASS: [^ ]+/$d/" "$f" || true)"
    done
  }
  t0=$(now_ms)
  env -u TEST_DATABASE_URL go test ./... -count=1 -v -p 2 >"$work/sqlite.txt" 2>&1 || echo "  (SQLite-only run failed)"
  echo "SQLite only ($(($(now_ms) - t0)) ms):"
  count "$work/sqlite.txt"
  if [ -n "$PG_URL" ]; then
    t0=$(now_ms)
    TEST_DATABASE_URL=$PG_URL go test ./... -count=1 -v -p 2 >"$work/both.txt" 2>&1 || echo "  (run with PostgreSQL failed)"
    echo "SQLite + PostgreSQL ($(($(now_ms) - t0)) ms):"
    count "$work/both.txt"
  fi
fi
