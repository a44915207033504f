//! The one table of built-in rules: every rule id with its subject, severity and
//! implementation (a CEL policy, or native Rust code named by a [`Rule`] variant).
//!
//! Rust code refers to a rule only through [`Rule`]; the id string lives here and in the
//! rule's policy file, nowhere else. The policy file supplies the documentation and the good
//! and bad tests for both kinds; `tests/registry.rs` checks that the table and the policy
//! files agree (same ids, names, subjects, severities; a native rule has no `assert`, a CEL
//! rule has one) and snapshots the table so that an id can never change silently.

use crate::finding::Severity;
use crate::model::subject::Subject;

/// How a rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// The policy file's CEL `match`/`assert`.
    Cel,
    /// Rust code in the stage that owns the facts (parse diagnostics, suppressions, the
    /// model repository audit, the probe).
    Native,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct RuleEntry {
    pub rule: Rule,
    pub id: &'static str,
    pub name: &'static str,
    pub subject: Subject,
    pub severity: Severity,
    pub implementation: Implementation,
}

macro_rules! rules {
    ($( $variant:ident = $id:literal $name:literal $subject:ident $severity:ident $implementation:ident, )*) => {
        /// Every built-in rule, by what it is about.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $( $variant, )*
        }

        /// The table, in id order.
        pub const RULES: &[RuleEntry] = &[
            $( RuleEntry {
                rule: Rule::$variant,
                id: $id,
                name: $name,
                subject: Subject::$subject,
                severity: Severity::$severity,
                implementation: Implementation::$implementation,
            }, )*
        ];
    };
}

rules! {
    ParseError = "TG000" "parse-error" File Medium Native,
    UnusedSuppression = "TG002" "unused-suppression" Suppression Low Native,
    InvalidSuppression = "TG003" "invalid-suppression" Suppression Low Native,
    PolicyEvaluationError = "TG004" "policy-evaluation-error" Policy High Native,
    ModelControlEnabled = "TG101" "model-control-enabled" Launch High Cel,
    StrictConfigDisabled = "TG102" "strict-config-disabled" Launch Medium Cel,
    UnknownServerFlag = "TG103" "unknown-server-flag" Launch Medium Cel,
    AdminApiUnrestricted = "TG104" "admin-api-unrestricted" Launch High Cel,
    NoRateLimiting = "TG105" "no-rate-limiting" Launch Low Cel,
    HeadersForwardedToModels = "TG106" "headers-forwarded-to-models" Launch Medium Cel,
    RunsAsRoot = "TG201" "runs-as-root" Launch High Cel,
    CapabilitiesNotDropped = "TG202" "capabilities-not-dropped" Launch Medium Cel,
    DangerousCapabilityAdded = "TG203" "dangerous-capability-added" Launch High Cel,
    PrivilegeEscalationAllowed = "TG204" "privilege-escalation-allowed" Launch Medium Cel,
    WritableRootFilesystem = "TG205" "writable-root-filesystem" Launch Medium Cel,
    PrivilegedOrHostNamespace = "TG206" "privileged-or-host-namespace" Launch Critical Cel,
    GpuAccessUnbounded = "TG207" "gpu-access-unbounded" Launch Medium Cel,
    MemoryLimitMissing = "TG208" "memory-limit-missing" Launch Medium Cel,
    ModelRepositoryWritable = "TG209" "model-repository-writable" Launch High Cel,
    BackendDirectoryMounted = "TG210" "backend-directory-mounted" Launch High Cel,
    UnknownPodSpecField = "TG211" "unknown-pod-spec-field" Launch Medium Cel,
    MetricsExposed = "TG301" "metrics-exposed" Launch Medium Cel,
    InferenceExposedWithoutAuth = "TG302" "inference-exposed-without-auth" Launch High Cel,
    ExtraEndpointEnabled = "TG303" "extra-endpoint-enabled" Launch Medium Cel,
    VulnerableTritonVersion = "TG401" "vulnerable-triton-version" Launch High Cel,
    ModelConfigInvalid = "TG501" "model-config-invalid" Pbtxt Medium Native,
    PickleModelFormat = "TG502" "pickle-model-format" Pbtxt Low Cel,
    PythonEnvOutsideModelDir = "TG503" "python-env-outside-model-dir" Pbtxt Medium Cel,
    UnboundedQueue = "TG504" "unbounded-queue" Pbtxt Medium Cel,
    ModelNameMismatch = "TG505" "model-name-mismatch" Pbtxt Medium Cel,
    ModelFileOutsideModelDir = "TG506" "model-file-outside-model-dir" Pbtxt High Cel,
    LabelFileOutsideModelDir = "TG507" "label-file-outside-model-dir" Pbtxt High Cel,
    WarmupFileOutsideModelDir = "TG508" "warmup-file-outside-model-dir" Pbtxt Medium Cel,
    NativeLibraryInConfig = "TG509" "native-library-in-config" Pbtxt Medium Cel,
    SecretInModelConfig = "TG510" "secret-in-model-config" Pbtxt High Cel,
    EnsembleStepModelMissing = "TG511" "ensemble-step-model-missing" Pbtxt Low Cel,
    ChecksumAgentMd5 = "TG512" "checksum-agent-md5" Pbtxt Info Cel,
    RepoScanError = "TG600" "repo-scan-error" Repo Medium Native,
    RepoWorldWritable = "TG601" "repo-world-writable" Repo High Native,
    UnsafePickle = "TG602" "unsafe-pickle" Repo Critical Native,
    RepoIntegrityMismatch = "TG603" "repo-integrity-mismatch" Repo High Native,
    RepoFileMissing = "TG604" "repo-file-missing" Repo Medium Native,
    RepoFileUntracked = "TG605" "repo-file-untracked" Repo High Native,
    RepoGroupWritable = "TG606" "repo-group-writable" Repo Medium Native,
    RepoSymlinkEscapes = "TG607" "repo-symlink-escapes" Repo Medium Native,
    InferenceUnauthenticated = "TG701" "inference-unauthenticated" Probe High Native,
    RepositoryApiOpen = "TG702" "repository-api-open" Probe Critical Native,
    MetricsEndpointOpen = "TG703" "metrics-endpoint-open" Probe Medium Native,
    LoggingApiOpen = "TG704" "logging-api-open" Probe High Native,
    SharedMemoryApiOpen = "TG705" "shared-memory-api-open" Probe High Native,
    TraceApiOpen = "TG706" "trace-api-open" Probe Medium Native,
    VulnerableVersion = "TG707" "vulnerable-version" Probe High Native,
    PickleModelLoaded = "TG708" "pickle-model-loaded" Probe Low Native,
    StatisticsApiOpen = "TG709" "statistics-api-open" Probe Low Native,
    HealthProbeMissingOrWrong = "TG801" "health-probe-missing-or-wrong" Launch Medium Cel,
    PythonBackendShmTooSmall = "TG802" "python-backend-shm-too-small" Launch Medium Cel,
    InstanceGroupGpuMissing = "TG803" "instance-group-gpu-missing" Launch High Cel,
}

impl Rule {
    pub fn entry(self) -> &'static RuleEntry {
        // The table is built from the enum by the same macro, one row per variant, in order.
        &RULES[self as usize]
    }

    pub fn id(self) -> &'static str {
        self.entry().id
    }

    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// The built-in rule with this id.
    pub fn by_id(id: &str) -> Option<Rule> {
        RULES.iter().find(|e| e.id == id).map(|e| e.rule)
    }

    /// Whether findings of this rule are about suppressions themselves: they run whenever
    /// suppressions are applied, whatever `--select` says.
    pub fn is_about_suppressions(self) -> bool {
        self.entry().subject == Subject::Suppression
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// The built-in rule entry with this id.
pub fn entry(id: &str) -> Option<&'static RuleEntry> {
    RULES.iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_finds_its_own_row() {
        for (i, e) in RULES.iter().enumerate() {
            assert_eq!(e.rule as usize, i);
            assert_eq!(e.rule.id(), e.id);
            assert_eq!(Rule::by_id(e.id), Some(e.rule));
        }
    }

    #[test]
    fn ids_and_names_are_unique_and_in_order() {
        for pair in RULES.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
        let mut names: Vec<&str> = RULES.iter().map(|e| e.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
