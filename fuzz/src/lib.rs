//! What the fuzz targets share: input helpers and the invariants every parser must keep.

use std::sync::OnceLock;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::source::Span;

/// The input as text: invalid UTF-8 is replaced, as a parser never sees raw bytes.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Splits the input at the first NUL byte: two texts for targets that read two files.
pub fn two_texts(data: &[u8]) -> (String, String) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (text(&data[..i]), text(&data[i + 1..])),
        None => (text(data), String::new()),
    }
}

/// A span points inside the text it was made from, at character boundaries.
pub fn check_span(text: &str, span: Span) {
    assert!(span.start <= span.end, "span {span:?} is reversed");
    assert!(
        span.end <= text.len(),
        "span {span:?} ends past the text ({})",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "span {span:?} splits a character"
    );
}

/// The built-in policy catalogue, compiled once per process.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| Catalogue::load(&[], true).unwrap_or_else(|_| Catalogue::empty()))
}

/// The whole `check` pipeline on in-memory files. One function, so that it can follow the
/// library's entry point when the pipeline changes.
pub fn check(files: &[(String, String)]) -> tritonguard::pipeline::Outcome {
    tritonguard::pipeline::scan_texts(catalogue(), files, &|_| true)
}
