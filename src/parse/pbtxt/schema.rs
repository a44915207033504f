//! The `inference.ModelConfig` schema as static tables, generated at build time from
//! `proto/model_config.proto` (see `build.rs`). Nothing is decoded at start-up: the tables are
//! ordinary `static` data.

use std::fmt;

/// A protobuf scalar type, named as in `.proto` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    /// The name used in `.proto` files (`uint64`), for messages.
    pub fn proto_name(self) -> &'static str {
        match self {
            Scalar::Double => "double",
            Scalar::Float => "float",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Uint32 => "uint32",
            Scalar::Uint64 => "uint64",
            Scalar::Sint32 => "sint32",
            Scalar::Sint64 => "sint64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Fixed64 => "fixed64",
            Scalar::Sfixed32 => "sfixed32",
            Scalar::Sfixed64 => "sfixed64",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
        }
    }

    /// For integer types: whether negative values are allowed, and the largest magnitude.
    pub fn integer_range(self) -> Option<IntRange> {
        let (signed, max) = match self {
            Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => (true, i32::MAX as u64),
            Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => (true, i64::MAX as u64),
            Scalar::Uint32 | Scalar::Fixed32 => (false, u64::from(u32::MAX)),
            Scalar::Uint64 | Scalar::Fixed64 => (false, u64::MAX),
            _ => return None,
        };
        Some(IntRange { signed, max })
    }
}

/// The values an integer field accepts: `-(max + 1) ..= max` when signed, `0 ..= max` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntRange {
    pub signed: bool,
    pub max: u64,
}

#[derive(Clone, Copy)]
pub enum FieldType {
    Scalar(Scalar),
    Enum(&'static EnumDesc),
    Message(&'static MessageDesc),
}

impl FieldType {
    /// How the type is named in messages: `string`, `inference.DataType`.
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::Scalar(s) => s.proto_name(),
            FieldType::Enum(e) => e.full_name,
            FieldType::Message(m) => m.full_name,
        }
    }
}

impl fmt::Debug for FieldType {
    // Only the type's name: printing the referenced message would walk the whole schema.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug)]
pub struct FieldDesc {
    pub name: &'static str,
    pub number: u32,
    pub ty: FieldType,
    /// `repeated`, which includes `map<>` fields.
    pub repeated: bool,
    /// Index into the containing message's `oneofs`.
    pub oneof: Option<usize>,
}

impl FieldDesc {
    /// The entry message when this is a `map<K, V>` field.
    pub fn map_entry(&self) -> Option<&'static MessageDesc> {
        match self.ty {
            FieldType::Message(m) if m.map_entry && self.repeated => Some(m),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct MessageDesc {
    pub full_name: &'static str,
    pub fields: &'static [FieldDesc],
    pub oneofs: &'static [&'static str],
    /// The synthetic `XxxEntry` message of a `map<>` field (fields `key` = 1, `value` = 2).
    pub map_entry: bool,
}

impl MessageDesc {
    pub fn field(&self, name: &str) -> Option<&'static FieldDesc> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_names(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().map(|f| f.name)
    }
}

#[derive(Debug)]
pub struct EnumDesc {
    pub full_name: &'static str,
    pub values: &'static [(&'static str, i32)],
}

impl EnumDesc {
    pub fn by_name(&self, name: &str) -> Option<i32> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The first value with this number (protobuf allows aliases; the first is canonical).
    pub fn by_number(&self, number: i64) -> Option<&'static str> {
        self.values
            .iter()
            .find(|(_, v)| i64::from(*v) == number)
            .map(|(n, _)| *n)
    }
}

include!(concat!(env!("OUT_DIR"), "/model_config_schema.rs"));

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn schema_source_is_the_recorded_snapshot() {
        let proto = include_bytes!("../../../proto/model_config.proto");
        let digest = Sha256::digest(proto);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "eb72c7ee93dc0eb6aa4393ff186ca0dd0898f0e138b0cd04eb0624a1a592f5f1"
        );
    }

    #[test]
    fn root_message_has_triton_fields() {
        assert_eq!(MODEL_CONFIG.full_name, "inference.ModelConfig");
        let input = MODEL_CONFIG.field("input").unwrap();
        assert!(input.repeated);
        assert_eq!(input.ty.name(), "inference.ModelInput");
        assert_eq!(MODEL_CONFIG.oneofs, &["scheduling_choice"]);
        let dynamic = MODEL_CONFIG.field("dynamic_batching").unwrap();
        let ensemble = MODEL_CONFIG.field("ensemble_scheduling").unwrap();
        assert_eq!(dynamic.oneof, Some(0));
        assert_eq!(ensemble.oneof, Some(0));
        assert_eq!(MODEL_CONFIG.field("name").unwrap().oneof, None);
    }

    #[test]
    fn map_fields_know_their_entry_types() {
        let params = MODEL_CONFIG.field("parameters").unwrap();
        let entry = params.map_entry().unwrap();
        assert_eq!(entry.full_name, "inference.ModelConfig.ParametersEntry");
        assert_eq!(entry.field("key").unwrap().ty.name(), "string");
        assert_eq!(
            entry.field("value").unwrap().ty.name(),
            "inference.ModelParameter"
        );
        let FieldType::Message(dynamic) = MODEL_CONFIG.field("dynamic_batching").unwrap().ty else {
            panic!("dynamic_batching is a message");
        };
        let queues = dynamic.field("priority_queue_policy").unwrap();
        let key = queues.map_entry().unwrap().field("key").unwrap();
        assert_eq!(key.ty.name(), "uint64");
        assert!(MODEL_CONFIG.field("input").unwrap().map_entry().is_none());
    }

    #[test]
    fn enums_resolve_by_name_and_number() {
        let FieldType::Message(group) = MODEL_CONFIG.field("instance_group").unwrap().ty else {
            panic!("instance_group is a message");
        };
        let FieldType::Enum(kind) = group.field("kind").unwrap().ty else {
            panic!("kind is an enum");
        };
        assert_eq!(kind.full_name, "inference.ModelInstanceGroup.Kind");
        assert_eq!(kind.by_name("KIND_CPU"), Some(2));
        assert_eq!(kind.by_number(1), Some("KIND_GPU"));
        assert_eq!(kind.by_number(99), None);
    }

    #[test]
    fn every_message_is_listed_once() {
        let mut names: Vec<&str> = ALL_MESSAGES.iter().map(|m| m.full_name).collect();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(names.contains(&"inference.ModelWarmup.Input"));
        assert!(ALL_MESSAGES.iter().filter(|m| m.map_entry).count() >= 10);
    }
}
