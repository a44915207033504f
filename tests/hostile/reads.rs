//! Reads: a FIFO, device or link out of the folder where a scanned file is expected. Each
//! case runs the whole `check` pipeline on a directory, bounded in time (a FIFO opened for
//! reading waits for a writer forever) and memory (`/dev/zero` never ends).

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::load::Request;
use tritonguard::pipeline::{Outcome, scan};

use crate::bounded::{bounded, limits};

const COMPOSE: &str = "services:\n  triton:\n    image: nvcr.io/nvidia/tritonserver:24.10-py3\n    command: [tritonserver, --model-repository=/models, \"--model-control-mode=${MODE}\"]\n";

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn check(dir: &Path) -> Outcome {
    let catalogue = Catalogue::load(&[], true).unwrap();
    scan(&catalogue, &Request::new(vec![dir.to_path_buf()]), &|_| {
        true
    })
}

/// Whether the compose file's `.env` was read: it sets `MODE=poll`, which TG101 reports.
fn env_was_read(outcome: &Outcome) -> bool {
    outcome.findings.iter().any(|f| f.rule_id == "TG101")
}

#[test]
fn fifos_in_the_tree_are_refused_not_waited_on() {
    bounded(
        concat!(
            module_path!(),
            "::fifos_in_the_tree_are_refused_not_waited_on"
        ),
        limits(30, 200),
        || {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            mkfifo(&dir.join("deploy.yaml"));
            // Extension-less: sniffed for a shebang, which must not block either.
            mkfifo(&dir.join("run-triton"));
            std::fs::write(dir.join("compose.yaml"), COMPOSE).unwrap();
            mkfifo(&dir.join(".env"));
            let outcome = check(dir);
            let refused: Vec<&str> = outcome
                .findings
                .iter()
                .filter(|f| f.message.contains("not a regular file but a FIFO"))
                .map(|f| f.rule_id.as_str())
                .collect();
            assert_eq!(refused, ["TG000"], "{:#?}", outcome.findings);
            // The compose file is still checked, without its unreadable `.env`.
            assert!(!env_was_read(&outcome));
            assert!(outcome.findings.iter().any(|f| f.rule_id == "TG201"));
        },
    );
}

#[test]
fn a_dotenv_is_read_only_from_the_compose_files_folder() {
    bounded(
        concat!(
            module_path!(),
            "::a_dotenv_is_read_only_from_the_compose_files_folder"
        ),
        limits(30, 200),
        || {
            let tmp = tempfile::tempdir().unwrap();
            let project = tmp.path().join("project");
            let elsewhere = tmp.path().join("elsewhere");
            std::fs::create_dir_all(&project).unwrap();
            std::fs::create_dir_all(&elsewhere).unwrap();
            std::fs::write(project.join("compose.yaml"), COMPOSE).unwrap();
            std::fs::write(elsewhere.join("shared.env"), "MODE=poll\n").unwrap();
            std::fs::write(project.join("local.env"), "MODE=poll\n").unwrap();

            // A plain `.env`, and a link to a file in the same folder, are read.
            std::fs::copy(project.join("local.env"), project.join(".env")).unwrap();
            assert!(env_was_read(&check(&project)));
            std::fs::remove_file(project.join(".env")).unwrap();
            symlink("local.env", project.join(".env")).unwrap();
            assert!(env_was_read(&check(&project)));

            // A link out of the folder is not followed: its values stay out of the report.
            std::fs::remove_file(project.join(".env")).unwrap();
            symlink(elsewhere.join("shared.env"), project.join(".env")).unwrap();
            assert!(!env_was_read(&check(&project)));

            // Nor is a device that never ends.
            std::fs::remove_file(project.join(".env")).unwrap();
            symlink("/dev/zero", project.join(".env")).unwrap();
            assert!(!env_was_read(&check(&project)));
        },
    );
}
