//! Generated pickles: CPython writes them (see `picklegen.py`) once per test binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

pub struct Generated {
    pub dir: PathBuf,
    pub expected: Value,
}

fn support(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(file)
}

/// Run `picklegen.py` into a directory private to this test binary (`tag`).
pub fn generated(tag: &str) -> &'static Generated {
    static CELL: OnceLock<Generated> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("picklegen-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("python3")
            .arg(support("picklegen.py"))
            .arg(&dir)
            .status()
            .expect("python3 must be installed to generate test pickles");
        assert!(status.success(), "picklegen.py failed");
        let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
        Generated {
            expected: serde_json::from_str(&text).unwrap(),
            dir,
        }
    })
}

impl Generated {
    pub fn case(&self, name: &str) -> &Value {
        &self.expected["cases"][name]
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pkl"))
    }

    pub fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub fn case_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.expected["cases"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Write a torch-style zip archive around a generated pickle (see `torchzip.py`).
    pub fn torch_zip(&self, pickle_case: &str, mode: &str) -> PathBuf {
        let out = self.dir.join(format!("{pickle_case}-{mode}.zip"));
        let status = Command::new("python3")
            .arg(support("torchzip.py"))
            .arg(&out)
            .arg(self.path(pickle_case))
            .arg(mode)
            .status()
            .unwrap();
        assert!(status.success(), "torchzip.py failed");
        out
    }
}

/// Expected globals of a case: (offset, opcode, module, name).
pub fn expected_globals(case: &Value) -> Vec<(u64, String, String, String)> {
    case["globals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g[0].as_u64().unwrap(),
                g[1].as_str().unwrap().to_string(),
                g[2].as_str().unwrap().to_string(),
                g[3].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
