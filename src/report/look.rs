//! How the terminal report marks each severity: a glyph of its own and, on a colour
//! terminal, a colour of its own, always followed by the severity as a word. The marker of a
//! related location is none of these, so `info` cannot be mistaken for it. Plain ASCII
//! replaces every glyph on a terminal that cannot show Unicode.

use crate::finding::Severity;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    pub ascii: bool,
}

/// Glyphs per severity: (Unicode, ASCII).
fn glyphs(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Critical => ("‼", "!!"),
        Severity::High => ("×", "x"),
        Severity::Medium => ("⚠", "!"),
        Severity::Low => ("•", "-"),
        Severity::Info => ("ℹ", "i"),
    }
}

/// ANSI SGR parameters per severity.
fn sgr(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "1;35",
        Severity::High => "1;31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "34",
    }
}

impl Look {
    pub fn glyph(&self, severity: Severity) -> &'static str {
        let (unicode, ascii) = glyphs(severity);
        if self.ascii { ascii } else { unicode }
    }

    /// The marker of a related location.
    pub fn related_glyph(&self) -> &'static str {
        if self.ascii { ">" } else { "☞" }
    }

    /// The rule around a file's name in the file header.
    pub fn rule(&self) -> &'static str {
        if self.ascii { "--" } else { "──" }
    }

    fn paint(&self, parameters: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{parameters}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// `× high`: the glyph and word of a severity, in its colour.
    pub fn severity(&self, severity: Severity) -> String {
        self.paint(
            sgr(severity),
            &format!("{} {}", self.glyph(severity), severity),
        )
    }

    pub fn related(&self, text: &str) -> String {
        self.paint("2", &format!("{} {text}", self.related_glyph()))
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// `help:` and `note:` headings.
    pub fn heading(&self, text: &str) -> String {
        self.paint("36", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_severity_and_the_related_marker_look_different() {
        for look in [
            Look::default(),
            Look {
                ascii: true,
                ..Look::default()
            },
        ] {
            let mut marks: Vec<&str> = Severity::ALL.iter().map(|s| look.glyph(*s)).collect();
            marks.push(look.related_glyph());
            let mut unique = marks.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), marks.len(), "{marks:?}");
            if look.ascii {
                assert!(marks.iter().all(|m| m.is_ascii()));
            }
        }
        let colored = Look {
            color: true,
            ascii: false,
        };
        let mut colours: Vec<&str> = Severity::ALL.iter().map(|s| sgr(*s)).collect();
        colours.dedup();
        assert_eq!(colours.len(), Severity::ALL.len());
        assert_eq!(colored.severity(Severity::High), "\x1b[1;31m× high\x1b[0m");
    }
}
