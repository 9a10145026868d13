#!/usr/bin/env bash
# Builds and runs the examples end to end:
#  1. a small store from a counts CSV;
#  2. the Python analyzer example (examples/python-analyzer) through `casebook run`;
#  3. the custom-build example package (examples/custom-analyzer-package), built with its own
#     scratch path (never inside `swift test`: nested builds on one .build folder hang), its tests,
#     `my-casebook run` with its Swift analyzer, and the validate-playbooks plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${CASEBOOK_SCRATCH:-.build}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

swift build --scratch-path "$SCRATCH" --product casebook
CASEBOOK="$ROOT/$SCRATCH/debug/casebook"

# 1. Four weeks from Monday 2020-02-10: flask 100/day (50 on weekends), numpy 40/day.
python3 - "$WORK/counts.csv" <<'PY'
import datetime, sys
with open(sys.argv[1], "w") as f:
    f.write("date,project,downloads\n")
    start = datetime.date(2020, 2, 10)
    for d in range(28):
        day = start + datetime.timedelta(days=d)
        f.write("%s,flask,%d\n" % (day.isoformat(), 50 if day.weekday() >= 5 else 100))
        f.write("%s,numpy,40\n" % day.isoformat())
PY
"$CASEBOOK" ingest --store "$WORK/store.sqlite" --input-format csv "$WORK/counts.csv" >/dev/null

check_report() {  # report.json, step id, python expression on `step`
    python3 - "$@" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
step = next(s for s in report["steps"] if s["id"] == sys.argv[2])
assert step["status"] == "succeeded", step
assert eval(sys.argv[3]), (sys.argv[3], step["outputs"])
print("ok: %s %s" % (sys.argv[2], sys.argv[3]))
PY
}

# 2. Python analyzer.
"$CASEBOOK" validate examples/python-analyzer/playbook.yaml
"$CASEBOOK" analyzers examples/python-analyzer/weekday_effect.py | head -3
"$CASEBOOK" run examples/python-analyzer/playbook.yaml --store "$WORK/store.sqlite" --set project=flask --out "$WORK/py"
check_report "$WORK/py/report.json" weekdays 'step["outputs"]["weekendRatio"] == 0.5 and step["outputs"]["days"] == 28'

# 3. Custom build with a Swift analyzer.
cd examples/custom-analyzer-package
swift build --scratch-path .build-example
swift test --scratch-path .build-example
MY=.build-example/debug/my-casebook
"$MY" analyzers | grep -q '^weekend-share'
"$MY" analyzers weekend-share | head -3
"$MY" run playbooks/weekend.yaml --store "$WORK/store.sqlite" --set project=flask --out "$WORK/custom"
check_report "$WORK/custom/report.json" weekend 'abs(step["outputs"]["share"] - 400/2400) < 1e-9'
swift package --scratch-path .build-example validate-playbooks --product my-casebook
echo "examples: all passed"
