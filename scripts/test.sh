#!/usr/bin/env bash
# The one command that runs the whole test suite, exactly as CI does (`.ci/run` calls it).
#
#   bash scripts/test.sh
#
# 1. scripts/tools.sh installs, when missing, the real tools the tests drive (tritonserver
#    2.51, the Helm SDK, sarif-multitool, jsonschema, pre-commit) into a cache folder
#    outside the repository and exports their TG_* paths.
# 2. cargo fmt --check, clippy with warnings as errors, all test targets, doc tests;
#    the first failure stops the run.
# 3. A timing summary, then one closing line "tests: N passed, N failed".
#
# Environment: TRITONGUARD_TOOLS (cache folder, default
# ${XDG_CACHE_HOME:-$HOME/.cache}/tritonguard-tools); CI=true makes a missing tool a test
# failure instead of a skip, and makes insta refuse to write snapshots.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

run_start=$SECONDS
timings=()
test_log=$(mktemp -t tritonguard-test.XXXXXX)
trap 'rm -f "$test_log"' EXIT

# step NAME CMD...: runs CMD, records its time, stops the script on failure.
step() {
    local name=$1 start=$SECONDS rc=0
    shift
    printf '\n==> %s: %s\n' "$name" "$*"
    "$@" || rc=$?
    timings+=("$(printf '%-14s %5ss  %s' "$name" "$((SECONDS - start))" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED ($rc)")")")
    if [ "$rc" -ne 0 ]; then
        summary
        printf '\ntest.sh: step "%s" failed with exit code %s\n' "$name" "$rc" >&2
        exit "$rc"
    fi
}

# Cargo test output goes to the terminal and to a log, which the closing line counts.
cargo_test() {
    cargo test "$@" 2>&1 | tee -a "$test_log"
}

summary() {
    printf '\n==> timing\n'
    local t
    for t in "${timings[@]}"; do
        printf '  %s\n' "$t"
    done
    printf '  %-14s %5ss\n' "total" "$((SECONDS - run_start))"
}

tools() {
    # shellcheck source=scripts/tools.sh
    source scripts/tools.sh
}

step tools tools
step fmt cargo fmt --all -- --check
step clippy cargo clippy --all-targets --locked -- -D warnings
step test cargo_test --all-targets --locked
step doctest cargo_test --doc --locked

summary
passed=$(sed -n 's/^test result: .*\. \([0-9]\+\) passed; \([0-9]\+\) failed.*/\1/p' "$test_log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/^test result: .*\. \([0-9]\+\) passed; \([0-9]\+\) failed.*/\2/p' "$test_log" | awk '{s+=$1} END {print s+0}')
printf '\ntests: %s passed, %s failed\n' "$passed" "$failed"
