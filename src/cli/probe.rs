//! `tritonguard probe URL`: ask a running Triton server what it exposes (requests that change
//! nothing), report like `check` (same formats, `--fail-on`, exit codes 0/1/2), or with
//! `--watch` keep asking and print what changes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::cli::{
    EXIT_CLEAN, EXIT_ERROR, PolicyArgs, ReportArgs, RuleSelection, load_catalogue,
    print_policy_warnings, use_color,
};
use crate::evaluate::policy::{Catalogue, Policy};
use crate::probe::http::TlsChoice;
use crate::probe::rules::{Verdicts, judge};
use crate::probe::target::{BaseUrl, DEFAULT_GRPC_PORT, parse_grpc_address};
use crate::probe::watch::{self, Event};
use crate::probe::{GrpcTarget, MetricsTarget, ProbeOptions, probe};
use crate::report::{Format, Report};

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The server's HTTP endpoint, e.g. http://triton:8000 (a path prefix of a gateway is
    /// kept).
    #[arg(value_name = "URL")]
    pub url: String,
    /// The gRPC endpoint [default: the URL's host, port 8001; not found there is a note].
    #[arg(long, value_name = "HOST:PORT")]
    pub grpc: Option<String>,
    /// Do not probe gRPC.
    #[arg(long, conflicts_with = "grpc")]
    pub no_grpc: bool,
    /// The metrics page [default: http://<host>:8002/metrics; not found there is a note].
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// Do not probe the metrics endpoint.
    #[arg(long, conflicts_with = "metrics_url")]
    pub no_metrics: bool,
    /// A header sent with every request (and as gRPC metadata), e.g. for a gateway in
    /// front of the server (repeatable). Findings then mean "open to anyone with these".
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Deadline in seconds of each connection, request and answer.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Trust only the CA certificates in this PEM file for https:// (default: the Mozilla
    /// root store).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Do not verify the server's TLS certificate.
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
    /// Probe again every SECONDS and print what changed (models loaded or unloaded, failure
    /// counters rising, APIs opened or closed), one line or JSON object per event; Ctrl-C
    /// ends it.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub watch: Option<Duration>,
    /// With --watch: failed inference requests of one model between two probes above which
    /// a `failures-rising` event is printed.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub failure_threshold: f64,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub rules: RuleSelection,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(0.1..=86_400.0).contains(&secs) {
        return Err(format!("{secs} s is out of range (0.1 to 86400)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The SARIF category of `probe` runs.
pub const SARIF_CATEGORY: &str = "tritonguard/probe/";

/// What to probe, from the arguments.
pub fn options(args: &ProbeArgs) -> Result<ProbeOptions, String> {
    let url = BaseUrl::parse(&args.url)?;
    let grpc = if args.no_grpc {
        GrpcTarget::Off
    } else {
        match &args.grpc {
            Some(addr) => GrpcTarget::Given(parse_grpc_address(addr)?),
            None => GrpcTarget::Default(url.with_port(DEFAULT_GRPC_PORT)),
        }
    };
    let metrics = if args.no_metrics {
        MetricsTarget::Off
    } else {
        match &args.metrics_url {
            Some(m) => {
                let parsed = BaseUrl::parse(m).map_err(|e| format!("--metrics-url {e}"))?;
                // A bare server URL means Triton's path.
                let path = if parsed.prefix.is_empty() {
                    "/metrics"
                } else {
                    ""
                };
                MetricsTarget::Given(parsed.join(path))
            }
            None => MetricsTarget::Default(url.default_metrics_url()),
        }
    };
    let mut headers = Vec::new();
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("--header '{h}' is not NAME:VALUE"))?;
        let k = k.trim();
        let valid_name = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b));
        if !valid_name || v.contains(['\r', '\n']) {
            return Err(format!("--header '{h}' is not a valid NAME:VALUE"));
        }
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let tls = match (&args.ca, args.insecure) {
        (Some(ca), _) => TlsChoice::Ca(ca.clone()),
        (None, true) => TlsChoice::Insecure,
        (None, false) => TlsChoice::WebPki,
    };
    if let TlsChoice::Ca(path) = &tls {
        crate::probe::http::read_ca(path)?;
    }
    Ok(ProbeOptions {
        url,
        grpc,
        metrics,
        headers,
        timeout: args.timeout,
        tls,
    })
}

pub fn run(args: ProbeArgs) -> ExitCode {
    let err_color = use_color(args.report.color, std::io::stderr().is_terminal());
    let catalogue = match load_catalogue(&args.policies, &[], err_color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let enabled = match args.rules.enabled(&catalogue) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let options = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if let Some(every) = args.watch {
        if !matches!(args.report.format, Format::Human | Format::Json) {
            eprintln!(
                "error: --watch prints events as human lines or JSON lines (--format human|json)"
            );
            return ExitCode::from(EXIT_ERROR);
        }
        return watch_loop(&args, &options, &catalogue, &enabled, every);
    }
    let started = Instant::now();
    let facts = match probe(&options) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let verdicts = judge(&facts, &catalogue);
    let built =
        crate::probe::report::build(&facts, &verdicts, &catalogue, &enabled, started.elapsed());
    print_policy_warnings(&catalogue);
    let report = Report {
        store: &built.store,
        catalogue: &catalogue,
        findings: &built.findings,
        eval_errors: &[],
        notes: &built.notes,
        stats: &built.stats,
        scanned: facts.url.clone(),
        fail_on: args.report.fail_threshold(None),
        sarif_category: args.report.sarif_category(SARIF_CATEGORY),
        base_uri: None,
        base_dir: None,
        real_paths: Vec::new(),
        exposure: None,
        link_base: args.report.link_base.clone(),
    };
    args.report.emit(&report)
}

/// Keeps only the findings of enabled rules.
fn selected(
    verdicts: Verdicts,
    catalogue: &Catalogue,
    enabled: &dyn Fn(&Policy) -> bool,
) -> Verdicts {
    Verdicts {
        findings: verdicts
            .findings
            .into_iter()
            .filter(|f| crate::evaluate::native::runs(catalogue, f.rule, enabled))
            .collect(),
        passed: verdicts.passed,
    }
}

fn now() -> String {
    watch::rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// Where watch events go: standard output or `--output`, one line each, flushed.
struct EventSink {
    out: Box<dyn Write>,
    json: bool,
}

impl EventSink {
    fn emit(&mut self, event: &Event) -> std::io::Result<()> {
        let time = now();
        let line = if self.json {
            let mut value = serde_json::to_value(event).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert("time".to_string(), serde_json::Value::String(time));
            }
            value.to_string()
        } else {
            format!("{time} {}", event.human())
        };
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

fn watch_loop(
    args: &ProbeArgs,
    options: &ProbeOptions,
    catalogue: &Catalogue,
    enabled: &dyn Fn(&Policy) -> bool,
    every: Duration,
) -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second Ctrl-C while a probe is under way ends at once; the first ends cleanly
        // after it.
        let armed =
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
                .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)));
        if let Err(e) = armed {
            eprintln!("error: cannot handle signal {signal}: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let out: Box<dyn Write> = match &args.report.output {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(EXIT_ERROR);
            }
        },
        None => Box::new(std::io::stdout()),
    };
    let mut sink = EventSink {
        out,
        json: args.report.format == Format::Json,
    };
    let mut previous = match probe(options) {
        Ok(facts) => {
            let verdicts = selected(judge(&facts, catalogue), catalogue, enabled);
            (facts, verdicts)
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let url = previous.0.url.clone();
    for event in watch::initial(&previous.1) {
        if sink.emit(&event).is_err() {
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let mut failing = false;
    loop {
        let deadline = Instant::now() + every;
        while Instant::now() < deadline {
            if stop.load(Ordering::SeqCst) {
                return ExitCode::from(EXIT_CLEAN);
            }
            std::thread::sleep(Duration::from_millis(50).min(every));
        }
        let events = match probe(options) {
            Ok(facts) => {
                let verdicts = selected(judge(&facts, catalogue), catalogue, enabled);
                let mut events = Vec::new();
                if failing {
                    events.push(watch::recovered(&url));
                    failing = false;
                }
                events.extend(watch::diff(
                    (&previous.0, &previous.1),
                    (&facts, &verdicts),
                    args.failure_threshold,
                ));
                previous = (facts, verdicts);
                events
            }
            Err(e) if !failing => {
                failing = true;
                vec![watch::failed(&url, &e.to_string())]
            }
            Err(_) => Vec::new(),
        };
        for event in &events {
            if sink.emit(event).is_err() {
                return ExitCode::from(EXIT_ERROR);
            }
        }
        if stop.load(Ordering::SeqCst) {
            return ExitCode::from(EXIT_CLEAN);
        }
    }
}
