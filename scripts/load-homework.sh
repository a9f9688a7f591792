#!/usr/bin/env bash
# Load test of the homework save path against a running server on PostgreSQL,
# next to pgbench TPC-B on the same PostgreSQL with the same client count.
#
#   scripts/load-homework.sh            # 16 clients, 20 s each
#   CLIENTS=32 DURATION=30 TEACHERS=200 scripts/load-homework.sh
#   PROFILE=/tmp/save.prof scripts/load-homework.sh   # also a CPU profile of the server under load
#
# Needs: a local PostgreSQL reachable as postgres@127.0.0.1 (trust auth), wrk,
# pgbench, curl, psql. Everything listens on loopback; every step is bounded.
set -euo pipefail

CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-20}
TEACHERS=${TEACHERS:-120}
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}
PGPORT=${PGPORT:-5432}
PORT=${PORT:-18093}
DB=${LOAD_DB:-jianfu_load}
BENCHDB=${BENCH_DB:-jianfu_pgbench}
PGBENCH_SCALE=${PGBENCH_SCALE:-1}
export PGHOST PGUSER PGPORT

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== build"
(cd "$root" && CGO_ENABLED=0 go build -o "$work/jianfu" .)

echo "== fresh database $DB with the demo district"
dropdb --if-exists "$DB"
createdb "$DB"
url="postgres://$PGUSER@$PGHOST:$PGPORT/$DB?sslmode=disable"
DATABASE_URL="$url" timeout 600 "$work/jianfu" seed >/dev/null

echo "== server on 127.0.0.1:$PORT"
DATABASE_URL="$url" PPROF_ADDR=${PROFILE:+127.0.0.1:$((PORT + 1))} "$work/jianfu" serve --addr "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/login" 2>/dev/null && break
  sleep 0.2
done

echo "== sign in $TEACHERS teachers"
# One row per (teacher, class, subject) they teach; written homework only in grades 3–9.
psql -d "$DB" -At -F ' ' -c "
  SELECT u.username, ta.class_id, s.name
  FROM teaching_assignments ta
  JOIN users u ON u.id = ta.teacher_id
  JOIN subjects s ON s.id = ta.subject_id
  JOIN classes c ON c.id = ta.class_id
  WHERE c.grade >= 3 AND s.name IN ('语文','数学','英语','科学','物理','化学','历史','地理','生物')
    AND u.id IN (SELECT DISTINCT teacher_id FROM teaching_assignments ORDER BY teacher_id LIMIT $TEACHERS)
  ORDER BY u.username" >"$work/assign.txt"
declare -A token
lua="$work/save.lua"
{
  echo "targets = {"
  while read -r user class subject; do
    if [ -z "${token[$user]:-}" ]; then
      token[$user]=$(curl -fsS -H 'Content-Type: application/json' \
        -d "{\"username\":\"$user\",\"password\":\"jianfu-demo\"}" \
        "http://127.0.0.1:$PORT/api/v1/auth/login" | sed -E 's/.*"token":"([^"]+)".*/\1/')
    fi
    echo "  {\"${token[$user]}\", $class, \"$subject\"},"
  done <"$work/assign.txt"
  echo "}"
  cat <<'LUA'
-- Each request: a random (teacher, class, subject) and a random school day
-- of the next term, 5 minutes of written homework, so caps rarely refuse.
local counts = {}
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() + id * 7919)
  created, refused, other = 0, 0, 0
end
local days = {}
local t = os.time({year = 2027, month = 2, day = 22, hour = 12})
while #days < 90 do
  local wd = os.date("*t", t).wday -- 1 = Sunday
  if wd ~= 1 and wd ~= 7 then table.insert(days, os.date("%Y-%m-%d", t)) end
  t = t + 86400
end
request = function()
  local tg = targets[math.random(#targets)]
  local body = string.format('{"subject":"%s","date":"%s","title":"load","minutes":5,"kind":"written","layer":"required"}',
    tg[3], days[math.random(#days)])
  return wrk.format("POST", "/api/v1/classes/" .. tg[2] .. "/homework",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tg[1]}, body)
end
response = function(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 422 then refused = refused + 1
  else other = other + 1 end
end
done = function(summary, latency, requests)
  local c, r, o = 0, 0, 0
  for _, th in ipairs(threads) do
    c = c + th:get("created"); r = r + th:get("refused"); o = o + th:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT created=%d refused=%d other=%d seconds=%.2f saves_per_s=%.1f p50_ms=%.1f p99_ms=%.1f\n",
    c, r, o, secs, c / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
} >"$lua"
echo "   $(grep -c '^  {' "$lua") (teacher, class, subject) targets, ${#token[@]} teachers signed in"

echo "== wrk: $CLIENTS connections, ${DURATION}s of homework saves"
if [ -n "${PROFILE:-}" ]; then # PROFILE=/tmp/save.prof: a CPU profile of the server under the load
  (sleep 2; curl -fsS -o "$PROFILE" "http://127.0.0.1:$((PORT + 1))/debug/pprof/profile?seconds=$((DURATION - 4))") &
  prof_pid=$!
fi
wrk -t2 -c"$CLIENTS" -d"${DURATION}s" --timeout 10s -s "$lua" "http://127.0.0.1:$PORT" | tee "$work/wrk.txt"
if [ -n "${prof_pid:-}" ]; then wait "$prof_pid"; fi
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

echo "== pgbench TPC-B: $CLIENTS clients, ${DURATION}s (scale $PGBENCH_SCALE)"
dropdb --if-exists "$BENCHDB"
createdb "$BENCHDB"
pgbench -i -q -s "$PGBENCH_SCALE" "$BENCHDB" >/dev/null 2>&1
pgbench -c "$CLIENTS" -j 2 -T "$DURATION" "$BENCHDB" | tee "$work/pgbench.txt"

saves=$(sed -nE 's/.*saves_per_s=([0-9.]+).*/\1/p' "$work/wrk.txt")
refused=$(sed -nE 's/.*refused=([0-9]+).*/\1/p' "$work/wrk.txt")
other=$(sed -nE 's/.*other=([0-9]+).*/\1/p' "$work/wrk.txt")
tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$work/pgbench.txt" | head -1)
echo
echo "== summary ($CLIENTS clients, ${DURATION}s each, $(nproc) CPUs)"
echo "homework saves/s:  $saves   (refused by caps: $refused, other statuses: $other)"
echo "pgbench TPC-B tps: $tps"
awk -v a="$saves" -v b="$tps" 'BEGIN { if (b > 0) printf "ratio saves/tps:   %.3f\n", a / b }'
dropdb --if-exists "$BENCHDB"
dropdb --if-exists "$DB"
