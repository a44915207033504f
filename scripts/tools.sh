# shellcheck shell=bash
# Installs (when missing) the external tools the test suite runs against, into a cache
# folder outside the repository, and exports the TG_* variables the Rust tests read.
#
# Usage:  source scripts/tools.sh      # installs what is missing, exports TG_*
#         bash scripts/tools.sh        # same, then prints the exports (for `eval`)
#
# Cache folder: ${TRITONGUARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tritonguard-tools}
#   triton/    venv: nvidia-pytriton (bundles tritonserver 2.51.0 + python backend) + numpy
#   pytools/   venv: helm-python-sdk (Helm v4 SDK as a C library), pyyaml, jsonschema,
#              check-jsonschema (SchemaStore's GitHub workflow/action schemas, vendored)
#   helm/      bin/helm: scripts/helm_shim.py run by the pytools python (a `helm template`
#              command on the Helm v4 SDK; no helm binary is installable here)
#   precommit/ venv: pre-commit
#   maturin/   venv: maturin (builds the tritonguard wheel), and wheelhouse/: the setuptools
#              wheel that installing the pre-commit shim needs when pip may not use an index
#   sarif/     npm prefix: @microsoft/sarif-multitool (+ its linux binary package)
#   mermaid/   npm prefix: mermaid (its own parser, as GitHub renders diagrams) + jsdom (the
#              DOM its sanitizer needs in node), and bin/mermaid-parse: scripts/mermaid_parse.mjs
#
# Each tool folder holds a `.installed` marker holding a fingerprint of what was asked
# for. It is written only after every step succeeded, so an interrupted install (or a
# changed pin) is thrown away and redone on the next run. A lock serialises concurrent
# runs that share one cache folder.
#
# Pins live here and nowhere else; change one and the next run reinstalls that tool.

TG_PIN_PYTRITON="nvidia-pytriton==0.7.0"
TG_PIN_NUMPY="numpy==1.26.4" # pytriton 0.7.0 requires numpy<2
TG_PIN_PYTOOLS="helm-python-sdk==0.2.2 pyyaml==6.0.3 jsonschema==4.26.0 check-jsonschema==0.39.0"
TG_PIN_PRECOMMIT="pre-commit==4.7.0"
TG_PIN_MATURIN="maturin==1.16.0"
TG_PIN_WHEELHOUSE="setuptools==84.2.1"
TG_PIN_SARIF="@microsoft/sarif-multitool@5.7.0 @microsoft/sarif-multitool-linux@5.7.0"
# mermaid 12 needs node 22; 11.17.2 is the newest that runs on node 20. jsdom 27 needs 20.19.
TG_PIN_MERMAID="mermaid@11.17.2 jsdom@26.1.0"

# Exact versions of the venvs' transitive dependencies.
TG_TOOLS_CONSTRAINTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tools-constraints.txt"

tg_tools_log() { printf '[tools] %s\n' "$*" >&2; }

tg_tools_python() {
    # The python backend stub we copy must match the interpreter of the triton venv;
    # the reference setup is CPython 3.11.
    local py
    for py in python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1; then
            command -v "$py"
            return 0
        fi
    done
    tg_tools_log "no python3.11 or python3 on PATH"
    return 1
}

tg_tools_constraints_hash() {
    sha256sum "$TG_TOOLS_CONSTRAINTS" | cut -c1-12
}

# tg_tools_fresh DIR FINGERPRINT: true when DIR holds a finished install of FINGERPRINT.
tg_tools_fresh() {
    [ -f "$1/.installed" ] && [ "$(cat "$1/.installed")" = "$2" ]
}

# tg_tools_mark DIR FINGERPRINT: record a finished install.
tg_tools_mark() {
    printf '%s' "$2" >"$1/.installed.tmp" && mv "$1/.installed.tmp" "$1/.installed"
}

tg_tools_pip() {
    # --retries: the registries here are reachable but large downloads do fail now and then.
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check --retries 5 \
        -c "$TG_TOOLS_CONSTRAINTS" "${@:2}"
}

# tg_tools_triton_pkg VENV: the folder holding bin/tritonserver and backends/.
tg_tools_triton_pkg() {
    local site
    site=$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || return 1
    printf '%s/pytriton/tritonserver' "$site"
}

tg_tools_install_triton() {
    local dir="$TG_TOOLS_DIR/triton" py fp
    py=$(tg_tools_python) || return 1
    fp="$TG_PIN_PYTRITON $TG_PIN_NUMPY $("$py" -c 'import sys; print("py%d.%d" % sys.version_info[:2])') $(tg_tools_constraints_hash)"
    if tg_tools_fresh "$dir" "$fp"; then
        tg_tools_log "triton: cached ($dir)"
        return 0
    fi
    tg_tools_log "triton: installing $fp into $dir"
    rm -rf "$dir"
    "$py" -m venv "$dir" || return 1
    # --no-deps: we only need the bundled server binary, its libraries and the python
    # backend; pytriton's own Python client stack (grpcio, tritonclient, ...) is not used.
    tg_tools_pip "$dir" "$TG_PIN_NUMPY" || return 1
    tg_tools_pip "$dir" --no-deps "$TG_PIN_PYTRITON" || return 1
    local pkg pyver stub
    # Not `import pytriton`: its __init__ pulls in the client stack we did not install.
    pkg="$(tg_tools_triton_pkg "$dir")" || return 1
    pyver=$("$dir/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || return 1
    stub="$pkg/python_backend_stubs/$pyver/triton_python_backend_stub"
    if [ ! -x "$stub" ]; then
        tg_tools_log "triton: no python backend stub for Python $pyver at $stub"
        return 1
    fi
    # The python backend looks for the stub next to libtriton_python.so.
    cp "$stub" "$pkg/backends/python/" || return 1
    # --help exits 1 on 2.51 but must at least run (its shared libraries resolve). No
    # pipe into grep here: callers may have pipefail set.
    local help
    help=$("$pkg/bin/tritonserver" --help 2>&1) || true
    if [[ "$help" != *--model-repository* ]]; then
        tg_tools_log "triton: $pkg/bin/tritonserver --help did not run"
        return 1
    fi
    tg_tools_mark "$dir" "$fp"
}

# A virtualenv of pinned PyPI packages, rebuilt when the pins or the constraints change;
# the command after the pins must succeed in the new environment.
tg_tools_install_venv() {
    local label=$1 dir=$2 pins=$3 py fp
    shift 3
    py=$(tg_tools_python) || return 1
    fp="$pins $(tg_tools_constraints_hash)"
    if tg_tools_fresh "$dir" "$fp"; then
        tg_tools_log "$label: cached ($dir)"
        return 0
    fi
    tg_tools_log "$label: installing $fp into $dir"
    rm -rf "$dir"
    "$py" -m venv "$dir" || return 1
    # shellcheck disable=SC2086 # the pin list is meant to split into words
    tg_tools_pip "$dir" $pins || return 1
    "$@" >/dev/null || return 1
    tg_tools_mark "$dir" "$fp"
}

tg_tools_install_pytools() {
    local dir="$TG_TOOLS_DIR/pytools"
    tg_tools_install_venv pytools "$dir" "$TG_PIN_PYTOOLS" \
        "$dir/bin/python" -c 'import helm_python, yaml, jsonschema, check_jsonschema'
}

# The `helm` command of the tests: scripts/helm_shim.py with the pytools python as its
# interpreter. Copied (not linked) so that worktrees sharing the cache folder do not depend
# on each other; reinstalled when the script changes.
tg_tools_install_helm() {
    local dir="$TG_TOOLS_DIR/helm" shim fp
    shim="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/helm_shim.py"
    fp="$(sha256sum "$shim" | cut -c1-12) $(cat "$TG_TOOLS_DIR/pytools/.installed")"
    if tg_tools_fresh "$dir" "$fp"; then
        tg_tools_log "helm: cached ($dir)"
        return 0
    fi
    tg_tools_log "helm: installing scripts/helm_shim.py into $dir"
    rm -rf "$dir"
    mkdir -p "$dir/bin" || return 1
    {
        printf '#!%s\n' "$TG_TOOLS_DIR/pytools/bin/python"
        tail -n +2 "$shim"
    } >"$dir/bin/helm" || return 1
    chmod 755 "$dir/bin/helm" || return 1
    local version
    version=$("$dir/bin/helm" version --short) || return 1
    if [[ "$version" != v4.* ]]; then
        tg_tools_log "helm: 'helm version --short' printed '$version'"
        return 1
    fi
    tg_tools_mark "$dir" "$fp"
}

tg_tools_install_precommit() {
    local dir="$TG_TOOLS_DIR/precommit"
    tg_tools_install_venv pre-commit "$dir" "$TG_PIN_PRECOMMIT" "$dir/bin/pre-commit" --version
}

tg_tools_install_maturin() {
    local dir="$TG_TOOLS_DIR/maturin"
    # The wheelhouse pin is part of the venv pins so that changing it reinstalls both.
    tg_tools_install_venv maturin "$dir" "$TG_PIN_MATURIN $TG_PIN_WHEELHOUSE" \
        tg_tools_wheelhouse "$dir"
}

# tg_tools_wheelhouse DIR: downloads the pinned wheels into DIR/wheelhouse, then checks maturin.
tg_tools_wheelhouse() {
    # shellcheck disable=SC2086
    "$1/bin/python" -m pip download --quiet --disable-pip-version-check --retries 5 \
        --no-deps --only-binary=:all: -d "$1/wheelhouse" $TG_PIN_WHEELHOUSE || return 1
    "$1/bin/maturin" --version
}

tg_tools_install_sarif() {
    local dir="$TG_TOOLS_DIR/sarif" fp
    fp="$TG_PIN_SARIF"
    if tg_tools_fresh "$dir" "$fp"; then
        tg_tools_log "sarif-multitool: cached ($dir)"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        tg_tools_log "sarif-multitool: npm not found"
        return 1
    fi
    tg_tools_log "sarif-multitool: installing $fp into $dir"
    rm -rf "$dir"
    mkdir -p "$dir" || return 1
    # The linux binary package is named explicitly so its version is pinned too (the
    # wrapper only asks for ^5.7.0 of it as an optional dependency).
    # shellcheck disable=SC2086
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error $TG_PIN_SARIF >&2 || return 1
    "$dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" --version >/dev/null 2>&1 || {
        tg_tools_log "sarif-multitool: installed but does not run"
        return 1
    }
    tg_tools_mark "$dir" "$fp"
}

# `mermaid-parse`: scripts/mermaid_parse.mjs beside the pinned mermaid and jsdom (an ES
# module resolves its imports from its own folder), run by node.
tg_tools_install_mermaid() {
    local dir="$TG_TOOLS_DIR/mermaid" script fp
    script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mermaid_parse.mjs"
    fp="$TG_PIN_MERMAID $(sha256sum "$script" | cut -c1-12)"
    if tg_tools_fresh "$dir" "$fp"; then
        tg_tools_log "mermaid: cached ($dir)"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        tg_tools_log "mermaid: npm or node not found"
        return 1
    fi
    tg_tools_log "mermaid: installing $TG_PIN_MERMAID into $dir"
    rm -rf "$dir"
    mkdir -p "$dir/bin" || return 1
    # shellcheck disable=SC2086
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error $TG_PIN_MERMAID >&2 || return 1
    cp "$script" "$dir/parse.mjs" || return 1
    printf '#!/bin/sh\nexec node "%s/parse.mjs" "$@"\n' "$dir" >"$dir/bin/mermaid-parse" || return 1
    chmod 755 "$dir/bin/mermaid-parse" || return 1
    printf 'flowchart LR\n  a --> b\n' | "$dir/bin/mermaid-parse" >/dev/null || {
        tg_tools_log "mermaid: installed but does not parse a flowchart"
        return 1
    }
    tg_tools_mark "$dir" "$fp"
}

# Exports the TG_* contract read by tests/support/tools.rs.
tg_tools_export() {
    local pkg
    pkg="$(tg_tools_triton_pkg "$TG_TOOLS_DIR/triton")" || return 1
    export TG_TRITONSERVER="$pkg/bin/tritonserver"
    export TG_TRITON_BACKENDS="$pkg/backends"
    export TG_TRITON_VENV_BIN="$TG_TOOLS_DIR/triton/bin"
    export TG_HELM_PYTHON="$TG_TOOLS_DIR/pytools/bin/python"
    export TG_HELM="$TG_TOOLS_DIR/helm/bin/helm"
    export TG_JSONSCHEMA_PYTHON="$TG_TOOLS_DIR/pytools/bin/python"
    export TG_PRE_COMMIT="$TG_TOOLS_DIR/precommit/bin/pre-commit"
    export TG_MATURIN="$TG_TOOLS_DIR/maturin/bin/maturin"
    export TG_PYPI_WHEELHOUSE="$TG_TOOLS_DIR/maturin/wheelhouse"
    # The native binary, not node_modules/.bin/sarif-multitool: that wrapper re-runs the
    # command through a shell (spawnSync with shell: true), which re-splits arguments.
    export TG_SARIF_MULTITOOL="$TG_TOOLS_DIR/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
    export TG_MERMAID_PARSE="$TG_TOOLS_DIR/mermaid/bin/mermaid-parse"
}

tg_tools_main() {
    TG_TOOLS_DIR="${TRITONGUARD_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tritonguard-tools}"
    export TG_TOOLS_DIR
    mkdir -p "$TG_TOOLS_DIR" || return 1
    tg_tools_log "cache folder: $TG_TOOLS_DIR"
    local start=$SECONDS rc=0
    # One installer at a time per cache folder; a second concurrent run waits here.
    exec {tg_lock_fd}>"$TG_TOOLS_DIR/.lock"
    flock "$tg_lock_fd"
    tg_tools_install_triton && tg_tools_install_pytools && tg_tools_install_helm &&
        tg_tools_install_precommit && tg_tools_install_maturin && tg_tools_install_sarif && tg_tools_install_mermaid || rc=$?
    flock -u "$tg_lock_fd"
    exec {tg_lock_fd}>&-
    if [ "$rc" -ne 0 ]; then
        tg_tools_log "FAILED (exit $rc) after $((SECONDS - start))s"
        return "$rc"
    fi
    tg_tools_export
    tg_tools_log "ready in $((SECONDS - start))s"
    tg_tools_log "TG_TRITONSERVER=$TG_TRITONSERVER"
    tg_tools_log "TG_TRITON_BACKENDS=$TG_TRITON_BACKENDS"
    tg_tools_log "TG_TRITON_VENV_BIN=$TG_TRITON_VENV_BIN"
    tg_tools_log "TG_HELM_PYTHON=$TG_HELM_PYTHON"
    tg_tools_log "TG_HELM=$TG_HELM"
    tg_tools_log "TG_JSONSCHEMA_PYTHON=$TG_JSONSCHEMA_PYTHON"
    tg_tools_log "TG_PRE_COMMIT=$TG_PRE_COMMIT"
    tg_tools_log "TG_MATURIN=$TG_MATURIN"
    tg_tools_log "TG_PYPI_WHEELHOUSE=$TG_PYPI_WHEELHOUSE"
    tg_tools_log "TG_SARIF_MULTITOOL=$TG_SARIF_MULTITOOL"
    tg_tools_log "TG_MERMAID_PARSE=$TG_MERMAID_PARSE"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Executed, not sourced: install, then print the exports for `eval "$(bash scripts/tools.sh)"`.
    set -u
    tg_tools_main || exit $?
    for v in TG_TRITONSERVER TG_TRITON_BACKENDS TG_TRITON_VENV_BIN TG_HELM_PYTHON TG_HELM \
        TG_JSONSCHEMA_PYTHON TG_PRE_COMMIT TG_MATURIN TG_PYPI_WHEELHOUSE TG_SARIF_MULTITOOL TG_MERMAID_PARSE; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
else
    tg_tools_main
fi
