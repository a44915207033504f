#![no_main]
//! The YAML loader: no panic, spans inside the text, bounded alias expansion.

use libfuzzer_sys::fuzz_target;
use tritonguard::parse::yaml::parse_stream;
use tritonguard::source::FileId;
use tritonguard::tree::{Node, Value};
use tritonguard_fuzz::{check_span, text};

fn spans(text: &str, node: &Node) {
    for span in [node.span, node.key_span].into_iter().flatten() {
        check_span(text, span);
    }
    match &node.value {
        Value::List(items) => items.iter().for_each(|n| spans(text, n)),
        Value::Map(entries) => entries.iter().for_each(|(_, n)| spans(text, n)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let stream = parse_stream(FileId(0), &text);
    for doc in &stream.documents {
        check_span(&text, doc.extent);
        spans(&text, &doc.root);
    }
    for error in &stream.errors {
        check_span(&text, error.span);
    }
});
