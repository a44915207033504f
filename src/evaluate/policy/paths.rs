//! The paths of a policy (`at`, `related`, `each`) checked when it loads against the shape of
//! its subject: a Launch against [`crate::model::launch::Launch::sample`], where every field
//! exists; a model configuration against the `inference.ModelConfig` schema of
//! model_config.proto. A path with a field the subject cannot have would point nowhere on
//! every scan; it is a policy error at the path, with the closest field suggested.

use crate::evaluate::policy::spec::{PathText, PolicySpec, Subject};
use crate::parse::pbtxt::schema::{FieldType, MODEL_CONFIG, MessageDesc};
use crate::tree::{Node, PathSegment, Value};

/// Where a path leaves the subject's shape: the unknown field, and the fields there are.
#[derive(Debug, PartialEq, Eq)]
pub struct Unknown {
    pub field: String,
    /// The path up to (not including) the unknown field.
    pub parent: String,
    pub suggestion: Option<String>,
}

/// What `item` stands for in a policy with `each`.
enum Shape<'a> {
    Sample(&'a Node),
    Message(&'static MessageDesc),
    /// Not checked (a scalar, an unknown subject).
    Any,
}

/// Each unknown path of `spec`, with its message.
pub fn check(spec: &PolicySpec) -> Vec<(&PathText, String)> {
    let sample;
    let root: Shape<'_> = match spec.subject {
        Subject::Launch => {
            use crate::tree::ToNode;
            sample = crate::model::launch::Launch::sample().to_node();
            Shape::Sample(&sample)
        }
        Subject::Pbtxt => Shape::Message(MODEL_CONFIG),
        _ => return Vec::new(),
    };
    let var = spec.subject.variable();
    // `each: variables.NAME` visits a computed value: its elements have no schema here.
    let each = spec
        .each
        .as_ref()
        .filter(|each| super::variables::each_variable(each).is_none());
    let item = each
        .map(|each| element(&root, rest_of(each, var)))
        .unwrap_or(Shape::Any);
    let mut paths: Vec<&PathText> = each.into_iter().collect();
    paths.extend(spec.at.iter().map(|c| &c.path));
    paths.extend(spec.related.iter().map(|r| &r.at));
    let mut out = Vec::new();
    for path in paths {
        let (base, start) = match path.segments.first() {
            Some(PathSegment::Key(k)) if k == "item" => (&item, "item"),
            _ => (&root, var),
        };
        let rest = path.segments.get(1..).unwrap_or(&[]);
        if let Some(unknown) = walk(base, rest, start) {
            let hint = unknown
                .suggestion
                .as_ref()
                .map(|s| format!(" (did you mean '{}.{s}'?)", unknown.parent))
                .unwrap_or_default();
            let shows = if spec.subject == Subject::Launch {
                "`tritonguard inspect FILE` shows the fields a launch has"
            } else {
                "the fields are those of model_config.proto"
            };
            out.push((
                path,
                format!(
                    "'{}' has no field '{}'{hint}: this path would point nowhere; {shows}",
                    unknown.parent, unknown.field
                ),
            ));
        }
    }
    out
}

fn rest_of<'a>(path: &'a PathText, var: &str) -> &'a [PathSegment] {
    match path.segments.first() {
        Some(PathSegment::Key(k)) if k == var => path.segments.get(1..).unwrap_or(&[]),
        _ => &[],
    }
}

/// The shape of an element of what `path` names (a list's element, a map's value).
fn element<'a>(root: &Shape<'a>, path: &[PathSegment]) -> Shape<'a> {
    match root {
        Shape::Sample(node) => {
            let mut node: &Node = node;
            for segment in path {
                node = match (segment, &node.value) {
                    (PathSegment::Key(k), Value::List(items)) => {
                        match items.first().and_then(|i| i.get(k)) {
                            Some(n) => n,
                            None => return Shape::Any,
                        }
                    }
                    (PathSegment::Key(k), _) => match node.get(k) {
                        Some(n) => n,
                        None => return Shape::Any,
                    },
                    (PathSegment::Index(_), Value::List(items)) => match items.first() {
                        Some(n) => n,
                        None => return Shape::Any,
                    },
                    _ => return Shape::Any,
                };
            }
            match &node.value {
                Value::List(items) => items.first().map_or(Shape::Any, Shape::Sample),
                Value::Map(entries) => entries
                    .first()
                    .map_or(Shape::Any, |(_, v)| Shape::Sample(v)),
                _ => Shape::Any,
            }
        }
        Shape::Message(message) => {
            let mut message: &'static MessageDesc = message;
            let mut field_type = None;
            for segment in path {
                let PathSegment::Key(k) = segment else {
                    continue;
                };
                let Some(field) = message.field(k) else {
                    return Shape::Any;
                };
                let ty = match field.map_entry() {
                    Some(entry) => match entry.field("value") {
                        Some(value) => value.ty,
                        None => return Shape::Any,
                    },
                    None => field.ty,
                };
                match ty {
                    FieldType::Message(m) => {
                        message = m;
                        field_type = Some(m);
                    }
                    _ => return Shape::Any,
                }
            }
            field_type.map_or(Shape::Any, Shape::Message)
        }
        Shape::Any => Shape::Any,
    }
}

/// The first field of `path` that `shape` does not have.
fn walk(shape: &Shape<'_>, path: &[PathSegment], start: &str) -> Option<Unknown> {
    let mut parent = start.to_string();
    match shape {
        Shape::Any => None,
        Shape::Sample(node) => {
            let mut node: &Node = node;
            for segment in path {
                let next = match (segment, &node.value) {
                    (PathSegment::Index(_), Value::List(items)) => items.first(),
                    (PathSegment::Index(_), _) => return None,
                    // A key on a list applies to its elements (as `each` reads it).
                    (PathSegment::Key(k), Value::List(items)) => match items.first() {
                        Some(first) => first.get(k),
                        None => return None,
                    },
                    (PathSegment::Key(k), Value::Map(_)) => node.get(k),
                    // Past a scalar or a null there is nothing the sample can say.
                    (PathSegment::Key(_), _) => return None,
                };
                let PathSegment::Key(k) = segment else {
                    match next {
                        Some(n) => {
                            node = n;
                            continue;
                        }
                        None => return None,
                    }
                };
                match next {
                    Some(n) => node = n,
                    None => {
                        let keys = match &node.value {
                            Value::List(items) => items.first().map(Node::as_map).unwrap_or(&[]),
                            _ => node.as_map(),
                        };
                        return Some(Unknown {
                            field: k.clone(),
                            suggestion: closest(k, keys.iter().map(|(k, _)| k.as_str()))
                                .map(str::to_string),
                            parent,
                        });
                    }
                }
                parent = format!("{parent}.{k}");
            }
            None
        }
        Shape::Message(message) => {
            let mut message: &'static MessageDesc = message;
            let mut segments = path.iter();
            while let Some(segment) = segments.next() {
                let PathSegment::Key(k) = segment else {
                    continue;
                };
                let Some(field) = message.field(k) else {
                    return Some(Unknown {
                        field: k.clone(),
                        suggestion: closest(k, message.field_names()).map(str::to_string),
                        parent,
                    });
                };
                parent = format!("{parent}.{k}");
                let ty = match field.map_entry() {
                    Some(entry) => {
                        // The next segment is a key of the map, whatever it is.
                        if let Some(PathSegment::Key(key)) = segments.next() {
                            parent = format!("{parent}.{key}");
                        }
                        match entry.field("value") {
                            Some(value) => value.ty,
                            None => return None,
                        }
                    }
                    None => field.ty,
                };
                match ty {
                    FieldType::Message(m) => message = m,
                    // An enum or a scalar: a field below it cannot exist.
                    _ => {
                        return segments.find_map(|s| match s {
                            PathSegment::Key(k) => Some(Unknown {
                                field: k.clone(),
                                suggestion: None,
                                parent: parent.clone(),
                            }),
                            PathSegment::Index(_) => None,
                        });
                    }
                }
            }
            None
        }
    }
}

/// The candidate nearest to `name` by edit distance (a swap of two letters counts one), if
/// it is near enough to be a typo.
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::osa_distance(&c.to_lowercase(), &name.to_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_path;

    fn pbtxt(path: &str) -> Option<Unknown> {
        let segments = parse_path(path).unwrap();
        walk(&Shape::Message(MODEL_CONFIG), &segments[1..], "config")
    }

    #[test]
    fn model_config_paths_follow_the_proto_schema() {
        assert_eq!(pbtxt("config.name"), None);
        assert_eq!(
            pbtxt("config.dynamic_batching.max_queue_delay_microseconds"),
            None
        );
        assert_eq!(
            pbtxt("config.parameters.EXECUTION_ENV_PATH.string_value"),
            None
        );
        assert_eq!(pbtxt("config.input.dims"), None);
        let typo = pbtxt("config.dynamic_batching.max_queue_delay_micro").unwrap();
        assert_eq!(typo.parent, "config.dynamic_batching");
        assert_eq!(typo.field, "max_queue_delay_micro");
        let typo = pbtxt("config.nmae").unwrap();
        assert_eq!(typo.suggestion.as_deref(), Some("name"));
        let below_scalar = pbtxt("config.name.first").unwrap();
        assert_eq!(below_scalar.parent, "config.name");
    }

    #[test]
    fn launch_paths_follow_the_sample() {
        use crate::tree::ToNode;
        let sample = crate::model::launch::Launch::sample().to_node();
        let launch = |path: &str| {
            let segments = parse_path(path).unwrap();
            walk(&Shape::Sample(&sample), &segments[1..], "launch")
        };
        assert_eq!(launch("launch.server.model_control_mode"), None);
        let typo = launch("launch.server.model_contrl_mode").unwrap();
        assert_eq!(typo.parent, "launch.server");
        assert_eq!(typo.suggestion.as_deref(), Some("model_control_mode"));
    }
}
