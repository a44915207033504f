use std::collections::HashMap;

use super::*;

const FILE: FileId = FileId(0);

fn split(text: &str) -> Vec<Word> {
    split_words(FILE, text, 0, &NoVars).unwrap()
}

fn split_vars(text: &str, vars: &[(&str, &str)]) -> Vec<Word> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    split_words(FILE, text, 0, &vars).unwrap()
}

fn texts(words: &[Word]) -> Vec<&str> {
    words.iter().map(|w| w.text.as_str()).collect()
}

fn src(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

/// The source text under `needle`'s first occurrence in the word's text.
fn under<'a>(text: &'a str, word: &Word, needle: &str) -> &'a str {
    let at = word.text.find(needle).unwrap();
    src(text, word.subspan(at..at + needle.len()))
}

#[test]
fn plain_words_and_their_spans() {
    let text = "docker run --rm -p 8000:8000 img";
    let words = split(text);
    assert_eq!(
        texts(&words),
        ["docker", "run", "--rm", "-p", "8000:8000", "img"]
    );
    assert_eq!(src(text, words[4].span), "8000:8000");
    assert!(words.iter().all(|w| w.is_plain() && w.is_word()));
}

#[test]
fn quotes_are_removed_and_spans_keep_them() {
    let text = r#"echo 'a b' "c d" e\ f"g"'h'"#;
    let words = split(text);
    assert_eq!(texts(&words), ["echo", "a b", "c d", "e fgh"]);
    assert_eq!(src(text, words[1].span), "'a b'");
    assert_eq!(src(text, words[3].span), r#"e\ f"g"'h'"#);
    assert!(words[1].quoted);
    // Each letter of the concatenated word maps to where it is written.
    assert_eq!(under(text, &words[3], "g"), "g");
    assert_eq!(under(text, &words[3], "h"), "h");
    assert_eq!(under(text, &words[3], "fg"), r#"f"g"#);
}

#[test]
fn a_flag_inside_sh_dash_c_maps_to_exactly_its_source() {
    let text = r#"sh -c "tritonserver --model-repository=/m --model-control-mode=explicit""#;
    let words = split(text);
    assert_eq!(words.len(), 3);
    let inner = words[2].split(&NoVars).unwrap();
    assert_eq!(
        texts(&inner),
        [
            "tritonserver",
            "--model-repository=/m",
            "--model-control-mode=explicit"
        ]
    );
    assert_eq!(src(text, inner[2].span), "--model-control-mode=explicit");
    assert_eq!(under(text, &words[2], "explicit"), "explicit");
    // The value after '=' as a word of its own.
    let value = inner[2].slice(21..29);
    assert_eq!(value.text, "explicit");
    assert_eq!(src(text, value.span), "explicit");
}

#[test]
fn escaped_quotes_inside_a_sh_c_string_still_map_exactly() {
    let text = r#"bash -c "tritonserver --log-file=\"/tmp/a b.log\" --strict-model-config=false""#;
    let words = split(text);
    let inner = words[2].split(&NoVars).unwrap();
    assert_eq!(
        texts(&inner),
        [
            "tritonserver",
            "--log-file=/tmp/a b.log",
            "--strict-model-config=false"
        ]
    );
    assert_eq!(src(text, inner[1].span), r#"--log-file=\"/tmp/a b.log\""#);
    assert_eq!(under(text, &inner[1], "/tmp/a b.log"), r#"/tmp/a b.log"#);
    assert_eq!(src(text, inner[2].span), "--strict-model-config=false");
}

#[test]
fn line_continuations_join_lines_lf_and_crlf() {
    let text = "docker run \\\n  --gpus all \\\r\n  -v a:b\\\n/c img";
    let words = split(text);
    assert_eq!(
        texts(&words),
        ["docker", "run", "--gpus", "all", "-v", "a:b/c", "img"]
    );
    assert_eq!(src(text, words[2].span), "--gpus");
    assert_eq!(src(text, words[5].span), "a:b\\\n/c");
    assert_eq!(under(text, &words[5], "/c"), "/c");
    assert_eq!(under(text, &words[5], "b/"), "b\\\n/");
}

#[test]
fn crlf_line_ends_are_newline_operators_not_text() {
    let words = split("a b\r\nc\r\n");
    assert_eq!(texts(&words), ["a", "b", "\r\n", "c", "\r\n"]);
    assert_eq!(words[2].operator(), Some(Operator::Newline));
}

#[test]
fn unknown_variables_stay_as_written_and_are_marked() {
    let text = "-v ${PWD}/model_repository:/models $IMAGE";
    let words = split(text);
    assert_eq!(words[1].text, "${PWD}/model_repository:/models");
    assert!(!words[1].is_resolved());
    assert_eq!(words[1].unresolved_ranges(), vec![0..6]);
    assert!(words[1].is_range_resolved(25..32));
    assert_eq!(under(text, &words[1], ":/models"), ":/models");
    assert_eq!(words[2].text, "$IMAGE");
    assert_eq!(
        words[2].expansions[0].kind,
        ExpansionKind::Variable {
            name: "IMAGE".into()
        }
    );
}

#[test]
fn known_variables_expand_and_map_to_the_reference() {
    let text = r#"run "$IMG" ${TAG}x"#;
    let words = split_vars(
        text,
        &[("IMG", "nvcr.io/nvidia/tritonserver"), ("TAG", "24.01")],
    );
    assert_eq!(
        texts(&words),
        ["run", "nvcr.io/nvidia/tritonserver", "24.01x"]
    );
    assert!(words[1].is_resolved());
    assert_eq!(under(text, &words[1], "tritonserver"), "$IMG");
    assert_eq!(under(text, &words[2], "x"), "x");
    assert_eq!(under(text, &words[2], "01x"), "${TAG}x");
}

#[test]
fn defaults_apply_to_unknown_variables_and_map_exactly() {
    let text = "${TRITON_IMAGE:-nvcr.io/nvidia/tritonserver:24.01-py3}";
    let words = split(text);
    assert_eq!(words[0].text, "nvcr.io/nvidia/tritonserver:24.01-py3");
    assert!(words[0].is_resolved());
    assert!(words[0].is_defaulted());
    assert_eq!(under(text, &words[0], "24.01-py3"), "24.01-py3");
}

#[test]
fn default_operators_follow_posix() {
    let vars = [("EMPTY", ""), ("SET", "v")];
    let cases = [
        ("${EMPTY:-d}", Some("d")),
        ("${EMPTY-d}", None),
        ("${SET:-d}", Some("v")),
        ("${UNKNOWN-d}", Some("d")),
        ("${SET:+alt}", Some("alt")),
        ("${EMPTY:+alt}", None),
        ("${EMPTY+alt}", Some("alt")),
        ("${SET:?oops}", Some("v")),
        ("${#SET}", Some("1")),
    ];
    for (text, expected) in cases {
        let words = split_vars(text, &vars);
        assert_eq!(words.first().map(|w| w.text.as_str()), expected, "{text}");
    }
    // Alternatives of unknown variables cannot be decided.
    let words = split("${UNKNOWN:+alt} ${UNKNOWN:?msg} ${X%%.*}");
    assert_eq!(
        texts(&words),
        ["${UNKNOWN:+alt}", "${UNKNOWN:?msg}", "${X%%.*}"]
    );
    assert!(words.iter().all(|w| !w.is_resolved()));
}

#[test]
fn assign_default_is_recorded() {
    let text = r#": "${MODEL_REPO:=/models}""#;
    let words = split(text);
    assert_eq!(words[1].text, "/models");
    let assignment = &words[1].assignments[0];
    assert_eq!(assignment.name, "MODEL_REPO");
    assert_eq!(assignment.value.text, "/models");
    assert!(assignment.value.defaulted);
}

#[test]
fn nested_defaults_resolve_inner_references() {
    let text = "${IMAGE:-${REGISTRY}/tritonserver:${TAG:-24.05}-py3}";
    let words = split_vars(text, &[("REGISTRY", "nvcr.io/nvidia")]);
    assert_eq!(words[0].text, "nvcr.io/nvidia/tritonserver:24.05-py3");
    assert!(words[0].is_resolved());
    assert_eq!(under(text, &words[0], "/tritonserver:"), "/tritonserver:");
    assert_eq!(under(text, &words[0], "nvcr.io"), "${REGISTRY}");
    // Unknown inner references keep the outer default unresolved.
    let words = split(text);
    assert_eq!(words[0].text, "${REGISTRY}/tritonserver:24.05-py3");
    assert!(!words[0].is_resolved());
}

#[test]
fn command_substitutions_are_kept_with_their_body() {
    let text = "-v $(pwd)/models:/models `id -u`:x $((1 + 2))";
    let words = split(text);
    assert_eq!(words[1].text, "$(pwd)/models:/models");
    assert!(!words[1].is_resolved());
    match &words[1].expansions[0].kind {
        ExpansionKind::Command { body } => assert_eq!(src(text, *body), "pwd"),
        other => panic!("{other:?}"),
    }
    assert_eq!(words[2].text, "`id -u`:x");
    assert_eq!(words[3].text, "$((1 + 2))");
    assert_eq!(words[3].expansions[0].kind, ExpansionKind::Arithmetic);
}

#[test]
fn nested_substitutions_with_quotes_and_parens() {
    let text = r#"CID=$(docker run -d -e "A=$(echo ')')" img) next"#;
    let words = split(text);
    assert_eq!(texts(&words).len(), 2);
    assert_eq!(words[1].text, "next");
    assert_eq!(words[0].assignment().map(|(n, _)| n), Some("CID"));
}

#[test]
fn operators_and_redirections_are_tokens() {
    let text = "a && b || c | d & e; f 2>&1 >/dev/null &>log <in\ng";
    let words = split(text);
    let kinds: Vec<String> = words
        .iter()
        .map(|w| match w.kind {
            WordKind::Word => w.text.clone(),
            WordKind::Operator(op) => format!("{op:?}"),
            WordKind::Redirect(r) => format!("{:?}{:?}", r.fd, r.op),
            WordKind::HeredocBody => "body".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "a",
            "And",
            "b",
            "Or",
            "c",
            "Pipe",
            "d",
            "Background",
            "e",
            "Semi",
            "f",
            "Some(2)DupOut",
            "1",
            "NoneOut",
            "/dev/null",
            "NoneOutErr",
            "log",
            "NoneIn",
            "in",
            "Newline",
            "g"
        ]
    );
    assert_eq!(src(text, words[11].span), "2>&");
}

#[test]
fn comments_end_at_the_line_end_but_not_inside_words() {
    let words = split("a#b # comment 'unterminated\nc");
    assert_eq!(texts(&words), ["a#b", "\n", "c"]);
}

#[test]
fn heredoc_bodies_are_skipped_as_one_token() {
    let text = "cat <<-'EOF' > f\n\tdocker run evil\n\tEOF\ndocker run good\n";
    let words = split(text);
    let body = words
        .iter()
        .find(|w| w.kind == WordKind::HeredocBody)
        .unwrap();
    assert_eq!(body.text, "\tdocker run evil\n");
    let after: Vec<&str> = words
        .iter()
        .skip_while(|w| w.kind != WordKind::HeredocBody)
        .skip(2)
        .map(|w| w.text.as_str())
        .collect();
    assert_eq!(after, ["docker", "run", "good", "\n"]);
}

#[test]
fn field_splitting_of_unquoted_values() {
    let text = r#"docker run $GPU_ARGS "$GPU_ARGS" img"#;
    let words = split_vars(text, &[("GPU_ARGS", "--gpus  all ")]);
    assert_eq!(
        texts(&words),
        ["docker", "run", "--gpus", "all", "--gpus  all ", "img"]
    );
    assert_eq!(src(text, words[2].span), "$GPU_ARGS");
    assert_eq!(src(text, words[3].span), "$GPU_ARGS");
    assert_eq!(words[3].expansions.len(), 1);
    // An empty unquoted value is no word at all; a quoted one is an empty word.
    let words = split_vars(r#"a $E "$E" b"#, &[("E", "")]);
    assert_eq!(texts(&words), ["a", "", "b"]);
    // Unquoted defaults split too.
    let words = split("x ${OPTS:--p 8000:8000}");
    assert_eq!(texts(&words), ["x", "-p", "8000:8000"]);
    let text = "x ${OPTS:--p 8000:8000}";
    assert_eq!(src(text, words[2].subspan(0..4)), "8000");
}

#[test]
fn without_field_splitting_values_stay_one_word() {
    let vars: HashMap<String, String> = [("A".to_string(), "x y".to_string())].into();
    let words = split_mapped(
        "K=$A",
        SourceMap::identity(FILE, 0, 4),
        SplitOptions::SHELL.without_field_splitting(),
        &vars,
    )
    .unwrap();
    assert_eq!(texts(&words), ["K=x y"]);
}

#[test]
fn ansi_c_quotes_decode_escapes() {
    let text = r"echo $'a\tb\x41\u00e9\'' z";
    let words = split(text);
    assert_eq!(words[1].text, "a\tbAé'");
    assert_eq!(under(text, &words[1], "\t"), r"\t");
    assert_eq!(under(text, &words[1], "b"), "b");
}

#[test]
fn assignments_need_a_plain_name() {
    let words = split(r#"A=1 "B"=2 C+=3 _d9="x y" 9e=1"#);
    let names: Vec<Option<&str>> = words
        .iter()
        .map(|w| w.assignment().map(|(n, _)| n))
        .collect();
    assert_eq!(names, [Some("A"), None, None, Some("_d9"), None]);
    let (_, value) = words[3].assignment().unwrap();
    assert_eq!(&words[3].text[value], "x y");
}

#[test]
fn multibyte_text_keeps_byte_spans() {
    let text = "é \"héllo wörld\" ü";
    let words = split(text);
    assert_eq!(texts(&words), ["é", "héllo wörld", "ü"]);
    assert_eq!(under(text, &words[1], "wörld"), "wörld");
    assert_eq!(src(text, words[2].span), "ü");
}

#[test]
fn base_offsets_shift_every_span() {
    let file_text = "key: tritonserver --http-port=9000";
    let text = &file_text[5..];
    let words = split_words(FILE, text, 5, &NoVars).unwrap();
    assert_eq!(src(file_text, words[1].span), "--http-port=9000");
}

#[test]
fn slices_carry_expansions_and_spans() {
    let text = "--volume=${SRC}:/models:ro";
    let words = split(text);
    let value = words[0].slice(9..words[0].text.len());
    assert_eq!(value.text, "${SRC}:/models:ro");
    assert!(!value.is_resolved());
    assert_eq!(value.unresolved_ranges(), vec![0..6]);
    assert_eq!(src(text, value.span), "${SRC}:/models:ro");
    let target = value.slice(7..14);
    assert_eq!(target.text, "/models");
    assert!(target.is_resolved());
    assert_eq!(src(text, target.span), "/models");
}

#[test]
fn dockerfile_dialect_uses_its_escape_and_no_shell_syntax() {
    let opts = SplitOptions::dockerfile(b'`');
    let text = r#"C:\path `"q`" $(x) "a`"b" ${V:-d}"#;
    let words = split_mapped(
        text,
        SourceMap::identity(FILE, 0, text.len()),
        opts,
        &NoVars,
    )
    .unwrap();
    assert_eq!(texts(&words), [r"C:\path", "\"q\"", "$(x)", "a\"b", "d"]);
    // A backslash in double quotes escapes only ", $ and itself.
    let opts = SplitOptions::dockerfile(b'\\');
    let text = r#""a\"b\$c\d""#;
    let words = split_mapped(
        text,
        SourceMap::identity(FILE, 0, text.len()),
        opts,
        &NoVars,
    )
    .unwrap();
    assert_eq!(texts(&words), [r#"a"b$c\d"#]);
}

#[test]
fn dockerfile_whole_mode_keeps_blanks() {
    let opts = SplitOptions::dockerfile(b'\\').as_whole();
    let text = "my value  $X \"q q\"";
    let vars: HashMap<String, String> = [("X".to_string(), "1 2".to_string())].into();
    let words = split_mapped(text, SourceMap::identity(FILE, 0, text.len()), opts, &vars).unwrap();
    assert_eq!(texts(&words), ["my value  1 2 q q"]);
}

#[test]
fn make_dialect_reads_make_variables() {
    let vars: HashMap<String, String> = [
        (
            "IMAGE".to_string(),
            "nvcr.io/nvidia/tritonserver:24.01-py3".to_string(),
        ),
        ("P".to_string(), "8000".to_string()),
    ]
    .into();
    let text = "docker run -p $(P):8000 -v $$PWD/m:/m '$(IMAGE)' $(shell id -u) $@";
    let words = split_mapped(
        text,
        SourceMap::identity(FILE, 0, text.len()),
        SplitOptions::MAKE,
        &vars,
    )
    .unwrap();
    assert_eq!(
        texts(&words),
        [
            "docker",
            "run",
            "-p",
            "8000:8000",
            "-v",
            "$PWD/m:/m",
            "nvcr.io/nvidia/tritonserver:24.01-py3",
            "$(shell id -u)",
            "$@"
        ]
    );
    assert_eq!(under(text, &words[5], "/m:/m"), "/m:/m");
    assert!(!words[5].is_resolved());
}

#[test]
fn errors_point_at_the_open_construct() {
    let cases = [
        ("echo 'abc", "'", WordsErrorKind::UnterminatedSingleQuote),
        ("echo \"abc", "\"", WordsErrorKind::UnterminatedDoubleQuote),
        (
            "x $(echo",
            "$(",
            WordsErrorKind::UnterminatedCommandSubstitution,
        ),
        ("x `echo", "`", WordsErrorKind::UnterminatedBacktick),
        ("x ${A:-b", "${", WordsErrorKind::UnterminatedBrace),
        ("x ${A%b", "${", WordsErrorKind::UnterminatedBrace),
        ("x \\\n", "\\", WordsErrorKind::DanglingContinuation),
        ("x \\", "\\", WordsErrorKind::DanglingContinuation),
    ];
    for (text, under, kind) in cases {
        let error = split_words(FILE, text, 0, &NoVars).unwrap_err();
        assert_eq!(error.kind, kind, "{text}");
        assert_eq!(src(text, error.span), under, "{text}");
    }
    let text = "cat <<EOF\nno end";
    let error = split_words(FILE, text, 0, &NoVars).unwrap_err();
    assert_eq!(src(text, error.span), "<<");
    assert!(error.to_string().contains("EOF"));
}

#[test]
fn the_lexer_resumes_at_the_next_line_after_an_error() {
    let text = "echo \"broken\ndocker run img\n";
    let mut lexer = Lexer::new(FILE, text, 0, SplitOptions::SHELL);
    let mut words = Vec::new();
    let mut errors = Vec::new();
    while let Some(item) = lexer.next_word(&NoVars) {
        match item {
            Ok(w) => words.push(w.text),
            Err(e) => errors.push(e.kind),
        }
    }
    assert_eq!(errors, [WordsErrorKind::UnterminatedDoubleQuote]);
    assert_eq!(words, ["echo", "docker", "run", "img", "\n"]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = "${a:-".repeat(10_000);
    let error = split_words(FILE, &text, 0, &NoVars).unwrap_err();
    assert_eq!(error.kind, WordsErrorKind::TooDeep);
    let text = "$(".repeat(10_000);
    assert!(split_words(FILE, &text, 0, &NoVars).is_err());
}

#[test]
fn subspan_handles_edges() {
    let text = "ab";
    let word = &split(text)[0];
    assert_eq!(word.subspan(0..0), Span::new(FILE, 0, 0));
    assert_eq!(word.subspan(2..2), Span::new(FILE, 2, 2));
    assert_eq!(word.subspan(1..5), word.span);
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = word.subspan(2..1);
    assert_eq!(reversed, word.span);
    let empty = &split("''")[0];
    assert_eq!(empty.text, "");
    assert_eq!(empty.subspan(0..0).start, 0);
}

/// Every mix of the special characters either splits or fails with a span inside the text;
/// nothing panics, and every span lies in the input.
#[test]
fn arbitrary_inputs_never_panic() {
    let alphabet: &[&str] = &[
        "a", " ", "'", "\"", "\\", "$", "{", "}", "(", ")", "`", "\n", "\r", "#", ":-", "<<", "-",
        ";", "&", "|", "é", "=", "\t", "${", "$(", "EOF",
    ];
    for text in crate::parse::fuzz::texts(alphabet, 4000, 24, 0x9E37_79B9_7F4A_7C15) {
        for opts in [
            SplitOptions::SHELL,
            SplitOptions::MAKE,
            SplitOptions::dockerfile(b'\\'),
            SplitOptions::dockerfile(b'`').as_whole(),
        ] {
            let mut lexer = Lexer::new(FILE, &text, 0, opts);
            let mut steps = 0;
            while let Some(item) = lexer.next_word(&NoVars) {
                steps += 1;
                assert!(steps < 1000, "no progress on {text:?}");
                let span = match &item {
                    Ok(word) => {
                        let _ = word.subspan(0..word.text.len());
                        word.span
                    }
                    Err(error) => error.span,
                };
                assert!(span.start <= span.end && span.end <= text.len(), "{text:?}");
            }
        }
    }
}

#[test]
fn many_unterminated_constructs_stop_after_a_bounded_number_of_errors() {
    let text = "$(\n".repeat(20_000);
    let mut lexer = Lexer::new(FILE, &text, 0, SplitOptions::SHELL);
    let mut errors = Vec::new();
    while let Some(item) = lexer.next_word(&NoVars) {
        if let Err(error) = item {
            errors.push(error.kind);
        }
    }
    assert_eq!(errors.len(), 64);
    assert_eq!(errors.last(), Some(&WordsErrorKind::TooManyErrors));
}
