//! The exposure map as JSON: `{"schema_version", "scanned", "summary", "launches"}`, each
//! launch with its ports, routes, narrowing and authentication (docs/exposure.md). The order
//! is the map's (sorted), and object keys are written in a fixed order.

use serde::Serialize;

use super::{ExposureMap, LaunchExposure};

/// Changes when the shape does.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonMap<'a> {
    schema_version: u32,
    scanned: &'a str,
    summary: Summary,
    launches: &'a [LaunchExposure],
}

#[derive(Serialize)]
struct Summary {
    launches: usize,
    ports: usize,
    external: usize,
    internet: usize,
    internet_unauthenticated: usize,
}

pub fn render(map: &ExposureMap) -> String {
    let json = JsonMap {
        schema_version: SCHEMA_VERSION,
        scanned: &map.scanned,
        summary: Summary {
            launches: map.launches.len(),
            ports: map.ports().count(),
            external: map.ports().filter(|p| p.external).count(),
            internet: map
                .ports()
                .filter(|p| p.reach.as_deref() == Some("internet"))
                .count(),
            internet_unauthenticated: map.ports().filter(|p| p.open_to_internet()).count(),
        },
        launches: &map.launches,
    };
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');
    text
}
