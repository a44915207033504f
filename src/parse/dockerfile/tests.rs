use super::*;
use crate::parse::container::{PortRange, Protocol};
use crate::parse::words::{Resolution, WordKind};

const FILE: FileId = FileId(0);

fn parse(text: &str) -> Dockerfile {
    parse_dockerfile(FILE, text)
}

fn src(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

fn texts(words: &[Word]) -> Vec<&str> {
    words.iter().map(|w| w.text.as_str()).collect()
}

fn error_kinds(df: &Dockerfile) -> Vec<&DockerfileErrorKind> {
    df.errors.iter().map(|e| &e.kind).collect()
}

fn config(df: &Dockerfile) -> ImageConfig {
    effective_config(df).unwrap()
}

const TRITON: &str = r#"# syntax=docker/dockerfile:1.7
ARG BASE_IMAGE=nvcr.io/nvidia/tritonserver:24.05-py3
FROM ${BASE_IMAGE} AS serve
ENV MODEL_REPO=/models \
    LOG_VERBOSE=0
COPY --chown=1000:1000 model_repository /models
EXPOSE 8000 8001 8002/tcp
USER 1000:1000
HEALTHCHECK --interval=30s CMD curl -f localhost:8000/v2/health/ready || exit 1
CMD ["tritonserver", "--model-repository=/models", "--model-control-mode=explicit"]
"#;

#[test]
fn a_triton_dockerfile_end_to_end() {
    let df = parse(TRITON);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    assert_eq!(df.directives[0].name, "syntax");
    assert_eq!(
        src(TRITON, df.directives[0].value_span),
        "docker/dockerfile:1.7"
    );
    assert_eq!(df.stages.len(), 1);
    let stage = &df.stages[0];
    assert_eq!(stage.base.text, "nvcr.io/nvidia/tritonserver:24.05-py3");
    assert_eq!(src(TRITON, stage.base.span), "${BASE_IMAGE}");
    assert!(matches!(
        stage.base.expansions[0].resolution,
        Resolution::Defaulted { .. }
    ));
    assert_eq!(stage.name.as_ref().map(|n| n.text.as_str()), Some("serve"));

    let config = config(&df);
    assert_eq!(
        config.base_image.text,
        "nvcr.io/nvidia/tritonserver:24.05-py3"
    );
    assert!(config.inherits_from_base());
    let user = config.user.as_ref().unwrap();
    assert_eq!(user.value.uid(), Some(1000));
    assert_eq!(src(TRITON, user.value.span), "1000:1000");
    assert_eq!(src(TRITON, user.span), "USER 1000:1000");
    let ports: Vec<(PortRange, &Protocol)> = config
        .expose
        .iter()
        .map(|p| (p.value.range.unwrap(), &p.value.protocol))
        .collect();
    assert_eq!(ports.len(), 3);
    assert_eq!(ports[2], (PortRange::single(8002), &Protocol::Tcp));
    let repo = config.env_var("MODEL_REPO").unwrap();
    assert_eq!(repo.value.text, "/models");
    assert_eq!(src(TRITON, repo.key_span), "MODEL_REPO");
    let verbose = config.env_var("LOG_VERBOSE").unwrap();
    assert_eq!(src(TRITON, verbose.value.span), "0");

    let argv = config.argv().unwrap();
    assert_eq!(
        texts(&argv),
        [
            "tritonserver",
            "--model-repository=/models",
            "--model-control-mode=explicit"
        ]
    );
    assert_eq!(
        src(TRITON, argv[2].span),
        "\"--model-control-mode=explicit\""
    );
    assert_eq!(
        src(TRITON, argv[2].subspan(0..argv[2].text.len())),
        "--model-control-mode=explicit"
    );
    let check = config.healthcheck.as_ref().unwrap();
    let Healthcheck::Cmd(CommandForm::Shell(shell)) = &check.value else {
        panic!("{:?}", check.value);
    };
    assert_eq!(shell.words[0].text, "curl");
    assert_eq!(
        shell.words[3].operator(),
        Some(crate::parse::words::Operator::Or)
    );
    let instr = &df.instructions[check.instruction];
    assert_eq!(
        instr.flag("interval").unwrap().value.as_ref().unwrap().text,
        "30s"
    );
}

#[test]
fn shell_form_continuations_drop_comment_lines_and_map_to_each_line() {
    let text = "FROM nvcr.io/nvidia/tritonserver:24.05-py3\n\
                ENV REPO=/models\n\
                CMD tritonserver \\\n    # the repository\n    --model-repository=$REPO \\\n\n    --model-control-mode=explicit\n";
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    let cmd = &df.instructions[2];
    assert_eq!(src(text, cmd.keyword_span), "CMD");
    assert!(src(text, cmd.span).ends_with("--model-control-mode=explicit"));
    let config = config(&df);
    let cmd = config.cmd.as_ref().unwrap();
    let CommandForm::Shell(shell) = &cmd.value.form else {
        panic!("shell form expected");
    };
    assert_eq!(
        shell.script.text,
        "tritonserver     --model-repository=$REPO     --model-control-mode=explicit"
    );
    assert_eq!(
        texts(&shell.words),
        [
            "tritonserver",
            "--model-repository=/models",
            "--model-control-mode=explicit"
        ]
    );
    assert_eq!(
        src(text, shell.words[2].span),
        "--model-control-mode=explicit"
    );
    assert_eq!(src(text, shell.words[1].subspan(19..26)), "$REPO");
    // Stored as /bin/sh -c "<script>", the implicit shell pointing at the keyword.
    let argv = config.argv().unwrap();
    assert_eq!(argv[0].text, "/bin/sh");
    assert_eq!(argv[1].text, "-c");
    assert_eq!(src(text, argv[0].span), "CMD");
    assert_eq!(argv[2].text, shell.script.text);
}

#[test]
fn escape_directive_changes_the_continuation_character() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n    /b\n";
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    assert_eq!(df.escape, b'`');
    let Body::Copy { dest, .. } = &df.instructions[1].body else {
        panic!();
    };
    assert_eq!(dest.text, "c:\\");
    assert_eq!(df.instructions[2].args.text, "dir c:\\     /b");
}

#[test]
fn directives_only_count_at_the_very_top() {
    let df = parse("# a comment\n# escape=`\nFROM a\nRUN x `\n");
    assert!(df.directives.is_empty());
    assert_eq!(df.escape, b'\\');
    let df = parse("FROM a\n# escape=`\n");
    assert!(df.directives.is_empty());
    let df = parse("# ESCAPE = `\n# Syntax=x\nFROM a\n");
    let names: Vec<&str> = df.directives.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["escape", "syntax"]);
    assert_eq!(df.escape, b'`');
    let df = parse("# escape=\\\n# escape=`\nFROM a\n");
    assert_eq!(
        error_kinds(&df),
        [&DockerfileErrorKind::DuplicateDirective {
            name: "escape".into()
        }]
    );
    let text = "# escape=x\nFROM a\n";
    let df = parse(text);
    assert_eq!(src(text, df.errors[0].span), "x");
}

#[test]
fn heredocs_several_per_instruction_and_on_copy() {
    let text = "FROM alpine\n\
                RUN <<EOF\nset -e\napk add curl\nEOF\n\
                COPY <<-\"CONF\" /etc/app.conf\n\tkey=$VALUE\n\tCONF\n\
                RUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nfirst\nFILE1\nsecond\nFILE2\n\
                CMD [\"sh\"]\n";
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    let keywords: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
    assert_eq!(keywords, ["FROM", "RUN", "COPY", "RUN", "CMD"]);
    let run = &df.instructions[1];
    assert_eq!(run.heredocs[0].content, "set -e\napk add curl\n");
    assert!(run.heredocs[0].expand);
    assert_eq!(src(text, run.heredocs[0].marker), "<<EOF");
    assert_eq!(src(text, run.heredocs[0].body), "set -e\napk add curl\n");
    assert!(src(text, run.span).ends_with("apk add curl\nEOF"));
    let Body::Command(CommandForm::Shell(shell)) = &run.body else {
        panic!();
    };
    assert!(shell.split_error.is_none());
    let copy = &df.instructions[2];
    assert_eq!(copy.heredocs[0].name, "CONF");
    assert!(!copy.heredocs[0].expand);
    assert!(copy.heredocs[0].strip_tabs);
    assert_eq!(copy.heredocs[0].content, "key=$VALUE\n");
    let Body::Copy { sources, dest } = &copy.body else {
        panic!();
    };
    assert_eq!(sources[0].text, "<<-CONF");
    assert_eq!(dest.text, "/etc/app.conf");
    let two = &df.instructions[3];
    let names: Vec<&str> = two.heredocs.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["FILE1", "FILE2"]);
    assert_eq!(two.heredocs[1].content, "second\n");
    let words: Vec<(WordKind, &str)> = match &two.body {
        Body::Command(CommandForm::Shell(shell)) => shell
            .words
            .iter()
            .map(|w| (w.kind, w.text.as_str()))
            .take(2)
            .collect(),
        _ => panic!(),
    };
    assert_eq!(words[1].1, "FILE1");
}

#[test]
fn exec_form_json_escapes_and_fallback() {
    let text = r#"FROM a
ENTRYPOINT ["/bin/tini", "--", "tritonserver", "--log-file=\u002Ftmp/x\"y"] trailing
CMD ["tritonserver", --model-repository=/m]
RUN ["echo", 1]
"#;
    let df = parse(text);
    let Body::Command(CommandForm::Exec(words)) = &df.instructions[1].body else {
        panic!("{:?}", df.instructions[1].body);
    };
    assert_eq!(words[3].text, "--log-file=/tmp/x\"y");
    assert_eq!(src(text, words[3].subspan(0..10)), "--log-file");
    assert_eq!(src(text, words[3].subspan(11..12)), "\\u002F");
    let Body::Command(CommandForm::Shell(shell)) = &df.instructions[2].body else {
        panic!();
    };
    assert!(shell.looks_like_json);
    assert_eq!(
        error_kinds(&df),
        [&DockerfileErrorKind::NotStringArray {
            keyword: "RUN".into()
        }]
    );
    let df = parse("FROM a\nRUN [ -f /etc/x ] && echo yes\n");
    let Body::Command(CommandForm::Shell(shell)) = &df.instructions[1].body else {
        panic!();
    };
    assert!(!shell.looks_like_json);
    assert_eq!(shell.words[0].text, "[");
}

#[test]
fn multi_stage_inheritance_and_entrypoint_resetting_cmd() {
    let text = r#"FROM nvcr.io/nvidia/tritonserver:24.05-py3 AS base
ENV A=1
USER triton-server
ENTRYPOINT ["/opt/entry.sh"]
CMD ["tritonserver"]
FROM python:3.11 AS builder
USER root
FROM BASE
COPY --from=builder /wheels /wheels
ENTRYPOINT ["/other.sh"]
"#;
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    assert_eq!(df.stages[2].base_stage, Some(0));
    assert_eq!(df.stage("builder").map(|s| s.index), Some(1));
    assert_eq!(df.stage("1").map(|s| s.index), Some(1));
    let config = config(&df);
    assert_eq!(config.chain, [0, 2]);
    assert_eq!(
        config.base_image.text,
        "nvcr.io/nvidia/tritonserver:24.05-py3"
    );
    let user = config.user.as_ref().unwrap();
    assert_eq!(user.value.user.text, "triton-server");
    assert_eq!(user.stage, 0);
    assert_eq!(config.env_var("A").unwrap().value.text, "1");
    assert!(config.cmd.is_none());
    assert_eq!(config.cmd_reset_by, Some(9));
    assert_eq!(texts(&config.argv().unwrap()), ["/other.sh"]);
    // The ENV of the base stage is visible when the child substitutes.
    let df = parse("FROM a AS one\nENV P=/models\nFROM one\nWORKDIR $P/x\n");
    assert_eq!(config_of(&df).workdir_path.as_deref(), Some("/models/x"));
}

fn config_of(df: &Dockerfile) -> ImageConfig {
    effective_config(df).unwrap()
}

#[test]
fn cmd_set_in_the_same_stage_survives_entrypoint() {
    for text in [
        "FROM a\nCMD [\"--x\"]\nENTRYPOINT [\"tritonserver\"]\n",
        "FROM a\nENTRYPOINT [\"tritonserver\"]\nCMD [\"--x\"]\n",
    ] {
        let config = config(&parse(text));
        assert_eq!(
            texts(&config.argv().unwrap()),
            ["tritonserver", "--x"],
            "{text}"
        );
        assert_eq!(config.cmd_reset_by, None);
    }
}

#[test]
fn shell_form_entrypoint_ignores_cmd_and_shell_changes_the_shell() {
    let text = "FROM a\nENTRYPOINT tritonserver --model-repository=/m\nCMD [\"--ignored\"]\n";
    let config = config(&parse(text));
    assert!(config.cmd_ignored());
    assert_eq!(
        texts(&config.argv().unwrap()),
        ["/bin/sh", "-c", "tritonserver --model-repository=/m"]
    );
    let text = "FROM a\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nCMD tritonserver\n";
    let config = config_of(&parse(text));
    let argv = config.argv().unwrap();
    assert_eq!(
        texts(&argv),
        ["/bin/bash", "-o", "pipefail", "-c", "tritonserver"]
    );
    assert_eq!(src(text, argv[0].span), "\"/bin/bash\"");
    // A shell-form CMD after an exec ENTRYPOINT becomes arguments to it.
    let config = config_of(&parse("FROM a\nENTRYPOINT [\"e\"]\nCMD c d\n"));
    assert_eq!(
        texts(&config.argv().unwrap()),
        ["e", "/bin/sh", "-c", "c d"]
    );
}

#[test]
fn env_and_label_forms() {
    let text = "FROM a\nENV A=1 B=\"two words\" C=$A D=x\\ y\nENV E=$A\nENV LEGACY value with  spaces\nLABEL \"org.opencontainers.image.source\"=\"https://x\" version=1\n";
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    let Body::Env(pairs) = &df.instructions[1].body else {
        panic!();
    };
    let kv: Vec<(&str, &str)> = pairs
        .iter()
        .map(|p| (p.key.as_str(), p.value.text.as_str()))
        .collect();
    // `$A` in the same ENV sees the value from before the instruction.
    assert_eq!(
        kv,
        [("A", "1"), ("B", "two words"), ("C", "$A"), ("D", "x y")]
    );
    assert_eq!(src(text, pairs[1].value.span), "two words");
    assert_eq!(src(text, pairs[1].span), "B=\"two words\"");
    let config = config(&df);
    assert_eq!(config.env_var("E").unwrap().value.text, "1");
    let legacy = config.env_var("LEGACY").unwrap();
    assert_eq!(legacy.value.text, "value with  spaces");
    assert_eq!(src(text, legacy.key_span), "LEGACY");
    assert_eq!(config.labels[0].name, "org.opencontainers.image.source");
    assert_eq!(config.labels[0].value.text, "https://x");
}

#[test]
fn args_global_and_per_stage() {
    let text = "ARG VERSION=24.05\nARG REGISTRY\nFROM ${REGISTRY:-nvcr.io}/nvidia/tritonserver:${VERSION}-py3\nRUN echo $VERSION\nARG VERSION\nENV V=$VERSION\nARG LOCAL=x\nENV L=$LOCAL\n";
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    assert_eq!(
        df.stages[0].base.text,
        "nvcr.io/nvidia/tritonserver:24.05-py3"
    );
    assert!(df.stages[0].base.is_resolved());
    // A global ARG is not visible in a stage until declared there.
    let Body::Command(CommandForm::Shell(run)) = &df.instructions[3].body else {
        panic!();
    };
    assert_eq!(run.words[1].text, "$VERSION");
    assert!(!run.words[1].is_resolved());
    let config = config(&df);
    let v = config.env_var("V").unwrap();
    assert_eq!(v.value.text, "24.05");
    assert!(v.value.is_defaulted());
    assert_eq!(config.env_var("L").unwrap().value.text, "x");
    // ARG without any default: unknown.
    let df = parse("ARG TAG\nFROM img:$TAG\n");
    assert!(!df.stages[0].base.is_resolved());
    assert_eq!(df.stages[0].base.text, "img:$TAG");
}

#[test]
fn keywords_are_case_insensitive_and_flags_are_parsed() {
    let text = "from --platform=$BUILDPLATFORM golang:1.22 as build\nrun --mount=type=cache,target=/root/.cache go build\nFROM scratch\ncopy --from=build --chown=1000:1000 --link /out /app\ncmd [\"/app\"]\n";
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    assert_eq!(df.instructions[0].keyword, Keyword::From);
    assert_eq!(
        df.stages[0].platform.as_ref().unwrap().text,
        "$BUILDPLATFORM"
    );
    assert_eq!(df.stages[0].name.as_ref().unwrap().text, "build");
    let mount = df.instructions[1].flag("mount").unwrap();
    assert_eq!(
        mount.value.as_ref().unwrap().text,
        "type=cache,target=/root/.cache"
    );
    let copy = &df.instructions[3];
    let names: Vec<&str> = copy.flags.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["from", "chown", "link"]);
    assert!(copy.flag("link").unwrap().value.is_none());
    assert_eq!(
        src(text, copy.flag("chown").unwrap().span),
        "--chown=1000:1000"
    );
    let config = config(&df);
    assert!(config.from_scratch);
    assert!(!config.inherits_from_base());
}

#[test]
fn workdir_joins_relative_paths() {
    let config = config(&parse("FROM scratch\nWORKDIR a\nWORKDIR b/\nWORKDIR c\n"));
    assert_eq!(config.workdir_path.as_deref(), Some("/a/b/c"));
    let config = config_of(&parse("FROM x\nWORKDIR rel\n"));
    assert_eq!(config.workdir_path, None);
    let config = config_of(&parse("FROM x\nWORKDIR /opt\nWORKDIR tritonserver\n"));
    assert_eq!(config.workdir_path.as_deref(), Some("/opt/tritonserver"));
}

#[test]
fn healthcheck_none_and_onbuild() {
    let df = parse("FROM a\nHEALTHCHECK NONE\nONBUILD RUN echo hi\nONBUILD ONBUILD RUN x\n");
    let config = config(&df);
    assert_eq!(config.healthcheck.unwrap().value, Healthcheck::None);
    let Body::Onbuild(inner) = &df.instructions[2].body else {
        panic!();
    };
    assert_eq!(inner.keyword, Keyword::Run);
    assert_eq!(
        error_kinds(&df),
        [&DockerfileErrorKind::InvalidOnbuild {
            keyword: "ONBUILD".into()
        }]
    );
}

#[test]
fn bom_and_crlf() {
    let text = "\u{feff}FROM nvcr.io/nvidia/tritonserver:24.05-py3\r\nUSER triton-server\r\nCMD tritonserver \\\r\n  --model-repository=/models\r\n";
    let df = parse(text);
    assert!(df.errors.is_empty(), "{:?}", df.errors);
    assert_eq!(src(text, df.instructions[0].keyword_span), "FROM");
    let config = config(&df);
    assert_eq!(config.user.unwrap().value.user.text, "triton-server");
    let cmd = config.cmd.unwrap();
    let CommandForm::Shell(shell) = &cmd.value.form else {
        panic!();
    };
    assert_eq!(
        shell.script.text,
        "tritonserver   --model-repository=/models"
    );
    assert_eq!(src(text, shell.words[1].span), "--model-repository=/models");
}

#[test]
fn malformed_files_give_positioned_errors() {
    let df = parse("");
    assert_eq!(error_kinds(&df), [&DockerfileErrorKind::Empty]);
    let df = parse("# only a comment\n\n   \n");
    assert_eq!(error_kinds(&df), [&DockerfileErrorKind::Empty]);

    let text = "RUN apt-get update\nFROM a\n";
    let df = parse(text);
    assert_eq!(src(text, df.errors[0].span), "RUN");
    assert!(matches!(
        df.errors[0].kind,
        DockerfileErrorKind::InstructionBeforeFrom { .. }
    ));
    let df = parse("ARG A=1\n");
    assert_eq!(error_kinds(&df), [&DockerfileErrorKind::NoFrom]);

    let text = "FROM a\nFROBNICATE x\nUSER 1000\n";
    let df = parse(text);
    assert_eq!(src(text, df.errors[0].span), "FROBNICATE");
    assert_eq!(config(&df).user.unwrap().value.uid(), Some(1000));

    let text = "FROM a\nRUN <<EOF\necho never ends\n";
    let df = parse(text);
    assert_eq!(src(text, df.errors[0].span), "<<EOF");
    assert_eq!(
        df.errors[0].kind,
        DockerfileErrorKind::UnterminatedHeredoc { name: "EOF".into() }
    );

    let text = "FROM a\nRUN make \\";
    let df = parse(text);
    assert_eq!(
        error_kinds(&df),
        [&DockerfileErrorKind::DanglingContinuation]
    );
    assert_eq!(src(text, df.errors[0].span), "\\");
    assert_eq!(df.instructions[1].args.text, "make");

    let text = "FROM a b\nENV a=b c\nHEALTHCHECK CHECK x\nSHELL /bin/bash -c\nEXPOSE 80/tcp http\nUSER\nCOPY onlyone\n";
    let df = parse(text);
    let under: Vec<&str> = df.errors.iter().map(|e| src(text, e.span)).collect();
    assert_eq!(
        under,
        [
            "a b",
            "c",
            "CHECK",
            "/bin/bash -c",
            "http",
            "USER",
            "onlyone"
        ]
    );
    // Still one stage: what follows a malformed FROM is not "before FROM".
    assert_eq!(df.stages.len(), 1);

    let text = "FROM a\nRUN echo \"unterminated\nCMD [\"x\"]\n";
    let df = parse(text);
    let Body::Command(CommandForm::Shell(shell)) = &df.instructions[1].body else {
        panic!();
    };
    assert!(shell.split_error.is_some());
    assert_eq!(df.instructions.len(), 3);
}

/// Random mixes of Dockerfile syntax never panic and keep every span inside the text.
#[test]
fn arbitrary_dockerfiles_never_panic() {
    let pieces: &[&str] = &[
        "FROM a",
        "FROM a AS b",
        "\n",
        "\r\n",
        " ",
        "\\",
        "`",
        "RUN ",
        "CMD ",
        "[\"x\"",
        "]",
        "\"",
        "'",
        "<<EOF",
        "EOF",
        "# escape=`",
        "#",
        "ENV ",
        "A=",
        "$A",
        "${A:-",
        "}",
        "USER ",
        "ARG ",
        "COPY ",
        "HEALTHCHECK ",
        "ONBUILD ",
        "SHELL ",
        "--x=",
        "é",
        "\t",
        "=",
    ];
    for text in crate::parse::fuzz::texts(pieces, 3000, 30, 0x2545_F491_4F6C_DD1D) {
        let df = parse(&text);
        let within = |span: Span| span.start <= span.end && span.end <= text.len();
        for error in &df.errors {
            assert!(within(error.span), "{text:?}: {error:?}");
        }
        for instr in &df.instructions {
            assert!(within(instr.span) && within(instr.keyword_span), "{text:?}");
        }
        if let Some(config) = effective_config(&df)
            && let Some(argv) = config.argv()
        {
            for word in argv {
                assert!(within(word.span), "{text:?}");
            }
        }
    }
}

#[test]
fn self_doubling_env_stays_bounded() {
    let mut text = String::from("FROM a\nENV A=abcdefgh\n");
    for _ in 0..40 {
        text.push_str("ENV A=$A$A\n");
    }
    let df = parse(&text);
    let config = config(&df);
    assert!(config.env_var("A").unwrap().value.text.len() <= 2 * MAX_VALUE_LEN);
}
