//! `probe --watch`: what changed between two probes of the same server, as events — one
//! line each in the human format, one JSON object each with `--format json`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::facts::{Facts, Metrics};
use super::rules::{ProbeFinding, Verdicts, ids};

/// One change (or, for the first probe, one standing finding).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// `finding`, `model-loaded`, `model-unloaded`, `failures-rising`, `api-opened`,
    /// `api-closed`, `version-changed`, `probe-failed`, `probe-recovered`.
    pub event: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// For `failures-rising`: failed requests since the previous probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<f64>,
    pub message: String,
}

impl Event {
    fn new(event: &'static str, url: &str, message: String) -> Event {
        Event {
            event,
            url: url.to_string(),
            rule: None,
            endpoint: None,
            model: None,
            count: None,
            message,
        }
    }

    fn from_finding(event: &'static str, f: &ProbeFinding, message: String) -> Event {
        Event {
            rule: Some(f.rule.id()),
            endpoint: Some(f.place.endpoint.clone()),
            ..Event::new(event, &f.place.url, message)
        }
    }

    /// `<event> <message>` (the caller puts the time in front).
    pub fn human(&self) -> String {
        let mut line = format!("{} {}", self.event, self.url);
        if let Some(endpoint) = &self.endpoint {
            line.push_str(&format!(" {endpoint}"));
        }
        if let Some(rule) = self.rule {
            line.push_str(&format!(" [{rule}]"));
        }
        line.push_str(&format!(": {}", self.message));
        line
    }
}

/// Rules whose findings are about an API being reachable; a new one is an opened API.
/// (TG707 is about the version and TG708 about models, both reported by their own events.)
fn is_api_rule(rule: crate::evaluate::registry::Rule) -> bool {
    rule != ids::VULNERABLE_VERSION && rule != ids::PICKLE_MODEL_LOADED
}

/// Events for the first probe: every finding as it stands.
pub fn initial(verdicts: &Verdicts) -> Vec<Event> {
    verdicts
        .findings
        .iter()
        .map(|f| Event::from_finding("finding", f, f.message.clone()))
        .collect()
}

fn loaded(facts: &Facts) -> BTreeSet<String> {
    facts
        .models
        .iter()
        .filter(|m| m.loaded)
        .map(|m| m.name.clone())
        .collect()
}

fn failures(facts: &Facts) -> Option<&BTreeMap<String, f64>> {
    match &facts.metrics {
        Metrics::Open { failures, .. } => Some(failures),
        _ => None,
    }
}

/// What changed from `before` to `after`. `threshold`: failed requests per model between
/// two probes above which `failures-rising` is reported.
pub fn diff(before: (&Facts, &Verdicts), after: (&Facts, &Verdicts), threshold: f64) -> Vec<Event> {
    let (old, old_verdicts) = before;
    let (new, new_verdicts) = after;
    let url = new.url.as_str();
    let mut events = Vec::new();

    let (was, now) = (loaded(old), loaded(new));
    for model in now.difference(&was) {
        events.push(Event {
            model: Some(model.clone()),
            ..Event::new(
                "model-loaded",
                url,
                format!("model '{model}' is loaded now (it was not at the previous probe)"),
            )
        });
    }
    for model in was.difference(&now) {
        events.push(Event {
            model: Some(model.clone()),
            ..Event::new(
                "model-unloaded",
                url,
                format!("model '{model}' is no longer loaded"),
            )
        });
    }

    if let (Some(before), Some(after)) = (failures(old), failures(new)) {
        for (model, count) in after {
            let delta = count - before.get(model).copied().unwrap_or(0.0);
            if delta > threshold {
                events.push(Event {
                    model: Some(model.clone()),
                    count: Some(delta),
                    ..Event::new(
                        "failures-rising",
                        url,
                        format!(
                            "model '{model}': {delta} failed inference requests since the previous \
                             probe (nv_inference_request_failure, threshold {threshold})"
                        ),
                    )
                });
            }
        }
    }

    let key = |f: &ProbeFinding| (f.rule, f.place.clone(), f.identity.clone());
    let old_keys: BTreeSet<_> = old_verdicts.findings.iter().map(key).collect();
    let new_keys: BTreeSet<_> = new_verdicts.findings.iter().map(key).collect();
    for f in new_verdicts.findings.iter().filter(|f| is_api_rule(f.rule)) {
        if !old_keys.contains(&key(f)) {
            events.push(Event::from_finding("api-opened", f, f.message.clone()));
        }
    }
    for f in old_verdicts.findings.iter().filter(|f| is_api_rule(f.rule)) {
        if !new_keys.contains(&key(f)) {
            events.push(Event::from_finding(
                "api-closed",
                f,
                format!("no longer answers without credentials ({})", f.rule),
            ));
        }
    }

    if old.version != new.version {
        events.push(Event::new(
            "version-changed",
            url,
            format!(
                "server version {} → {}",
                old.version.as_deref().unwrap_or("hidden"),
                new.version.as_deref().unwrap_or("hidden")
            ),
        ));
    }
    events
}

/// A probe that failed during a watch.
pub fn failed(url: &str, error: &str) -> Event {
    Event::new("probe-failed", url, error.to_string())
}

/// The first successful probe after failures.
pub fn recovered(url: &str) -> Event {
    Event::new(
        "probe-recovered",
        url,
        "the server answers again".to_string(),
    )
}

/// `2026-12-05T10:12:00Z` for a Unix time in seconds (UTC, proleptic Gregorian).
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::facts::{Access, Model, Observation};
    use crate::probe::rules::Place;

    fn observation(endpoint: &str) -> Observation {
        Observation {
            endpoint: endpoint.to_string(),
            access: Access::Open,
        }
    }

    fn facts(models: &[&str], failures: &[(&str, f64)]) -> Facts {
        Facts {
            url: "http://t:8000".into(),
            server_metadata: observation("GET /v2"),
            server_name: Some("triton".into()),
            version: Some("2.51.0".into()),
            version_seen_at: Some("GET /v2".into()),
            extensions: Vec::new(),
            repository_index: observation("POST /v2/repository/index"),
            index_models: Vec::new(),
            statistics: observation("GET /v2/models/stats"),
            logging: observation("GET /v2/logging"),
            trace: observation("GET /v2/trace/setting"),
            system_shared_memory: observation("GET /v2/systemsharedmemory/status"),
            cuda_shared_memory: observation("GET /v2/cudasharedmemory/status"),
            model_metadata: observation("GET /v2/models/{model}"),
            inference: observation("POST /v2/models/{model}/infer"),
            models: models
                .iter()
                .map(|m| Model {
                    name: m.to_string(),
                    loaded: true,
                    ..Model::default()
                })
                .collect(),
            metrics: Metrics::Open {
                url: "http://t:8002/metrics".into(),
                models: models.iter().map(|m| m.to_string()).collect(),
                failures: failures.iter().map(|(m, n)| (m.to_string(), *n)).collect(),
            },
            grpc: None,
            endpoints: 10,
            notes: Vec::new(),
        }
    }

    fn finding(rule: crate::evaluate::registry::Rule, endpoint: &str) -> ProbeFinding {
        ProbeFinding {
            rule,
            place: Place {
                url: "http://t:8000".into(),
                endpoint: endpoint.into(),
            },
            message: "open".into(),
            identity: "http".into(),
            label: String::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn models_failures_and_apis_that_change_are_events() {
        let before = facts(&["a", "b"], &[("a", 5.0), ("b", 0.0)]);
        let after = facts(&["a", "c"], &[("a", 30.0), ("c", 3.0)]);
        let old = Verdicts {
            findings: vec![finding(ids::LOGGING_API_OPEN, "GET /v2/logging")],
            passed: Vec::new(),
        };
        let new = Verdicts {
            findings: vec![
                finding(ids::REPOSITORY_API_OPEN, "POST /v2/repository/index"),
                finding(ids::PICKLE_MODEL_LOADED, "GET /v2/models/c/config"),
            ],
            passed: Vec::new(),
        };
        let events = diff((&before, &old), (&after, &new), 10.0);
        let kinds: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|e| (e.event, e.model.as_deref().or(e.rule)))
            .collect();
        assert_eq!(
            kinds,
            [
                ("model-loaded", Some("c")),
                ("model-unloaded", Some("b")),
                ("failures-rising", Some("a")),
                ("api-opened", Some("TG702")),
                ("api-closed", Some("TG704")),
            ]
        );
        assert_eq!(events[2].count, Some(25.0));
        assert!(diff((&after, &new), (&after, &new), 0.0).is_empty());
        let line = serde_json::to_string(&events[0]).unwrap_or_default();
        assert!(
            line.contains("\"event\":\"model-loaded\"") && !line.contains("count"),
            "{line}"
        );
        assert_eq!(
            events[3].human(),
            "api-opened http://t:8000 POST /v2/repository/index [TG702]: open"
        );
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_466_720), "2026-12-05T10:32:00Z");
    }
}
