//! Reading Triton's Prometheus metrics page: the model names its labels leak and the
//! inference failure counters `--watch` follows.

use std::collections::{BTreeMap, BTreeSet};

/// What a metrics page shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsPage {
    /// Every `model="..."` label value.
    pub models: BTreeSet<String>,
    /// `nv_inference_request_failure`, summed over reasons and versions, per model.
    pub failures: BTreeMap<String, f64>,
    /// Number of samples read.
    pub samples: usize,
}

/// Parses the text exposition format. Lines that do not parse are skipped; a page with no
/// sample at all is not a metrics page (`None`).
pub fn parse(text: &str) -> Option<MetricsPage> {
    let mut page = MetricsPage::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        page.samples += 1;
        let model = labels
            .iter()
            .find(|(k, _)| k == "model")
            .map(|(_, v)| v.clone());
        if let Some(model) = model {
            if name == "nv_inference_request_failure" && value.is_finite() {
                *page.failures.entry(model.clone()).or_insert(0.0) += value;
            }
            page.models.insert(model);
        }
    }
    (page.samples > 0).then_some(page)
}

/// A sample: metric name, labels, value.
type Sample<'a> = (&'a str, Vec<(String, String)>, f64);

/// `name{k="v",...} value [timestamp]`.
fn sample(line: &str) -> Option<Sample<'_>> {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
    {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(inner)?;
        labels = parsed;
        rest = after;
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some((name, labels, value))
}

/// The labels after `{`, and the text after the closing `}`.
fn label_set(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(after) = s.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_string();
        s = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((key, value));
        s = &s[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_and_failures_are_read() {
        let text = "# HELP nv_inference_request_failure x\n\
            nv_inference_request_success{model=\"identity_py\",version=\"1\"} 3\n\
            nv_inference_request_failure{model=\"identity_py\",reason=\"OTHER\",version=\"1\"} 2\n\
            nv_inference_request_failure{model=\"identity_py\",reason=\"BACKEND\",version=\"1\"} 1\n\
            nv_inference_count{model=\"we\\\"ird\",version=\"1\"} 0\n\
            nv_gpu_utilization 0.5\n";
        let page = parse(text).unwrap();
        assert_eq!(
            page.models.iter().cloned().collect::<Vec<_>>(),
            ["identity_py", "we\"ird"]
        );
        assert_eq!(page.failures.get("identity_py"), Some(&3.0));
        assert_eq!(page.samples, 5);
    }

    #[test]
    fn html_is_not_a_metrics_page() {
        assert_eq!(parse("<html><body>hello</body></html>"), None);
        assert_eq!(parse(""), None);
        assert!(parse("x{a=\"unterminated} 1").is_none());
    }
}
