//! `repo audit` evasion: a scan that stops early, or cannot see a pickle, must say so at the
//! severity of what it could not rule out.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tritonguard::audit::{AuditError, AuditRequest, audit_repository};
use tritonguard::evaluate::policy::Catalogue;
use tritonguard::finding::Severity;
use tritonguard::pipeline::Outcome as ScanResult;
use tritonguard::read_guard::Refusal;

use crate::bounded::{bounded, limits};

/// `os.system("echo pwned")`, protocol 2, as CPython writes it.
pub const EVIL: &[u8] =
    b"\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.";
/// `{}`.
pub const BENIGN: &[u8] = b"\x80\x02}q\x00.";

/// A zip archive of `(name, data, deflate)` members, written as zip writers do.
pub fn zip(members: &[(&[u8], Vec<u8>, bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, deflate) in members {
        let body = if *deflate {
            miniz_oxide::deflate::compress_to_vec(data, 1)
        } else {
            data.clone()
        };
        let offset = out.len() as u32;
        let method: u16 = if *deflate { 8 } else { 0 };
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&method.to_le_bytes());
            h.extend_from_slice(&[0; 4]); // time, date
            h.extend_from_slice(&0u32.to_le_bytes()); // crc (not checked)
            h.extend_from_slice(&(body.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                h.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name);
            h
        };
        let local = header(0x0403_4b50, false);
        central.extend(header(0x0201_4b50, true));
        out.extend(local);
        out.extend_from_slice(&body);
    }
    let cd_offset = out.len() as u32;
    let count = members.len() as u16;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

pub struct Repo {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// A repository with one model `m` (a config) and `files` (relative paths as bytes).
pub fn repo(files: &[(&[u8], &[u8])]) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("m/1")).unwrap();
    std::fs::write(
        root.join("m/config.pbtxt"),
        "name: \"m\"\nbackend: \"pytorch\"\n",
    )
    .unwrap();
    for (rel, data) in files {
        let path = root.join(OsStr::from_bytes(rel));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    Repo { _dir: dir, root }
}

pub fn audit_with(
    root: &Path,
    lock: Option<PathBuf>,
    tune: impl FnOnce(&mut AuditRequest),
) -> Result<ScanResult, AuditError> {
    let catalogue = Catalogue::load(&[], true).unwrap();
    let mut request = AuditRequest::new(root.to_path_buf());
    request.base = root.parent().unwrap().to_path_buf();
    request.lock = lock;
    tune(&mut request);
    audit_repository(&catalogue, &request, &|_| true)
}

/// The most severe TG602 finding: (severity, message, shown path).
pub fn worst_pickle(result: &ScanResult) -> (Severity, String, String) {
    result
        .findings
        .iter()
        .filter(|f| f.rule_id == "TG602")
        .max_by_key(|f| f.severity)
        .map(|f| {
            (
                f.severity,
                f.message.clone(),
                result.store.display(f.primary.span.file).to_string(),
            )
        })
        .unwrap_or((Severity::Info, String::new(), String::new()))
}

#[test]
fn decoy_members_do_not_use_up_the_member_cap() {
    bounded(
        concat!(
            module_path!(),
            "::decoy_members_do_not_use_up_the_member_cap"
        ),
        limits(120, 300),
        || {
            let mut members: Vec<(&[u8], Vec<u8>, bool)> = Vec::new();
            let names: Vec<Vec<u8>> = (0..4096)
                .map(|i| format!("archive/decoy{i}.pkl").into_bytes())
                .collect();
            for name in &names {
                members.push((name, BENIGN.to_vec(), false));
            }
            members.push((b"archive/data.pkl", EVIL.to_vec(), false));
            let r = repo(&[(b"m/1/model.pt", &zip(&members))]);
            let result = audit_with(&r.root, None, |_| {}).unwrap();
            let (severity, message, _) = worst_pickle(&result);
            assert_eq!(severity, Severity::Critical, "{message}");
            assert!(message.contains("posix.system"), "{message}");
            // With a cap below the number of pickle members, the rest is reported high.
            let result = audit_with(&r.root, None, |q| q.scan.max_members = 100).unwrap();
            let stopped = result
                .findings
                .iter()
                .find(|f| f.message.contains("more members were not scanned"))
                .expect("the member cap is reported");
            assert_eq!(stopped.rule_id, "TG602");
            assert_eq!(stopped.severity, Severity::High);
            // data.pkl is still scanned first.
            assert_eq!(worst_pickle(&result).0, Severity::Critical);
        },
    );
}

#[test]
fn a_global_after_the_inflate_limit_is_not_ruled_out() {
    bounded(
        concat!(
            module_path!(),
            "::a_global_after_the_inflate_limit_is_not_ruled_out"
        ),
        limits(120, 400),
        || {
            // 80 MiB of BINBYTES pushed and popped, then os.system; the scan inflates 64 MiB.
            let mut pickle = b"\x80\x04".to_vec();
            let block: Vec<u8> = [b"B".as_slice(), &(1u32 << 20).to_le_bytes()]
                .concat()
                .into_iter()
                .chain(std::iter::repeat_n(0u8, 1 << 20))
                .chain([b'0'])
                .collect();
            for _ in 0..80 {
                pickle.extend_from_slice(&block);
            }
            pickle.extend_from_slice(&EVIL[2..]);
            let archive = zip(&[(b"archive/data.pkl", pickle, true)]);
            let r = repo(&[(b"m/1/model.pt", &archive)]);
            let result = audit_with(&r.root, None, |q| {
                q.scan.archive.max_inflated = 64 << 20;
            })
            .unwrap();
            let (severity, message, _) = worst_pickle(&result);
            assert_eq!(severity, Severity::High, "{message}");
            assert!(
                message.contains("inflated from one zip member"),
                "{message}"
            );
            assert!(
                !result.findings.iter().any(|f| f.rule_id == "TG600"),
                "a limit is not a broken file"
            );
        },
    );
}

#[test]
fn files_are_opened_by_their_real_name() {
    // The lossy name of `model\xff.pkl` is `model\u{fffd}.pkl`: a benign file under that
    // name must not stand in for the malicious one.
    let r = repo(&[
        (b"m/1/model\xff.pkl", EVIL),
        ("m/1/model\u{fffd}.pkl".as_bytes(), BENIGN),
    ]);
    let result = audit_with(&r.root, None, |_| {}).unwrap();
    let (severity, message, path) = worst_pickle(&result);
    assert_eq!(severity, Severity::Critical, "{message}");
    assert_eq!(path, "repo/m/1/model\\xff.pkl");
}

#[test]
fn members_are_recognised_as_pickles_by_content() {
    let archive = zip(&[
        (b"archive/data.txt", EVIL.to_vec(), false),
        (
            b"archive/notes.txt",
            b"class Model:\n  pass\n".to_vec(),
            true,
        ),
        (b"archive/version", b"3\n".to_vec(), false),
    ]);
    let r = repo(&[(b"m/1/model.pt", &archive)]);
    let result = audit_with(&r.root, None, |_| {}).unwrap();
    let pickles: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.rule_id == "TG602")
        .collect();
    assert_eq!(pickles.len(), 1, "{pickles:?}");
    assert_eq!(pickles[0].severity, Severity::Critical);
    assert!(pickles[0].message.contains("member archive/data.txt"));
}

#[test]
fn an_archive_that_cannot_be_read_is_high() {
    // A 7z signature header: tritonguard does not read 7z, and says so.
    let mut seven = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    seven.extend_from_slice(&[0; 24]);
    seven.extend_from_slice(EVIL);
    let r = repo(&[(b"m/1/model.7z", &seven)]);
    let result = audit_with(&r.root, None, |_| {}).unwrap();
    let (severity, message, _) = worst_pickle(&result);
    assert_eq!(severity, Severity::High, "{message}");
    assert!(message.contains("7z"), "{message}");
}

#[test]
fn lock_files_that_are_huge_or_not_utf8_are_findings() {
    let r = repo(&[(b"m/1/model.pkl", BENIGN)]);
    // 17 MiB, sparse: the size is refused before anything is read.
    let huge = r.root.parent().unwrap().join("huge.lock");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let started = Instant::now();
    let result = audit_with(&r.root, Some(huge), |_| {}).unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    let unread = result
        .findings
        .iter()
        .find(|f| f.rule_id == "TG600")
        .unwrap();
    assert_eq!(unread.severity, Severity::High);
    assert!(unread.message.contains("cannot be ruled out"));
    // One bad byte spoils one line: a positioned TG600, the other lines still compared.
    let bad = r.root.parent().unwrap().join("bad.lock");
    let mut text = b"# tritonguard lock v1\n".to_vec();
    text.extend_from_slice(format!("{}  m/1/model.pkl\n", "0".repeat(64)).as_bytes());
    text.extend_from_slice(b"\xff\xfe not a line\n");
    std::fs::write(&bad, &text).unwrap();
    let result = audit_with(&r.root, Some(bad), |_| {}).unwrap();
    let line = result
        .findings
        .iter()
        .find(|f| f.rule_id == "TG600")
        .unwrap();
    assert_eq!(
        result
            .store
            .position(line.primary.span.file, line.primary.span.start)
            .line,
        3
    );
    assert!(
        line.message.contains("lock file line 3: byte 0xff"),
        "{}",
        line.message
    );
    assert!(result.findings.iter().any(|f| f.rule_id == "TG603"));
}

#[test]
fn a_lock_that_is_a_fifo_or_a_device_is_refused_at_once() {
    let r = repo(&[(b"m/1/model.pkl", BENIGN)]);
    let fifo = r.root.parent().unwrap().join("lock.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut locks = vec![PathBuf::from("/dev/zero")];
    if made.is_ok_and(|s| s.success()) {
        locks.push(fifo);
    }
    for lock in locks {
        let started = Instant::now();
        let Err(error) = audit_with(&r.root, Some(lock.clone()), |_| {}) else {
            panic!("{} was read as a lock file", lock.display());
        };
        assert!(started.elapsed() < Duration::from_secs(30));
        assert!(
            matches!(
                error,
                AuditError::Lock {
                    source: Refusal::NotRegular { .. },
                    ..
                }
            ),
            "{}: {error}",
            lock.display()
        );
    }
}
