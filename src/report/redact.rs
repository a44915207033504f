//! Secrets are never printed. A finding carries the spans of the credentials it is about
//! (`Finding::secrets`, from a policy's `secrets:` paths); every reporter masks them, in the
//! source snippets of the terminal report and in any text (message, label, note, help) that
//! quotes them, whichever finding the text belongs to.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::finding::Finding;
use crate::source::{FileId, SourceStore, Span};

/// What a secret is replaced with.
pub const MASK: &str = "********";

/// Texts shorter than this are not masked inside other text: a one-letter "secret" would
/// otherwise mask every occurrence of that letter.
const MIN_QUOTED_SECRET: usize = 4;

/// The secrets of one report.
#[derive(Debug, Default)]
pub struct Redactor {
    spans: BTreeMap<FileId, Vec<Span>>,
    /// Secret texts, longest first (a secret containing another is masked whole).
    texts: Vec<String>,
}

impl Redactor {
    pub fn new<'a>(store: &SourceStore, findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut spans: BTreeMap<FileId, Vec<Span>> = BTreeMap::new();
        let mut texts: Vec<String> = Vec::new();
        for span in findings.into_iter().flat_map(|f| f.secrets.iter()) {
            spans.entry(span.file).or_default().push(*span);
            let text = store.slice(*span);
            if text.len() >= MIN_QUOTED_SECRET {
                texts.push(text.to_string());
            }
        }
        for list in spans.values_mut() {
            list.sort();
            list.dedup();
        }
        texts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        texts.dedup();
        Redactor { spans, texts }
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The secret spans in `file`, in order.
    pub fn spans(&self, file: FileId) -> &[Span] {
        self.spans.get(&file).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `finding` with every secret masked in its texts (message, labels, notes, help,
    /// suppression reason); borrowed when there is nothing to mask.
    pub fn finding<'a>(&self, finding: &'a Finding) -> Cow<'a, Finding> {
        if self.texts.is_empty() {
            return Cow::Borrowed(finding);
        }
        let mut f = finding.clone();
        let mask = |text: &mut String| {
            if let Cow::Owned(masked) = self.text(text) {
                *text = masked;
            }
        };
        mask(&mut f.message);
        mask(&mut f.primary.label);
        f.related.iter_mut().for_each(|r| mask(&mut r.label));
        f.notes.iter_mut().for_each(mask);
        if let Some(help) = &mut f.help {
            mask(help);
        }
        if let Some(s) = &mut f.suppression {
            mask(&mut s.justification);
        }
        if f == *finding {
            Cow::Borrowed(finding)
        } else {
            Cow::Owned(f)
        }
    }

    /// `text` with every secret it quotes replaced by [`MASK`].
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.texts {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::finding::{Location, Severity};
    use crate::source::SourceFile;

    #[test]
    fn quoted_secrets_are_masked_in_any_text() {
        let mut store = SourceStore::new();
        let text = "key: \"hf_abcdefgh123\"\nother: \"a\"\n";
        let file = store.add(SourceFile::new("c".into(), None, Arc::from(text)));
        let secret = Span::new(file, 6, 20);
        let short = Span::new(file, 30, 31);
        assert_eq!(store.slice(secret), "hf_abcdefgh123");
        let finding = Finding {
            rule_id: "X1".into(),
            rule_name: "x".into(),
            severity: Severity::High,
            message: String::new(),
            primary: Location {
                span: secret,
                label: String::new(),
            },
            related: Vec::new(),
            notes: Vec::new(),
            help: None,
            fingerprint: String::new(),
            suppression: None,
            subject_extent: None,
            subject_anchor: None,
            secrets: vec![secret, short],
            folded: 0,
        };
        let redactor = Redactor::new(&store, [&finding]);
        assert_eq!(
            redactor.text("token hf_abcdefgh123 is exposed"),
            format!("token {MASK} is exposed")
        );
        assert_eq!(redactor.text("a plain text"), "a plain text");
        assert_eq!(redactor.spans(file), [secret, short]);
    }
}
