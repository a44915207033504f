//! `tritonguard check`: read the configuration, scan, filter (suppressions, baseline),
//! report, and exit 0, 1 or 2.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::cli::{
    EXIT_CLEAN, EXIT_ERROR, PolicyArgs, ReportArgs, RuleSelection, Selected, base_uri,
    load_catalogue, print_policy_warnings, use_color,
};
use crate::evaluate::policy::{Catalogue, Policy};
use crate::filter::FilterOptions;
use crate::filter::baseline;
use crate::filter::config::{self, Config, ConfigDiagnostic};
use crate::load::{MemorySource, Request};
use crate::pipeline::Pipeline;
use crate::report::Report;
use crate::report::human::render_diagnostic;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files and directories to scan; "-" reads standard input (e.g. `helm template`).
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Also read these files or directories, for context only: a Service or Ingress there
    /// still exposes a Deployment in PATH, but only findings involving PATH are reported
    /// (used by the pre-commit hook, which passes only the staged files).
    #[arg(long, value_name = "PATH")]
    pub context: Vec<PathBuf>,
    /// Skip files named in PATH that are not a kind tritonguard reads (judged by name, or by
    /// shebang for files without an extension) instead of reading them as YAML. For callers
    /// that pass every changed file, such as the pre-commit hook.
    #[arg(long)]
    pub skip_unknown: bool,
    /// Apply the config's `exclude` and `.tritonguardignore` to files named in PATH too
    /// (they apply to directory walks always). For callers that name every changed file,
    /// such as the pre-commit hook.
    #[arg(long)]
    pub force_exclude: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub rules: RuleSelection,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Read this configuration file instead of the nearest `.tritonguard.yaml`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not read any configuration file.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Ignore inline `tritonguard:ignore` comments and annotations (trust only the config).
    #[arg(long)]
    pub no_inline_ignores: bool,
    /// Suppress the findings recorded in this baseline file (report only new ones).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings as a baseline in FILE, and exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
    /// The `helm` to render Helm charts with (default: `helm` on PATH).
    #[arg(long, value_name = "PATH", conflicts_with = "no_helm")]
    pub helm: Option<PathBuf>,
    /// Do not render Helm charts (they are noted with the `helm template` command to run).
    #[arg(long)]
    pub no_helm: bool,
    /// Exit 1 when the scan finds no Triton launch and no model configuration (a path
    /// mistake in CI would otherwise pass silently). Report-only runs (`--exit-zero`,
    /// `--fail-on never`) still exit 0 and print the note.
    #[arg(long)]
    pub fail_if_none: bool,
    /// The name to show and classify standard input by (default: Kubernetes YAML).
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub stdin_filename: String,
    /// Print the wall time of each stage (policy compilation, load, extract, correlate,
    /// evaluate, filter, report) on standard error.
    #[arg(long)]
    pub timings: bool,
}

/// Prints config errors with the config text they point into.
fn print_config_errors(errors: &[config::ConfigError], color: bool) {
    let options = crate::cli::terminal::options(crate::cli::terminal::Stream::Stderr, color);
    let mut stderr = std::io::stderr().lock();
    for e in errors {
        let _ = write!(
            stderr,
            "{}",
            render_diagnostic(&ConfigDiagnostic::new(e), &options)
        );
    }
}

/// The configuration: `--config`, else the nearest `.tritonguard.yaml` above the first path.
fn read_config(args: &CheckArgs, color: bool) -> Result<Config, ExitCode> {
    load_config(args.no_config, args.config.as_deref(), &args.paths, color)
}

/// The configuration a command reads: none with `no_config`, else `config`, else the nearest
/// `.tritonguard.yaml` above the first path. Errors are printed; the exit code returned.
pub(crate) fn load_config(
    no_config: bool,
    config: Option<&std::path::Path>,
    paths: &[PathBuf],
    color: bool,
) -> Result<Config, ExitCode> {
    let start = paths
        .iter()
        .find(|p| p.as_os_str() != "-")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    read_config_from(&start, config, no_config, color)
}

/// The configuration `explicit` names, else the nearest `.tritonguard.yaml` above `start`
/// (none with `no_config`); errors are printed. Shared with `repo audit`.
pub(crate) fn read_config_from(
    start: &std::path::Path,
    explicit: Option<&std::path::Path>,
    no_config: bool,
    color: bool,
) -> Result<Config, ExitCode> {
    if no_config {
        return Ok(Config {
            inline_ignores: true,
            ..Config::default()
        });
    }
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => config::find(start),
    };
    match path {
        None => Ok(Config {
            inline_ignores: true,
            ..Config::default()
        }),
        Some(p) => config::load(&p).map_err(|errors| {
            print_config_errors(&errors, color);
            ExitCode::from(EXIT_ERROR)
        }),
    }
}

/// Resolves rule names/ids given on the command line or in the config; unknown ones are a
/// usage error.
fn rule_ids(
    catalogue: &Catalogue,
    written: &[String],
    origin: &str,
) -> Result<Vec<String>, String> {
    written
        .iter()
        .map(|r| {
            catalogue
                .get(r)
                .map(|p| p.spec.id.clone())
                .ok_or_else(|| format!("unknown rule '{r}' in {origin} (see `tritonguard rules`)"))
        })
        .collect()
}

/// The rule ids to select and ignore (command line and config together), with the config's
/// severity overrides applied to the catalogue. Shared with `repo audit`.
pub(crate) fn resolve_rules(
    catalogue: &mut Catalogue,
    rules: &RuleSelection,
    config: &Config,
    config_name: &str,
    per_file_configs: bool,
) -> Result<Selected, String> {
    // Configs found by location apply their `select`/`ignore` per file, in the filter
    // stage; the scan runs what the command line selects.
    let (config_select, config_ignore): (&[String], &[String]) = if per_file_configs {
        (&[], &[])
    } else {
        (&config.select, &config.ignore)
    };
    let selected = rules.resolve(
        catalogue,
        (config_select, config_name),
        (config_ignore, config_name),
    )?;
    for (rule, severity) in &config.severity {
        let id = rule_ids(catalogue, std::slice::from_ref(rule), config_name)?;
        if let Some(policy) = catalogue
            .policies
            .iter_mut()
            .find(|p| id.contains(&p.spec.id))
        {
            policy.spec.severity = *severity;
        }
    }
    for ignore in &config.ignores {
        rule_ids(catalogue, &ignore.rules, config_name)?;
    }
    Ok(selected)
}

/// The SARIF category of `check` runs, unless `--sarif-category` says otherwise.
pub const SARIF_CATEGORY: &str = "tritonguard/";

pub fn run(args: CheckArgs) -> ExitCode {
    let started = std::time::Instant::now();
    let err_color = use_color(args.report.color, std::io::stderr().is_terminal());
    let config = match read_config(&args, err_color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut catalogue = match load_catalogue(&args.policies, &config.policy_dirs, err_color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let compiled = started.elapsed();
    let config_name = config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ".tritonguard.yaml".to_string());
    let per_file_configs = !args.no_config && args.config.is_none();
    let resolved = resolve_rules(
        &mut catalogue,
        &args.rules,
        &config,
        &config_name,
        per_file_configs,
    );
    let Selected { select, ignore } = match resolved {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    note_rules_of_other_commands(&catalogue, &args.rules);
    let enabled = move |p: &Policy| {
        (select.is_empty() || select.contains(&p.spec.id) || is_meta_rule(&p.spec.id))
            && !ignore.contains(&p.spec.id)
    };
    let fail_on = args.report.fail_threshold(config.fail_on);

    let mut paths: Vec<PathBuf> = Vec::new();
    let mut skipped: Vec<&PathBuf> = Vec::new();
    let mut excluded_any = false;
    let mut stdin = None;
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
            stdin = Some(MemorySource {
                kind: crate::load::classify::classify_name(&crate::load::classify::base_name(
                    &args.stdin_filename,
                ))
                .unwrap_or(crate::load::classify::FileKind::Yaml),
                display: args.stdin_filename.clone(),
                text,
            });
        } else if args.skip_unknown
            && p.is_file()
            && crate::load::discover::classify_file(p).is_none()
        {
            skipped.push(p);
        } else if args.force_exclude && p.is_file() {
            let fixed = (!per_file_configs).then_some(&config);
            match crate::cli::force_exclude::excluded(p, fixed, Path::new(".")) {
                Ok(true) => {
                    excluded_any = true;
                    skipped.push(p);
                }
                Ok(false) => paths.push(p.clone()),
                Err(errors) => {
                    print_config_errors(&errors, err_color);
                    return ExitCode::from(EXIT_ERROR);
                }
            }
        } else {
            paths.push(p.clone());
        }
    }
    let mut request = Request::new(paths);
    request.memory.extend(stdin);
    request.context = args.context.clone();
    // Discovery matches `exclude` from where tritonguard runs; a config elsewhere has its
    // patterns applied per file, from its own folder, in the filter stage.
    let config_here = config
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .and_then(|d| std::fs::canonicalize(d).ok())
        == std::fs::canonicalize(&request.base).ok();
    if !per_file_configs || config_here {
        request.exclude = exclude_set(&config);
    }
    // The walk for charts is the scan's walk too: timed here, it would be missing from the
    // load stage otherwise.
    let walking = std::time::Instant::now();
    let helm = match render_charts(args.no_helm, args.helm.as_deref(), &config, &mut request) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let walked = (walking.elapsed(), crate::pipeline::peak_rss());
    let mut pipeline = Pipeline::new(&catalogue, &enabled);
    pipeline.workloads = config.workloads.clone();
    // The markdown report draws the exposure map, made of the correlated launches.
    pipeline.keep_subjects = args.report.format == crate::report::Format::Markdown;
    let mut result = pipeline.scan(&request);
    match &helm {
        Some(crate::helm::Prepared::Rendered(stage)) => {
            crate::helm::attach(stage, &mut result, &catalogue, &enabled, &request.base);
        }
        Some(crate::helm::Prepared::Unusable(note)) => result.notes.push(note.clone()),
        _ => {}
    }
    if result.notes.iter().any(|n| n.error) {
        for n in result.notes.iter().filter(|n| n.error) {
            eprintln!("error: {}: {}", n.display, n.message);
        }
        return ExitCode::from(EXIT_ERROR);
    }

    let baseline_path = args
        .baseline
        .clone()
        .or(config.baseline.clone())
        .filter(|_| args.write_baseline.is_none());
    let baseline_set: Option<BTreeSet<String>> = match &baseline_path {
        Some(path) => match baseline::read(path) {
            Ok(set) => Some(set),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        },
        None => None,
    };
    let baseline_name = baseline_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let resolving = std::time::Instant::now();
    let per_file = if per_file_configs {
        let resolve = |written: &[String], origin: &str| {
            crate::evaluate::selector::resolve_all(&catalogue, written)
                .map_err(|e| format!("{origin}: {e}"))
        };
        let extend = match resolve(&args.rules.extend_select, "--extend-select") {
            Ok(ids) => ids,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
        match config::PerFile::resolve(
            &result.store,
            args.rules.select.is_empty(),
            &extend,
            &resolve,
        ) {
            Ok(mut p) => {
                let named: Vec<PathBuf> = request
                    .paths
                    .iter()
                    .filter(|p| p.is_file())
                    .filter_map(|p| std::fs::canonicalize(p).ok())
                    .collect();
                // A scan of folders names no file: no file's real path is needed.
                p.explicit = result
                    .store
                    .files()
                    .filter(|_| !named.is_empty())
                    .filter(|(_, f)| {
                        f.path
                            .as_ref()
                            .and_then(|p| std::fs::canonicalize(p).ok())
                            .is_some_and(|real| named.contains(&real))
                    })
                    .map(|(id, _)| id)
                    .collect();
                Some(p)
            }
            Err(errors) => {
                print_config_errors(&errors, err_color);
                return ExitCode::from(EXIT_ERROR);
            }
        }
    } else {
        None
    };
    let resolved_configs = resolving.elapsed();
    pipeline.filter(
        &mut result,
        &FilterOptions {
            per_file: per_file.as_ref(),
            config: &config,
            config_name: config_name.clone(),
            inline: config.inline_ignores && !args.no_inline_ignores,
            baseline: baseline_set.as_ref().map(|b| (b, baseline_name)),
            // A baseline records every finding, so that the next run suppresses them all.
            cap: args
                .write_baseline
                .is_none()
                .then_some(crate::filter::cap::MAX_PER_RULE_AND_FILE),
        },
    );

    if let Some(path) = &args.write_baseline {
        let text = baseline::render(&result.findings, &result.store);
        return match std::fs::write(path, text) {
            Ok(()) => {
                let n = result
                    .findings
                    .iter()
                    .filter(|f| f.suppression.is_none())
                    .count();
                eprintln!("wrote {n} findings to the baseline {}", path.display());
                ExitCode::from(EXIT_CLEAN)
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(EXIT_ERROR)
            }
        };
    }

    let mut scanned = args
        .paths
        .iter()
        .filter(|p| !skipped.contains(p))
        .map(|p| {
            if p.as_os_str() == "-" {
                args.stdin_filename.clone()
            } else {
                crate::source::display_path(p, &request.base)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let all_skipped = scanned.is_empty();
    if all_skipped {
        // Every named file was skipped (--skip-unknown, --force-exclude): say so rather than
        // print ": 0 files".
        scanned = if excluded_any {
            "no file to check: each named file is excluded or of no kind tritonguard reads"
                .to_string()
        } else {
            "no file of a kind tritonguard reads".to_string()
        };
    }
    print_policy_warnings(&catalogue);
    let exposure = result.correlated.as_ref().map(|correlated| {
        crate::report::exposure::ExposureMap::build(
            correlated,
            &result.store,
            &result.context_files(),
            scanned.clone(),
        )
    });
    let report = Report {
        store: &result.store,
        catalogue: &catalogue,
        findings: &result.findings,
        eval_errors: &result.eval_errors,
        notes: &result.notes,
        stats: &result.stats,
        scanned,
        fail_on,
        sarif_category: args.report.sarif_category(SARIF_CATEGORY),
        base_uri: base_uri(&request.base),
        base_dir: std::fs::canonicalize(&request.base).ok(),
        real_paths: if args.report.needs_real_paths() {
            result.real_paths()
        } else {
            Vec::new()
        },
        exposure: exposure.as_ref(),
        link_base: args.report.link_base.clone(),
    };
    let reporting = std::time::Instant::now();
    let code = args.report.emit(&report);
    if args.timings {
        use crate::pipeline::peak_rss;
        use crate::report::Stage;
        let mut stages = vec![
            Stage {
                name: "config and policies",
                time: compiled,
                peak_rss: None,
            },
            Stage {
                name: "find files, render charts",
                time: walked.0,
                peak_rss: walked.1,
            },
        ];
        // Each file's nearest config is found just before the filter stage, which uses it.
        for stage in &result.stats.stages {
            if stage.name == "filter" {
                stages.push(Stage {
                    name: "per-file configs",
                    time: resolved_configs,
                    peak_rss: None,
                });
            }
            stages.push(*stage);
        }
        stages.push(Stage {
            name: "report",
            time: reporting.elapsed(),
            peak_rss: peak_rss(),
        });
        eprintln!(
            "{}",
            crate::report::timings::render(&stages, started.elapsed())
        );
    }
    let nothing_found =
        !all_skipped && result.stats.launches == 0 && result.stats.model_configs == 0;
    if nothing_found {
        // A Triton-free scan is usually a wrong path: say so even when nothing else is said.
        eprintln!(
            "no Triton deployment found under {}: {} read, 0 launches",
            report.scanned,
            plural(result.stats.files, "file")
        );
        // Report-only mode (`--exit-zero`, `--fail-on never`) never fails on what it found,
        // or did not find: the note above still says it.
        let report_only = report.fail_on.is_none();
        if args.fail_if_none && !report_only && code == ExitCode::from(EXIT_CLEAN) {
            return ExitCode::from(crate::cli::EXIT_FINDINGS);
        }
    }
    code
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
/// Says on stderr when a rule selected on the command line runs in another command
/// (`--select TG602` in `check`): a selector naming one such rule, or only such rules.
fn note_rules_of_other_commands(catalogue: &Catalogue, rules: &RuleSelection) {
    for written in rules.select.iter().chain(&rules.extend_select) {
        let Ok(ids) = crate::evaluate::selector::resolve(catalogue, written) else {
            continue;
        };
        let elsewhere: Vec<(&str, &str)> = ids
            .iter()
            .filter_map(|id| catalogue.get(id))
            .filter_map(|p| {
                crate::evaluate::selector::other_command(p).map(|c| (p.spec.id.as_str(), c))
            })
            .collect();
        if elsewhere.is_empty() || elsewhere.len() < ids.len() {
            continue;
        }
        let mut commands: Vec<&str> = elsewhere.iter().map(|(_, c)| *c).collect();
        commands.dedup();
        let names: Vec<&str> = elsewhere.iter().map(|(id, _)| *id).collect();
        eprintln!(
            "note: --select {written}: {} {} in `tritonguard {}`, not in `check`",
            names.join(", "),
            if names.len() == 1 { "runs" } else { "run" },
            commands.join("` / `tritonguard ")
        );
    }
}

/// Rules about suppressions themselves run whenever suppressions are applied.
pub(crate) fn is_meta_rule(id: &str) -> bool {
    crate::evaluate::registry::Rule::by_id(id).is_some_and(|r| r.is_about_suppressions())
}

pub(crate) fn exclude_set(config: &Config) -> globset::GlobSet {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in &config.exclude {
        if let Ok(glob) = globset::Glob::new(pattern) {
            builder.add(glob);
        }
    }
    builder
        .build()
        .unwrap_or_else(|_| globset::GlobSet::empty())
}

/// Renders the Helm charts under the request's paths (unless `no_helm`) and adds the renders
/// to the request as in-memory sources. Shared by `check` and `exposure`; errors are printed.
pub(crate) fn render_charts(
    no_helm: bool,
    helm: Option<&std::path::Path>,
    config: &Config,
    request: &mut Request,
) -> Result<Option<crate::helm::Prepared>, ExitCode> {
    if no_helm {
        return Ok(None);
    }
    // One walk of the tree for the charts and for the scan.
    let discovery = crate::load::discover::discover(
        &request.paths,
        &crate::load::discover::DiscoverOptions {
            base: request.base.clone(),
            exclude: request.exclude.clone(),
        },
    );
    let prepared = crate::helm::prepare(&crate::helm::HelmRequest {
        discovery: &discovery,
        paths: &request.paths,
        base: &request.base,
        exclude: &request.exclude,
        config: &config.helm,
        helm,
        max_output: request.max_file_bytes,
    })
    .map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_ERROR)
    })?;
    request.discovered = Some(discovery);
    if let crate::helm::Prepared::Rendered(stage) = &prepared {
        request.memory.extend(stage.sources());
    }
    Ok(Some(prepared))
}
