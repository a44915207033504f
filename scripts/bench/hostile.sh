#!/usr/bin/env bash
# Time tritonguard on the hostile inputs of issue 13: wall time, peak RSS, exit code and the
# most severe finding, one line per case.
#
# Usage: scripts/bench/hostile.sh [TRITONGUARD] [WORKDIR]
#   TRITONGUARD  the binary to test (default: target/release/tritonguard under
#                $CARGO_TARGET_DIR or ./target)
#   WORKDIR      where the cases are generated (default: a temporary directory)
#
# Each run is limited to $TG_HOSTILE_TIMEOUT seconds (default 120) and $TG_HOSTILE_MEM_MB of
# address space (default 4096), so a hang or a runaway allocation shows up as "timeout" or
# "oom" instead of taking the machine down.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${CARGO_TARGET_DIR:-$here/../../target}"
bin="${1:-$target/release/tritonguard}"
work="${2:-$(mktemp -d)}"
timeout_s="${TG_HOSTILE_TIMEOUT:-120}"
mem_mb="${TG_HOSTILE_MEM_MB:-4096}"

if [[ ! -x /usr/bin/time ]]; then
    echo "error: /usr/bin/time is missing (Debian package: time)" >&2
    exit 2
fi
if [[ ! -f "$work/cases.txt" ]]; then
    python3 "$here/hostile.py" "$work"
fi

printf '%-24s %9s %10s %5s  %s\n' case wall_s peak_MB exit worst
while read -r kind name path extra; do
    out="$work/$name.json"
    log="$work/$name.time"
    if [[ "$kind" == check ]]; then
        cmd=("$bin" check "$path" --format json --output "$out")
    else
        # shellcheck disable=SC2206 # the extra arguments are meant to split
        cmd=("$bin" repo audit "$path" --format json --output "$out" ${extra:-})
    fi
    rc=0
    ( ulimit -v $((mem_mb * 1024)); exec timeout "$timeout_s" /usr/bin/time -v -o "$log" "${cmd[@]}" ) \
        >"$work/$name.stdout" 2>"$work/$name.stderr" </dev/null || rc=$?
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; printf "%.2f", s}' "$log" 2>/dev/null || true)
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$log" 2>/dev/null || true)
    status="$rc"
    if [[ $rc == 124 ]]; then status=timeout; fi
    if grep -qi 'memory allocation.*failed\|out of memory' "$work/$name.stderr" 2>/dev/null; then status=oom; fi
    worst=$(python3 - "$out" <<'EOF' 2>/dev/null || echo "-"
import json, sys
order = ["info", "low", "medium", "high", "critical"]
report = json.load(open(sys.argv[1]))
findings = report.get("findings", [])
best = None
for f in findings:
    if best is None or order.index(f["severity"]) > order.index(best["severity"]):
        best = f
if best is None:
    print("no findings")
else:
    loc = best.get("location", {})
    print(f'{best["rule_id"]} {best["severity"]} line {loc.get("line")} ({len(findings)} findings)')
EOF
)
    printf '%-24s %9s %10s %5s  %s\n' "$name" "${wall:--}" "${rss:--}" "$status" "$worst"
done <"$work/cases.txt"
