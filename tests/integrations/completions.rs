//! `tritonguard completions` and `tritonguard man`: generated from the real command
//! definition, so they list the real subcommands and options.

use std::process::Command;

use clap::CommandFactory;

use super::common::tritonguard;

/// The subcommands, from the same definition the binary parses with.
fn subcommands() -> Vec<String> {
    tritonguard::cli::Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Asks bash's completion function what it offers for `words` (the last is being typed).
fn bash_complete(words: &[&str]) -> Vec<String> {
    let script = tritonguard(&["completions", "bash"]);
    assert_eq!(script.code, 0, "{}", script.stderr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tritonguard.bash");
    std::fs::write(&path, script.stdout).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{}'\n\
         _tritonguard tritonguard '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        path.display(),
        quoted.join(" "),
        words.join(" "),
        words[cword],
        words[cword - 1],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_options_and_values() {
    let offered = bash_complete(&["tritonguard", "c"]);
    let expected: Vec<String> = subcommands()
        .into_iter()
        .filter(|s| s.starts_with('c'))
        .collect();
    assert_eq!(offered, expected);
    assert!(offered.contains(&"check".to_string()) && offered.contains(&"completions".to_string()));
    let options = bash_complete(&["tritonguard", "check", "--co"]);
    assert_eq!(options, ["--context", "--color", "--config"]);
    let formats = bash_complete(&["tritonguard", "check", "--format", ""]);
    assert_eq!(
        formats,
        ["human", "concise", "sarif", "json", "github", "markdown"]
    );
}

#[test]
fn every_shell_gets_a_script() {
    for (shell, marker) in [
        ("bash", "complete -F _tritonguard"),
        ("zsh", "#compdef tritonguard"),
        ("fish", "complete -c tritonguard"),
        ("elvish", "edit:completion:arg-completer[tritonguard]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = tritonguard(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("skip-unknown"), "{shell}");
    }
    let bad = tritonguard(&["completions", "tcsh"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
}

#[test]
fn man_pages_describe_every_command() {
    let page = tritonguard(&["man"]);
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(page.stdout.contains(".TH tritonguard 1"), "{}", page.stdout);
    assert!(
        page.stdout.contains("policy catalogue"),
        "version names the catalogue"
    );
    let subs = subcommands();
    for required in ["check", "rules", "explain", "test", "completions", "man"] {
        assert!(subs.iter().any(|s| s == required), "{required}: {subs:?}");
    }
    for sub in &subs {
        assert!(
            page.stdout.contains(&format!("tritonguard\\-{sub}(1)")),
            "{sub} missing from SUBCOMMANDS"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let run = tritonguard(&["man", "--dir", &out.to_string_lossy()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    // One page per command, nested ones (`repo audit`) included.
    fn pages_of(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}-{}", sub.get_name());
            out.push(format!("{name}.1"));
            pages_of(sub, &name, out);
        }
    }
    let mut expected = vec!["tritonguard.1".to_string()];
    pages_of(
        &<tritonguard::cli::Cli as clap::CommandFactory>::command(),
        "tritonguard",
        &mut expected,
    );
    expected.sort();
    assert_eq!(pages, expected);
    let check = std::fs::read_to_string(out.join("tritonguard-check.1")).unwrap();
    assert!(check.contains("\\-\\-fail\\-on"), "{check}");
    assert!(check.contains("\\-\\-sarif\\-category"), "{check}");
}
