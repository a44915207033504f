//! What kind of file a model file is, from its first bytes and its name.
//!
//! Magic numbers win over extensions: `torch.load` itself decides zip-or-pickle by the first
//! bytes, so a `model.onnx` that is really a pickle is scanned as one.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A pickle stream (also legacy `torch.save`, joblib, `.pkl`).
    Pickle,
    /// A zip archive holding `<prefix>/data.pkl`: `torch.save`. `torch.load` unpickles it
    /// with Python's pickle.
    TorchZip,
    /// A TorchScript archive (`torch.jit.save`: `code/`, `constants.pkl`). Triton's libtorch
    /// backend reads its pickles with TorchScript's C++ unpickler, which resolves globals
    /// against the archive's own code instead of importing Python modules; Python's
    /// `torch.load` of the same file dispatches to `torch.jit.load`.
    TorchScript,
    /// Any other zip archive (`.npz`, ...); its `.pkl` and `.npy` members are still scanned.
    Zip,
    /// A `.npy` array file; object arrays embed a pickle.
    Numpy,
    /// A 7-Zip archive. Its members may be pickles (picklescan reads them), but tritonguard
    /// does not read 7z: the audit says so at high severity.
    SevenZip,
    Safetensors,
    Onnx,
    /// A serialised TensorRT engine.
    TensorRtPlan,
    /// TensorFlow GraphDef / SavedModel protobuf.
    TensorFlow,
    /// HDF5 (Keras `.h5`).
    Hdf5,
    Gguf,
    /// Python source: code the python backend runs.
    Python,
    /// An ELF shared object or executable (custom backends, stubs, TensorRT plugins).
    Elf,
    Other,
}

impl Format {
    /// Formats whose loading runs a pickle (and so can run code).
    pub fn may_hold_pickle(self) -> bool {
        matches!(
            self,
            Format::Pickle
                | Format::TorchZip
                | Format::TorchScript
                | Format::Zip
                | Format::Numpy
                | Format::SevenZip
        )
    }
}

/// How many leading bytes [`detect`] looks at.
pub const HEAD_LEN: usize = 16;

const PICKLE_EXTENSIONS: &[&str] = &["pkl", "pickle", "pt", "pth", "ckpt", "joblib"];

/// The extension of a file name, lower-cased.
pub fn extension(name: &str) -> Option<String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let (stem, ext) = base.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Recognise a file from its name and first bytes (`head`, up to [`HEAD_LEN`]) and size.
pub fn detect(name: &str, head: &[u8], size: u64) -> Format {
    match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => return Format::Zip,
        [0x80, p, ..] if *p <= super::pickle::HIGHEST_PROTOCOL => return Format::Pickle,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => return Format::Numpy,
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => return Format::SevenZip,
        [0x7f, b'E', b'L', b'F', ..] => return Format::Elf,
        [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n', ..] => return Format::Hdf5,
        [b'G', b'G', b'U', b'F', ..] => return Format::Gguf,
        _ => {}
    }
    if is_safetensors(head, size) {
        return Format::Safetensors;
    }
    let ext = extension(name);
    match ext.as_deref() {
        Some("safetensors") => Format::Safetensors,
        Some("onnx") => Format::Onnx,
        Some("plan" | "engine") => Format::TensorRtPlan,
        Some("pb" | "graphdef" | "savedmodel") => Format::TensorFlow,
        Some("h5" | "hdf5" | "keras") => Format::Hdf5,
        Some("gguf") => Format::Gguf,
        Some("py") => Format::Python,
        Some("so") => Format::Elf,
        Some("npy") => Format::Numpy,
        Some("zip" | "npz") => Format::Zip,
        Some("7z") => Format::SevenZip,
        // Protocol 0 and 1 pickles have no magic number: trust the extension, and let the
        // scan report whether the bytes really are a pickle.
        Some(e) if PICKLE_EXTENSIONS.contains(&e) => Format::Pickle,
        _ => Format::Other,
    }
}

/// safetensors: an 8-byte little-endian header length, then a JSON object header.
fn is_safetensors(head: &[u8], size: u64) -> bool {
    match head {
        [a, b, c, d, e, f, g, h, b'{', ..] => {
            let n = u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]);
            n >= 2 && n.checked_add(8).is_some_and(|end| end <= size)
        }
        _ => false,
    }
}

/// The header of a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NpyHeader {
    pub version: (u8, u8),
    /// The `descr` dtype text from the header dict.
    pub descr: String,
    /// The dtype holds Python objects, so the array data is a pickle (`allow_pickle=True`
    /// is needed to load it, and loading runs it).
    pub object: bool,
    /// Offset of the array data (the pickle, for object arrays).
    pub data_offset: u64,
}

/// numpy refuses headers longer than this by default (`max_header_size`); so do we.
const NPY_MAX_HEADER: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("bad .npy header at offset {offset}: {message}")]
pub struct NpyError {
    pub offset: u64,
    pub message: String,
}

/// Parse a `.npy` header (`\x93NUMPY`, version, header length, a Python dict literal).
pub fn npy_header<R: std::io::Read>(r: &mut R) -> Result<NpyHeader, NpyError> {
    let err = |offset: u64, message: &str| NpyError {
        offset,
        message: message.to_string(),
    };
    let mut fixed = [0u8; 8];
    r.read_exact(&mut fixed)
        .map_err(|_| err(0, "file is shorter than the magic number"))?;
    let [0x93, b'N', b'U', b'M', b'P', b'Y', major, minor] = fixed else {
        return Err(err(0, "missing \\x93NUMPY magic"));
    };
    let (header_len, prefix) = match major {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)
                .map_err(|_| err(8, "truncated header length"))?;
            (usize::from(u16::from_le_bytes(b)), 10u64)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)
                .map_err(|_| err(8, "truncated header length"))?;
            (
                usize::try_from(u32::from_le_bytes(b)).unwrap_or(usize::MAX),
                12u64,
            )
        }
        _ => return Err(err(6, "unknown .npy format version")),
    };
    if header_len > NPY_MAX_HEADER {
        return Err(err(8, "header longer than numpy's 10000-byte limit"));
    }
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header)
        .map_err(|_| err(prefix, "truncated header"))?;
    let text = String::from_utf8_lossy(&header);
    let descr = dict_value(&text, "descr")
        .ok_or_else(|| err(prefix, "header has no 'descr' key"))?
        .to_string();
    Ok(NpyHeader {
        version: (major, minor),
        object: descr_has_object(&descr),
        descr,
        data_offset: prefix + header_len as u64,
    })
}

/// The text of a value in a Python dict literal, up to the next top-level `,` or `}`.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = [format!("'{key}'"), format!("\"{key}\"")]
        .iter()
        .find_map(|k| text.find(k.as_str()).map(|i| i + k.len()))?;
    let rest = text
        .get(start..)?
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') if depth > 0 => depth -= 1,
            (None, ',' | '}') if depth == 0 => return rest.get(..i).map(str::trim),
            _ => {}
        }
    }
    None
}

/// Does a dtype description contain an object field (`'|O'`, `'O'`, `[('f', '|O')]`, ...)?
/// In a structured dtype the first string of each `(name, dtype)` tuple is a field name,
/// which is skipped; every other string is a dtype.
fn descr_has_object(descr: &str) -> bool {
    // Per open bracket: is it a tuple, and which element of it are we in.
    let mut stack: Vec<(bool, usize)> = Vec::new();
    let mut chars = descr.chars();
    while let Some(c) = chars.next() {
        match c {
            '(' | '[' => stack.push((c == '(', 0)),
            ')' | ']' => {
                stack.pop();
            }
            ',' => {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
            }
            '\'' | '"' => {
                let text: String = chars.by_ref().take_while(|&x| x != c).collect();
                let is_name = matches!(stack.last(), Some((true, 0)));
                let t = text.trim_start_matches(['|', '<', '>', '=']);
                let object = t == "O"
                    || t.strip_prefix('O')
                        .is_some_and(|n| n.chars().all(|d| d.is_ascii_digit()));
                if object && !is_name {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_beats_extension() {
        assert_eq!(detect("model.onnx", b"\x80\x02}q\x00.", 6), Format::Pickle);
        assert_eq!(detect("model.pt", b"PK\x03\x04....", 100), Format::Zip);
        assert_eq!(detect("model.pt", b"(dp0\n.", 6), Format::Pickle);
        assert_eq!(detect("model.onnx", b"\x08\x07\x12", 3), Format::Onnx);
        assert_eq!(detect("model.plan", b"ftrt", 4), Format::TensorRtPlan);
        assert_eq!(detect("x.bin", b"\x00\x01", 2), Format::Other);
        assert_eq!(detect("model.py", b"import triton", 13), Format::Python);
        assert_eq!(detect("stub", b"\x7fELF\x02", 5), Format::Elf);
        let st = [&4u64.to_le_bytes()[..], b"{}  "].concat();
        assert_eq!(detect("w", &st, 12), Format::Safetensors);
        assert_eq!(detect("w", &st, 11), Format::Other);
    }

    #[test]
    fn npy_object_dtype() {
        let header = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
        let mut file = b"\x93NUMPY\x01\x00".to_vec();
        file.extend_from_slice(&(header.len() as u16).to_le_bytes());
        file.extend_from_slice(header.as_bytes());
        let h = npy_header(&mut &file[..]).unwrap();
        assert!(h.object);
        assert_eq!(h.descr, "'|O'");
        assert_eq!(h.data_offset, 10 + header.len() as u64);
        assert!(descr_has_object("[('a', '<i4'), ('b', '|O')]"));
        assert!(!descr_has_object("'<f4'"));
        assert!(!descr_has_object("[('O', '<f8')]"));
        assert_eq!(
            npy_header(&mut &b"\x93NUMPY\x09\x00"[..])
                .unwrap_err()
                .offset,
            6
        );
    }
}
