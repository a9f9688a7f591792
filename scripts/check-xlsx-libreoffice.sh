#!/usr/bin/env bash
# Opens the region export in a real spreadsheet program: starts the demo
# server on a scratch SQLite file, downloads the dashboard JSON and the xlsx
# as bureau.fuxin, converts every sheet to CSV with LibreOffice headless, and
# checks each number against the dashboard API.
#
#   scripts/check-xlsx-libreoffice.sh          (needs soffice: apt-get install -y libreoffice-calc-nogui)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v soffice >/dev/null 2>&1; then
  echo "soffice is not installed; install it with: apt-get install -y --no-install-recommends libreoffice-calc-nogui" >&2
  exit 2
fi
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=${PORT:-18431}
base="http://127.0.0.1:$port"

go build -o "$work/jianfu" .
"$work/jianfu" demo --addr "127.0.0.1:$port" --db "$work/demo.db" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
token=$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"bureau.fuxin","password":"jianfu-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/regions/210900/dashboard" >"$work/dashboard.json"
curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/regions/210900/report.xlsx" -o "$work/report.xlsx"

mkdir -p "$work/csv"
start=$(date +%s.%N)
# Token 9 false: values, not as shown; token 12 -1: every sheet to its own file.
soffice --headless --norestore -env:UserInstallation="file://$work/lo-profile" \
  --convert-to 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1' \
  --outdir "$work/csv" "$work/report.xlsx" >"$work/soffice.log" 2>&1
end=$(date +%s.%N)
echo "LibreOffice $(soffice --version | head -1 | cut -d' ' -f2) converted $(ls "$work/csv" | wc -l) sheets in $(python3 -c "print(round($end-$start,2))") s"

python3 - "$work" <<'PY'
import csv, glob, json, os, re, sys
work = sys.argv[1]
d = json.load(open(os.path.join(work, "dashboard.json")))
labels = {}
for f in glob.glob("views/locales/*.zh-CN.toml"):
    for line in open(f, encoding="utf-8"):
        m = re.match(r'"bureau\.group\.(\w+)"\s*=\s*"(.*)"', line)
        if m:
            labels[m.group(2)] = m.group(1)
values = {str(s["id"]): s["indicators"] for s in d["schools"]}
values[d["region"]["code"]] = d["rollup"]["indicators"]
for r in d["sub_regions"]:
    values[r["code"]] = r["indicators"]
checked = bad = 0
for path in sorted(glob.glob(os.path.join(work, "csv", "*.csv"))):
    sheet = os.path.basename(path)[len("report-"):-len(".csv")]
    group = labels.get(sheet)
    if group is None:
        continue  # the summary sheet
    keys = [i["key"] for i in d["indicators"] if i["group"] == group]
    rows = list(csv.reader(open(path, encoding="utf-8-sig")))
    assert len(rows[0]) == 4 + len(keys), (sheet, rows[0], keys)
    for row in rows[1:]:
        want = values[row[1]]
        for j, key in enumerate(keys):
            cell = row[4 + j]
            if key not in want:
                assert cell == "", (sheet, row[1], key, cell)
                continue
            # Percent-formatted cells come out as "66.6666666666667%": the
            # value (15 significant digits) in the cell's format.
            got = float(cell[:-1]) / 100 if cell.endswith("%") else float(cell)
            checked += 1
            if abs(got - want[key]) > 1e-9:
                bad += 1
                print(f"MISMATCH {sheet} {row[2]} {key}: xlsx {got} api {want[key]}")
print(f"{checked} numbers compared across {len(glob.glob(os.path.join(work, 'csv', '*.csv')))} sheets, {bad} mismatches")
sys.exit(1 if bad or checked == 0 else 0)
PY
