//! Running a program as the unprivileged `nobody` user (uid 65534) from any checkout.
//!
//! Root ignores permission bits, so tests of unreadable files run as `nobody` when the suite
//! runs as root. `nobody` must then reach both the program and the files it reads, but the
//! checkout and the cargo target folder may sit under a folder only root can enter (a root
//! user's home, a `mktemp -d` folder, which is mode 0700). So the program is copied into a
//! folder every user can reach, and test files are built in such a folder too.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A temporary folder (mode 0755) that every user can reach: in the temporary folder when
/// each of its ancestors is searchable by others, otherwise in `/tmp` or `/dev/shm`.
pub fn world_tempdir(prefix: &str) -> tempfile::TempDir {
    let base = [
        std::env::temp_dir(),
        PathBuf::from("/tmp"),
        PathBuf::from("/dev/shm"),
    ]
    .into_iter()
    .find(|dir| reachable_by_others(dir))
    .expect("no temporary folder that every user can reach (TMPDIR, /tmp, /dev/shm)");
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(base)
        .unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Whether a user with no rights of its own can enter `dir`: every folder from the root
/// down has the "others may search" bit (links resolved first).
pub fn reachable_by_others(dir: &Path) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    dir.ancestors()
        .all(|a| fs::metadata(a).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o001 != 0))
}

/// An executable copied where `nobody` can run it; the copy lives as long as this value.
pub struct Staged {
    _dir: tempfile::TempDir,
    pub exe: PathBuf,
}

/// Copies the executable `exe` into a folder every user can reach (see [`world_tempdir`]).
pub fn stage_executable(exe: &Path) -> Staged {
    let dir = world_tempdir("tg-exe-");
    let copy = dir.path().join(exe.file_name().unwrap());
    fs::copy(exe, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", exe.display()));
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    Staged {
        _dir: dir,
        exe: copy,
    }
}
