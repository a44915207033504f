//! Embeds every policy file of `policies/` into the binary, so an installed tritonguard needs
//! no files at run time.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("policies");
    println!("cargo:rerun-if-changed=policies");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("pub static POLICIES: &[(&str, &str)] = &[\n");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            absolute.display().to_string()
        );
        // FNV-1a over names and contents: a catalogue version that changes with any policy.
        let content = std::fs::read(path).unwrap_or_default();
        for byte in name.bytes().chain(content) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    out.push_str("];\n");
    let _ = writeln!(
        out,
        "pub const CATALOGUE_VERSION: &str = \"{}+{:08x}\";",
        files.len(),
        hash as u32
    );
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_string());
    let _ = std::fs::write(Path::new(&out_dir).join("embedded_policies.rs"), out);
    // `tritonguard --version`: the crate version and the policy catalogue it embeds.
    let version = format!(
        "{} (policy catalogue {}+{:08x})",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        files.len(),
        hash as u32
    );
    let _ = std::fs::write(Path::new(&out_dir).join("version.txt"), version);
}
