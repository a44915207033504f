//! Real Triton config.pbtxt files (`tests/fixtures/pbtxt/`, each naming its source in its
//! header) parse without errors into the trees policies rely on; the `bad_*` variants report
//! their mistakes at the right place.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use tritonguard::parse::pbtxt::{PbtxtDocument, PbtxtErrorKind, parse_model_config};
use tritonguard::source::{FileId, SourceFile, Span};
use tritonguard::tree::{Node, Value};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pbtxt")
}

fn load(name: &str) -> (String, PbtxtDocument) {
    let text = std::fs::read_to_string(fixture_dir().join(name)).unwrap();
    let doc = parse_model_config(FileId(0), &text);
    (text, doc)
}

/// A fixture that must parse cleanly; returns its text and tree.
fn valid(name: &str) -> (String, Node) {
    let (text, doc) = load(name);
    assert!(doc.errors.is_empty(), "{name}: {:#?}", doc.errors);
    (text, doc.root)
}

fn slice(text: &str, span: Option<Span>) -> &str {
    let span = span.unwrap();
    &text[span.start..span.end]
}

/// `line:column kind: message` for each error, as a reader would locate it.
fn rendered_errors(text: &str, doc: &PbtxtDocument) -> Vec<String> {
    let file = SourceFile::new("f".into(), None, Arc::from(text));
    doc.errors
        .iter()
        .map(|e| {
            let pos = file.position(e.span.start);
            let kind = match &e.kind {
                PbtxtErrorKind::UnknownField { .. } => "unknown-field",
                PbtxtErrorKind::BadEnumValue { .. } => "bad-enum",
                PbtxtErrorKind::Syntax => "syntax",
                PbtxtErrorKind::WrongType => "wrong-type",
                PbtxtErrorKind::OutOfRange => "out-of-range",
                PbtxtErrorKind::DuplicateField => "duplicate-field",
                PbtxtErrorKind::OneofConflict => "oneof-conflict",
                PbtxtErrorKind::DuplicateMapKey => "duplicate-map-key",
                PbtxtErrorKind::Unsupported => "unsupported",
            };
            format!("{}:{} {kind}: {}", pos.line, pos.column, e.message)
        })
        .collect()
}

#[test]
fn every_real_fixture_parses_without_errors() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("bad_") || !name.ends_with(".pbtxt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# tritonguard fixture. Source: "),
            "{name} must name its source"
        );
        let doc = parse_model_config(FileId(0), &text);
        assert!(doc.errors.is_empty(), "{name}: {:#?}", doc.errors);
        assert!(!doc.root.as_map().is_empty(), "{name} parsed to nothing");
        count += 1;
    }
    assert_eq!(count, 19);
}

#[test]
fn ensemble_steps_keep_model_names_and_tensor_maps() {
    let (text, root) = valid("ensemble_preprocess_inception.pbtxt");
    assert_eq!(root.get("platform").unwrap().as_str(), Some("ensemble"));
    let steps = root.at(&["ensemble_scheduling", "step"]).unwrap();
    assert_eq!(
        steps.to_json(),
        json!([
            {
                "model_name": "image_preprocess_nhwc_299x299x3_inception",
                "model_version": -1,
                "input_map": {"INPUT": "INPUT"},
                "output_map": {"OUTPUT": "preprocessed_image"},
            },
            {
                "model_name": "inception_graphdef",
                "model_version": -1,
                "input_map": {"input": "preprocessed_image"},
                "output_map": {"InceptionV3/Predictions/Softmax": "OUTPUT"},
            },
        ])
    );
    let second = steps.index(1).unwrap();
    assert_eq!(
        slice(&text, second.get("model_name").unwrap().span),
        "\"inception_graphdef\""
    );
    let out = second
        .at(&["output_map", "InceptionV3/Predictions/Softmax"])
        .unwrap();
    assert_eq!(
        slice(&text, out.key_span),
        "\"InceptionV3/Predictions/Softmax\""
    );
    assert_eq!(slice(&text, out.span), "\"OUTPUT\"");
}

#[test]
fn sequence_batching_strategies_controls_and_state() {
    let (_, root) = valid("sequence_oldest_control_inputs.pbtxt");
    let seq = root.get("sequence_batching").unwrap();
    assert_eq!(
        seq.get("oldest").unwrap().to_json(),
        json!({"max_candidate_sequences": 1024, "max_queue_delay_microseconds": 10000})
    );
    let controls = seq.get("control_input").unwrap();
    assert_eq!(controls.as_list().len(), 4);
    assert_eq!(
        controls.index(3).unwrap().to_json(),
        json!({"name": "CORRID", "control": [{"kind": "CONTROL_SEQUENCE_CORRID", "data_type": "TYPE_UINT64"}]})
    );
    assert_eq!(
        root.at(&["parameters", "execute_delay_ms", "string_value"])
            .unwrap()
            .as_str(),
        Some("3")
    );

    let (_, root) = valid("sequence_direct.pbtxt");
    assert_eq!(
        root.at(&["sequence_batching", "direct"]).unwrap().to_json(),
        json!({"max_queue_delay_microseconds": 100000, "minimum_slot_utilization": 1.0})
    );

    let (_, root) = valid("sequence_implicit_state.pbtxt");
    let state = root.at(&["sequence_batching", "state"]).unwrap();
    assert_eq!(
        state.to_json(),
        json!([{
            "input_name": "INPUT_STATE",
            "output_name": "OUTPUT_STATE",
            "data_type": "TYPE_INT8",
            "dims": [1024, 1024],
            "use_same_buffer_for_input_output": true,
            "use_growable_memory": true,
        }])
    );
    let start = root
        .at(&["sequence_batching", "control_input"])
        .unwrap()
        .index(0)
        .unwrap();
    assert_eq!(
        start
            .get("control")
            .unwrap()
            .index(0)
            .unwrap()
            .get("fp32_false_true")
            .unwrap()
            .to_json(),
        json!([0.0, 1.0])
    );
}

#[test]
fn dynamic_batching_queues_and_priorities() {
    let (text, root) = valid("dynamic_batching_queue_policy.pbtxt");
    let queue = root
        .at(&["dynamic_batching", "default_queue_policy", "max_queue_size"])
        .unwrap();
    assert_eq!(queue.value, Value::Int(4));
    assert_eq!(slice(&text, queue.key_span), "max_queue_size");

    let (_, root) = valid("dynamic_batching_priority_max.pbtxt");
    let batching = root.get("dynamic_batching").unwrap();
    // uint64 max becomes the nearest float; the map key keeps its exact digits.
    assert_eq!(
        batching.get("priority_levels").unwrap().value,
        Value::Float(u64::MAX as f64)
    );
    assert_eq!(
        batching.get("default_priority_level").unwrap().value,
        Value::Int(4294967295)
    );
    assert_eq!(
        batching.get("priority_queue_policy").unwrap().to_json(),
        json!({"4294967296": {
            "timeout_action": "REJECT",
            "default_timeout_microseconds": u64::MAX as f64,
            "allow_timeout_override": true,
            "max_queue_size": 10,
        }})
    );

    let (_, root) = valid("dynamic_batching_priority_levels.pbtxt");
    assert_eq!(
        root.get("dynamic_batching").unwrap().to_json(),
        json!({"priority_levels": 3, "default_priority_level": 2, "priority_queue_policy": {"4": {}}})
    );
}

#[test]
fn python_execution_env_path_is_a_parameter_with_spans() {
    let (text, root) = valid("python_execution_env_path.pbtxt");
    let env = root.at(&["parameters", "EXECUTION_ENV_PATH"]).unwrap();
    assert_eq!(slice(&text, env.key_span), "\"EXECUTION_ENV_PATH\"");
    let path = env.get("string_value").unwrap();
    assert_eq!(
        path.as_str(),
        Some("/opt/tritonserver/qa/L0_backend_python/env/python3.7.tar.gz")
    );
    assert_eq!(
        slice(&text, path.span),
        "\"/opt/tritonserver/qa/L0_backend_python/env/python3.7.tar.gz\""
    );
    assert_eq!(root.get("name").unwrap().as_str(), Some("python_3_7"));
}

#[test]
fn checksum_agent_parameters_are_a_map() {
    let (text, root) = valid("repository_agent_checksum.pbtxt");
    let agent = root
        .at(&["model_repository_agents", "agents"])
        .unwrap()
        .index(0)
        .unwrap();
    assert_eq!(agent.get("name").unwrap().as_str(), Some("checksum"));
    let params = agent.get("parameters").unwrap();
    assert_eq!(
        params.to_json(),
        json!({
            "MD5:1/libtriton_identity.so": "invalid_checksum",
            "MD5:data_file": "4e41030bb1531cd68b2c0277b0aad2e9",
        })
    );
    assert_eq!(
        slice(&text, params.get("MD5:data_file").unwrap().key_span),
        "\"MD5:data_file\""
    );
}

#[test]
fn instance_groups_on_gpus_and_cpus() {
    let (text, root) = valid("instance_group_gpus.pbtxt");
    assert_eq!(
        root.get("instance_group").unwrap().to_json(),
        json!([
            {"count": 1, "kind": "KIND_GPU", "gpus": [0]},
            {"count": 2, "kind": "KIND_GPU", "gpus": [1, 2]},
        ])
    );
    let groups = root.get("instance_group").unwrap();
    assert_eq!(slice(&text, groups.key_span), "instance_group");

    let (_, root) = valid("instance_group_rate_limiter.pbtxt");
    let limiter = root
        .get("instance_group")
        .unwrap()
        .index(0)
        .unwrap()
        .get("rate_limiter")
        .unwrap();
    assert_eq!(
        limiter.to_json(),
        json!({"resources": [{"name": "R1", "count": 4}, {"name": "R2", "global": true, "count": 2}], "priority": 2})
    );

    let (_, root) = valid("sequence_oldest_control_inputs.pbtxt");
    assert_eq!(
        root.get("instance_group").unwrap().to_json(),
        json!([{"count": 2, "kind": "KIND_CPU"}])
    );
}

#[test]
fn model_warmup_data_sources() {
    let (_, root) = valid("warmup_random_zero_data.pbtxt");
    let inputs = root
        .get("model_warmup")
        .unwrap()
        .index(0)
        .unwrap()
        .get("inputs")
        .unwrap();
    assert_eq!(
        inputs.to_json(),
        json!({
            "INPUT0": {"data_type": "TYPE_FP32", "dims": [16], "zero_data": true},
            "INPUT1": {"data_type": "TYPE_FP32", "dims": [16], "random_data": true},
        })
    );

    let (text, root) = valid("warmup_input_data_file.pbtxt");
    let sample = root.get("model_warmup").unwrap().index(0).unwrap();
    assert_eq!(sample.get("name").unwrap().as_str(), Some("image sample"));
    let file = sample.at(&["inputs", "input", "input_data_file"]).unwrap();
    assert_eq!(file.as_str(), Some("raw_mug_data"));
    assert_eq!(slice(&text, file.span), "\"raw_mug_data\"");

    let (_, root) = valid("warmup_decoupled.pbtxt");
    assert_eq!(
        root.get("model_warmup").unwrap().to_json(),
        json!([{
            "name": "decoupled sample",
            "batch_size": 1,
            "inputs": {"INPUT": {"data_type": "TYPE_FP32", "dims": [4], "zero_data": true}},
        }])
    );
    assert_eq!(
        root.at(&["model_transaction_policy", "decoupled"])
            .unwrap()
            .value,
        Value::Bool(true)
    );
}

#[test]
fn optimization_accelerators_with_parameter_maps() {
    let (_, root) = valid("optimization_ort_tensorrt.pbtxt");
    assert_eq!(
        root.get("optimization").unwrap().to_json(),
        json!({
            "graph": {"level": 1},
            "execution_accelerators": {"gpu_execution_accelerator": [{
                "name": "tensorrt",
                "parameters": {"precision_mode": "FP16", "max_workspace_size_bytes": "1073741824"},
            }]},
        })
    );
    // `dims: 1 dims: 32 dims: 100` lines collect into one list.
    let dims = root
        .get("model_warmup")
        .unwrap()
        .index(0)
        .unwrap()
        .at(&["inputs", "input.1", "dims"])
        .unwrap();
    assert_eq!(dims.to_json(), json!([1, 32, 100]));

    let (_, root) = valid("warmup_input_data_file.pbtxt");
    assert_eq!(
        root.at(&[
            "optimization",
            "execution_accelerators",
            "gpu_execution_accelerator"
        ])
        .unwrap()
        .to_json(),
        json!([{"name": "tensorrt"}])
    );
}

#[test]
fn cache_transactions_versions_metrics_and_filenames() {
    let (_, root) = valid("response_cache_decoupled.pbtxt");
    assert_eq!(
        root.at(&["response_cache", "enable"]).unwrap().value,
        Value::Bool(true)
    );
    assert_eq!(
        root.at(&["model_transaction_policy", "decoupled"])
            .unwrap()
            .value,
        Value::Bool(true)
    );

    let (_, root) = valid("version_policy_all.pbtxt");
    assert_eq!(
        root.get("version_policy").unwrap().to_json(),
        json!({"all": {}})
    );
    assert_eq!(
        root.get("input")
            .unwrap()
            .index(2)
            .unwrap()
            .get("optional")
            .unwrap()
            .value,
        Value::Bool(true)
    );

    let (_, root) = valid("model_metrics_histogram.pbtxt");
    assert_eq!(
        root.get("model_metrics").unwrap().to_json(),
        json!({"metric_control": [{
            "metric_identifier": {"family": "nv_inference_first_response_histogram_ms"},
            "histogram_options": {"buckets": [-1.0, 0.0, 1.0, 2.5]},
        }]})
    );

    let (_, root) = valid("cc_model_filenames.pbtxt");
    assert_eq!(
        root.get("cc_model_filenames").unwrap().to_json(),
        json!({"7.5": "resnet50_T4.plan", "8.0": "resnet50_A100.plan"})
    );
}

#[test]
fn malformed_fixtures_report_positioned_errors() {
    let cases: &[(&str, &[&str])] = &[
        (
            "bad_unterminated_string.pbtxt",
            &["10:19 syntax: unterminated string: string literals cannot cross line boundaries"],
        ),
        (
            "bad_missing_brace.pbtxt",
            &[
                "8:1 syntax: `{` of `model_repository_agents` is never closed: expected `}` before the end of the file",
            ],
        ),
        (
            "bad_unknown_field.pbtxt",
            &[
                "7:1 unknown-field: unknown field `dynamic_batchin` in inference.ModelConfig; did you mean `dynamic_batching`?",
            ],
        ),
        (
            "bad_wrong_type.pbtxt",
            &[
                "5:17 wrong-type: field `max_batch_size` is an int32: expected an integer, found `\"4\"`",
                "10:12 wrong-type: field `value` is a message (inference.ModelParameter): expected `{`, found `\"2000\"`; write `{ string_value: \"2000\" }`",
            ],
        ),
        (
            "bad_enum.pbtxt",
            &[
                "10:12 bad-enum: `KIND_CPUU` is not a value of enum inference.ModelInstanceGroup.Kind; did you mean `KIND_CPU`?",
            ],
        ),
        (
            "bad_duplicate_field.pbtxt",
            &[
                "14:1 duplicate-field: field `max_batch_size` is not repeated but is set more than once",
            ],
        ),
        (
            "bad_warmup_oneof.pbtxt",
            &[
                "14:13 oneof-conflict: `random_data` and `zero_data` are both members of oneof `input_data_type` in inference.ModelWarmup.Input; only one may be set",
            ],
        ),
        (
            "bad_accelerator_parameters.pbtxt",
            &[
                "9:20 unknown-field: unknown field `precision_mode` in a map entry: entries have only `key` and `value`",
            ],
        ),
    ];
    for (name, expected) in cases {
        let (text, doc) = load(name);
        assert_eq!(rendered_errors(&text, &doc), *expected, "{name}");
        assert!(!doc.is_valid(), "{name}");
    }
    let on_disk = std::fs::read_dir(fixture_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("bad_")
        })
        .count();
    assert_eq!(on_disk, cases.len(), "every bad_ fixture has expectations");
}

#[test]
fn malformed_fixtures_keep_what_they_could_read() {
    let (text, doc) = load("bad_duplicate_field.pbtxt");
    // The first value wins; the second is pointed at, the first is the related span.
    assert_eq!(doc.root.get("max_batch_size").unwrap().value, Value::Int(4));
    let e = &doc.errors[0];
    assert_eq!(slice(&text, Some(e.span)), "max_batch_size");
    assert_eq!(
        e.related.unwrap().start,
        text.find("\nmax_batch_size").unwrap() + 1
    );

    let (_, doc) = load("bad_unknown_field.pbtxt");
    assert_eq!(
        doc.root.get("instance_group").unwrap().to_json(),
        json!([{"count": 1, "kind": "KIND_CPU"}])
    );

    let (text, doc) = load("bad_missing_brace.pbtxt");
    let agent = doc
        .root
        .at(&["model_repository_agents", "agents"])
        .unwrap()
        .index(0)
        .unwrap();
    assert_eq!(agent.get("name").unwrap().as_str(), Some("checksum"));
    assert_eq!(doc.errors[0].related.unwrap().start, text.len());
}
