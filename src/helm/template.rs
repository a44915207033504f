//! Finds the template line that produced a rendered line, by matching the template's
//! literal text: a template line is a pattern in which each `{{ ... }}` action stands for
//! whatever it printed. The template's lines are aligned with the rendered document's in
//! order (the alignment with the most literal text matched), so repeated lines such as
//! `- name: {{ ... }}` go to the right place; a rendered line left over is attributed to a
//! matching line elsewhere (a loop's later iterations), else to the action between its
//! neighbours that printed it (`{{ include "x.args" . | nindent 12 }}`, followed into the
//! `define` block in the chart's helper files when a line there matches).

use std::ops::Range;

/// A place in a template file (byte range), and whether it was found in a helper's
/// `define` block rather than in the document's own template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSpot {
    /// Index into the files given to [`locate_line`]: 0 is the document's template.
    pub file: usize,
    pub range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    /// Literal text: its range in the template, with whitespace trimmed by `{{-`/`-}}`
    /// already taken off.
    Lit(Range<usize>),
    /// An action `{{ ... }}`, its whole range, and whether it prints (not control flow).
    Act(Range<usize>, bool),
}

#[derive(Clone, Debug)]
struct Line {
    segs: Vec<Seg>,
    /// The line's range in the template (without its newline).
    range: Range<usize>,
}

impl Line {
    fn literal_weight(&self, text: &str) -> usize {
        self.segs
            .iter()
            .map(|s| match s {
                Seg::Lit(r) => text[r.clone()]
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .count(),
                Seg::Act(..) => 0,
            })
            .sum()
    }

    fn prints(&self) -> bool {
        self.segs.iter().any(|s| matches!(s, Seg::Act(_, true)))
    }

    fn actions<'s, 't: 's>(&'s self, text: &'t str) -> impl Iterator<Item = &'t str> + 's {
        self.segs.iter().filter_map(move |s| match s {
            Seg::Act(r, _) => text.get(r.clone()),
            Seg::Lit(_) => None,
        })
    }
}

/// Byte ranges of the `{{ ... }}` actions of a template, comments included.
fn actions(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(found) = text.get(i..).and_then(|rest| rest.find("{{")) {
        let start = i + found;
        let mut j = start + 2;
        let inner_start = if bytes.get(j) == Some(&b'-') {
            j + 1
        } else {
            j
        };
        let comment = text
            .get(inner_start..)
            .is_some_and(|r| r.trim_start().starts_with("/*"));
        let mut quote: Option<u8> = None;
        let mut end = text.len();
        while j < bytes.len() {
            let b = bytes[j];
            let at = &bytes[j..];
            if comment {
                if at.starts_with(b"*/") {
                    let mut k = j + 2;
                    while bytes.get(k).is_some_and(|c| *c == b' ' || *c == b'-') {
                        k += 1;
                    }
                    if bytes[k.min(bytes.len())..].starts_with(b"}}") {
                        end = k + 2;
                        break;
                    }
                }
            } else if let Some(q) = quote {
                if b == b'\\' && q == b'"' {
                    j += 1;
                } else if b == q {
                    quote = None;
                }
            } else if b == b'"' || b == b'`' {
                quote = Some(b);
            } else if at.starts_with(b"}}") {
                end = j + 2;
                break;
            }
            j += 1;
        }
        out.push(start..end);
        i = end;
    }
    out
}

/// Whether an action only steers (`if`, `range`, `end`, a variable, a comment) rather than
/// printing.
fn is_control(action: &str) -> bool {
    let inner = action
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim_matches('-')
        .trim();
    let word = inner.split_whitespace().next().unwrap_or("");
    matches!(
        word,
        "if" | "else" | "end" | "range" | "with" | "define" | "block" | "break" | "continue"
    ) || inner.starts_with("/*")
        || (inner.starts_with('$') && (inner.contains(":=") || inner.contains(" = ")))
        || inner.is_empty()
}

fn lines(text: &str) -> Vec<Line> {
    let acts = actions(text);
    // Whitespace that `{{-` / `-}}` trims never prints; mark those bytes.
    let mut trimmed = vec![false; text.len()];
    for a in &acts {
        if text[a.clone()].starts_with("{{-") {
            let mut k = a.start;
            while k > 0 && text.as_bytes()[k - 1].is_ascii_whitespace() {
                k -= 1;
                trimmed[k] = true;
            }
        }
        if text[a.clone()].ends_with("-}}") {
            let mut k = a.end;
            while k < text.len() && text.as_bytes()[k].is_ascii_whitespace() {
                trimmed[k] = true;
                k += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let end = start + piece.trim_end_matches(['\n', '\r']).len();
        let mut segs = Vec::new();
        let mut at = start;
        for a in acts
            .iter()
            .filter(|a| a.start < end.max(start + 1) && a.end > start)
        {
            if a.start > at {
                push_literal(&mut segs, at..a.start, &trimmed);
            }
            segs.push(Seg::Act(a.clone(), !is_control(&text[a.clone()])));
            at = at.max(a.end);
        }
        if at < end {
            push_literal(&mut segs, at..end, &trimmed);
        }
        out.push(Line {
            segs,
            range: start..end,
        });
        start += piece.len();
    }
    out
}

/// Adds the untrimmed part of a literal range (trimming only eats its ends).
fn push_literal(segs: &mut Vec<Seg>, range: Range<usize>, trimmed: &[bool]) {
    let mut s = range.start;
    let mut e = range.end;
    while s < e && trimmed.get(s).copied().unwrap_or(false) {
        s += 1;
    }
    while e > s && trimmed.get(e - 1).copied().unwrap_or(false) {
        e -= 1;
    }
    if s < e {
        segs.push(Seg::Lit(s..e));
    }
}

/// Matches a rendered line against a template line's pattern: literals in order, each
/// action standing for any text. Returns where each literal sits in the rendered line.
/// With `loose`, leading whitespace is ignored on both sides (helper lines are re-indented
/// by `nindent`).
fn glob(text: &str, line: &Line, rendered: &str, loose: bool) -> Option<Vec<usize>> {
    let mut pieces: Vec<(&str, bool)> = Vec::new(); // (literal, preceded by an action)
    let mut after_action = false;
    for seg in &line.segs {
        match seg {
            Seg::Lit(r) => {
                pieces.push((&text[r.clone()], after_action));
                after_action = false;
            }
            Seg::Act(..) => after_action = true,
        }
    }
    let trailing_action = after_action;
    let (rendered, offset) = if loose {
        let t = rendered.trim_start();
        (t, rendered.len() - t.len())
    } else {
        (rendered, 0)
    };
    let rendered = rendered.trim_end();
    if let Some(first) = pieces.first_mut()
        && loose
        && !first.1
    {
        first.0 = first.0.trim_start();
    }
    if let Some(last) = pieces.last_mut()
        && !trailing_action
    {
        last.0 = last.0.trim_end();
    }
    let mut positions = Vec::with_capacity(pieces.len());
    let mut failed = std::collections::HashSet::new();
    let found = match_from(
        &pieces,
        rendered,
        0,
        trailing_action,
        &mut positions,
        &mut failed,
    );
    if !found {
        return None;
    }
    // A loosened first literal moved: report positions in the original line.
    Some(positions.into_iter().map(|p| p + offset).collect())
}

/// Places the literals from `from` on, leftmost first with backtracking; `failed` remembers
/// (pieces left, offset) pairs that cannot match, so the search stays polynomial.
fn match_from(
    pieces: &[(&str, bool)],
    rendered: &str,
    from: usize,
    trailing_action: bool,
    positions: &mut Vec<usize>,
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    let Some(((lit, after_action), rest)) = pieces.split_first() else {
        return trailing_action || from == rendered.len();
    };
    if failed.contains(&(pieces.len(), from)) {
        return false;
    }
    let last = rest.is_empty();
    let candidates: Vec<usize> = if *after_action {
        rendered
            .get(from..)
            .map(|r| r.match_indices(lit).map(|(i, _)| from + i).collect())
            .unwrap_or_default()
    } else if rendered.get(from..).is_some_and(|r| r.starts_with(lit)) {
        vec![from]
    } else {
        Vec::new()
    };
    for at in candidates {
        let next = at + lit.len();
        if last && !trailing_action && next != rendered.len() {
            continue;
        }
        positions.push(at);
        if match_from(rest, rendered, next, trailing_action, positions, failed) {
            return true;
        }
        positions.pop();
    }
    failed.insert((pieces.len(), from));
    false
}

/// Upper bound on alignment cells (template lines × rendered lines).
const MAX_CELLS: usize = 4_000_000;

/// Template line for each rendered line that the order-preserving alignment matched.
fn align(text: &str, tlines: &[Line], rendered: &[&str]) -> Vec<Option<usize>> {
    let mut matched = vec![None; rendered.len()];
    let usable: Vec<(usize, usize)> = tlines
        .iter()
        .enumerate()
        .map(|(i, l)| (i, l.literal_weight(text)))
        .filter(|(_, w)| *w > 0)
        .collect();
    let (n, m) = (usable.len(), rendered.len());
    if n == 0 || m == 0 || n.saturating_mul(m) > MAX_CELLS {
        return matched;
    }
    let w = |i: usize, j: usize| -> usize {
        let (t, weight) = usable[i];
        if glob(text, &tlines[t], rendered[j], false).is_some() {
            weight + 1
        } else {
            0
        }
    };
    let mut score = vec![0usize; (n + 1) * (m + 1)];
    let mut hit = vec![0usize; n * m];
    let idx = |i: usize, j: usize| i * (m + 1) + j;
    for i in 1..=n {
        for j in 1..=m {
            let h = w(i - 1, j - 1);
            hit[(i - 1) * m + (j - 1)] = h;
            let diag = if h > 0 {
                score[idx(i - 1, j - 1)] + h
            } else {
                0
            };
            score[idx(i, j)] = score[idx(i - 1, j)].max(score[idx(i, j - 1)]).max(diag);
        }
    }
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        let h = hit[(i - 1) * m + (j - 1)];
        if h > 0 && score[idx(i, j)] == score[idx(i - 1, j - 1)] + h {
            matched[j - 1] = Some(usable[i - 1].0);
            i -= 1;
            j -= 1;
        } else if score[idx(i, j)] == score[idx(i - 1, j)] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    matched
}

/// Maps a column range of a rendered line into a template line that matched it.
fn map_columns(
    text: &str,
    line: &Line,
    positions: &[usize],
    columns: Range<usize>,
) -> Range<usize> {
    // Rendered range of each segment, in order.
    let mut pieces: Vec<(Range<usize>, Range<usize>, bool)> = Vec::new(); // (rendered, template, literal)
    let mut k = 0;
    let mut cursor = 0;
    let mut pending_action: Option<Range<usize>> = None;
    for seg in &line.segs {
        match seg {
            Seg::Lit(r) => {
                let at = positions.get(k).copied().unwrap_or(cursor);
                if let Some(a) = pending_action.take() {
                    pieces.push((cursor..at, a, false));
                }
                pieces.push((at..at + r.len(), r.clone(), true));
                cursor = at + r.len();
                k += 1;
            }
            Seg::Act(r, _) => {
                pending_action = Some(match pending_action.take() {
                    Some(p) => p.start..r.end,
                    None => r.clone(),
                });
            }
        }
    }
    if let Some(a) = pending_action {
        pieces.push((cursor..usize::MAX, a, false));
    }
    let map = |c: usize, end: bool| -> Option<usize> {
        let piece = pieces.iter().find(|(rr, _, _)| {
            if end {
                c > rr.start && c <= rr.end
            } else {
                c >= rr.start && c < rr.end
            }
        })?;
        let (rr, tr, literal) = piece;
        Some(if *literal {
            tr.start + (c - rr.start)
        } else if end {
            tr.end
        } else {
            tr.start
        })
    };
    let content = {
        let l = &text[line.range.clone()];
        let lead = l.len() - l.trim_start().len();
        line.range.start + lead..line.range.start + l.trim_end().len()
    };
    match (map(columns.start, false), map(columns.end, true)) {
        (Some(s), Some(e)) if e > s => s..e,
        (Some(s), _) => s..content.end.max(s),
        _ => content,
    }
}

/// A rendered document aligned with its template, to locate several of its lines.
pub struct Aligned<'a> {
    template: &'a str,
    tlines: Vec<Line>,
    rendered: Vec<&'a str>,
    matched: Vec<Option<usize>>,
}

/// Aligns a rendered document (from the `# Source:` comment on) with its template.
pub fn align_document<'a>(doc: &'a str, template: &'a str) -> Aligned<'a> {
    let rendered: Vec<&str> = doc.lines().collect();
    let tlines = lines(template);
    let matched = align(template, &tlines, &rendered);
    Aligned {
        template,
        tlines,
        rendered,
        matched,
    }
}

/// The template spot that produced line `line` (0-based) of a rendered document, for the
/// byte columns `columns` of that line. `files[0]` is the document's template; the others
/// are the chart's helper files (searched for `define` blocks).
pub fn locate_line(
    doc: &str,
    line: usize,
    columns: Range<usize>,
    files: &[&str],
) -> Option<TemplateSpot> {
    align_document(doc, files.first()?).locate(line, columns, files)
}

impl Aligned<'_> {
    /// See [`locate_line`]; `files[0]` must be the template this was aligned with.
    pub fn locate(
        &self,
        line: usize,
        columns: Range<usize>,
        files: &[&str],
    ) -> Option<TemplateSpot> {
        let (template, tlines, matched) = (self.template, &self.tlines, &self.matched);
        let target = *self.rendered.get(line)?;
        let spot = |t: usize, loose: bool| -> Option<TemplateSpot> {
            let positions = glob(template, &tlines[t], target, loose)?;
            Some(TemplateSpot {
                file: 0,
                range: map_columns(template, &tlines[t], &positions, columns.clone()),
            })
        };
        if let Some(t) = matched[line] {
            return spot(t, false);
        }
        let before = matched[..line].iter().rev().find_map(|m| *m);
        let after = matched[line + 1..].iter().find_map(|m| *m);
        let lo = before.map(|t| t + 1).unwrap_or(0);
        let hi = after.unwrap_or(tlines.len()).max(lo);
        // A matching line between the neighbours' template lines.
        if let Some(found) = (lo..hi)
            .filter(|t| tlines[*t].literal_weight(template) > 0)
            .find_map(|t| spot(t, false))
        {
            return Some(found);
        }
        // The action between them that printed it.
        if let Some(t) =
            (lo..hi).find(|t| tlines[*t].prints() && tlines[*t].literal_weight(template) == 0)
        {
            for action in tlines[t].actions(template) {
                if let Some(found) = in_helper(action, target, columns.clone(), files) {
                    return Some(found);
                }
            }
            let first = tlines[t].segs.iter().find_map(|s| match s {
                Seg::Act(r, true) => Some(r.clone()),
                _ => None,
            });
            return first.map(|range| TemplateSpot { file: 0, range });
        }
        // A line elsewhere that matches (a later iteration of a loop), nearest before `hi`.
        (0..tlines.len())
            .filter(|t| tlines[*t].literal_weight(template) > 0)
            .filter_map(|t| spot(t, false).map(|s| (t, s)))
            .min_by_key(|(t, _)| if *t < hi { hi - t } else { usize::MAX / 2 + t })
            .map(|(_, s)| s)
    }
}

/// The line of the `define` block that `include "NAME"` / `template "NAME"` names, in the
/// helper files, that matches the rendered line (indentation ignored).
fn in_helper(
    action: &str,
    target: &str,
    columns: Range<usize>,
    files: &[&str],
) -> Option<TemplateSpot> {
    let name = included_name(action)?;
    for (file, text) in files.iter().enumerate() {
        let tlines = lines(text);
        let Some(start) = tlines.iter().position(|l| {
            l.actions(text).any(|a| {
                let inner = a
                    .trim_start_matches("{{")
                    .trim_start_matches('-')
                    .trim_start();
                inner.starts_with("define")
                    && included_name(&a.replacen("define", "include", 1)) == Some(name.clone())
            })
        }) else {
            continue;
        };
        let mut depth = 0usize;
        for l in tlines.iter().skip(start + 1) {
            for a in l.actions(text) {
                let inner = a.trim_start_matches("{{").trim_matches('-').trim_start();
                let word = inner.split_whitespace().next().unwrap_or("");
                match word {
                    "if" | "range" | "with" | "define" | "block" => depth += 1,
                    "end" if depth == 0 => return None,
                    "end" => depth -= 1,
                    _ => {}
                }
            }
            if l.literal_weight(text) == 0 {
                continue;
            }
            if let Some(positions) = glob(text, l, target, true) {
                return Some(TemplateSpot {
                    file,
                    range: map_columns(text, l, &positions, columns),
                });
            }
        }
    }
    None
}

/// `"NAME"` of an `include "NAME" ...` or `template "NAME" ...` action.
fn included_name(action: &str) -> Option<String> {
    let inner = action
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim_matches('-')
        .trim();
    let at = ["include", "template"]
        .iter()
        .filter_map(|w| inner.find(&format!("{w} \"")).map(|i| i + w.len() + 2))
        .min()?;
    let rest = &inner[at..];
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          args:\n            - --model-control-mode={{ .Values.mode }}\n            {{- if eq .Values.mode \"poll\" }}\n            - --repository-poll-secs={{ .Values.secs }}\n            {{- end }}\n            {{- include \"t.args\" . | nindent 12 }}\n          volumeMounts:\n            {{- range .Values.mounts }}\n            - name: {{ .name }}\n              readOnly: {{ .readOnly }}\n            {{- end }}\n";
    const HELPERS: &str = "{{- define \"t.args\" -}}\n- --allow-metrics={{ .Values.metrics }}\n- --strict-readiness=true\n{{- end }}\n";
    const RENDERED: &str = "# Source: t/templates/d.yaml\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          args:\n            - --model-control-mode=poll\n            - --repository-poll-secs=30\n            - --allow-metrics=true\n            - --strict-readiness=true\n          volumeMounts:\n            - name: models\n              readOnly: false\n            - name: cache\n              readOnly: true\n";

    fn at(needle: &str, nth: usize) -> (usize, Range<usize>) {
        let offset = RENDERED
            .match_indices(needle)
            .nth(nth)
            .map(|(i, _)| i)
            .unwrap_or(0);
        let line = RENDERED[..offset].matches('\n').count();
        let start = RENDERED[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
        (line, offset - start..offset - start + needle.len())
    }

    fn spot_text(needle: &str, nth: usize) -> (usize, String, String) {
        let (line, cols) = at(needle, nth);
        let spot = locate_line(RENDERED, line, cols, &[TEMPLATE, HELPERS])
            .unwrap_or_else(|| panic!("{needle}"));
        let text = [TEMPLATE, HELPERS][spot.file];
        let line_start = text[..spot.range.start]
            .rfind('\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let line_end = text[spot.range.start..]
            .find('\n')
            .map(|i| spot.range.start + i)
            .unwrap_or(text.len());
        (
            spot.file,
            text[spot.range.clone()].to_string(),
            text[line_start..line_end].trim().to_string(),
        )
    }

    #[test]
    fn literal_text_maps_to_itself_and_values_to_their_action() {
        assert_eq!(
            spot_text("name: triton", 0),
            (0, "name: triton".into(), "- name: triton".into())
        );
        assert_eq!(
            spot_text("--model-control-mode=poll", 0),
            (
                0,
                "--model-control-mode={{ .Values.mode }}".into(),
                "- --model-control-mode={{ .Values.mode }}".into()
            )
        );
        assert_eq!(spot_text("poll", 0).1, "{{ .Values.mode }}");
    }

    #[test]
    fn included_lines_are_found_in_the_helper() {
        assert_eq!(
            spot_text("--strict-readiness=true", 0),
            (
                1,
                "--strict-readiness=true".into(),
                "- --strict-readiness=true".into()
            )
        );
        assert_eq!(
            spot_text("--allow-metrics=true", 0).1,
            "--allow-metrics={{ .Values.metrics }}"
        );
    }

    #[test]
    fn loop_iterations_map_to_the_loop_body() {
        assert_eq!(
            spot_text("readOnly: true", 0).2,
            "readOnly: {{ .readOnly }}"
        );
        assert_eq!(
            spot_text("readOnly: false", 0).2,
            "readOnly: {{ .readOnly }}"
        );
        assert_eq!(spot_text("name: cache", 0).2, "- name: {{ .name }}");
    }

    #[test]
    fn odd_templates_neither_panic_nor_take_long() {
        let unicode = "name: {{ \"é😀\" }} — {{/* ü */}} x\n  {{- if . }}ä{{ end }}\n";
        for rendered in ["name: é😀 — x", "äää", ""] {
            let _ = locate_line(rendered, 0, 0..rendered.len(), &[unicode]);
        }
        let many = "{{ .a }}-".repeat(40) + "\n";
        let dashes = "-".repeat(2000);
        let started = std::time::Instant::now();
        let _ = locate_line(&dashes, 0, 0..3, &[&many]);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let unclosed = "a: {{ .Values.x \nb: c\n";
        assert_eq!(actions(unclosed), vec![3..unclosed.len()]);
    }

    #[test]
    fn actions_and_comments_are_tokenised() {
        let text = "a: {{ \"}}\" }} {{/* x }} */}}\n{{- if .x }}\n";
        let acts = actions(text);
        assert_eq!(acts.len(), 3);
        assert_eq!(&text[acts[0].clone()], "{{ \"}}\" }}");
        assert_eq!(&text[acts[1].clone()], "{{/* x }} */}}");
        assert!(is_control(&text[acts[2].clone()]));
        assert_eq!(
            included_name("{{- include \"a.b\" . | nindent 4 }}").as_deref(),
            Some("a.b")
        );
    }
}
