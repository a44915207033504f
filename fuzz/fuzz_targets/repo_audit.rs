#![no_main]
//! The whole `repo audit` of a repository holding the input as a model file, next to a
//! config, with the input's tail (after the first NUL) as the lock file.

use libfuzzer_sys::fuzz_target;
use tritonguard::audit::{AuditRequest, audit_repository};
use tritonguard_fuzz::catalogue;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::Builder::new()
        .prefix("tg-fuzz-")
        .tempdir_in(scratch())
    else {
        return;
    };
    let root = dir.path().join("repo");
    let (model, lock) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let written = std::fs::create_dir_all(root.join("m/1"))
        .and_then(|()| {
            std::fs::write(
                root.join("m/config.pbtxt"),
                "name: \"m\"\nbackend: \"pytorch\"\n",
            )
        })
        .and_then(|()| std::fs::write(root.join("m/1/model.pt"), model))
        .and_then(|()| match lock {
            Some(lock) => std::fs::write(root.join("tritonguard.lock"), lock),
            None => Ok(()),
        });
    if written.is_err() {
        return;
    }
    let mut request = AuditRequest::new(root.clone());
    request.base = dir.path().to_path_buf();
    request.scan.archive.max_inflated = 8 << 20;
    request.lock = lock.map(|_| root.join("tritonguard.lock"));
    let _ = audit_repository(catalogue(), &request, &|_| true);
});

/// A RAM-backed folder when there is one: a file system round trip per input.
fn scratch() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
