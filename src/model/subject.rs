//! What a rule looks at, shared by the stages that make subjects and the rules that read them.

/// What a rule looks at. CEL policies look at launches, Kubernetes objects and model
/// configurations; the other subjects are read by native rules only (their policy file holds
/// the documentation and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// Each Triton launch; CEL variable `launch`.
    Launch,
    /// Each Kubernetes object; CEL variable `object`.
    K8s,
    /// Each config.pbtxt; CEL variable `config`.
    Pbtxt,
    /// Each scanned file (parse errors).
    File,
    /// Each suppression written in a scanned file or the configuration.
    Suppression,
    /// Each policy (evaluation errors of the policy itself).
    Policy,
    /// A model repository on disk (`repo audit`).
    Repo,
    /// A running server (`probe`).
    Probe,
}

impl Subject {
    pub const ALL: [Subject; 8] = [
        Subject::Launch,
        Subject::K8s,
        Subject::Pbtxt,
        Subject::File,
        Subject::Suppression,
        Subject::Policy,
        Subject::Repo,
        Subject::Probe,
    ];

    pub fn parse(text: &str) -> Option<Subject> {
        match text {
            "launch" => Some(Subject::Launch),
            "k8s" | "kubernetes" => Some(Subject::K8s),
            "pbtxt" | "config" => Some(Subject::Pbtxt),
            "file" => Some(Subject::File),
            "suppression" => Some(Subject::Suppression),
            "policy" => Some(Subject::Policy),
            "repo" => Some(Subject::Repo),
            "probe" => Some(Subject::Probe),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Launch => "launch",
            Subject::K8s => "k8s",
            Subject::Pbtxt => "pbtxt",
            Subject::File => "file",
            Subject::Suppression => "suppression",
            Subject::Policy => "policy",
            Subject::Repo => "repo",
            Subject::Probe => "probe",
        }
    }

    /// Whether CEL policies may look at this subject.
    pub fn has_cel(self) -> bool {
        matches!(self, Subject::Launch | Subject::K8s | Subject::Pbtxt)
    }

    /// What the rule checks, in words.
    pub fn described(self) -> &'static str {
        match self {
            Subject::Launch => "Triton launch",
            Subject::K8s => "Kubernetes object",
            Subject::Pbtxt => "model configuration",
            Subject::File => "scanned file",
            Subject::Suppression => "suppression",
            Subject::Policy => "policy",
            Subject::Repo => "model repository (`tritonguard repo audit`)",
            Subject::Probe => "running server (`tritonguard probe`)",
        }
    }

    /// The CEL variable that holds the subject (none for native-only subjects).
    pub fn variable(self) -> &'static str {
        match self {
            Subject::Launch => "launch",
            Subject::K8s => "object",
            Subject::Pbtxt => "config",
            _ => "subject",
        }
    }

    /// Every variable a CEL expression of this subject may use.
    pub fn variables(self, each: bool) -> Vec<&'static str> {
        let mut vars = vec![self.variable(), "file", "variables"];
        if matches!(self, Subject::Launch | Subject::K8s) {
            vars.push("objects");
        }
        if self == Subject::Pbtxt {
            vars.extend(["model", "repository"]);
        }
        if each {
            // `key`: the item's map key (a string) or list index (an int).
            vars.extend(["item", "key"]);
        }
        vars
    }
}
