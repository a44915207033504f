//! What an image built from a Dockerfile runs with: USER, ENV, WORKDIR, ENTRYPOINT and CMD,
//! EXPOSE, HEALTHCHECK, following `FROM <earlier stage>` chains, each setting with the
//! instruction that made it.
//!
//! Docker's rules, as BuildKit's dispatcher applies them:
//! - the last instruction of a kind wins, and a stage built `FROM` an earlier stage starts
//!   from that stage's image config;
//! - a shell-form `CMD`/`ENTRYPOINT` is stored as the `SHELL` in effect at that point
//!   (default `/bin/sh -c`) followed by the script;
//! - an `ENTRYPOINT` resets an inherited `CMD` unless the same stage sets `CMD` (before or
//!   after it);
//! - the container runs ENTRYPOINT followed by CMD; with a shell-form ENTRYPOINT the CMD
//!   never reaches the command (`sh -c` takes only the script).
//!
//! Whatever the Dockerfile does not set comes from the base image, which is not known here:
//! such settings are `None` and [`ImageConfig::inherits_from_base`] says so.

use std::collections::HashMap;

use crate::parse::container::{PortSpec, UserSpec, parse_port_spec};
use crate::parse::words::{VarLookup, VarValue, Word};
use crate::source::Span;

use super::instruction::shell_command;
use super::{Body, CommandForm, Dockerfile, Healthcheck, Keyword, Stage};

/// A setting and the instruction that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    /// Index in [`Dockerfile::instructions`].
    pub instruction: usize,
    /// The whole instruction.
    pub span: Span,
    pub stage: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: Word,
    pub key_span: Span,
    pub instruction: usize,
}

/// An ENTRYPOINT or CMD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigCommand {
    /// As written; a shell form's words are split with the image's final ENV, which is what
    /// the shell sees when the container starts.
    pub form: CommandForm,
    /// As the image stores it: the exec array, or the SHELL plus the script. Docker's
    /// implicit `/bin/sh` and `-c` map to the instruction's keyword.
    pub argv: Vec<Word>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageConfig {
    /// The stage this is the image of.
    pub stage: usize,
    /// The stages it is built on, the one starting from an external image first.
    pub chain: Vec<usize>,
    /// The external image the chain starts from, after ARG substitution.
    pub base_image: Word,
    pub from_scratch: bool,
    pub user: Option<Setting<UserSpec>>,
    pub workdir: Option<Setting<Word>>,
    /// The working directory with relative WORKDIRs joined to earlier ones; `None` when the
    /// first one is relative to an unknown base directory or unresolved.
    pub workdir_path: Option<String>,
    pub env: Vec<EnvVar>,
    pub labels: Vec<EnvVar>,
    pub shell: Option<Setting<Vec<Word>>>,
    pub entrypoint: Option<Setting<ConfigCommand>>,
    pub cmd: Option<Setting<ConfigCommand>>,
    /// The ENTRYPOINT instruction (index) that reset an inherited CMD, when no CMD follows.
    pub cmd_reset_by: Option<usize>,
    pub expose: Vec<Setting<PortSpec>>,
    pub healthcheck: Option<Setting<Healthcheck>>,
    pub volumes: Vec<Setting<Word>>,
    pub stop_signal: Option<Setting<Word>>,
}

impl ImageConfig {
    /// Settings left `None` may come from the base image (anything but `FROM scratch`).
    pub fn inherits_from_base(&self) -> bool {
        !self.from_scratch
    }

    /// The ENTRYPOINT is in shell form, so CMD arguments never reach the command.
    pub fn cmd_ignored(&self) -> bool {
        self.entrypoint
            .as_ref()
            .is_some_and(|e| !e.value.form.is_exec())
    }

    /// The command line the container runs: ENTRYPOINT then CMD, as Docker combines them
    /// (CMD dropped after a shell-form ENTRYPOINT). `None` when neither is set here; with an
    /// external base, an unset ENTRYPOINT or CMD may still come from it.
    pub fn argv(&self) -> Option<Vec<Word>> {
        match (&self.entrypoint, &self.cmd) {
            (None, None) => None,
            (Some(ep), _) if self.cmd_ignored() => Some(ep.value.argv.clone()),
            (Some(ep), cmd) => {
                let mut argv = ep.value.argv.clone();
                if let Some(cmd) = cmd {
                    argv.extend(cmd.value.argv.iter().cloned());
                }
                Some(argv)
            }
            (None, Some(cmd)) => Some(cmd.value.argv.clone()),
        }
    }

    pub fn env_var(&self, name: &str) -> Option<&EnvVar> {
        self.env.iter().find(|e| e.name == name)
    }
}

/// The configuration of the final stage's image; `None` without any stage.
pub fn effective_config(df: &Dockerfile) -> Option<ImageConfig> {
    stage_config(df, df.stages.len().checked_sub(1)?)
}

/// The configuration of one stage's image (a `--target`).
pub fn stage_config(df: &Dockerfile, stage: usize) -> Option<ImageConfig> {
    let chain = chain(df, stage)?;
    let root = df.stages.get(*chain.first()?)?;
    let mut config = ImageConfig {
        stage,
        chain: chain.clone(),
        base_image: root.base.clone(),
        from_scratch: root.base.text.eq_ignore_ascii_case("scratch"),
        user: None,
        workdir: None,
        workdir_path: None,
        env: Vec::new(),
        labels: Vec::new(),
        shell: None,
        entrypoint: None,
        cmd: None,
        cmd_reset_by: None,
        expose: Vec::new(),
        healthcheck: None,
        volumes: Vec::new(),
        stop_signal: None,
    };
    let mut index = ConfigIndex::default();
    for &stage_index in &chain {
        if let Some(stage) = df.stages.get(stage_index) {
            apply_stage(df, stage, &mut config, &mut index);
        }
    }
    resplit_with_final_env(&mut config);
    Some(config)
}

/// The stage and the stages it builds on, base first.
fn chain(df: &Dockerfile, stage: usize) -> Option<Vec<usize>> {
    let mut chain = vec![stage];
    let mut current = df.stages.get(stage)?;
    while let Some(base) = current.base_stage {
        // Bases are always earlier stages; the bound guards against a malformed table.
        if base >= current.index || chain.len() > df.stages.len() {
            break;
        }
        chain.push(base);
        current = df.stages.get(base)?;
    }
    chain.reverse();
    Some(chain)
}

/// Name → position in [`ImageConfig::env`] and [`ImageConfig::labels`], so that setting a
/// variable again does not search the list.
#[derive(Default)]
struct ConfigIndex {
    env: HashMap<String, usize>,
    labels: HashMap<String, usize>,
}

fn apply_stage(df: &Dockerfile, stage: &Stage, config: &mut ImageConfig, index: &mut ConfigIndex) {
    let mut cmd_set = false;
    for instruction in stage.from + 1..stage.end {
        let Some(instr) = df.instructions.get(instruction) else {
            break;
        };
        let at = At {
            instruction,
            span: instr.span,
            stage: stage.index,
        };
        match (&instr.keyword, &instr.body) {
            (_, Body::User(word)) => config.user = Some(at.set(UserSpec::parse(word))),
            (_, Body::Workdir(word)) => {
                config.workdir_path = join_workdir(config.workdir_path.take(), word, config);
                config.workdir = Some(at.set(word.clone()));
            }
            (_, Body::Env(pairs)) => {
                for pair in pairs {
                    upsert(&mut config.env, &mut index.env, pair, instruction);
                }
            }
            (_, Body::Label(pairs)) => {
                for pair in pairs {
                    upsert(&mut config.labels, &mut index.labels, pair, instruction);
                }
            }
            (Keyword::Shell, Body::Command(CommandForm::Exec(words))) => {
                config.shell = Some(at.set(words.clone()));
            }
            (Keyword::Cmd, Body::Command(form)) => {
                let argv = stored_argv(form, config, instr.keyword_span);
                config.cmd = Some(at.set(ConfigCommand {
                    form: form.clone(),
                    argv,
                }));
                config.cmd_reset_by = None;
                cmd_set = true;
            }
            (Keyword::Entrypoint, Body::Command(form)) => {
                let argv = stored_argv(form, config, instr.keyword_span);
                config.entrypoint = Some(at.set(ConfigCommand {
                    form: form.clone(),
                    argv,
                }));
                if !cmd_set {
                    config.cmd = None;
                    config.cmd_reset_by = Some(instruction);
                }
            }
            (_, Body::Expose(words)) => {
                for word in words {
                    if let Ok(port) = parse_port_spec(word) {
                        config.expose.push(at.set(port));
                    }
                }
            }
            (_, Body::Healthcheck(check)) => config.healthcheck = Some(at.set(check.clone())),
            (_, Body::Volume(words)) => {
                for word in words {
                    config.volumes.push(at.set(word.clone()));
                }
            }
            (_, Body::StopSignal(word)) => config.stop_signal = Some(at.set(word.clone())),
            _ => {}
        }
    }
}

/// Where a setting is made.
#[derive(Clone, Copy)]
struct At {
    instruction: usize,
    span: Span,
    stage: usize,
}

impl At {
    fn set<T>(self, value: T) -> Setting<T> {
        Setting {
            value,
            instruction: self.instruction,
            span: self.span,
            stage: self.stage,
        }
    }
}

fn upsert(
    list: &mut Vec<EnvVar>,
    index: &mut HashMap<String, usize>,
    pair: &super::KeyValue,
    instruction: usize,
) {
    let var = EnvVar {
        name: pair.key.clone(),
        value: pair.value.clone(),
        key_span: pair.key_span,
        instruction,
    };
    match index.get(&pair.key).and_then(|&i| list.get_mut(i)) {
        Some(existing) => *existing = var,
        None => {
            index.insert(pair.key.clone(), list.len());
            list.push(var);
        }
    }
}

/// A relative WORKDIR continues the previous one.
fn join_workdir(previous: Option<String>, word: &Word, config: &ImageConfig) -> Option<String> {
    if !word.is_resolved() {
        return None;
    }
    let path = word.text.as_str();
    if path.starts_with('/') {
        return Some(path.to_string());
    }
    let base = match previous {
        Some(base) => base,
        // Relative to the base image's working directory: known only from scratch ("/").
        None if config.from_scratch && config.workdir.is_none() => "/".to_string(),
        None => return None,
    };
    Some(format!("{}/{}", base.trim_end_matches('/'), path))
}

/// The argv an image stores for a CMD/ENTRYPOINT.
fn stored_argv(form: &CommandForm, config: &ImageConfig, keyword: Span) -> Vec<Word> {
    match form {
        CommandForm::Exec(words) => words.clone(),
        CommandForm::Shell(shell) => {
            let mut argv = match &config.shell {
                Some(setting) => setting.value.clone(),
                None => vec![
                    Word::synthetic("/bin/sh", keyword),
                    Word::synthetic("-c", keyword),
                ],
            };
            argv.push(shell.script.clone());
            argv
        }
    }
}

/// A shell-form command sees the image's final ENV when the container starts.
fn resplit_with_final_env(config: &mut ImageConfig) {
    let env: HashMap<String, VarValue> = config
        .env
        .iter()
        .map(|e| (e.name.clone(), VarValue::from_word(&e.value)))
        .collect();
    let vars = FinalEnv(&env);
    let resplit = |form: &mut CommandForm| {
        if let CommandForm::Shell(shell) = form {
            **shell = shell_command(shell.script.clone(), &vars);
        }
    };
    if let Some(ep) = &mut config.entrypoint {
        resplit(&mut ep.value.form);
    }
    if let Some(cmd) = &mut config.cmd {
        resplit(&mut cmd.value.form);
    }
    if let Some(check) = &mut config.healthcheck
        && let Healthcheck::Cmd(form) = &mut check.value
    {
        resplit(form);
    }
}

struct FinalEnv<'a>(&'a HashMap<String, VarValue>);

impl VarLookup for FinalEnv<'_> {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        self.0.get(name).cloned()
    }
}
