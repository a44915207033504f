//! Scratch folders under the temporary directory that are removed when the test ends,
//! passed or failed: a suite run must not leave its inputs behind (hundreds of runs filled
//! the disk of a CI machine).

use std::path::{Path, PathBuf};

/// A folder removed on drop. Derefs to its path.
pub struct Scratch(PathBuf);

impl Scratch {
    /// An empty folder `tritonguard-{name}-{pid}` under the temporary directory.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tritonguard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}
