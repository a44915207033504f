//! Parser tests: every syntax form, every error kind with its exact span, and recovery.

use super::*;
use crate::source::{FileId, Span};
use crate::tree::{Node, Value};

fn parse(text: &str) -> PbtxtDocument {
    parse_model_config(FileId(0), text)
}

/// Parses text that must be error-free and returns the tree.
fn ok(text: &str) -> Node {
    let doc = parse(text);
    assert!(
        doc.errors.is_empty(),
        "unexpected errors: {:#?}",
        doc.errors
    );
    doc.root
}

/// Byte span of the `nth` (0-based) occurrence of `needle` in `text`.
fn at(text: &str, needle: &str, nth: usize) -> Span {
    let start = text
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in text"));
    Span::new(FileId(0), start, start + needle.len())
}

fn sp(text: &str, needle: &str) -> Option<Span> {
    Some(at(text, needle, 0))
}

/// The single error of a text, asserting there is exactly one.
fn one_error(text: &str) -> PbtxtError {
    let doc = parse(text);
    assert_eq!(doc.errors.len(), 1, "expected one error: {:#?}", doc.errors);
    doc.errors.into_iter().next().unwrap()
}

fn json(node: &Node) -> serde_json::Value {
    node.to_json()
}

// ---- syntax forms ----------------------------------------------------------------------

#[test]
fn scalar_fields_and_message_delimiters() {
    for text in [
        "version_policy { latest { num_versions: 2 } }",
        "version_policy: { latest: { num_versions: 2 } }",
        "version_policy < latest < num_versions: 2 > >",
        "version_policy: < latest { num_versions: 2 } >",
    ] {
        let root = ok(text);
        assert_eq!(
            json(&root),
            serde_json::json!({"version_policy": {"latest": {"num_versions": 2}}}),
            "{text}"
        );
        let policy = root.get("version_policy").unwrap();
        assert_eq!(policy.key_span, sp(text, "version_policy"));
        let open = text.find(['{', '<']).unwrap();
        assert_eq!(policy.span, Some(Span::new(FileId(0), open, text.len())));
    }
}

#[test]
fn scalar_nodes_carry_value_and_key_spans() {
    let text = "name: \"resnet\"\nmax_batch_size: 8";
    let root = ok(text);
    let name = root.get("name").unwrap();
    assert_eq!(name.value, Value::Str("resnet".into()));
    assert_eq!(name.span, sp(text, "\"resnet\""));
    assert_eq!(name.key_span, sp(text, "name"));
    let batch = root.get("max_batch_size").unwrap();
    assert_eq!(batch.value, Value::Int(8));
    assert_eq!(batch.span, sp(text, "8"));
    assert_eq!(root.span, Some(Span::new(FileId(0), 0, text.len())));
    let keys: Vec<&str> = root.as_map().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["name", "max_batch_size"]);
}

#[test]
fn message_lists_with_and_without_colon() {
    for text in [
        "input [ { name: \"a\" }, { name: \"b\" } ]",
        "input: [ { name: \"a\" }, { name: \"b\" } ]",
        "input [ < name: \"a\" >, { name: \"b\" } ]",
    ] {
        let root = ok(text);
        let input = root.get("input").unwrap();
        assert_eq!(
            json(input),
            serde_json::json!([{"name": "a"}, {"name": "b"}]),
            "{text}"
        );
        assert_eq!(input.key_span, sp(text, "input"));
        let open = text.find('[').unwrap();
        assert_eq!(input.span, Some(Span::new(FileId(0), open, text.len())));
        // Items inside brackets have no field name of their own.
        assert_eq!(input.index(1).unwrap().key_span, None);
        assert_eq!(input.index(1).unwrap().span, sp(text, "{ name: \"b\" }"));
    }
}

#[test]
fn repeated_blocks_collect_into_one_list() {
    let text =
        "input { name: \"a\" }\nname: \"m\"\ninput { name: \"b\" }\ninput [ { name: \"c\" } ]";
    let root = ok(text);
    let input = root.get("input").unwrap();
    assert_eq!(
        json(input),
        serde_json::json!([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    );
    // The list keeps its first position and first field name, and spans every occurrence.
    let keys: Vec<&str> = root.as_map().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["input", "name"]);
    assert_eq!(input.key_span, Some(at(text, "input", 0)));
    assert_eq!(input.span, Some(Span::new(FileId(0), 6, text.len())));
    // A block item points at its own field name.
    assert_eq!(input.index(1).unwrap().key_span, Some(at(text, "input", 1)));
    assert_eq!(input.index(2).unwrap().key_span, None);
}

#[test]
fn repeated_scalars_in_all_forms() {
    let text = "input { dims: [ 1, -1 ] dims: 3 dims: [] dims: [0x10, 017] }";
    let root = ok(text);
    let dims = root
        .at(&["input"])
        .unwrap()
        .index(0)
        .unwrap()
        .get("dims")
        .unwrap();
    assert_eq!(json(dims), serde_json::json!([1, -1, 3, 16, 15]));
    assert_eq!(dims.index(1).unwrap().span, sp(text, "-1"));
    assert_eq!(dims.index(2).unwrap().key_span, Some(at(text, "dims", 1)));
    let empty = ok("input { dims: [] }");
    assert_eq!(json(&empty), serde_json::json!({"input": [{"dims": []}]}));
}

#[test]
fn separators_comments_crlf_and_bom() {
    let text = "\u{feff}# header\r\nname: \"a\"; max_batch_size: 4,\r\ninput { name: \"x\", dims: 1; } # trailing\r\n";
    let root = ok(text);
    assert_eq!(
        json(&root),
        serde_json::json!({"name": "a", "max_batch_size": 4, "input": [{"name": "x", "dims": [1]}]})
    );
    // Spans stay offsets into the text as given, BOM included.
    assert_eq!(root.get("name").unwrap().span, sp(text, "\"a\""));
}

#[test]
fn empty_and_comment_only_files_are_empty_configs() {
    assert_eq!(json(&ok("")), serde_json::json!({}));
    assert_eq!(json(&ok("# nothing\n\n")), serde_json::json!({}));
    assert_eq!(json(&ok("\u{feff}")), serde_json::json!({}));
}

#[test]
fn integers_in_every_notation_and_range() {
    let text = "max_batch_size: 2147483647 input { dims: -9223372036854775808 } \
                instance_group { count: -2147483648 secondary_devices { device_id: 0x7fffffffffffffff } }";
    let root = ok(text);
    assert_eq!(
        root.get("max_batch_size").unwrap().value,
        Value::Int(i32::MAX as i64)
    );
    let dims = root
        .at(&["input"])
        .unwrap()
        .index(0)
        .unwrap()
        .get("dims")
        .unwrap();
    assert_eq!(dims.index(0).unwrap().value, Value::Int(i64::MIN));
    let group = root.get("instance_group").unwrap().index(0).unwrap();
    assert_eq!(
        group.get("count").unwrap().value,
        Value::Int(i32::MIN as i64)
    );
    let device = group.get("secondary_devices").unwrap().index(0).unwrap();
    assert_eq!(device.get("device_id").unwrap().value, Value::Int(i64::MAX));
    // Whitespace and comments may separate the sign from the number, as in protobuf.
    let root = ok("max_batch_size: - # sign\n 3");
    assert_eq!(root.get("max_batch_size").unwrap().value, Value::Int(-3));
}

#[test]
fn uint64_beyond_i64_becomes_the_nearest_float() {
    let text = "dynamic_batching { priority_levels: 18446744073709551615 max_queue_delay_microseconds: 9223372036854775807 }";
    let root = ok(text);
    let batching = root.get("dynamic_batching").unwrap();
    assert_eq!(
        batching.get("priority_levels").unwrap().value,
        Value::Float(18446744073709551615u64 as f64)
    );
    assert_eq!(
        batching.get("max_queue_delay_microseconds").unwrap().value,
        Value::Int(i64::MAX)
    );
}

#[test]
fn floats_in_every_notation() {
    let text = "sequence_batching { control_input { control { fp32_false_true: [1e-3, -2.5, .5, 2., 1.0f, 7, inf, -inf, Infinity] } } \
                direct { minimum_slot_utilization: nan } }";
    let root = ok(text);
    let seq = root.get("sequence_batching").unwrap();
    let control = seq.at(&["control_input"]).unwrap().index(0).unwrap();
    let values = control
        .get("control")
        .unwrap()
        .index(0)
        .unwrap()
        .get("fp32_false_true")
        .unwrap();
    let floats: Vec<f64> = values
        .as_list()
        .iter()
        .map(|n| match n.value {
            Value::Float(f) => f,
            _ => panic!("not a float: {n:?}"),
        })
        .collect();
    assert_eq!(
        floats,
        [
            1e-3,
            -2.5,
            0.5,
            2.0,
            1.0,
            7.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY
        ]
    );
    assert_eq!(values.index(1).unwrap().span, sp(text, "-2.5"));
    let util = seq.at(&["direct", "minimum_slot_utilization"]).unwrap();
    assert!(matches!(util.value, Value::Float(f) if f.is_nan()));
}

#[test]
fn booleans_accept_protobuf_spellings() {
    for (word, expected) in [
        ("true", true),
        ("True", true),
        ("t", true),
        ("1", true),
        ("false", false),
        ("False", false),
        ("f", false),
        ("0", false),
    ] {
        let root = ok(&format!("response_cache {{ enable: {word} }}"));
        assert_eq!(
            root.at(&["response_cache", "enable"]).unwrap().value,
            Value::Bool(expected),
            "{word}"
        );
    }
}

#[test]
fn strings_decode_escapes_and_concatenate() {
    let text = r#"name: "a\tb" 'c\'d' "\x41\101\u00e9" default_model_filename: "model\\1.onnx""#;
    let root = ok(text);
    let name = root.get("name").unwrap();
    assert_eq!(name.value, Value::Str("a\tbc'dAAé".into()));
    assert_eq!(name.span, sp(text, r#""a\tb" 'c\'d' "\x41\101\u00e9""#));
    assert_eq!(
        root.get("default_model_filename").unwrap().value,
        Value::Str("model\\1.onnx".into())
    );
    // Byte escapes that are not UTF-8 are replaced, not rejected (protobuf stores bytes).
    let root = ok(r#"name: "\377""#);
    assert_eq!(
        root.get("name").unwrap().value,
        Value::Str("\u{fffd}".into())
    );
}

#[test]
fn enums_by_name_and_by_number() {
    let text = "instance_group [ { kind: KIND_GPU }, { kind: 2 } ] input { data_type: 11 format: FORMAT_NCHW }";
    let root = ok(text);
    let groups = root.get("instance_group").unwrap();
    assert_eq!(
        groups.index(0).unwrap().get("kind").unwrap().value,
        Value::Str("KIND_GPU".into())
    );
    let cpu = groups.index(1).unwrap().get("kind").unwrap();
    assert_eq!(cpu.value, Value::Str("KIND_CPU".into()));
    assert_eq!(cpu.span, sp(text, "2"));
    let input = root.get("input").unwrap().index(0).unwrap();
    assert_eq!(
        input.get("data_type").unwrap().value,
        Value::Str("TYPE_FP32".into())
    );
}

#[test]
fn map_fields_become_maps_keyed_by_entry_key() {
    let text = r#"parameters { key: "EXECUTION_ENV_PATH" value: { string_value: "$$TRITON_MODEL_DIRECTORY/env.tar.gz" } }
parameters [ { key: "b" value { string_value: "2" } }, { value { string_value: "no key" } } ]"#;
    let root = ok(text);
    let params = root.get("parameters").unwrap();
    assert_eq!(
        json(params),
        serde_json::json!({
            "EXECUTION_ENV_PATH": {"string_value": "$$TRITON_MODEL_DIRECTORY/env.tar.gz"},
            "b": {"string_value": "2"},
            "": {"string_value": "no key"},
        })
    );
    assert_eq!(params.key_span, Some(at(text, "parameters", 0)));
    assert_eq!(
        params.span,
        Some(Span::new(FileId(0), text.find('{').unwrap(), text.len()))
    );
    let env = params.get("EXECUTION_ENV_PATH").unwrap();
    assert_eq!(env.key_span, sp(text, "\"EXECUTION_ENV_PATH\""));
    assert_eq!(
        env.span,
        sp(
            text,
            "{ string_value: \"$$TRITON_MODEL_DIRECTORY/env.tar.gz\" }"
        )
    );
    assert_eq!(
        env.get("string_value").unwrap().span,
        sp(text, "\"$$TRITON_MODEL_DIRECTORY/env.tar.gz\"")
    );
    // An entry without a key uses the default key "", pointing at the entry.
    let nameless = params.get("").unwrap();
    assert_eq!(
        nameless.key_span,
        sp(text, "{ value { string_value: \"no key\" } }")
    );
}

#[test]
fn string_maps_integer_keys_and_missing_values() {
    let text = r#"ensemble_scheduling { step { input_map { key: "INPUT" value: "raw" } output_map [ { key: "OUT" } ] } }"#;
    let root = ok(text);
    let step = root
        .at(&["ensemble_scheduling", "step"])
        .unwrap()
        .index(0)
        .unwrap();
    let input = step.at(&["input_map", "INPUT"]).unwrap();
    assert_eq!(input.value, Value::Str("raw".into()));
    assert_eq!(input.span, sp(text, "\"raw\""));
    assert_eq!(input.key_span, sp(text, "\"INPUT\""));
    // No value: the proto default, spanning the entry.
    let out = step.at(&["output_map", "OUT"]).unwrap();
    assert_eq!(out.value, Value::Str(String::new()));
    assert_eq!(out.span, sp(text, "{ key: \"OUT\" }"));
    let text = "dynamic_batching { priority_queue_policy { key: 18446744073709551615 value { max_queue_size: 4 } } priority_queue_policy: { key: 0x2 } }";
    let root = ok(text);
    let queues = root
        .at(&["dynamic_batching", "priority_queue_policy"])
        .unwrap();
    assert_eq!(
        json(queues),
        serde_json::json!({"18446744073709551615": {"max_queue_size": 4}, "2": {}})
    );
}

#[test]
fn oneof_members_one_at_a_time_are_fine() {
    let root = ok(
        "sequence_batching { oldest { max_candidate_sequences: 4 } } model_warmup { inputs { key: \"x\" value { zero_data: true } } }",
    );
    assert!(root.at(&["sequence_batching", "oldest"]).is_some());
}

// ---- errors ----------------------------------------------------------------------------

#[test]
fn unknown_field_suggests_and_is_skipped() {
    let text = "dynamic_batchin { max_queue_delay_microseconds: 100 nested { a: [1, {b: 2}] } }\nname: \"after\"";
    let doc = parse(text);
    assert_eq!(doc.errors.len(), 1, "{:#?}", doc.errors);
    let e = &doc.errors[0];
    assert_eq!(e.span, at(text, "dynamic_batchin", 0));
    assert_eq!(
        e.kind,
        PbtxtErrorKind::UnknownField {
            suggestion: Some("dynamic_batching".into())
        }
    );
    assert_eq!(
        e.message,
        "unknown field `dynamic_batchin` in inference.ModelConfig; did you mean `dynamic_batching`?"
    );
    // The unknown field's value was skipped as a whole and the rest still parsed.
    assert_eq!(json(&doc.root), serde_json::json!({"name": "after"}));
    assert!(!doc.is_valid());
}

#[test]
fn unknown_scalar_and_list_fields_are_skipped() {
    let text = "platfrom: \"onnx\" tags: [\"a\", \"b\"] weight: -1.5 mode: FAST\nmax_batch_size: 1";
    let doc = parse(text);
    let spans: Vec<Span> = doc.errors.iter().map(|e| e.span).collect();
    assert_eq!(
        spans,
        [
            at(text, "platfrom", 0),
            at(text, "tags", 0),
            at(text, "weight", 0),
            at(text, "mode", 0)
        ]
    );
    assert_eq!(
        doc.errors[0].kind,
        PbtxtErrorKind::UnknownField {
            suggestion: Some("platform".into())
        }
    );
    assert_eq!(
        doc.errors[3].kind,
        PbtxtErrorKind::UnknownField { suggestion: None }
    );
    assert_eq!(json(&doc.root), serde_json::json!({"max_batch_size": 1}));
}

#[test]
fn unknown_field_inside_a_map_entry_names_key_and_value() {
    let text = "optimization { execution_accelerators { gpu_execution_accelerator: [ { name: \"tensorrt\" parameters { precision_mode: \"FP16\" } } ] } }";
    let e = one_error(text);
    assert_eq!(e.span, at(text, "precision_mode", 0));
    assert_eq!(
        e.message,
        "unknown field `precision_mode` in a map entry: entries have only `key` and `value`"
    );
}

#[test]
fn bad_enum_value_suggests() {
    let text = "instance_group { kind: KIND_CPUU count: 1 }";
    let doc = parse(text);
    assert_eq!(doc.errors.len(), 1);
    let e = &doc.errors[0];
    assert_eq!(e.span, at(text, "KIND_CPUU", 0));
    assert_eq!(
        e.kind,
        PbtxtErrorKind::BadEnumValue {
            suggestion: Some("KIND_CPU".into())
        }
    );
    assert_eq!(
        e.message,
        "`KIND_CPUU` is not a value of enum inference.ModelInstanceGroup.Kind; did you mean `KIND_CPU`?"
    );
    // The bad value is left out; its neighbours stay.
    assert_eq!(
        json(&doc.root),
        serde_json::json!({"instance_group": [{"count": 1}]})
    );

    let e = one_error("instance_group { kind: SOMETHING_ELSE }");
    assert_eq!(e.kind, PbtxtErrorKind::BadEnumValue { suggestion: None });
    assert!(
        e.message
            .contains("KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL"),
        "{}",
        e.message
    );

    let text = "input { data_type: 99 }";
    let e = one_error(text);
    assert_eq!(e.span, at(text, "99", 0));
    assert_eq!(e.kind, PbtxtErrorKind::BadEnumValue { suggestion: None });
    assert!(
        e.message
            .starts_with("enum inference.DataType has no value numbered 99")
    );
}

#[test]
fn quoted_enum_value_is_a_wrong_type_with_a_hint() {
    let text = "instance_group { kind: \"KIND_GPU\" }";
    let e = one_error(text);
    assert_eq!(e.kind, PbtxtErrorKind::WrongType);
    assert_eq!(e.span, at(text, "\"KIND_GPU\"", 0));
    assert_eq!(
        e.message,
        "field `kind` is an enum (inference.ModelInstanceGroup.Kind): expected a value name without quotes, write `KIND_GPU`"
    );
}

#[test]
fn wrong_types_are_reported_at_the_value() {
    let cases = [
        (
            "max_batch_size: \"8\"",
            "\"8\"",
            "field `max_batch_size` is an int32: expected an integer, found `\"8\"`",
        ),
        (
            "max_batch_size: 1.5",
            "1.5",
            "field `max_batch_size` is an int32: expected an integer, found `1.5`",
        ),
        (
            "name: 42",
            "42",
            "field `name` is a string: expected a quoted string, found `42`",
        ),
        (
            "name: resnet",
            "resnet",
            "field `name` is a string: expected a quoted string, found `resnet`",
        ),
        (
            "response_cache { enable: yes }",
            "yes",
            "field `enable` is a bool: expected `true` or `false`, found `yes`",
        ),
        (
            "response_cache { enable: 2 }",
            "2",
            "field `enable` is a bool: expected `true` or `false`, found `2`",
        ),
        (
            "sequence_batching { direct { minimum_slot_utilization: 0x10 } }",
            "0x10",
            "field `minimum_slot_utilization` is a float: expected a decimal number, found `0x10`",
        ),
        (
            "version_policy: 3",
            "3",
            "field `version_policy` is a message (inference.ModelVersionPolicy): expected `{`, found `3`",
        ),
        (
            "name { a: 1 }",
            "{ a: 1 }",
            "field `name` takes a string, not a message",
        ),
        (
            "name: [\"a\", \"b\"]",
            "[\"a\", \"b\"]",
            "field `name` is not repeated: it takes one string, not a list",
        ),
    ];
    for (text, at_text, message) in cases {
        let e = one_error(text);
        assert_eq!(e.kind, PbtxtErrorKind::WrongType, "{text}");
        assert_eq!(e.span, at(text, at_text, 0), "{text}");
        assert_eq!(e.message, message, "{text}");
    }
}

#[test]
fn integers_out_of_range() {
    let cases = [
        (
            "max_batch_size: 2147483648",
            "2147483648",
            "`2147483648` is out of range for field `max_batch_size` (int32)",
        ),
        (
            "max_batch_size: -2147483649",
            "-2147483649",
            "`-2147483649` is out of range for field `max_batch_size` (int32)",
        ),
        (
            "dynamic_batching { priority_levels: 18446744073709551616 }",
            "18446744073709551616",
            "`18446744073709551616` is out of range for field `priority_levels` (uint64)",
        ),
        (
            "instance_group { rate_limiter { priority: 4294967296 } }",
            "4294967296",
            "`4294967296` is out of range for field `priority` (uint32)",
        ),
        (
            "dynamic_batching { default_queue_policy { max_queue_size: -1 } }",
            "-1",
            "field `max_queue_size` is a uint32 and cannot be negative",
        ),
    ];
    for (text, at_text, message) in cases {
        let e = one_error(text);
        assert_eq!(e.kind, PbtxtErrorKind::OutOfRange, "{text}");
        assert_eq!(e.span, at(text, at_text, 0), "{text}");
        assert_eq!(e.message, message, "{text}");
    }
}

#[test]
fn non_repeated_field_set_twice_keeps_the_first() {
    let text = "name: \"a\"\nmax_batch_size: 1\nname: \"b\"";
    let doc = parse(text);
    assert_eq!(doc.errors.len(), 1);
    let e = &doc.errors[0];
    assert_eq!(e.kind, PbtxtErrorKind::DuplicateField);
    assert_eq!(e.span, at(text, "name", 1));
    assert_eq!(e.related, Some(at(text, "name", 0)));
    assert_eq!(
        e.message,
        "field `name` is not repeated but is set more than once"
    );
    assert_eq!(doc.root.get("name").unwrap().value, Value::Str("a".into()));
    // Also for messages, and inside a map entry (a real-world mistake: two keys in one entry).
    let text = "ensemble_scheduling { step { input_map { key: \"context\" value: \"docs\" key: \"query\" value: \"QUERY\" } } }";
    let doc = parse(text);
    let kinds: Vec<_> = doc
        .errors
        .iter()
        .map(|e| (e.kind.clone(), e.span))
        .collect();
    assert_eq!(
        kinds,
        [
            (PbtxtErrorKind::DuplicateField, at(text, "key", 1)),
            (PbtxtErrorKind::DuplicateField, at(text, "value", 1)),
        ]
    );
}

#[test]
fn oneof_conflicts_name_both_members() {
    let text = "dynamic_batching { }\nsequence_batching { }";
    let e = one_error(text);
    assert_eq!(e.kind, PbtxtErrorKind::OneofConflict);
    assert_eq!(e.span, at(text, "sequence_batching", 0));
    assert_eq!(e.related, Some(at(text, "dynamic_batching", 0)));
    assert_eq!(
        e.message,
        "`sequence_batching` and `dynamic_batching` are both members of oneof `scheduling_choice` in inference.ModelConfig; only one may be set"
    );
    // Both stay in the tree: the file says both, and Triton refuses it.
    let root = parse(text).root;
    assert!(root.get("dynamic_batching").is_some() && root.get("sequence_batching").is_some());

    // A real-world mistake: `zero_data: false` still selects the oneof member.
    let text =
        "model_warmup { inputs { key: \"input\" value: { zero_data: false random_data: true } } }";
    let e = one_error(text);
    assert_eq!(e.kind, PbtxtErrorKind::OneofConflict);
    assert_eq!(e.span, at(text, "random_data", 0));
    assert!(
        e.message
            .contains("oneof `input_data_type` in inference.ModelWarmup.Input")
    );
}

#[test]
fn duplicate_map_key_keeps_the_last_and_is_the_only_tolerated_error() {
    let text = "parameters { key: \"k\" value { string_value: \"1\" } }\nparameters { key: \"k\" value { string_value: \"2\" } }";
    let doc = parse(text);
    assert_eq!(doc.errors.len(), 1);
    let e = &doc.errors[0];
    assert_eq!(e.kind, PbtxtErrorKind::DuplicateMapKey);
    assert_eq!(e.span, at(text, "\"k\"", 1));
    assert_eq!(e.related, Some(at(text, "\"k\"", 0)));
    assert_eq!(
        e.message,
        "key \"k\" appears more than once in map `parameters`; the last entry wins"
    );
    assert_eq!(
        json(&doc.root),
        serde_json::json!({"parameters": {"k": {"string_value": "2"}}})
    );
    assert!(doc.is_valid());
}

#[test]
fn unterminated_string_reports_and_continues_on_the_next_line() {
    let text = "name: \"abc\nmax_batch_size: 2";
    let e = one_error(text);
    assert_eq!(e.kind, PbtxtErrorKind::Syntax);
    assert_eq!(e.span, at(text, "\"abc", 0));
    assert_eq!(
        e.message,
        "unterminated string: string literals cannot cross line boundaries"
    );
    assert_eq!(
        json(&parse(text).root),
        serde_json::json!({"max_batch_size": 2})
    );
}

#[test]
fn missing_closing_brace_points_at_the_opener() {
    let text = "name: \"m\"\ninput {\n  name: \"x\"\n";
    let e = one_error(text);
    assert_eq!(e.kind, PbtxtErrorKind::Syntax);
    assert_eq!(e.span, at(text, "{", 0));
    assert_eq!(
        e.related,
        Some(Span::new(FileId(0), text.len(), text.len()))
    );
    assert_eq!(
        e.message,
        "`{` of `input` is never closed: expected `}` before the end of the file"
    );
    // What was read is kept.
    assert_eq!(
        json(&parse(text).root),
        serde_json::json!({"name": "m", "input": [{"name": "x"}]})
    );
}

#[test]
fn mismatched_and_stray_closers() {
    let text = "version_policy { all { } >\nname: \"n\"";
    let e = one_error(text);
    assert_eq!(e.span, at(text, ">", 0));
    assert_eq!(
        e.message,
        "expected `}` to close `version_policy`, found `>`"
    );
    assert_eq!(e.related, Some(at(text, "{", 0)));

    let text = "name: \"a\" }\nmax_batch_size: 1";
    let e = one_error(text);
    assert_eq!(e.span, at(text, "}", 0));
    assert_eq!(e.message, "unexpected `}`: no message is open here");
    assert_eq!(
        json(&parse(text).root),
        serde_json::json!({"name": "a", "max_batch_size": 1})
    );
}

#[test]
fn scalar_fields_require_a_colon() {
    let text = "name \"x\" max_batch_size: 1";
    let e = one_error(text);
    assert_eq!(e.kind, PbtxtErrorKind::Syntax);
    assert_eq!(e.span, at(text, "\"x\"", 0));
    assert_eq!(
        e.message,
        "expected `:` after field name `name`, found `\"x\"`"
    );
    // The value is still read.
    assert_eq!(
        json(&parse(text).root),
        serde_json::json!({"name": "x", "max_batch_size": 1})
    );
}

#[test]
fn list_syntax_errors() {
    let text = "input { dims: [1 2] }";
    let e = one_error(text);
    assert_eq!(e.span, at(text, "2", 0));
    assert_eq!(
        e.message,
        "expected `,` or `]` in the list of `dims`, found `2`"
    );
    assert_eq!(
        json(&parse(text).root),
        serde_json::json!({"input": [{"dims": [1, 2]}]})
    );

    let text = "input { dims: [1, 2 }\nname: \"n\"";
    let e = one_error(text);
    assert_eq!(e.span, at(text, "[", 0));
    assert_eq!(
        e.message,
        "the list of `dims` is never closed: expected `]` before `}`"
    );
    assert_eq!(e.related, Some(at(text, "}", 0)));
    assert_eq!(
        json(&parse(text).root),
        serde_json::json!({"input": [{"dims": [1, 2]}], "name": "n"})
    );

    let text = "input { dims: [1, ] }";
    let e = one_error(text);
    assert_eq!(e.span, at(text, "]", 0));
    assert_eq!(e.message, "expected a value for field `dims`, found `]`");
}

#[test]
fn tokens_that_cannot_start_a_field() {
    let text = "\"orphan\" max_batch_size: 1 : 2 name: \"n\"";
    let doc = parse(text);
    let found: Vec<(Span, &str)> = doc
        .errors
        .iter()
        .map(|e| (e.span, e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                at(text, "\"orphan\"", 0),
                "expected a field name, found `\"orphan\"`"
            ),
            (at(text, ":", 1), "expected a field name, found `:`"),
        ]
    );
    assert_eq!(
        json(&doc.root),
        serde_json::json!({"max_batch_size": 1, "name": "n"})
    );
}

#[test]
fn malformed_numbers_are_one_error_each() {
    let text = "max_batch_size: 08 input { dims: 12abc }";
    let doc = parse(text);
    let found: Vec<(Span, PbtxtErrorKind)> = doc
        .errors
        .iter()
        .map(|e| (e.span, e.kind.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (at(text, "08", 0), PbtxtErrorKind::Syntax),
            (at(text, "12abc", 0), PbtxtErrorKind::Syntax),
        ]
    );
}

#[test]
fn extensions_are_reported_as_unsupported_and_skipped() {
    let text = "[inference.ext] { a: 1 }\n[type.googleapis.com/x.Y]: 3\nname: \"n\"";
    let doc = parse(text);
    let found: Vec<(Span, PbtxtErrorKind)> = doc
        .errors
        .iter()
        .map(|e| (e.span, e.kind.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (at(text, "[inference.ext]", 0), PbtxtErrorKind::Unsupported),
            (
                at(text, "[type.googleapis.com/x.Y]", 0),
                PbtxtErrorKind::Unsupported
            ),
        ]
    );
    assert_eq!(
        doc.errors[0].message,
        "extension or Any field `[inference.ext]` is not supported: inference.ModelConfig declares no extensions"
    );
    assert_eq!(json(&doc.root), serde_json::json!({"name": "n"}));
}

#[test]
fn errors_are_sorted_by_position() {
    let text = "nme: 1\nname: \"x\ninput { kind: 3 }";
    let doc = parse(text);
    let starts: Vec<usize> = doc.errors.iter().map(|e| e.span.start).collect();
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    assert_eq!(starts, sorted);
    assert_eq!(doc.errors.len(), 3, "{:#?}", doc.errors);
}

// ---- robustness ------------------------------------------------------------------------

#[test]
fn deeply_nested_unknown_content_does_not_recurse() {
    let depth = 100_000;
    let text = format!(
        "unknown {}{}\nname: \"n\"",
        "{ a ".repeat(depth),
        "}".repeat(depth)
    );
    let doc = parse(&text);
    assert_eq!(doc.errors.len(), 1);
    assert_eq!(json(&doc.root), serde_json::json!({"name": "n"}));
    // Unclosed: one error, no hang.
    let text = "x ".to_string() + &"{ ".repeat(depth);
    let doc = parse(&text);
    assert_eq!(
        doc.errors.len(),
        2,
        "{:#?}",
        doc.errors.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
}

#[test]
fn error_count_is_capped() {
    let text = "bogus: 1\n".repeat(1000);
    let doc = parse(&text);
    assert_eq!(doc.errors.len(), 201);
    assert!(doc.errors[200].message.starts_with("too many errors"));
}

#[test]
fn every_prefix_of_a_config_parses_without_panicking() {
    let text = "name: \"m\" # c\ninput [ { name: \"i\" data_type: TYPE_FP32 dims: [ -1, 0x3 ] } ]\n\
                parameters { key: \"k\" value: { string_value: \"a\\tb\" } }\n\
                dynamic_batching { priority_queue_policy { key: 1 value < max_queue_size: 2 > } }\n\
                optimization { cuda { graphs: t } } [ext.x] { } version_policy: { all {} }";
    let mut cut = 0;
    while cut <= text.len() {
        if text.is_char_boundary(cut) {
            let doc = parse(&text[..cut]);
            assert!(matches!(doc.root.value, Value::Map(_)));
            for e in &doc.errors {
                assert!(
                    e.span.start <= e.span.end && e.span.end <= cut,
                    "{e:?} at cut {cut}"
                );
            }
        }
        cut += 1;
    }
}

#[test]
fn arbitrary_symbols_and_binary_like_text_do_not_panic() {
    for text in [
        "{{{{",
        "}}}}",
        "[[[[",
        "]]]]",
        "<<>>",
        ":::",
        "-",
        "- -",
        "name: -",
        "name:",
        "\"",
        "'\\",
        "\\",
        "é: 1",
        "input [ { name: \"a\" } { name: \"b\" } ]",
        "input [ , ]",
        "parameters { key: 1 }",
        "dynamic_batching { priority_queue_policy { key: \"x\" } }",
        "\u{0}\u{1}\u{2}",
        "0x",
        "1e+",
        ".",
        "name: 1e",
        "[",
        "[a.b",
        "[a.b] x",
    ] {
        let doc = parse(text);
        assert!(matches!(doc.root.value, Value::Map(_)), "{text}");
    }
}

#[test]
fn suggestions_catch_common_typos_only() {
    for (typo, expected) in [
        ("inputs", Some("input")),
        ("instance_groups", Some("instance_group")),
        ("Dynamic_Batching", Some("dynamic_batching")),
        ("maxbatchsize", Some("max_batch_size")),
        ("model_warmups", Some("model_warmup")),
        ("mode", None),
        ("xyz", None),
    ] {
        let e = one_error(&format!("{typo}: 1"));
        assert_eq!(
            e.kind,
            PbtxtErrorKind::UnknownField {
                suggestion: expected.map(String::from)
            },
            "{typo}"
        );
    }
    let e = one_error("instance_group { kind: kind_gpu }");
    assert_eq!(
        e.kind,
        PbtxtErrorKind::BadEnumValue {
            suggestion: Some("KIND_GPU".into())
        }
    );
}

#[test]
fn map_fields_given_a_scalar_say_they_are_maps() {
    let text = "parameters: \"EXECUTION_ENV_PATH\"";
    let e = one_error(text);
    assert_eq!(e.kind, PbtxtErrorKind::WrongType);
    assert_eq!(e.span, at(text, "\"EXECUTION_ENV_PATH\"", 0));
    assert_eq!(
        e.message,
        "field `parameters` is a map: expected `{ key: ... value: ... }`, found `\"EXECUTION_ENV_PATH\"`"
    );
    let text = "parameters { key: \"p\" value: \"v\" }";
    let e = one_error(text);
    assert_eq!(
        e.message,
        "field `value` is a message (inference.ModelParameter): expected `{`, found `\"v\"`; write `{ string_value: \"v\" }`"
    );
}
