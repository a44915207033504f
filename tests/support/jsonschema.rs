//! JSON Schema validation through Python's `jsonschema` package (draft picked from the
//! schema's `$schema`, format checks on), for tests of JSON documents tritonguard emits.

use std::path::Path;
use std::process::{Command, Stdio};

/// Prints one line per error (`<json path>: <message>`) and exits 1 when there are any.
const VALIDATE_PY: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
instance = json.load(open(sys.argv[2], encoding="utf-8"))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
v = cls(schema, format_checker=cls.FORMAT_CHECKER)
errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
for e in errors:
    print(f"{e.json_path}: {e.message}")
sys.exit(1 if errors else 0)
"#;

/// `Ok(())` when `instance` (a JSON file) is valid against `schema` (a JSON file);
/// otherwise the errors, one per line. `python` must be able to `import jsonschema`
/// (`TG_JSONSCHEMA_PYTHON`).
pub fn validate_json_file(python: &Path, schema: &Path, instance: &Path) -> Result<(), String> {
    let out = Command::new(python)
        .arg("-c")
        .arg(VALIDATE_PY)
        .arg(schema)
        .arg(instance)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() == Some(1) && !stdout.trim().is_empty() {
        Err(stdout.trim_end().to_string())
    } else {
        Err(format!(
            "jsonschema validation did not run (exit {:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
