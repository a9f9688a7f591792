#!/usr/bin/env bash
# Region dashboard latency at scale vs a raw GROUP BY over homework (issue 6).
#
# Creates a PostgreSQL database, seeds `seed --schools 300 --days 90`, starts
# the server, measures the p95 latency of GET /api/v1/regions/210900/dashboard
# with wrk (N requests over C connections), then times the same homework
# figures computed by a raw GROUP BY over the homework rows (EXPLAIN ANALYZE,
# R runs, p95 of the execution times).
#
#   scripts/bench-dashboard.sh
#   PGURL=postgres://postgres@127.0.0.1:5432 SCHOOLS=300 DAYS=90 DURATION=30s CONNS=4 RUNS=30 scripts/bench-dashboard.sh
#
# RAW_SQL overrides the raw query ($FROM and $TO are replaced by the term's dates).
set -euo pipefail
cd "$(dirname "$0")/.."
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-jianfu_bench}
SCHOOLS=${SCHOOLS:-300}
DAYS=${DAYS:-90}
DURATION=${DURATION:-30s}
CONNS=${CONNS:-4}
RUNS=${RUNS:-30}
PORT=${PORT:-18432}
REUSE=${REUSE:-0} # 1: keep an already seeded database
base="http://127.0.0.1:$PORT"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

if [ "$REUSE" != 1 ]; then
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
fi
export DATABASE_URL="$PGURL/$DB?sslmode=disable"
go build -o "$work/jianfu" .
if [ "$REUSE" != 1 ]; then
  s=$(date +%s)
  "$work/jianfu" seed --schools "$SCHOOLS" --days "$DAYS" >/dev/null
  echo "seeded $SCHOOLS schools, $DAYS days in $(( $(date +%s) - s )) s"
fi
psql "$DATABASE_URL" -qc "ANALYZE"
"$work/jianfu" serve --addr "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
token=$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"bureau.fuxin","password":"jianfu-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
dash="$base/api/v1/regions/210900/dashboard"
curl -fsS -H "Authorization: Bearer $token" "$dash" >"$work/dashboard.json"
read -r FROM TO NSCHOOLS <<<"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["term"]["from"], d["term"]["to"], len(d["schools"]))' "$work/dashboard.json")"
echo "dashboard: $NSCHOOLS schools, term $FROM..$TO, $(wc -c <"$work/dashboard.json") bytes"

cat >"$work/p95.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
done = function(summary, latency, requests)
  io.write(string.format("dashboard API: %d requests, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, %.1f req/s\n",
    summary.requests, latency:percentile(50)/1000, latency:percentile(95)/1000, latency:percentile(99)/1000,
    summary.requests / (summary.duration / 1e6)))
end
LUA
wrk -t "$CONNS" -c "$CONNS" -d "$DURATION" -s "$work/p95.lua" "$dash" | tail -1

# The homework figures of the dashboard (class-days, share within the national
# cap, average minutes by grade band, refused saves are not in raw rows)
# straight from homework_items: one class-day = the active items of a class on
# a date; counted minutes against 0/60/90 by grade (HW-01..03).
RAW_SQL=${RAW_SQL:-"WITH cd AS (SELECT h.school_id, h.class_id, c.grade, h.date, SUM(CASE WHEN h.counted THEN h.minutes ELSE 0 END) AS total
  FROM homework_items h JOIN classes c ON c.id = h.class_id WHERE h.status = 'active' AND h.date BETWEEN '\$FROM' AND '\$TO'
  GROUP BY h.school_id, h.class_id, c.grade, h.date)
SELECT school_id, COUNT(*) AS class_days,
  AVG(CASE WHEN total <= CASE WHEN grade <= 2 THEN 0 WHEN grade <= 6 THEN 60 ELSE 90 END THEN 1.0 ELSE 0.0 END) AS within_cap_pct,
  AVG(total) FILTER (WHERE grade BETWEEN 3 AND 6) AS avg_minutes_g3_6, AVG(total) FILTER (WHERE grade BETWEEN 7 AND 9) AS avg_minutes_g7_9
FROM cd GROUP BY school_id"}
sql=${RAW_SQL//\$FROM/$FROM}
sql=${sql//\$TO/$TO}
if ! psql "$DATABASE_URL" -Atqc "SELECT 1 FROM homework_items LIMIT 1" >/dev/null 2>&1; then
  echo "raw GROUP BY: no homework table here yet (it comes with the homework area); rerun after the merge"
  exit 0
fi
rows=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM homework_items")
echo "raw query: $sql" | tr -s ' \n' ' '; echo
for _ in $(seq 1 "$RUNS"); do
  psql "$DATABASE_URL" -Atqc "EXPLAIN (ANALYZE, FORMAT JSON) $sql" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
done | sort -n | python3 -c '
import sys
t = [float(x) for x in sys.stdin]
p = lambda q: t[min(len(t) - 1, int(round(q * (len(t) - 1))))]
print(f"raw GROUP BY over homework ('"$rows"' rows): {len(t)} runs, p50 {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms (server-side execution time)")'
