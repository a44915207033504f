//! What the terminal can show: its width (`COLUMNS`, else the terminal's size) and whether
//! it takes Unicode (`TERM=dumb` and non-UTF-8 locales get ASCII). Read here, at the edge,
//! and handed to the reporters as options.

use crate::report::human::HumanOptions;

/// The width used when output is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 100;

/// `COLUMNS` when set to a number, else the width of the terminal on `stream` (when it is
/// one), else [`DEFAULT_WIDTH`].
pub fn width(stream: Stream) -> usize {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return columns;
    }
    let size = match stream {
        Stream::Stdout => terminal_size::terminal_size_of(std::io::stdout()),
        Stream::Stderr => terminal_size::terminal_size_of(std::io::stderr()),
    };
    size.map(|(w, _)| usize::from(w.0))
        .filter(|w| *w > 0)
        .unwrap_or(DEFAULT_WIDTH)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Whether to draw with ASCII only: `TERM=dumb`, or a locale (the first of `LC_ALL`,
/// `LC_CTYPE`, `LANG` that is set) whose character set is not UTF-8. With no locale set at
/// all, nothing says Unicode cannot be shown, and it is.
pub fn ascii_only() -> bool {
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        return true;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty());
    locale.is_some_and(|l| !is_utf8_locale(&l))
}

fn is_utf8_locale(locale: &str) -> bool {
    let upper = locale.to_ascii_uppercase();
    upper.contains("UTF-8") || upper.contains("UTF8")
}

/// Human options for diagnostics written to `stream`.
pub fn options(stream: Stream, color: bool) -> HumanOptions {
    HumanOptions {
        color,
        width: width(stream),
        ascii: ascii_only(),
        ..HumanOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_locales_are_recognised() {
        for l in ["en_US.UTF-8", "C.UTF-8", "de_DE.utf8"] {
            assert!(is_utf8_locale(l), "{l}");
        }
        for l in ["C", "POSIX", "en_US.ISO-8859-1"] {
            assert!(!is_utf8_locale(l), "{l}");
        }
    }
}
