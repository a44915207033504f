//! Parsers: linear time and bounded memory on inputs that were quadratic or exponential.

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::parse::dockerfile::{effective_config, parse_dockerfile};
use tritonguard::parse::pbtxt::parse_model_config;
use tritonguard::parse::yaml::parse_stream;
use tritonguard::pipeline::scan_texts;
use tritonguard::repo::classify::Class;
use tritonguard::repo::pickle::{self, PickleErrorKind, ScanOptions};
use tritonguard::source::FileId;
use tritonguard::tree::Node;

use crate::bounded::{bounded, limits};

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec:\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n      args: [tritonserver, --model-repository=/m, --model-control-mode=explicit]\n";

#[test]
fn yaml_with_200k_distinct_keys() {
    bounded(
        concat!(module_path!(), "::yaml_with_200k_distinct_keys"),
        limits(60, 400),
        || {
            let mut text = String::from("kind: ConfigMap\ndata:\n");
            for i in 0..200_000 {
                text.push_str(&format!("  k{i:07}: v\n"));
            }
            assert!(text.len() > 2_500_000);
            let stream = parse_stream(FileId(0), &text);
            assert!(stream.errors.is_empty());
            let data = stream.documents[0].root.get("data").unwrap();
            assert_eq!(data.as_map().len(), 200_000);
        },
    );
}

#[test]
fn yaml_with_100k_duplicate_keys() {
    bounded(
        concat!(module_path!(), "::yaml_with_100k_duplicate_keys"),
        limits(60, 200),
        || {
            let text = format!("{POD}{}", "labelx: 1\n".repeat(100_000));
            let stream = parse_stream(FileId(0), &text);
            assert_eq!(stream.errors.len(), 99_999);
            // The first definition is on line 9: each message names it.
            assert!(stream.errors[5].message.contains("first defined on line 9"));
        },
    );
}

#[test]
fn yaml_with_nested_anchors_is_not_cloned_per_level() {
    bounded(
        concat!(
            module_path!(),
            "::yaml_with_nested_anchors_is_not_cloned_per_level"
        ),
        limits(60, 400),
        || {
            // 200 anchored mappings, each inside the last, around a 2 MB list: cloning each
            // anchored collection when it is defined cost 200 copies of the list.
            let mut text = String::new();
            for d in 0..200 {
                text.push_str(&format!("{}l{d}: &a{d}\n", "  ".repeat(d)));
            }
            text.push_str(&"  ".repeat(200));
            text.push_str("leaf: [");
            text.push_str(&vec!["x"; 600_000].join(", "));
            text.push_str("]\n");
            let stream = parse_stream(FileId(0), &text);
            assert!(stream.errors.is_empty(), "{:?}", stream.errors.first());
            assert_eq!(stream.documents.len(), 1);
            // Using the outer anchor expands 600k nodes: refused, at the alias.
            let used = format!("{text}use: *a0\n");
            let stream = parse_stream(FileId(0), &used);
            assert!(stream.documents.is_empty());
            let error = &stream.errors[0];
            assert!(
                error.message.contains("alias expansion"),
                "{}",
                error.message
            );
            assert_eq!(&used[error.span.start..error.span.end], "*a0");
        },
    );
}

#[test]
fn yaml_alias_budget_is_per_file() {
    bounded(
        concat!(module_path!(), "::yaml_alias_budget_is_per_file"),
        limits(60, 300),
        || {
            // 2,000 documents, each just under the old per-document cap of 100k nodes.
            let mut laugh = String::from("---\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
            for i in 1..5 {
                laugh.push_str(&format!(
                    "a{i}: &a{i} [{}]\n",
                    vec![format!("*a{}", i - 1); 9].join(", ")
                ));
            }
            let text = laugh.repeat(2_000);
            let stream = parse_stream(FileId(0), &text);
            assert!(stream.documents.len() < 5, "{}", stream.documents.len());
            assert!(
                stream
                    .errors
                    .iter()
                    .all(|e| e.message.contains("alias expansion"))
            );
            // A long string aliased 90,000 times: the byte budget stops it.
            let text = format!(
                "s: &s {}\nl: [{}]\n",
                "x".repeat(1_000_000),
                vec!["*s"; 90_000].join(", ")
            );
            let stream = parse_stream(FileId(0), &text);
            assert!(stream.documents.is_empty());
            assert!(stream.errors[0].message.contains("alias expansion"));
        },
    );
}

#[test]
fn yaml_aliases_still_expand_where_they_are_used() {
    let text =
        "base: &b {x: 1, y: [1, 2]}\nnested: &n [*b, 3]\nuse: *n\nmerge:\n  <<: *b\n  y: 5\n";
    let stream = parse_stream(FileId(0), text);
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    let root = &stream.documents[0].root;
    let used = root.get("use").unwrap();
    assert_eq!(
        &text[used.span.unwrap().start..used.span.unwrap().end],
        "*n"
    );
    // The nested alias is placed at its alias inside the anchored text.
    let inner = &used.as_list()[0];
    assert_eq!(
        &text[inner.span.unwrap().start..inner.span.unwrap().end],
        "*b"
    );
    assert_eq!(inner.get("x").and_then(Node::as_i64), Some(1));
    assert_eq!(root.at(&["merge", "x"]).and_then(Node::as_i64), Some(1));
    assert_eq!(root.at(&["merge", "y"]).and_then(Node::as_i64), Some(5));
    // An alias inside its own anchor is refused (it has no complete node to expand).
    let stream = parse_stream(FileId(0), "a: &a [*a]\n");
    assert!(stream.errors[0].message.contains("unknown anchor"));
}

#[test]
fn cr_only_line_ends_put_findings_on_their_lines() {
    let catalogue = Catalogue::load(&[], true).unwrap();
    for (ending, name) in [("\r", "cr.yaml"), ("\r\n", "crlf.yaml"), ("\n", "lf.yaml")] {
        let text = POD.replace('\n', ending);
        let result = scan_texts(&catalogue, &[(name.to_string(), text.clone())], &|p| {
            p.spec.id == "TG101"
        });
        assert_eq!(result.findings.len(), 1, "{name}");
        let span = result.findings[0].primary.span;
        assert_eq!(&text[span.start..span.end], "--model-control-mode=explicit");
        assert_eq!(
            result.store.position(span.file, span.start).line,
            8,
            "{name}"
        );
    }
    // Messages count lines the same way.
    let stream = parse_stream(FileId(0), "a: 1\rb: 2\ra: 3\r");
    assert!(stream.errors[0].message.contains("first defined on line 1"));
    let stream = parse_stream(FileId(0), "x: 1\r---\rb: 2\rb: 3\r");
    assert_eq!(stream.documents.len(), 2);
    assert!(
        stream.errors[0].message.contains("first defined on line 3"),
        "{:?}",
        stream.errors
    );
}

#[test]
fn dockerfile_with_100k_env_lines() {
    bounded(
        concat!(module_path!(), "::dockerfile_with_100k_env_lines"),
        limits(90, 500),
        || {
            let mut text = String::from("FROM nvcr.io/nvidia/tritonserver:24.10-py3\n");
            for i in 0..100_000 {
                text.push_str(&format!("ENV V{i}=value{i}\n"));
            }
            text.push_str("ENV V7=changed\nCMD tritonserver --model-repository=$V7\n");
            let df = parse_dockerfile(FileId(0), &text);
            assert!(df.errors.is_empty(), "{:?}", df.errors.first());
            let config = effective_config(&df).unwrap();
            assert_eq!(config.env.len(), 100_000);
            let cmd = config.cmd.unwrap();
            assert!(cmd.value.argv.last().unwrap().text.contains("$V7"));
        },
    );
}

#[test]
fn dockerfile_with_many_stages_built_on_each_other() {
    bounded(
        concat!(
            module_path!(),
            "::dockerfile_with_many_stages_built_on_each_other"
        ),
        limits(90, 500),
        || {
            // 20k ENV in the first stage, then 20k stages each built on the last and setting one
            // more variable: copying the inherited tables per stage would be 400M entries.
            let mut text = String::from("FROM busybox AS s0\n");
            for i in 0..20_000 {
                text.push_str(&format!("ENV V{i}=value{i}\n"));
            }
            for i in 1..20_000 {
                text.push_str(&format!("FROM s{} AS s{i}\nENV X{i}=$V{i}\n", i - 1));
            }
            let df = parse_dockerfile(FileId(0), &text);
            assert_eq!(df.stages.len(), 20_000);
            assert_eq!(df.stages[19_999].base_stage, Some(19_998));
            // Once the inheritance budget is spent, it says so.
            assert!(
                df.errors
                    .iter()
                    .any(|e| e.to_string().contains("inherit more than")),
                "{:?}",
                df.errors.first()
            );
            assert!(effective_config(&df).is_some());
        },
    );
}

#[test]
fn pbtxt_with_200k_parameter_keys() {
    bounded(
        concat!(module_path!(), "::pbtxt_with_200k_parameter_keys"),
        limits(90, 600),
        || {
            let mut text = String::from("name: \"m\"\nbackend: \"python\"\n");
            for i in 0..200_000 {
                text.push_str(&format!(
                    "parameters {{ key: \"k{i}\" value: {{ string_value: \"v\" }} }}\n"
                ));
            }
            // A repeated key, and a non-repeated field after all of them.
            text.push_str(
                "parameters { key: \"k7\" value: { string_value: \"w\" } }\nname: \"again\"\n",
            );
            let doc = parse_model_config(FileId(0), &text);
            let params = doc.root.get("parameters").unwrap();
            assert_eq!(params.as_map().len(), 200_000);
            assert_eq!(doc.errors.len(), 2, "{:?}", doc.errors);
        },
    );
}

#[test]
fn pickle_with_long_dotted_names() {
    bounded(
        concat!(module_path!(), "::pickle_with_long_dotted_names"),
        limits(60, 200),
        || {
            // 8 MB of GLOBAL opcodes with 4,000-byte dotted names (44 s before).
            let name = "a.".repeat(2000);
            let name = &name[..3999];
            let mut data = b"\x80\x02(".to_vec();
            for _ in 0..2000 {
                data.extend_from_slice(b"cm\n");
                data.extend_from_slice(name.as_bytes());
                data.push(b'\n');
            }
            data.extend_from_slice(b"cos\nsystem\nl.");
            let scan = pickle::scan(
                &data[..],
                &ScanOptions {
                    len: Some(data.len() as u64),
                    ..ScanOptions::default()
                },
            );
            assert_eq!(scan.error, None);
            assert_eq!(scan.globals.len(), 2001);
            assert_eq!(scan.worst(), Some(Class::Dangerous));
            // What is kept of a long name is capped; the span still covers the opcode.
            let first = &scan.globals[0];
            assert!(first.name.as_ref().unwrap().len() <= pickle::MAX_KEPT_NAME + 3);
            assert_eq!(first.length, 3 + 1 + 3999);
            // A name longer than the scanner reads stops it at a limit, not at an error.
            let mut long = b"\x80\x02c".to_vec();
            long.extend_from_slice(&vec![b'a'; 10_000]);
            long.extend_from_slice(b"\nx\n.");
            let scan = pickle::scan(&long[..], &ScanOptions::default());
            assert!(matches!(
                scan.error.map(|e| e.kind),
                Some(PickleErrorKind::LimitExceeded { .. })
            ));
        },
    );
}

/// Found by the `config` fuzz target: 141 bytes of nested complex keys (`? ? ?`) took 3.6 GB
/// and 20 s, each level escaping the JSON text of the key below it again.
#[test]
fn nested_complex_keys_stay_small() {
    bounded(
        concat!(module_path!(), "::nested_complex_keys_stay_small"),
        limits(30, 100),
        || {
            let fuzz = "  ?     ?  ? ?    ?     ?  ? ?     ?   ?     ?  ? ?    ?     ?  ? ?     ?  ?   ?     ? ?    ?  ?   ?     ? ?   ?     ? ?    ?  ?   ?     ? ? ";
            let _ = parse_stream(FileId(0), fuzz);
            let deep = format!("{}x: 1\n", "? ".repeat(200));
            let _ = parse_stream(FileId(0), &deep);
            let stream = parse_stream(FileId(0), "? [a, {b: c}]\n: 1\n");
            let root = &stream.documents[0].root;
            assert_eq!(root.as_map()[0].0, "[a, {b: c}]");
            // A long collection key is cut, not copied whole into its name.
            let wide = format!("? [{}]\n: 1\n", vec!["x"; 100_000].join(", "));
            let stream = parse_stream(FileId(0), &wide);
            let key = &stream.documents[0].root.as_map()[0].0;
            assert!(key.len() < 300 && key.ends_with("…]"), "{key}");
        },
    );
}
