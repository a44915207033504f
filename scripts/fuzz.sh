#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (not part of the normal build or CI).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default: 600 s each, every target in turn
#   scripts/fuzz.sh --build                   # only build the targets
#   scripts/fuzz.sh --list
#
# * cargo-fuzz is installed (pinned) into the tools cache folder when missing:
#   ${TRITONGUARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tritonguard-tools}/cargo-fuzz.
# * Toolchain: cargo-fuzz needs nightly features. A nightly toolchain is used when rustup has
#   one; otherwise the stable toolchain with RUSTC_BOOTSTRAP=1 (which enables them) does the
#   same job. Targets are built with `--sanitizer none`: the library forbids unsafe code, so
#   AddressSanitizer would find little, and it makes no difference to time or memory limits.
# * Slowness and memory count as crashes: each input gets -timeout=$TG_FUZZ_TIMEOUT seconds
#   (default 10) and the process -rss_limit_mb=$TG_FUZZ_RSS_MB (default 2048); inputs up to
#   -max_len=$TG_FUZZ_MAX_LEN bytes (default 65536) so that super-linear parsers show up.
# * Corpora live in fuzz/corpus/<target> (not committed), seeded from examples/ and
#   tests/fixtures/ on the first run; crashes and slow inputs land in fuzz/artifacts/<target>.
#   Turn every one of them into a test in the normal suite (tests/hostile/).
# * At the end: one line per target with executions, exec/s, corpus size, peak RSS and the
#   outcome
#   (also written to fuzz/last-run.txt).
# Runs under `nice`: the machine is shared.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz="$root/fuzz"
tools="${TRITONGUARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tritonguard-tools}"
cargo_fuzz_version="0.13.1"
target_dir="${TG_FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$fuzz/target}-fuzz}"
timeout_s="${TG_FUZZ_TIMEOUT:-10}"
rss_mb="${TG_FUZZ_RSS_MB:-2048}"
max_len="${TG_FUZZ_MAX_LEN:-65536}"

log() { printf '[fuzz] %s\n' "$*" >&2; }

install_cargo_fuzz() {
    local dir="$tools/cargo-fuzz"
    if [[ -x "$dir/bin/cargo-fuzz" ]] && "$dir/bin/cargo-fuzz" --version | grep -q "$cargo_fuzz_version"; then
        return 0
    fi
    log "installing cargo-fuzz $cargo_fuzz_version into $dir"
    nice -n 10 cargo install --locked --quiet --version "$cargo_fuzz_version" --root "$dir" cargo-fuzz
}

# The cargo invocation that builds fuzz targets on this machine.
toolchain_args=()
pick_toolchain() {
    if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        toolchain_args=(+nightly)
        log "toolchain: nightly"
    else
        export RUSTC_BOOTSTRAP=1
        log "toolchain: stable with RUSTC_BOOTSTRAP=1 (no nightly installed)"
    fi
}

targets() {
    (cd "$fuzz/fuzz_targets" && ls ./*.rs | sed 's|^\./||; s|\.rs$||')
}

# seed TARGET FILE...: copy seed files into the target's corpus (prefix: bytes to put first).
seed_files() {
    local target=$1 prefix=$2
    shift 2
    local dir="$fuzz/corpus/$target" f
    mkdir -p "$dir"
    for f in "$@"; do
        [[ -f "$f" ]] || continue
        { printf '%b' "$prefix"; head -c "$max_len" "$f"; } >"$dir/seed-$(sha256sum "$f" | cut -c1-16)"
    done
}

seed() {
    local target=$1
    [[ -d "$fuzz/corpus/$target" ]] && return 0
    mkdir -p "$fuzz/corpus/$target"
    mapfile -t yaml < <(find "$root/examples" "$root/tests/fixtures" -name '*.yaml' -o -name '*.yml' | sort)
    mapfile -t docker < <(find "$root/examples" "$root/tests/fixtures" -name 'Dockerfile*' -o -name 'Containerfile*' | sort)
    mapfile -t shell < <(find "$root/examples" "$root/tests/fixtures" -name '*.sh' | sort)
    mapfile -t pbtxt < <(find "$root/examples" "$root/tests/fixtures" -name '*.pbtxt' | sort)
    mapfile -t models < <(find "$root/examples/models" -type f \( -name '*.pt' -o -name '*.pkl' -o -name '*.onnx' \) | sort)
    case "$target" in
        yaml) seed_files yaml '' "${yaml[@]}" ;;
        dockerfile) seed_files dockerfile '' "${docker[@]}" ;;
        shell) seed_files shell '' "${shell[@]}" ;;
        makefile) seed_files makefile '' "${shell[@]}" ;;
        compose) seed_files compose '' "$root"/examples/compose/*.yml "$root"/tests/fixtures/parity/*/compose.yaml ;;
        pbtxt) seed_files pbtxt '' "${pbtxt[@]}" ;;
        pickle | zip | archive | repo_audit) seed_files "$target" '' "${models[@]}" ;;
        lock) seed_files lock '' "$root/examples/models/tritonguard.lock" ;;
        config) seed_files config '' "$root/examples/tritonguard.yaml" "$root"/.tritonguard.yaml ;;
        check)
            seed_files check '\x00' "${yaml[@]}"
            seed_files check '\x01' "${docker[@]}"
            seed_files check '\x02' "${shell[@]}"
            seed_files check '\x04' "${pbtxt[@]}"
            ;;
    esac
    # An empty corpus still needs one input to start from.
    if [[ -z "$(ls -A "$fuzz/corpus/$target")" ]]; then
        printf 'a' >"$fuzz/corpus/$target/seed-empty"
    fi
}

build() {
    log "building fuzz targets into $target_dir"
    (cd "$root" && nice -n 10 cargo "${toolchain_args[@]}" fuzz build -O -a --sanitizer none \
        --target-dir "$target_dir" "$@")
}

run_one() {
    local target=$1 seconds=$2 out
    seed "$target"
    mkdir -p "$fuzz/artifacts/$target" "$fuzz/logs"
    # Not in the artifacts folder: cargo-fuzz reports every file there as a failing input.
    out="$fuzz/logs/$target.log"
    log "$target: ${seconds}s (timeout ${timeout_s}s per input, rss ${rss_mb} MB, max_len ${max_len})"
    local rc=0
    (cd "$root" && nice -n 10 cargo "${toolchain_args[@]}" fuzz run -O -a --sanitizer none \
        --target-dir "$target_dir" "$target" "$fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
        -malloc_limit_mb="$rss_mb" -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="$fuzz/artifacts/$target/") >"$out" 2>&1 || rc=$?
    local execs rate peak corpus outcome
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -1)
    peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$out" | tail -1)
    corpus=$(find "$fuzz/corpus/$target" -type f | wc -l)
    if [[ $rc -eq 0 ]]; then
        outcome="ok"
    else
        outcome="FAILED (exit $rc): $(grep -m1 -E 'ERROR: libFuzzer|panicked at|timeout|out-of-memory' "$out" || echo "see $out")"
    fi
    printf '%-12s %6ss %11s execs %7s exec/s %6s corpus %5s MB peak  %s\n' \
        "$target" "$seconds" "${execs:-?}" "${rate:-?}" "$corpus" "${peak:-?}" "$outcome" | tee -a "$fuzz/last-run.txt"
    return "$rc"
}

main() {
    install_cargo_fuzz
    export PATH="$tools/cargo-fuzz/bin:$PATH"
    pick_toolchain
    case "${1:-}" in
        --list)
            targets
            return 0
            ;;
        --build)
            build
            return 0
            ;;
    esac
    local seconds="${1:-600}"
    shift || true
    local chosen=("$@")
    if [[ ${#chosen[@]} -eq 0 ]]; then
        mapfile -t chosen < <(targets)
    fi
    build
    printf "# %s\n" "$(date -u +%FT%TZ) $*" >>"$fuzz/last-run.txt"
    local failed=0 t
    for t in "${chosen[@]}"; do
        run_one "$t" "$seconds" || failed=1
    done
    return "$failed"
}

main "$@"
