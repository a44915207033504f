//! Walking, auditing and locking a model repository on disk.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod support;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use tritonguard::repo::classify::Class;
use tritonguard::repo::lock::{self, DriftKind};
use tritonguard::repo::walk::{self, Entry, EntryKind, Role};
use tritonguard::repo::{AuditOptions, audit, relative_to_root};

fn write(path: &Path, bytes: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A small repository with the cases a review cares about. Returns (tempdir, repo root).
fn build_repo() -> (tempfile::TempDir, PathBuf) {
    let g = support::generated("walk");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let outside = tmp.path().join("outside");
    write(&outside.join("model.onnx"), b"outside weights", 0o644);

    write(
        &root.join("densenet/config.pbtxt"),
        b"name: \"densenet\"\n",
        0o644,
    );
    write(
        &root.join("densenet/configs/prod.pbtxt"),
        b"max_batch_size: 8\n",
        0o644,
    );
    write(
        &root.join("densenet/1/model.pt"),
        &g.bytes("os_system_p2"),
        0o644,
    );
    write(
        &root.join("densenet/2/model.pt"),
        &g.bytes("ordereddict_p4"),
        0o644,
    );
    write(
        &root.join("pyfunc/config.pbtxt"),
        b"backend: \"python\"\n",
        0o644,
    );
    write(
        &root.join("pyfunc/1/model.py"),
        b"import triton_python_backend_utils\n",
        0o644,
    );
    write(
        &root.join("pyfunc/triton_python_backend_stub"),
        b"\x7fELF\x02\x01\x01",
        0o755,
    );
    write(&root.join("open/config.pbtxt"), b"name: \"open\"\n", 0o666);
    write(&root.join("open/1/model.onnx"), b"\x08\x07", 0o664);
    fs::set_permissions(root.join("open"), fs::Permissions::from_mode(0o777)).unwrap();
    fs::create_dir_all(root.join("links/1")).unwrap();
    symlink(outside.join("model.onnx"), root.join("links/1/model.onnx")).unwrap();
    symlink("../../open/1/model.onnx", root.join("links/1/inside.onnx")).unwrap();
    symlink("../../../../nowhere/x", root.join("links/1/dangling")).unwrap();
    symlink("../open/1", root.join("links/2")).unwrap();
    (tmp, root)
}

fn entry<'a>(entries: &'a [Entry], path: &str) -> &'a Entry {
    entries
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no entry {path}"))
}

#[test]
fn walk_records_kinds_modes_roles_and_symlinks() {
    let (_tmp, root) = build_repo();
    let w = walk::walk(&root).unwrap();
    assert!(w.issues.is_empty(), "{:?}", w.issues);
    let e = &w.entries;
    assert_eq!(e[0].path, ".");
    assert_eq!(e[0].role, Role::Root);

    let cfg = entry(e, "densenet/config.pbtxt");
    assert_eq!(
        (cfg.kind, cfg.role, cfg.mode),
        (EntryKind::File, Role::Config, 0o644)
    );
    assert_eq!(cfg.model.as_deref(), Some("densenet"));
    assert_eq!(cfg.size, 17);
    assert!(!cfg.world_writable && !cfg.group_writable);
    assert_eq!(
        entry(e, "densenet/configs/prod.pbtxt").role,
        Role::CustomConfig
    );
    assert_eq!(entry(e, "densenet/1").role, Role::VersionDir);
    assert_eq!(entry(e, "densenet/1/model.pt").role, Role::ModelFile);
    assert_eq!(entry(e, "pyfunc/1/model.py").role, Role::PythonModel);
    let stub = entry(e, "pyfunc/triton_python_backend_stub");
    assert_eq!(stub.role, Role::BackendStub);
    assert!(stub.is_executable());

    let open_dir = entry(e, "open");
    assert_eq!((open_dir.kind, open_dir.mode), (EntryKind::Dir, 0o777));
    assert!(open_dir.world_writable);
    assert!(entry(e, "open/config.pbtxt").world_writable);
    let onnx = entry(e, "open/1/model.onnx");
    assert!(onnx.group_writable && !onnx.world_writable);

    let escaping = entry(e, "links/1/model.onnx");
    assert_eq!(escaping.kind, EntryKind::Symlink);
    let info = escaping.symlink.as_ref().unwrap();
    assert!(info.escapes_root && !info.dangling);
    assert!(
        info.resolved
            .as_deref()
            .unwrap()
            .ends_with("outside/model.onnx")
    );
    assert!(
        !escaping.world_writable,
        "a symlink's own mode bits mean nothing"
    );
    let inside = entry(e, "links/1/inside.onnx").symlink.as_ref().unwrap();
    assert!(!inside.escapes_root && !inside.dangling);
    assert_eq!(inside.target, "../../open/1/model.onnx");
    let dangling = entry(e, "links/1/dangling").symlink.as_ref().unwrap();
    assert!(dangling.escapes_root && dangling.dangling);
    // A symlinked directory is reported, not entered.
    assert_eq!(entry(e, "links/2").kind, EntryKind::Symlink);
    assert!(!e.iter().any(|x| x.path.starts_with("links/2/")));

    let models: Vec<(&str, bool, Vec<&str>)> = w
        .models
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.has_config,
                m.versions.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("densenet", true, vec!["1", "2"]),
            ("links", false, vec!["1"]),
            ("open", true, vec!["1"]),
            ("pyfunc", true, vec!["1"]),
        ]
    );
    let pyfunc = w.models.iter().find(|m| m.name == "pyfunc").unwrap();
    assert!(pyfunc.python_model && pyfunc.custom_stub);
    assert_eq!(
        w.models[0].custom_configs,
        ["densenet/configs/prod.pbtxt".to_string()]
    );
}

#[test]
fn a_root_that_is_not_a_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f");
    fs::write(&file, b"x").unwrap();
    assert!(matches!(
        walk::walk(&file),
        Err(walk::WalkError::NotADirectory(_))
    ));
    assert!(walk::walk(&tmp.path().join("missing")).is_err());
}

const CHILD_ENV: &str = "TRITONGUARD_TEST_UNREADABLE_REPO";

/// The check itself: run by a user for whom mode 000 means unreadable.
fn check_unreadable(root: &Path) {
    let w = walk::walk(root).unwrap();
    let issues: Vec<&str> = w.issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(issues, ["locked"], "{:?}", w.issues);
    assert!(w.issues[0].message.contains("cannot list directory"));
    // The directory itself is still recorded, and the walk went on past it.
    assert_eq!(entry(&w.entries, "locked").mode, 0);
    assert!(w.entries.iter().any(|e| e.path == "zz/config.pbtxt"));
    // An unreadable file is walked (stat needs no read permission) but cannot be scanned
    // or hashed; both say so and the audit goes on.
    let a = audit(
        root,
        &AuditOptions {
            hash: true,
            ..AuditOptions::default()
        },
    )
    .unwrap();
    let secret = a.files.iter().find(|f| f.path == "m/secret.pt").unwrap();
    assert!(secret.hash.is_none());
    assert!(secret.hash_error.as_deref().unwrap().contains("denied"));
    assert!(
        secret
            .scan
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("cannot open")
    );
    let ok = a
        .files
        .iter()
        .find(|f| f.path == "zz/config.pbtxt")
        .unwrap();
    assert!(ok.hash.is_some());
}

#[test]
fn unreadable_entries_are_issues_and_the_walk_continues() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        check_unreadable(Path::new(&root));
        return;
    }
    // A folder `nobody` can reach wherever the checkout and TMPDIR are.
    let tmp = support::unprivileged::world_tempdir("tg-repo-walk-");
    let root = tmp.path().join("repo");
    write(&root.join("locked/1/model.pt"), b"N.", 0o644);
    write(&root.join("m/secret.pt"), b"N.", 0o000);
    write(&root.join("zz/config.pbtxt"), b"", 0o644);
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();

    // Root ignores permission bits, so as root the check runs in
    // a child process (this same test) switched to the unprivileged `nobody` user.
    if effective_uid() != 0 {
        check_unreadable(&root);
    } else {
        use std::os::unix::process::CommandExt;
        // `nobody` may not reach the test binary (a checkout or target folder under a 0700
        // folder, such as a root user's home or a `mktemp -d` folder): run a copy of it.
        let staged = support::unprivileged::stage_executable(&std::env::current_exe().unwrap());
        let status = Command::new(&staged.exe)
            .args([
                "--exact",
                "unreadable_entries_are_issues_and_the_walk_continues",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &root)
            .current_dir(tmp.path())
            .uid(65534)
            .gid(65534)
            .status()
            .unwrap();
        assert!(status.success(), "the unprivileged check failed");
    }
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// The effective user id, read from `/proc` to stay free of `unsafe` FFI in tests.
fn effective_uid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn audit_scans_pickles_and_hashes_every_regular_file() {
    let (_tmp, root) = build_repo();
    let a = audit(
        &root,
        &AuditOptions {
            hash: true,
            ..AuditOptions::default()
        },
    )
    .unwrap();
    let paths: Vec<&str> = a.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "densenet/1/model.pt",
            "densenet/2/model.pt",
            "densenet/config.pbtxt",
            "densenet/configs/prod.pbtxt",
            "open/1/model.onnx",
            "open/config.pbtxt",
            "pyfunc/1/model.py",
            "pyfunc/config.pbtxt",
            "pyfunc/triton_python_backend_stub",
        ]
    );
    let evil = &a.files[0];
    let g = &evil.scan.streams[0].scan.globals[0];
    assert_eq!(
        (g.qualified(), g.offset, g.class),
        ("posix.system".to_string(), 2, Class::Dangerous)
    );
    assert_eq!(a.files[1].scan.streams[0].scan.worst(), Some(Class::Safe));
    // Hashes agree with Python's hashlib.
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
        ])
        .arg(root.join("densenet/1/model.pt"))
        .output()
        .unwrap();
    let expected = String::from_utf8(out.stdout).unwrap();
    assert_eq!(evil.hash.unwrap().sha256.to_hex(), expected.trim());
    assert!(a.files.iter().all(|f| f.hash.is_some()));
}

#[test]
fn lock_round_trips_verifies_with_sha256sum_and_detects_drift() {
    let (_tmp, root) = build_repo();
    let lock_path = root.join(lock::DEFAULT_FILE_NAME);
    let rel = relative_to_root(&root, &lock_path).unwrap();
    assert_eq!(rel, "tritonguard.lock");
    let exclude = vec![rel];
    let out = tritonguard::repo::lock(&root, &exclude).unwrap();
    assert_eq!(out.files, 9);
    assert!(out.issues.is_empty());
    // Deterministic: the same repository gives the same bytes.
    assert_eq!(
        tritonguard::repo::lock(&root, &exclude).unwrap().text,
        out.text
    );
    fs::write(&lock_path, &out.text).unwrap();

    // GNU sha256sum accepts the file as it is.
    let check = Command::new("sha256sum")
        .args(["--strict", "--quiet", "-c", "tritonguard.lock"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let (parsed, errors) = lock::parse(&fs::read_to_string(&lock_path).unwrap());
    assert!(errors.is_empty());
    let options = AuditOptions {
        hash: true,
        exclude: exclude.clone(),
        ..AuditOptions::default()
    };
    assert!(
        audit(&root, &options)
            .unwrap()
            .compare_lock(&parsed)
            .is_empty()
    );

    fs::write(root.join("densenet/config.pbtxt"), b"name: \"evil\"\n").unwrap();
    fs::remove_file(root.join("open/1/model.onnx")).unwrap();
    write(&root.join("densenet/1/extra.so"), b"\x7fELF", 0o755);
    let drift = audit(&root, &options).unwrap().compare_lock(&parsed);
    let got: Vec<(DriftKind, &str)> = drift.iter().map(|d| (d.kind, d.path.as_str())).collect();
    assert_eq!(
        got,
        [
            (DriftKind::Untracked, "densenet/1/extra.so"),
            (DriftKind::Mismatch, "densenet/config.pbtxt"),
            (DriftKind::Missing, "open/1/model.onnx"),
        ]
    );
    // Findings about the lock point at its line.
    let mismatch = &drift[1];
    let line = mismatch.lock_line.unwrap();
    let text = fs::read_to_string(&lock_path).unwrap();
    assert!(
        text.lines()
            .nth(line - 1)
            .unwrap()
            .ends_with("  densenet/config.pbtxt")
    );
    // And sha256sum agrees that something changed.
    let check = Command::new("sha256sum")
        .args(["--strict", "--quiet", "-c", "tritonguard.lock"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(!check.status.success());
}
