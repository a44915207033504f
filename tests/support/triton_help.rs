//! Parses `tritonserver --help` into its list of long flags, so tests can compare
//! tritonguard's flag table with what the real binary offers.
//!
//! The 2.51 help layout: a section title at column 0 ending in `:` (`HTTP:`), then per
//! flag a line `  --name <type>` (or `  --name` for a flag without a value) followed by
//! tab-indented description lines.

/// One long flag as listed by `--help`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpFlag {
    /// Without the leading `--`, e.g. `model-control-mode`.
    pub name: String,
    /// The value placeholder, e.g. `<boolean>`, `<<string>:<string>=<string>>`; `None`
    /// for a flag that takes no value (`--disable-auto-complete-config`, `--help`).
    pub value: Option<String>,
    /// The section it is listed under (`Server`, `HTTP`, `DEPRECATED`, ...); empty for
    /// flags before the first section title (`--help`).
    pub section: String,
    /// The description lines joined with single spaces.
    pub description: String,
}

impl HelpFlag {
    /// The description says the flag is deprecated (or it sits in the DEPRECATED section).
    pub fn deprecated(&self) -> bool {
        self.section == "DEPRECATED" || self.description.starts_with("DEPRECATED")
    }
}

/// The long flags in `help`, in the order listed.
pub fn parse_help_flags(help: &str) -> Vec<HelpFlag> {
    let mut flags: Vec<HelpFlag> = Vec::new();
    let mut section = String::new();
    for line in help.lines() {
        if let Some(rest) = line.strip_prefix("  --") {
            let (name, value) = match rest.split_once(' ') {
                Some((n, v)) => (n, Some(v.trim().to_string())),
                None => (rest.trim(), None),
            };
            flags.push(HelpFlag {
                name: name.to_string(),
                value,
                section: section.clone(),
                description: String::new(),
            });
        } else if line.starts_with('\t') || line.starts_with("    ") {
            if let Some(last) = flags.last_mut() {
                if !last.description.is_empty() {
                    last.description.push(' ');
                }
                last.description.push_str(line.trim());
            }
        } else if !line.starts_with(' ')
            && let Some(title) = line.strip_suffix(':')
            && !title.is_empty()
        {
            section = title.to_string();
        }
    }
    flags
}

/// Just the names (without `--`).
pub fn long_flag_names(help: &str) -> Vec<String> {
    parse_help_flags(help).into_iter().map(|f| f.name).collect()
}
