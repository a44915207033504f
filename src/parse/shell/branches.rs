//! Variables assigned in the branches of `if`/`elif`/`else` and `case` blocks. After `fi` or
//! `esac` such a variable holds one of several values depending on a condition the files do
//! not decide (`if [ "$USE_LLM" = 1 ]; then IMAGE=a; else IMAGE=b; fi`): each value is a
//! candidate, and a container run that uses the variable is read once per candidate, so
//! every image the script may start is checked with exact facts.

use std::collections::{BTreeMap, HashMap};

use crate::parse::words::{Operator, VarValue, Word};

/// At most this many candidate runs are read for one command (several branch-assigned
/// variables multiply).
pub const MAX_CANDIDATES: usize = 8;

#[derive(Default)]
struct Frame {
    is_case: bool,
    /// Each variable's value before the block (`None`: unset or unknown).
    prior: HashMap<String, Option<VarValue>>,
    /// The assignments of each finished branch.
    branches: Vec<HashMap<String, VarValue>>,
    current: HashMap<String, VarValue>,
    /// An `else` or a `*)` pattern: one branch always runs.
    exhaustive: bool,
    /// In a `case`, between a pattern's `)` and its `;;` (or `esac`).
    in_pattern_branch: bool,
}

/// The open `if`/`case` blocks and the candidates found so far.
#[derive(Default)]
pub struct Branches {
    frames: Vec<Frame>,
    /// Variables with several candidate values (in source order), after their block ended.
    candidates: BTreeMap<String, Vec<VarValue>>,
}

impl Branches {
    /// Reserved words that open, switch or close a block at the start of a command.
    pub fn before_command(&mut self, words: &[Word]) -> Option<Ended> {
        let first = words.first().map(|w| w.text.as_str());
        match first {
            Some("if") => self.frames.push(Frame::default()),
            Some("case") => self.frames.push(Frame {
                is_case: true,
                ..Frame::default()
            }),
            Some("elif") => self.close_branch(),
            Some("else") => {
                self.close_branch();
                if let Some(frame) = self.frames.last_mut() {
                    frame.exhaustive = true;
                }
            }
            Some("fi") if self.frames.last().is_some_and(|f| !f.is_case) => return self.end(),
            Some("esac") if self.frames.last().is_some_and(|f| f.is_case) => return self.end(),
            _ => {}
        }
        None
    }

    /// The operator that ended a command: `)` after a `case` pattern, `;;` after a branch.
    /// `last` is the command's last word.
    pub fn after_command(&mut self, last: Option<&Word>, op: Option<Operator>) {
        let Some(frame) = self.frames.last_mut().filter(|f| f.is_case) else {
            return;
        };
        match op {
            Some(Operator::CloseParen) => {
                frame.in_pattern_branch = true;
                if last.is_some_and(|w| w.text.trim_start_matches('(') == "*") {
                    frame.exhaustive = true;
                }
            }
            Some(Operator::CaseEnd) => {
                frame.in_pattern_branch = false;
                self.close_branch();
            }
            _ => {}
        }
    }

    /// A variable assigned inside the open blocks; `prior` is its value before.
    pub fn assigned(&mut self, name: &str, value: &VarValue, prior: Option<VarValue>) {
        match self.frames.last_mut() {
            Some(frame) => {
                frame.prior.entry(name.to_string()).or_insert(prior);
                frame.current.insert(name.to_string(), value.clone());
            }
            None => {
                self.candidates.remove(name);
            }
        }
    }

    pub fn forget(&mut self, name: &str) {
        if self.frames.is_empty() {
            self.candidates.remove(name);
        }
    }

    /// Inside an `if` or `case` block.
    pub fn in_block(&self) -> bool {
        !self.frames.is_empty()
    }

    /// The candidate values of `name`, when it has several.
    pub fn candidates(&self, name: &str) -> Option<&[VarValue]> {
        self.candidates.get(name).map(Vec::as_slice)
    }

    fn close_branch(&mut self) {
        if let Some(frame) = self.frames.last_mut() {
            let branch = std::mem::take(&mut frame.current);
            frame.branches.push(branch);
        }
    }

    /// Ends the innermost block: each variable it assigned gets its candidates. Returns what
    /// the enclosing block must record as assigned in its own current branch.
    fn end(&mut self) -> Option<Ended> {
        // A `case` branch is closed by its `;;`; only a last one without `;;` is open at `esac`.
        if self
            .frames
            .last()
            .is_some_and(|f| !f.is_case || f.in_pattern_branch)
        {
            self.close_branch();
        }
        let frame = self.frames.pop()?;
        let mut ended = Ended::default();
        for (name, prior) in &frame.prior {
            let mut values: Vec<VarValue> = Vec::new();
            let mut add = |v: &VarValue| {
                if !values.iter().any(|known| known.text == v.text) {
                    values.push(v.clone());
                }
            };
            for branch in &frame.branches {
                match branch.get(name) {
                    Some(v) => add(v),
                    None => {
                        if let Some(p) = prior {
                            add(p);
                        }
                    }
                }
            }
            if !frame.exhaustive
                && let Some(p) = prior
            {
                add(p);
            }
            if values.len() > 1 {
                self.candidates.insert(name.clone(), values);
            } else {
                self.candidates.remove(name);
            }
            ended.assigned.push((name.clone(), prior.clone()));
        }
        Some(ended)
    }
}

/// Variables a block that just ended assigned, with their values before it.
#[derive(Default)]
pub struct Ended {
    pub assigned: Vec<(String, Option<VarValue>)>,
}

impl Ended {
    /// Records the block's assignments in the enclosing block (nested `if`s).
    pub fn propagate(self, branches: &mut Branches, current: impl Fn(&str) -> Option<VarValue>) {
        for (name, prior) in self.assigned {
            if let Some(value) = current(&name) {
                branches.assigned(&name, &value, prior);
            }
        }
    }
}
