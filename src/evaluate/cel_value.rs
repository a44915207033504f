//! [`Node`] trees to CEL values, once per subject. Integers stay signed (serde conversion
//! would make positive numbers unsigned, and `port + 1` would then fail in CEL).

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString,
};
use cel::common::value::Val;
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

/// The CEL value of `node` for binding to a variable, borrowing its strings and keys: the
/// interpreter copies map and list values whenever a comprehension binds an element or a
/// field is taken by value, and a borrowed string is copied without allocating. Equal to
/// `to_cel(node)` converted to the interpreter's value.
pub fn to_val(node: &Node) -> Box<dyn Val + '_> {
    match &node.value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Int(i) => Box::new(CelInt::from(*i)),
        Value::Float(f) => Box::new(CelDouble::from(*f)),
        Value::Str(s) => Box::new(CelString::from(s.as_str())),
        Value::List(items) => Box::new(CelList::from(items.iter().map(to_val).collect::<Vec<_>>())),
        Value::Map(entries) => Box::new(CelMap::from(
            entries
                .iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), to_val(v)))
                .collect::<HashMap<_, _>>(),
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_borrowed_value_equals_the_converted_one() {
        let node = Node::map(vec![
            ("name".to_string(), Node::str("triton".to_string())),
            ("port".to_string(), Node::new(Value::Int(8002))),
            ("ratio".to_string(), Node::new(Value::Float(0.5))),
            ("on".to_string(), Node::new(Value::Bool(true))),
            ("none".to_string(), Node::null()),
            (
                "args".to_string(),
                Node::new(Value::List(vec![Node::str("--a".to_string())])),
            ),
        ]);
        let borrowed = cel::Value::try_from(to_val(&node).as_ref());
        assert_eq!(borrowed.ok(), Some(to_cel(&node)));
    }
}
