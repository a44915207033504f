//! Reading a file named by input (a compose `.env`, a lock file, a file found by a walk)
//! without being led outside the scanned tree or made to hang or exhaust memory.
//!
//! [`read_inside`] reads a file only if it is a regular file that lies inside a given root
//! once every symbolic link is resolved, and only up to a size cap. The open is
//! non-blocking, so a FIFO swapped in after the check cannot hang the read, and what was
//! opened is checked again through the open descriptor (type, size, and where it really
//! is), so a rename between the check and the open cannot slip another file in.
//! [`read_regular`] is the same without the root (for a path the user names on the command
//! line). Each refusal has a typed reason for the report.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "input here is hostile: a bad byte is a finding or an error, never a panic (issue 13); tests are exempt (clippy.toml)"
)]

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("it does not exist")]
    Missing,
    /// A FIFO, socket, device or directory: reading it could block forever or never end.
    #[error("it is not a regular file but {kind}")]
    NotRegular { kind: &'static str },
    /// A symbolic link (or a path through one) that resolves outside the root.
    #[error("it resolves to {} outside {}", resolved.display(), root.display())]
    OutsideRoot { resolved: PathBuf, root: PathBuf },
    #[error("it is {size} bytes, more than the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    Io(io::Error),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Refusal {
        if e.kind() == io::ErrorKind::NotFound {
            Refusal::Missing
        } else {
            Refusal::Io(e)
        }
    }
}

/// What kind of special file a file type is, for messages.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Opens `path` for reading without blocking (a FIFO opens at once instead of waiting for
/// a writer) and checks through the descriptor that it is a regular file of at most
/// `max_bytes`. With `follow: false` a symbolic link in the last component is refused.
pub fn open_regular(path: &Path, follow: bool, max_bytes: u64) -> Result<File, Refusal> {
    open_sized(path, follow, max_bytes).map(|(file, _)| file)
}

/// [`open_regular`], with the file's size when it was opened.
fn open_sized(path: &Path, follow: bool, max_bytes: u64) -> Result<(File, u64), Refusal> {
    let mut flags = libc::O_NONBLOCK;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => f,
        // O_NOFOLLOW on a link fails with ELOOP.
        Err(e) if !follow && e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Refusal::NotRegular {
                kind: "a symbolic link",
            });
        }
        Err(e) => return Err(e.into()),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular {
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > max_bytes {
        return Err(Refusal::TooLarge {
            size: meta.len(),
            limit: max_bytes,
        });
    }
    Ok((file, meta.len()))
}

/// Reads an open file of `size` bytes to its end, refusing more than `max_bytes` (it may
/// grow after the size check).
fn read_capped(file: File, size: u64, max_bytes: u64) -> Result<Vec<u8>, Refusal> {
    // The size when opened, plus one byte to see the end without growing the buffer.
    let expected = size.min(max_bytes).saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(Refusal::TooLarge {
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

/// Reads a regular file of at most `max_bytes` (symbolic links followed): for a path the
/// user named.
pub fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>, Refusal> {
    let (file, size) = open_sized(path, true, max_bytes)?;
    read_capped(file, size, max_bytes)
}

/// Reads `path` only if, with every symbolic link resolved, it is a regular file inside
/// `root` of at most `max_bytes`.
pub fn read_inside(root: &Path, path: &Path, max_bytes: u64) -> Result<Vec<u8>, Refusal> {
    let root = std::fs::canonicalize(root)?;
    let resolved = std::fs::canonicalize(path)?;
    if !resolved.starts_with(&root) {
        return Err(Refusal::OutsideRoot { resolved, root });
    }
    // The resolved path has no links left; one appearing now is a swap, and is refused.
    let (file, size) = open_sized(&resolved, false, max_bytes)?;
    // Where the descriptor really points, in case a directory above was swapped for a link
    // between canonicalize and open.
    if let Ok(actual) = std::fs::read_link(format!("/proc/self/fd/{}", fd_of(&file)))
        && !actual.starts_with(&root)
    {
        return Err(Refusal::OutsideRoot {
            resolved: actual,
            root,
        });
    }
    read_capped(file, size, max_bytes)
}

fn fd_of(file: &File) -> i32 {
    use std::os::fd::AsRawFd;
    file.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
    }

    #[test]
    fn reads_a_regular_file_inside_the_root() {
        let d = dir();
        let inside = d.path().join("a/.env");
        std::fs::create_dir_all(d.path().join("a")).unwrap_or_default();
        std::fs::write(&inside, "X=1\n").unwrap_or_default();
        assert_eq!(
            read_inside(d.path(), &inside, 100).ok(),
            Some(b"X=1\n".to_vec())
        );
        // A link inside the root to a file inside the root is fine.
        let link = d.path().join("link.env");
        std::os::unix::fs::symlink(&inside, &link).unwrap_or_default();
        assert!(read_inside(d.path(), &link, 100).is_ok());
        assert!(matches!(
            read_inside(d.path(), &inside, 2),
            Err(Refusal::TooLarge { size: 4, limit: 2 })
        ));
        assert!(matches!(
            read_inside(d.path(), &d.path().join("nope"), 2),
            Err(Refusal::Missing)
        ));
    }

    #[test]
    fn refuses_links_out_of_the_root_and_special_files() {
        let outside = dir();
        let secret = outside.path().join("secret.env");
        std::fs::write(&secret, "TOKEN=x\n").unwrap_or_default();
        let d = dir();
        let link = d.path().join(".env");
        std::os::unix::fs::symlink(&secret, &link).unwrap_or_default();
        assert!(matches!(
            read_inside(d.path(), &link, 100),
            Err(Refusal::OutsideRoot { .. })
        ));
        // A FIFO does not hang the read; /dev/zero does not exhaust memory.
        let fifo = d.path().join("fifo.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert!(matches!(
                read_inside(d.path(), &fifo, 100),
                Err(Refusal::NotRegular { kind: "a FIFO" })
            ));
            assert!(matches!(
                read_regular(&fifo, 100),
                Err(Refusal::NotRegular { kind: "a FIFO" })
            ));
        }
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 100),
            Err(Refusal::NotRegular {
                kind: "a character device"
            })
        ));
        assert!(matches!(
            read_regular(d.path(), 100),
            Err(Refusal::NotRegular {
                kind: "a directory"
            })
        ));
    }
}
