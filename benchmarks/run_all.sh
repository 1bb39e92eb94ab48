#!/usr/bin/env bash
# Every benchmark of benchmarks/README.md, one after the other, on PostgreSQL: the run whose figures
# open the README. Takes about 20 minutes on 2 cores; run it on a quiet machine.
#   benchmarks/run_all.sh [OUT_DIR]        (PG_ADMIN_URL names a maintenance database)
set -u
cd "$(dirname "$0")/.."
pg=${PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
out=${1:-/tmp/hardship-benchmarks}
data=${SCAN_DATA:-/tmp/hardship-bench-scan}
mkdir -p "$out" "$data"
py=.venv/bin/python
stamp() { echo "## $1 $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
run() {
  local name=$1
  shift
  { stamp "$name"; "$@"; stamp end; } >"$out/$name.log" 2>&1
  echo "$name: $out/$name.log"
}
[ -f "$data/accounts.csv" ] || $py benchmarks/scan/generate.py --accounts 1000000 --out "$data"
run scan-24 $py benchmarks/scan/run.py --data "$data" --database postgresql --postgres-admin-url "$pg" --skip-variants
run scan-4 $py benchmarks/scan/run.py --data "$data" --database postgresql --postgres-admin-url "$pg" \
  --skip-variants --reuse --regions 622927 --double-uncovered
run events $py benchmarks/events/run.py --accounts 520000 --database postgresql --postgres-admin-url "$pg" \
  --pairs 3 --deliver 5000
run api $py benchmarks/api_load/run.py --pg-admin-url "$pg" --workers 2
run servicing $py benchmarks/servicing/run.py --accounts 1000000 --plans 100000 --postgres-admin-url "$pg"
run import $py benchmarks/import/run.py --sizes 100000 1000000 --backends postgresql --pg-admin-url "$pg"
