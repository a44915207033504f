//! tritonserver's command-line flags (2.51, `tritonserver --help`) and how its getopt_long
//! resolves what a user wrote. A test compares this table with a real server's `--help`.

/// What a flag's argument must look like; invalid values stop the server at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument (`--disable-auto-complete-config`).
    None,
    /// `true/on/1/false/off/0`, any case.
    Bool,
    /// `std::stoi`: optional sign and at least one digit; trailing text is ignored.
    Int,
    /// `true`, `false` or an integer (`--log-verbose`).
    IntOrBool,
    Float,
    /// One of a fixed set of words; `case_sensitive` as the server compares them.
    Choice(&'static [&'static str], bool),
    /// Free text.
    Str,
    /// `<apis>:<key>=<value>` (restricted API groups).
    Restricted,
    /// `[<mode>,]<setting>=<value>`, mode triton or opentelemetry (`--trace-config`).
    TraceConfig,
    /// `<setting>=<value>` (`--metrics-config`).
    Setting,
    /// `<name>,<setting>=<value>` (`--cache-config`, `--host-policy`).
    NamedSetting,
    /// `[<backend>,]<setting>=<value>` (`--backend-config`).
    BackendSetting,
    /// `<resource>:<count>[:<device>]` (`--rate-limit-resource`).
    RateLimitResource,
    /// `<integer>:<integer>` (`--cuda-memory-pool-byte-size`).
    IntPair,
    /// `<device>:<fraction>` (`--model-load-gpu-limit`).
    DeviceFraction,
    /// `<integer>-<integer>` (`--sagemaker-safe-port-range`).
    PortRange,
}

#[derive(Debug, PartialEq, Eq)]
pub struct FlagSpec {
    /// The long name as the server declares it.
    pub name: &'static str,
    /// The setting the flag controls; differs from `name` only for aliases (`model-store`).
    pub canonical: &'static str,
    pub arg: ArgKind,
    pub deprecated: bool,
}

const fn flag(name: &'static str, arg: ArgKind) -> FlagSpec {
    FlagSpec {
        name,
        canonical: name,
        arg,
        deprecated: false,
    }
}

const fn deprecated(name: &'static str, arg: ArgKind) -> FlagSpec {
    FlagSpec {
        name,
        canonical: name,
        arg,
        deprecated: true,
    }
}

use ArgKind::{
    BackendSetting, Bool, Choice, DeviceFraction, Float, Int, IntOrBool, IntPair, NamedSetting,
    PortRange, RateLimitResource, Restricted, Setting, Str, TraceConfig,
};

/// Every long flag of tritonserver 2.51, in `--help` order.
pub static FLAGS: &[FlagSpec] = &[
    flag("help", ArgKind::None),
    flag("id", Str),
    flag("exit-timeout-secs", Int),
    flag("log-verbose", IntOrBool),
    flag("log-info", Bool),
    flag("log-warning", Bool),
    flag("log-error", Bool),
    flag("log-format", Choice(&["default", "ISO8601"], true)),
    flag("log-file", Str),
    FlagSpec {
        name: "model-store",
        canonical: "model-repository",
        arg: Str,
        deprecated: false,
    },
    flag("model-repository", Str),
    flag("exit-on-error", Bool),
    flag("disable-auto-complete-config", ArgKind::None),
    flag("strict-readiness", Bool),
    flag(
        "model-control-mode",
        Choice(&["none", "poll", "explicit"], false),
    ),
    flag("repository-poll-secs", Int),
    flag("load-model", Str),
    flag("model-config-name", Str),
    flag("model-load-thread-count", Int),
    flag("model-load-retry-count", Int),
    flag("model-namespacing", Bool),
    flag("enable-peer-access", Bool),
    flag("allow-http", Bool),
    flag("http-address", Str),
    flag("http-port", Int),
    flag("reuse-http-port", Bool),
    flag("http-header-forward-pattern", Str),
    flag("http-thread-count", Int),
    flag("http-restricted-api", Restricted),
    flag("allow-grpc", Bool),
    flag("grpc-address", Str),
    flag("grpc-port", Int),
    flag("reuse-grpc-port", Bool),
    flag("grpc-header-forward-pattern", Str),
    flag("grpc-infer-allocation-pool-size", Int),
    flag("grpc-use-ssl", Bool),
    flag("grpc-use-ssl-mutual", Bool),
    flag("grpc-server-cert", Str),
    flag("grpc-server-key", Str),
    flag("grpc-root-cert", Str),
    flag(
        "grpc-infer-response-compression-level",
        Choice(&["none", "low", "medium", "high"], false),
    ),
    flag("grpc-keepalive-time", Int),
    flag("grpc-keepalive-timeout", Int),
    flag("grpc-keepalive-permit-without-calls", Bool),
    flag("grpc-http2-max-pings-without-data", Int),
    flag("grpc-http2-min-recv-ping-interval-without-data", Int),
    flag("grpc-http2-max-ping-strikes", Int),
    flag("grpc-max-connection-age", Int),
    flag("grpc-max-connection-age-grace", Int),
    flag("grpc-restricted-protocol", Restricted),
    flag("allow-sagemaker", Bool),
    flag("sagemaker-port", Int),
    flag("sagemaker-safe-port-range", PortRange),
    flag("sagemaker-thread-count", Int),
    flag("allow-vertex-ai", Bool),
    flag("vertex-ai-port", Int),
    flag("vertex-ai-thread-count", Int),
    flag("vertex-ai-default-model", Str),
    flag("allow-metrics", Bool),
    flag("allow-gpu-metrics", Bool),
    flag("allow-cpu-metrics", Bool),
    flag("metrics-address", Str),
    flag("metrics-port", Int),
    flag("metrics-interval-ms", Float),
    flag("metrics-config", Setting),
    flag("trace-config", TraceConfig),
    flag("backend-directory", Str),
    flag("backend-config", BackendSetting),
    flag("repoagent-directory", Str),
    flag("cache-config", NamedSetting),
    flag("cache-directory", Str),
    flag("rate-limit", Choice(&["execution_count", "off"], false)),
    flag("rate-limit-resource", RateLimitResource),
    flag("pinned-memory-pool-byte-size", Int),
    flag("cuda-memory-pool-byte-size", IntPair),
    flag("cuda-virtual-address-size", IntPair),
    flag("min-supported-compute-capability", Float),
    flag("buffer-manager-thread-count", Int),
    flag("host-policy", NamedSetting),
    flag("model-load-gpu-limit", DeviceFraction),
    deprecated("strict-model-config", Bool),
    deprecated("response-cache-byte-size", Int),
    deprecated("trace-file", Str),
    deprecated("trace-level", Str),
    deprecated("trace-rate", Int),
    deprecated("trace-count", Int),
    deprecated("trace-log-frequency", Int),
];

/// The API groups `--http-restricted-api` and `--grpc-restricted-protocol` accept.
pub const RESTRICTABLE_APIS: &[&str] = &[
    "health",
    "metadata",
    "inference",
    "shared-memory",
    "model-config",
    "model-repository",
    "statistics",
    "trace",
    "logging",
];

/// How getopt_long reads a `--name`.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    Exact(&'static FlagSpec),
    /// A unique abbreviation: the server treats it as the full flag.
    Prefix(&'static FlagSpec),
    /// The server stops: "option '--x' is ambiguous; possibilities: ...".
    Ambiguous(Vec<&'static str>),
    /// The server stops: "unrecognized option '--x'".
    Unknown {
        suggestion: Option<&'static str>,
    },
}

pub fn resolve(name: &str) -> Resolution {
    if let Some(spec) = FLAGS.iter().find(|f| f.name == name) {
        return Resolution::Exact(spec);
    }
    let candidates: Vec<&'static FlagSpec> = if name.is_empty() {
        Vec::new()
    } else {
        FLAGS.iter().filter(|f| f.name.starts_with(name)).collect()
    };
    match candidates.as_slice() {
        [] => Resolution::Unknown {
            suggestion: suggest(name),
        },
        [only] => Resolution::Prefix(only),
        [first, rest @ ..] => {
            // glibc only calls a prefix ambiguous when the matches are different options;
            // `--model-store` and `--model-repository` are one option under two names.
            if rest
                .iter()
                .all(|f| f.canonical == first.canonical && f.arg == first.arg)
            {
                Resolution::Prefix(first)
            } else {
                Resolution::Ambiguous(candidates.iter().map(|f| f.name).collect())
            }
        }
    }
}

/// The closest real flag to a misspelled one, if any is close enough to be a likely typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    FLAGS
        .iter()
        .map(|f| (strsim::damerau_levenshtein(name, f.name), f.name))
        .filter(|(distance, candidate)| {
            *distance <= 3.max(name.len() / 5) && *distance < candidate.len()
        })
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Checks a value the way the server parses it; `Err` holds the server's complaint.
pub fn check_value(spec: &FlagSpec, value: &str) -> Result<(), String> {
    match spec.arg {
        ArgKind::None | Str => Ok(()),
        Bool => parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| format!("invalid value for bool option: {value}")),
        Int => parse_stoi(value)
            .map(|_| ())
            .ok_or_else(|| format!("Invalid option value. Got {value}")),
        IntOrBool => {
            let lower = value.to_ascii_lowercase();
            if lower == "true" || lower == "false" || parse_stoi(value).is_some() {
                Ok(())
            } else {
                Err(format!("Invalid option value. Got {value}"))
            }
        }
        Float => {
            let trimmed = value.trim_start();
            let number: String = trimmed
                .chars()
                .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
                .collect();
            if number.chars().any(|c| c.is_ascii_digit()) {
                Ok(())
            } else {
                Err(format!("Invalid option value. Got {value}"))
            }
        }
        Choice(choices, case_sensitive) => {
            let ok = choices.iter().any(|c| {
                if case_sensitive {
                    *c == value
                } else {
                    c.eq_ignore_ascii_case(value)
                }
            });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "invalid argument for --{} (expected one of: {})",
                    spec.name,
                    choices.join(", ")
                ))
            }
        }
        Restricted => parse_restricted(value).map(|_| ()),
        TraceConfig => check_trace_config(value),
        Setting => match value.split_once('=') {
            Some((setting, v))
                if !setting.is_empty() && !v.is_empty() && !setting.contains(',') =>
            {
                Ok(())
            }
            _ => Err(format!(
                "--metrics-config option format is <setting>=<value>. Got {value}"
            )),
        },
        NamedSetting => {
            let ok = value.split_once(',').is_some_and(|(name, rest)| {
                !name.is_empty()
                    && rest
                        .split_once('=')
                        .is_some_and(|(setting, v)| !setting.is_empty() && !v.is_empty())
            });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "option format is '<name>,<setting>=<value>'. Got {value}"
                ))
            }
        }
        BackendSetting => {
            // A backend name before the first comma is optional; `setting=value` follows.
            let rest = match value.split_once(',') {
                Some(("", _)) => None,
                Some((_, rest)) => Some(rest),
                None => Some(value),
            };
            let ok = rest
                .and_then(|r| r.split_once('='))
                .is_some_and(|(setting, v)| !setting.is_empty() && !v.is_empty());
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "--backend-config option format is '<backend name>,<setting>=<value>'. Got {value}"
                ))
            }
        }
        RateLimitResource => {
            let parts: Vec<&str> = value.split(':').collect();
            let ok = match parts.as_slice() {
                [_, count] => parse_stoi(count).is_some(),
                [_, count, device] => parse_stoi(count).is_some() && parse_stoi(device).is_some(),
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "--rate-limit-resource option format is '<resource_name>:<count>:<device>' or '<resource_name>:<count>'. Got {value}"
                ))
            }
        }
        IntPair | DeviceFraction => {
            let ok = value.split_once(':').is_some_and(|(a, b)| {
                parse_stoi(a).is_some()
                    && if spec.arg == IntPair {
                        b.trim_start()
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_digit() || c == '+')
                    } else {
                        b.trim().parse::<f64>().is_ok() || parse_stoi(b).is_some()
                    }
            });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "argument requires format <device>:<value>. Found: {value}"
                ))
            }
        }
        PortRange => match value.split_once('-') {
            Some((a, b)) if parse_stoi(a).is_some() && parse_stoi(b).is_some() => Ok(()),
            _ => Err(format!(
                "argument requires format <first>-<second>. Found: {value}"
            )),
        },
    }
}

/// `--trace-config`: a mode (triton, opentelemetry) before a comma, then `setting=value`;
/// the global settings level, rate, count and mode are checked the way the server checks them.
fn check_trace_config(value: &str) -> Result<(), String> {
    let bad =
        || format!("--trace-config option format is '<trace mode>,<setting>=<value>'. Got {value}");
    let (head, setting_value) = match value.find('=') {
        Some(eq) => (&value[..eq], &value[eq + 1..]),
        None => return Err(bad()),
    };
    let (mode, setting) = match head.split_once(',') {
        Some((m, s)) => (Some(m), s),
        None => (None, head),
    };
    if setting.is_empty() || setting_value.is_empty() || mode == Some("") {
        return Err(bad());
    }
    if let Some(m) = mode {
        if !["triton", "opentelemetry"].contains(&m.to_ascii_lowercase().as_str()) {
            return Err(format!("invalid value for trace mode option: {m}"));
        }
        if m.eq_ignore_ascii_case("triton")
            && setting == "log-frequency"
            && parse_stoi(setting_value).is_none()
        {
            return Err(format!("Invalid option value. Got {setting_value}"));
        }
        return Ok(());
    }
    let valid = match setting {
        "level" => [
            "false",
            "off",
            "true",
            "on",
            "min",
            "max",
            "timestamps",
            "tensors",
        ]
        .contains(&setting_value.to_ascii_lowercase().as_str()),
        "rate" | "count" => parse_stoi(setting_value).is_some(),
        "mode" => {
            ["triton", "opentelemetry"].contains(&setting_value.to_ascii_lowercase().as_str())
        }
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "Bad option: \"--trace-config {setting}\". invalid value: {setting_value}"
        ))
    }
}

/// The server's boolean parser: true/on/1 and false/off/0, case-insensitive.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" => Some(true),
        "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// `std::stoi`: skips leading whitespace, reads an optional sign and digits, ignores the rest.
pub fn parse_stoi(value: &str) -> Option<i64> {
    let trimmed = value.trim_start();
    let (sign, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (-1, &trimmed[1..]),
        Some(b'+') => (1, &trimmed[1..]),
        _ => (1, trimmed),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let n: i64 = digits[..end].parse().ok()?;
    let n = sign * n;
    i32::try_from(n).ok().map(i64::from)
}

/// A parsed `--http-restricted-api` / `--grpc-restricted-protocol` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestrictedGroup {
    pub apis: Vec<String>,
    pub header: String,
    pub value: String,
}

pub fn parse_restricted(value: &str) -> Result<RestrictedGroup, String> {
    let format_error = || format!("option format is '<apis>:<header>=<value>', got '{value}'");
    let (apis, rest) = value.split_once(':').ok_or_else(format_error)?;
    let (header, secret) = rest.split_once('=').ok_or_else(format_error)?;
    if apis.is_empty() || header.is_empty() || secret.is_empty() {
        return Err(format_error());
    }
    let apis: Vec<String> = apis.split(',').map(str::to_string).collect();
    for api in &apis {
        if !RESTRICTABLE_APIS.contains(&api.as_str()) {
            return Err(format!(
                "unknown restricted api '{api}' (known: {})",
                RESTRICTABLE_APIS.join(", ")
            ));
        }
    }
    Ok(RestrictedGroup {
        apis,
        header: header.to_string(),
        value: secret.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_2_51_help_text() {
        let help = include_str!("../../tests/fixtures/tritonserver-2.51-help.txt");
        let from_help: Vec<&str> = help
            .lines()
            .filter_map(|l| l.strip_prefix("  --"))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let ours: Vec<&str> = FLAGS.iter().map(|f| f.name).collect();
        assert_eq!(ours, from_help);
        for line in help.lines().filter_map(|l| l.strip_prefix("  --")) {
            let mut parts = line.split_whitespace();
            let name = parts.next().unwrap_or_default();
            let takes_arg = parts.next().is_some();
            let spec = FLAGS.iter().find(|f| f.name == name);
            assert_eq!(
                spec.map(|s| s.arg != ArgKind::None),
                Some(takes_arg),
                "{name}"
            );
        }
    }

    #[test]
    fn unique_prefixes_resolve_like_getopt_long() {
        assert!(
            matches!(resolve("model-control-mod"), Resolution::Prefix(f) if f.name == "model-control-mode")
        );
        assert!(
            matches!(resolve("allow-metric"), Resolution::Prefix(f) if f.name == "allow-metrics")
        );
        assert!(
            matches!(resolve("model-store"), Resolution::Exact(f) if f.canonical == "model-repository")
        );
        assert!(matches!(resolve("http-port"), Resolution::Exact(_)));
        // `--grpc-use-ssl` is itself a prefix of `--grpc-use-ssl-mutual`: exact wins.
        assert!(
            matches!(resolve("grpc-use-ssl"), Resolution::Exact(f) if f.name == "grpc-use-ssl")
        );
    }

    #[test]
    fn ambiguous_and_unknown_flags_are_told_apart() {
        match resolve("model") {
            Resolution::Ambiguous(names) => {
                assert!(
                    names.contains(&"model-repository") && names.contains(&"model-control-mode")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            resolve("model-contrl-mode"),
            Resolution::Unknown {
                suggestion: Some("model-control-mode")
            }
        );
        assert_eq!(resolve("zzzz"), Resolution::Unknown { suggestion: None });
    }

    #[test]
    fn values_are_checked_as_the_server_parses_them() {
        let spec = |n: &str| FLAGS.iter().find(|f| f.name == n).unwrap_or(&FLAGS[0]);
        assert!(check_value(spec("allow-metrics"), "OFF").is_ok());
        assert!(check_value(spec("allow-metrics"), "no").is_err());
        assert!(check_value(spec("http-port"), "8000abc").is_ok());
        assert!(check_value(spec("http-port"), "abc").is_err());
        assert!(check_value(spec("model-control-mode"), "EXPLICIT").is_ok());
        assert!(check_value(spec("model-control-mode"), "manual").is_err());
        assert!(check_value(spec("log-format"), "iso8601").is_err());
        assert!(
            check_value(
                spec("http-restricted-api"),
                "model-repository,logging:admin-key=s3cret"
            )
            .is_ok()
        );
        assert!(check_value(spec("http-restricted-api"), "model-repo:k=v").is_err());
        assert!(check_value(spec("http-restricted-api"), "model-repository").is_err());
    }
}
