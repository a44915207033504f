//! Streaming SHA-256 of files, with a fixed buffer per file and files hashed in parallel.
//! A 10 GB model costs one 256 KiB buffer, not 10 GB.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use rayon::prelude::*;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

const BUFFER: usize = 256 * 1024;

/// A SHA-256 digest; shown and serialised as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    pub fn to_hex(&self) -> String {
        let digit = |nibble: u8| char::from_digit(u32::from(nibble), 16).unwrap_or('0');
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(digit(b >> 4));
            s.push(digit(b & 0xf));
        }
        s
    }

    /// Parse 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Sha256Digest> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = char::from(*pair.first()?).to_digit(16)?;
            let lo = char::from(*pair.get(1)?).to_digit(16)?;
            *out.get_mut(i)? = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Sha256Digest(out))
    }
}

impl std::fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl std::fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FileHash {
    pub sha256: Sha256Digest,
    /// Bytes hashed (the size at the time it was read).
    pub size: u64,
}

/// Hash everything `reader` yields.
pub fn sha256_reader<R: Read>(mut reader: R) -> io::Result<FileHash> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUFFER];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
        size += n as u64;
    }
    let digest: [u8; 32] = hasher.finalize().into();
    Ok(FileHash {
        sha256: Sha256Digest(digest),
        size,
    })
}

/// Open a regular file for reading without following a symlink in its last component, and
/// without blocking if it was swapped for a FIFO since the walk: what is read is what was
/// walked, or an error.
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// SHA-256 of one regular file.
pub fn sha256_file(path: &Path) -> io::Result<FileHash> {
    sha256_reader(open_regular(path)?)
}

/// Hash files in parallel on rayon's pool; results come back in input order.
pub fn sha256_files<P: AsRef<Path> + Sync>(paths: &[P]) -> Vec<io::Result<FileHash>> {
    paths.par_iter().map(|p| sha256_file(p.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let empty = sha256_reader(&b""[..]).unwrap();
        assert_eq!(
            empty.sha256.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let abc = sha256_reader(&b"abc"[..]).unwrap();
        assert_eq!(
            abc.sha256.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(abc.size, 3);
        assert_eq!(
            Sha256Digest::from_hex(&abc.sha256.to_hex()),
            Some(abc.sha256)
        );
        assert_eq!(
            Sha256Digest::from_hex(&abc.sha256.to_hex().to_uppercase()),
            Some(abc.sha256)
        );
        assert_eq!(Sha256Digest::from_hex("xyz"), None);
        assert_eq!(Sha256Digest::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn streams_across_buffer_boundaries() {
        let data = vec![7u8; BUFFER * 2 + 3];
        let streamed = sha256_reader(&data[..]).unwrap();
        let whole: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(streamed.sha256.0, whole);
        assert_eq!(streamed.size, data.len() as u64);
    }
}
