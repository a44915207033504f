//! The rule ids the Helm stage reports under, in one place for the rule registry.

/// A chart that Helm refuses to render: reported like a file that cannot be parsed.
pub const RENDER_FAILED: &str = "TG000";
