#!/usr/bin/env python3
"""Render a Helm chart offline and print it the way `helm template` does.

Usage:
    render_helm.py CHART [-f values.yaml ...] [--name NAME] [--namespace NS] [--lint]
                   [--format stream|json]

Needs the `helm_python` module (PyPI helm-python-sdk, which bundles the Helm v4 SDK as
a C library): run it with the python that `scripts/tools.sh` exports as TG_HELM_PYTHON.

Output: one YAML document per manifest, each introduced by `---` and
`# Source: <chart>/templates/<file>`, templates sorted by path. Like `helm template`,
a template that renders several documents gives several entries with the same source,
empty output and NOTES.txt are left out, and `-f` files are merged in order (maps merge
deeply, later files win) before the chart's defaults are applied.

`--format json` prints the same documents as a JSON list of {"source", "manifest"}
(each manifest parsed with PyYAML's safe loader), for tests that check structure.
"""

import argparse
import json
import re
import sys

try:
    import helm_python
    from helm_python import Chart
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit(
        "render_helm.py: the helm_python module is missing; run it with TG_HELM_PYTHON "
        "from scripts/tools.sh (pip package helm-python-sdk==0.2.2)"
    )

# `helm template` splits a rendered file into documents at lines that start with `---`.
DOC_SPLIT = re.compile(r"(?:^|\n)---[^\n]*(?=\n|$)")


def merge_values(base, override):
    """Helm's merge of successive -f files: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def load_values(paths):
    values = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = helm_python.values_from_yaml(f.read())
        if doc is None:
            continue
        if not isinstance(doc, dict):
            sys.exit(f"render_helm.py: {path}: values must be a mapping")
        values = merge_values(values, doc)
    return values


def documents(text):
    for doc in DOC_SPLIT.split(text):
        doc = doc.strip("\n")
        # Skip documents that are empty or hold only comments/blank lines, as helm does
        # for whitespace-only output.
        if doc.strip():
            yield doc


def render(chart_dir, values, name, namespace):
    """[(source, document text)] in `helm template` order for this script: by template path."""
    chart = Chart.load(chart_dir)
    rendered = chart.render(values, name=name, namespace=namespace, is_install=True)
    out = []
    for source in sorted(rendered):
        if source.endswith("NOTES.txt"):
            continue
        for doc in documents(rendered[source]):
            out.append((source, doc))
    return out


def as_stream(docs):
    return "".join(f"---\n# Source: {source}\n{doc}\n" for source, doc in docs)


def as_json(docs):
    import yaml  # only this output format needs PyYAML

    return json.dumps(
        [{"source": source, "manifest": yaml.safe_load(doc)} for source, doc in docs],
        indent=2,
    ) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("chart", help="chart directory (holding Chart.yaml)")
    ap.add_argument(
        "-f", "--values", action="append", default=[], help="values file (repeatable)"
    )
    ap.add_argument("--name", default="release-name", help="release name")
    ap.add_argument("--namespace", default="default", help="release namespace")
    ap.add_argument(
        "--format",
        choices=["stream", "json"],
        default="stream",
        help="stream: `helm template` text (default); json: parsed documents",
    )
    ap.add_argument(
        "--lint",
        action="store_true",
        help="run `helm lint --strict` on the chart with these values first; exit 1 on findings",
    )
    args = ap.parse_args(argv)

    values = load_values(args.values)
    try:
        helm_python.validate_release_name(args.name)
        if args.lint:
            report = helm_python.lint(
                args.chart, values, strict=True, namespace=args.namespace
            )
            problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
            problems += [{"severity": 3, "path": "", "error": e} for e in report.get("errors", [])]
            if problems:
                for m in problems:
                    print(f"lint: {m.get('path', '')}: {m.get('error', m)}", file=sys.stderr)
                return 1
        docs = render(args.chart, values, args.name, args.namespace)
        sys.stdout.write(as_json(docs) if args.format == "json" else as_stream(docs))
    except helm_python.HelmError as e:
        print(f"render_helm.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
