#!/usr/bin/env bash
# Province-scale benchmark (issue 12), one run on PostgreSQL, one ratio per line:
#   1. seed --schools $SCHOOLS --days $DAYS into a database of its own: rows/s
#   2. GET /api/v1/regions/210900/dashboard with wrk at 1 and 4 connections,
#      against the raw GROUP BY over homework_items (EXPLAIN ANALYZE p50)
#   3. the class board (GET /api/v1/classes/:class/homework?date=) against a
#      bare Echo JSON handler (scripts/barejson), same wrk settings
#   4. the server's RSS (VmHWM, peak) after the load
#   5. homework saves with wrk against pgbench TPC-B, scale = clients
#      (scripts/load-homework.sh with PGBENCH_SCALE=$CLIENTS)
#
#   scripts/bench.sh
#   SCHOOLS=3000 DAYS=90 DB=bench12 DURATION=20s CLIENTS=16 scripts/bench.sh
#   SKIP_SEED=1 …   reuse the seeded database; SKIP_SAVES=1 …   skip step 5
#
# Never point it at the test database: it drops and recreates $DB.
set -euo pipefail
cd "$(dirname "$0")/.."
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-bench12}
SCHOOLS=${SCHOOLS:-300}
DAYS=${DAYS:-90}
DURATION=${DURATION:-20s}
CLIENTS=${CLIENTS:-16}
RUNS=${RUNS:-15}
PORT=${PORT:-18412}
BARE_PORT=${BARE_PORT:-18413}
SKIP_SEED=${SKIP_SEED:-0}
SKIP_SAVES=${SKIP_SAVES:-0}
for tool in wrk pgbench psql curl python3; do
  command -v "$tool" >/dev/null || { echo "bench.sh needs $tool (apt-get install wrk postgresql-client)"; exit 1; }
done
base="http://127.0.0.1:$PORT"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export DATABASE_URL="$PGURL/$DB?sslmode=disable"
results="$work/results.txt"
say() { echo "$*" | tee -a "$results"; }

CGO_ENABLED=0 go build -o "$work/jianfu" .
CGO_ENABLED=0 go build -o "$work/barejson" ./scripts/barejson

if [ "$SKIP_SEED" != 1 ]; then
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  "$work/jianfu" seed --schools "$SCHOOLS" --days "$DAYS" >"$work/seed.out" 2>/dev/null
  head -1 "$work/seed.out" | tee "$work/seed.txt"
  rate=$(sed -nE 's/.* ([0-9]+) rows in bulk, ([0-9]+) rows\/s.*/\2/p' "$work/seed.txt")
  took=$(sed -nE 's/seeded [0-9]+ schools in ([^:]+):.*/\1/p' "$work/seed.txt")
  say "seed --schools $SCHOOLS --days $DAYS: $took, $rate rows/s = $(awk -v r="$rate" 'BEGIN{printf "%.2f", r/100000}')× the 100k rows/s goal"
fi
psql "$DATABASE_URL" -qc "ANALYZE"

"$work/jianfu" serve --addr "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
server=$!; pids+=("$server")
for _ in $(seq 1 240); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
login() { curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"jianfu-demo\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
token=$(login bureau.fuxin)
dash="$base/api/v1/regions/210900/dashboard"
curl -fsS -H "Authorization: Bearer $token" "$dash" >"$work/dashboard.json"
read -r FROM TO NSCHOOLS <<<"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["term"]["from"], d["term"]["to"], len(d["schools"]))' "$work/dashboard.json")"

lua() { # $1: token (may be empty)
  cat <<LUA
wrk.headers["Authorization"] = "Bearer $1"
done = function(summary, latency, requests)
  io.write(string.format("RESULT p50=%.2f p95=%.2f rps=%.1f errors=%d\n", latency:percentile(50)/1000, latency:percentile(95)/1000,
    summary.requests / (summary.duration / 1e6), summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
LUA
}
lua "$token" >"$work/bureau.lua"
run() { # $1 connections, $2 url, $3 script → "p50 p95 rps errors"
  wrk -t "$(( $1 < 2 ? 1 : 2 ))" -c "$1" -d "$DURATION" --timeout 10s -s "$3" "$2" | sed -nE 's/RESULT p50=([0-9.]+) p95=([0-9.]+) rps=([0-9.]+) errors=([0-9]+)/\1 \2 \3 \4/p'
}
read -r d1p50 d1p95 d1rps d1err <<<"$(run 1 "$dash" "$work/bureau.lua")"
read -r d4p50 d4p95 d4rps d4err <<<"$(run 4 "$dash" "$work/bureau.lua")"
say "dashboard ($NSCHOOLS schools, $FROM..$TO), 1 connection: p50 $d1p50 ms, p95 $d1p95 ms, $d1rps req/s (goal p95 ≤ 20 ms)"
say "dashboard, 4 connections: p50 $d4p50 ms, p95 $d4p95 ms, $d4rps req/s, $d4err errors (goal ≥ 200 req/s, p95 ≤ 50 ms)"

raw="WITH cd AS (SELECT h.school_id, h.class_id, c.grade, h.date, SUM(CASE WHEN h.counted THEN h.minutes ELSE 0 END) AS total
  FROM homework_items h JOIN classes c ON c.id = h.class_id WHERE h.status = 'active' AND h.date BETWEEN '$FROM' AND '$TO'
  GROUP BY h.school_id, h.class_id, c.grade, h.date)
SELECT school_id, COUNT(*) AS class_days,
  AVG(CASE WHEN total <= CASE WHEN grade <= 2 THEN 0 WHEN grade <= 6 THEN 60 ELSE 90 END THEN 1.0 ELSE 0.0 END) AS within_cap_pct,
  AVG(total) FILTER (WHERE grade BETWEEN 3 AND 6) AS avg_minutes_g3_6, AVG(total) FILTER (WHERE grade BETWEEN 7 AND 9) AS avg_minutes_g7_9
FROM cd GROUP BY school_id"
rawp50=$(for _ in $(seq 1 "$RUNS"); do
  psql "$DATABASE_URL" -Atqc "EXPLAIN (ANALYZE, FORMAT JSON) $raw" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
done | sort -n | python3 -c 'import sys; t=[float(x) for x in sys.stdin]; print("%.1f" % t[len(t)//2])')
items=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM homework_items")
say "raw GROUP BY over $items homework items: p50 $rawp50 ms"
say "ratio dashboard p50 (1 connection) ÷ raw GROUP BY p50: $(awk -v a="$rawp50" -v b="$d1p50" 'BEGIN{printf "%.1f", a/b}')× faster (goal ≥ 100×)"

# The class board as a parent of a grade-4 class reads it, against a bare handler.
read -r parent class <<<"$(psql "$DATABASE_URL" -Atq -F ' ' -c "SELECT u.username, s.class_id FROM students s JOIN classes c ON c.id = s.class_id
  JOIN guardians g ON g.student_id = s.id JOIN users u ON u.id = g.user_id WHERE c.grade = 4 ORDER BY u.id LIMIT 1")"
ptoken=$(login "$parent")
lua "$ptoken" >"$work/parent.lua"
board="$base/api/v1/classes/$class/homework?date=$TO"
curl -fsS -H "Authorization: Bearer $ptoken" "$board" >/dev/null
read -r bp50 bp95 brps berr <<<"$(run 4 "$board" "$work/parent.lua")"
"$work/barejson" --addr "127.0.0.1:$BARE_PORT" >/dev/null 2>&1 &
pids+=("$!")
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$BARE_PORT/board" >/dev/null 2>&1 && break; sleep 0.1; done
lua "" >"$work/bare.lua"
read -r xp50 xp95 xrps xerr <<<"$(run 4 "http://127.0.0.1:$BARE_PORT/board" "$work/bare.lua")"
say "board GET, 4 connections: p50 $bp50 ms, $brps req/s; bare Echo JSON: p50 $xp50 ms, $xrps req/s"
say "ratio board ÷ bare Echo req/s: $(awk -v a="$brps" -v b="$xrps" 'BEGIN{printf "%.3f", a/b}')"
rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$server/status")
say "server peak RSS (VmHWM) after the dashboard and board load: $rss MB"
kill "$server" 2>/dev/null || true

if [ "$SKIP_SAVES" != 1 ]; then
  PGBENCH_SCALE=$CLIENTS CLIENTS=$CLIENTS DURATION=${DURATION%s} scripts/load-homework.sh >"$work/saves.txt" 2>&1 || { cat "$work/saves.txt"; exit 1; }
  saves=$(sed -nE 's/^homework saves\/s: +([0-9.]+).*/\1/p' "$work/saves.txt")
  tps=$(sed -nE 's/^pgbench TPC-B tps: ([0-9.]+).*/\1/p' "$work/saves.txt")
  say "homework saves/s (wrk, $CLIENTS clients): $saves; pgbench -s $CLIENTS -c $CLIENTS TPC-B: $tps tps"
  say "ratio saves ÷ TPC-B tps: $(awk -v a="$saves" -v b="$tps" 'BEGIN{ if (b > 0) printf "%.3f", a/b }') (goal ≥ 0.6)"
fi
echo
echo "== summary"
cat "$results"
