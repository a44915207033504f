//! What `check` reads when it walks a directory: .gitignore and .tritonguardignore are
//! honoured, build output is skipped, and no symlink leads it out of the scanned directory.

use std::fs;
use std::path::Path;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::scan;

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec:\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:26.07-py3\n      args: [tritonserver, --model-repository=s3://m, --model-control-mode=poll]\n";

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).unwrap_or_default();
    fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn scanned_files(root: &Path) -> (Vec<String>, Vec<String>) {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let mut request = ScanRequest::new(vec![root.to_path_buf()]);
    request.base = root.to_path_buf();
    let result = scan(&catalogue, &request, &|p| p.spec.id == "TG101");
    let mut files: Vec<String> = result
        .findings
        .iter()
        .map(|f| result.store.display(f.primary.span.file).to_string())
        .collect();
    files.sort();
    let notes = result
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.display, n.message))
        .collect();
    (files, notes)
}

#[test]
fn ignored_and_generated_files_are_skipped_and_symlinks_stay_inside() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().join("repo");
    let outside = dir.path().join("outside");
    write(&root.join("deploy/pod.yaml"), POD);
    write(&root.join(".gitignore"), "rendered/\n*.generated.yaml\n");
    write(&root.join("rendered/pod.yaml"), POD);
    write(&root.join("deploy/pod.generated.yaml"), POD);
    write(&root.join(".tritonguardignore"), "vendor/\n");
    write(&root.join("vendor/chart/pod.yaml"), POD);
    write(&root.join("target/debug/pod.yaml"), POD);
    write(&root.join("node_modules/x/pod.yaml"), POD);
    write(&outside.join("secret.yaml"), POD);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.join("secret.yaml"), root.join("deploy/escape.yaml"))
            .unwrap_or_default();
        std::os::unix::fs::symlink(&outside, root.join("linked-dir")).unwrap_or_default();
        std::os::unix::fs::symlink(root.join("deploy/pod.yaml"), root.join("inside-link.yaml"))
            .unwrap_or_default();
    }
    let (files, notes) = scanned_files(&root);
    assert_eq!(files, ["deploy/pod.yaml", "inside-link.yaml"], "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("deploy/escape.yaml: symlink leaves the scanned directory")),
        "{notes:?}"
    );
}

#[test]
fn a_binary_file_with_a_yaml_name_is_reported_not_parsed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("pod.yaml"), POD);
    fs::write(dir.path().join("blob.yaml"), [0u8, 159, 146, 150, 0, 1]).unwrap_or_default();
    fs::write(dir.path().join("model.onnx"), [0u8; 64]).unwrap_or_default();
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let mut request = ScanRequest::new(vec![dir.path().to_path_buf()]);
    request.base = dir.path().to_path_buf();
    let result = scan(&catalogue, &request, &|_| true);
    assert_eq!(
        result.stats.files, 2,
        "model.onnx is not a file tritonguard reads"
    );
    assert!(
        result
            .findings
            .iter()
            .any(|f| f.rule_id == "TG000"
                && result.store.display(f.primary.span.file) == "blob.yaml")
    );
}

#[test]
fn helm_chart_templates_are_left_to_helm_template_with_one_note_per_chart() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    write(&root.join("deploy/pod.yaml"), POD);
    write(
        &root.join("charts/triton/Chart.yaml"),
        "apiVersion: v2\nname: triton\nversion: 0.1.0\n",
    );
    write(
        &root.join("charts/triton/values.yaml"),
        "image: {tag: 26.07-py3}\n",
    );
    write(
        &root.join("charts/triton/templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\nspec: {}\n{{- end }}\n",
    );
    let (files, notes) = scanned_files(root);
    assert_eq!(files, ["deploy/pod.yaml"], "{notes:?}");
    assert_eq!(
        notes,
        [
            "charts/triton: Helm chart: its templates are not scanned as they are written; \
          check what it renders with `helm template charts/triton | tritonguard check -`"
        ]
    );
}

#[test]
fn source_files_named_after_dockerfiles_are_not_read_as_dockerfiles() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("src/dockerfile.rs"), "fn main() {}\n");
    write(
        &dir.path().join("docs/Dockerfile.md"),
        "# Dockerfile notes\n",
    );
    write(
        &dir.path().join("Dockerfile.gpu"),
        "FROM nvcr.io/nvidia/tritonserver:26.07-py3\nCMD [\"tritonserver\", \"--model-repository=s3://m\", \"--model-control-mode=poll\"]\n",
    );
    let (files, notes) = scanned_files(dir.path());
    assert_eq!(files, ["Dockerfile.gpu"], "{notes:?}");
}
