//! [`Node`] trees to CEL values, once per subject. Integers stay signed (serde conversion
//! would make positive numbers unsigned, and `port + 1` would then fail in CEL).

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};

use crate::tree::{Node, Value};

pub fn to_cel(node: &Node) -> cel::Value {
    match &node.value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Int(i) => cel::Value::Int(*i),
        Value::Float(f) => cel::Value::Float(*f),
        Value::Str(s) => cel::Value::String(Arc::new(s.clone())),
        Value::List(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Map(entries) => {
            let map: HashMap<Key, cel::Value> = entries
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            cel::Value::Map(Map { map: Arc::new(map) })
        }
    }
}

/// A CEL value as plain text for messages and labels.
pub fn to_text(value: &cel::Value) -> Option<String> {
    match value {
        cel::Value::String(s) => Some(s.to_string()),
        cel::Value::Int(i) => Some(i.to_string()),
        cel::Value::UInt(u) => Some(u.to_string()),
        cel::Value::Float(f) => Some(f.to_string()),
        cel::Value::Bool(b) => Some(b.to_string()),
        cel::Value::Null => Some("null".to_string()),
        _ => None,
    }
}
