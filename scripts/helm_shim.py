#!/usr/bin/env python3
"""A small `helm` command for the tests, built on the Helm v4 SDK (PyPI helm-python-sdk).

No `helm` binary is installable from the registries this project can reach, but the
helm-python-sdk wheel bundles Helm's Go SDK as a C library. `scripts/tools.sh` installs this
file as `helm` in the test tools' cache folder (exported as TG_HELM), so the tests drive
tritonguard against the real Helm engine through the same command line a user's helm has.

Supported, as helm 3/4 behave:

    helm template [NAME] CHART [-f|--values FILE]... [--set K=V]... [-n|--namespace NS]
    helm version [--short]

`helm template` renders through Helm's own install action in client-only dry-run mode with
in-memory release storage, which is what the real `helm template` does: manifests sorted in
Helm's install order, each as `---` + `# Source: <template>`, then the hooks (test hooks
included). A failed render prints Helm's message as `Error: ...` on stderr and exits 1.

Offline by construction: CHART must be a local chart directory or `.tgz`; a chart reference
that would need a repository is refused, dependencies are never downloaded (a missing one is
Helm's own "missing in charts/ directory" error), and the cluster client points at a closed
loopback port so that nothing can reach a real cluster from a developer's kubeconfig.

Limitation: each `--set` is parsed by Helm's strvals parser on its own and merged over the
values files map by map, so `--set list[1]=x` replaces the list instead of one element.
"""

import os
import re
import sys

try:
    import helm_python
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit(
        "Error: the helm_python module is missing; install helm-python-sdk "
        "(scripts/tools.sh does) and run this with that python"
    )

# Never a real cluster: Helm's client-only dry run does not connect, and if it ever tried,
# it would find nothing on this port.
UNREACHABLE_CLUSTER = "https://127.0.0.1:9"

# Helm's releaseutil.InstallOrder, used here to order hooks as `helm template` prints them.
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
]

# Helm's releaseutil.SplitManifests separator.
DOC_SPLIT = re.compile(r"(?:^|\s*\n)---\s*")


class Usage(Exception):
    """A command-line mistake: printed as helm prints it, exit 1."""


def fail(message):
    print(f"Error: {message}", file=sys.stderr)
    return 1


def merge_values(base, override):
    """Helm's merge of values maps: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def parse_template_args(argv):
    """(release, chart, values files, --set expressions, namespace) of `helm template`."""
    positional, values, sets, namespace = [], [], [], None
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if arg.startswith("-") and arg != "-":
            if name in ("-f", "--values", "--set", "-n", "--namespace"):
                if eq:
                    value = inline
                elif i + 1 < len(argv):
                    i += 1
                    value = argv[i]
                else:
                    raise Usage(f'flag needs an argument: {name}')
                if name in ("-f", "--values"):
                    values.extend(v for v in value.split(",") if v)
                elif name == "--set":
                    sets.append(value)
                else:
                    namespace = value
            else:
                raise Usage(f"unknown flag: {name}")
        else:
            positional.append(arg)
        i += 1
    if len(positional) == 1:
        positional.insert(0, "release-name")
    if len(positional) != 2:
        raise Usage(
            '"helm template" requires at most 2 arguments: [NAME] CHART '
            f"(got {len(positional)})"
        )
    return positional[0], positional[1], values, sets, namespace


def load_values(files, sets):
    values = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise Usage(f"open {path}: {e.strerror.lower()}") from e
        try:
            doc = helm_python.values_from_yaml(text)
        except helm_python.HelmError as e:
            raise Usage(f"failed to parse {path}: {e}") from e
        values = merge_values(values, doc or {})
    for expression in sets:
        try:
            values = merge_values(values, helm_python.parse_set_string(expression))
        except helm_python.HelmError as e:
            raise Usage(f"failed parsing --set data: {e}") from e
    return values


def documents(text):
    for doc in DOC_SPLIT.split(text):
        doc = doc.strip()
        if doc:
            yield doc


def is_hook(doc):
    import yaml  # only charts with hooks need PyYAML

    try:
        parsed = yaml.safe_load(doc)
    except yaml.YAMLError:
        return None
    if not isinstance(parsed, dict):
        return None
    annotations = (parsed.get("metadata") or {}).get("annotations") or {}
    if "helm.sh/hook" not in annotations:
        return None
    kind = parsed.get("kind", "")
    name = (parsed.get("metadata") or {}).get("name", "")
    order = INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)
    return (order, str(name))


def hooks(chart, values, release, namespace):
    """`---\\n# Source: ...` blocks of the hook documents, in Helm's hook order."""
    with helm_python.Chart.load(chart) as loaded:
        rendered = loaded.render(values, name=release, namespace=namespace, is_install=True)
    found = []
    for source in sorted(rendered):
        if "helm.sh/hook" not in rendered[source]:
            continue
        for doc in documents(rendered[source]):
            key = is_hook(doc)
            if key is not None:
                found.append((key, source, doc))
    found.sort(key=lambda h: h[0])
    return "".join(f"---\n# Source: {source}\n{doc}\n" for _, source, doc in found)


def template(argv):
    release, chart, files, sets, namespace = parse_template_args(argv)
    if not (os.path.isdir(chart) or (os.path.isfile(chart) and chart.endswith(".tgz"))):
        raise Usage(
            f'chart "{chart}" is not a local chart directory or .tgz; this helm renders '
            "local charts only and never downloads one"
        )
    helm_python.validate_release_name(release)
    values = load_values(files, sets)
    namespace = namespace or "default"
    with helm_python.Config(
        storage_driver="memory", namespace=namespace, kube_apiserver=UNREACHABLE_CLUSTER
    ) as cfg:
        release_info = cfg.install(chart, release, values, namespace=namespace, dry_run="client")
    out = release_info.get("manifest", "").strip()
    text = out + "\n" if out else ""
    # Hooks are not part of the release manifest; render them only when a chart has any.
    if os.path.isfile(chart) or any_hook_annotation(chart):
        text += hooks(chart, values, release, namespace)
    sys.stdout.write(text)
    return 0


def any_hook_annotation(chart_dir):
    """Whether any template of the chart (or its subcharts) mentions a hook annotation."""
    for root, _, names in os.walk(chart_dir):
        for name in names:
            try:
                with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                    if "helm.sh/hook" in f.read():
                        return True
            except OSError:
                continue
    return False


def version(argv):
    short = False
    for arg in argv:
        if arg == "--short":
            short = True
        else:
            raise Usage(f"unknown flag: {arg}")
    sdk = helm_python.helm_sdk_version()
    if short:
        print(f"{sdk}+helm-python-sdk.{helm_python.__version__}")
    else:
        print(
            f'version.BuildInfo{{Version:"{sdk}", GitCommit:"", GitTreeState:"", '
            f'GoVersion:"", HelmPythonSDK:"{helm_python.__version__}"}}'
        )
    return 0


def main(argv):
    if not argv:
        return fail('this helm supports only "helm template" and "helm version"')
    command, rest = argv[0], argv[1:]
    try:
        if command == "template":
            return template(rest)
        if command == "version":
            return version(rest)
        return fail(f'unknown command "{command}": this helm supports only template and version')
    except Usage as e:
        return fail(str(e))
    except helm_python.HelmError as e:
        return fail(str(e))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
