//! The exposure map as text: one block per launch, one line per enabled port (its number,
//! reach and the authentication in front), and under it the routes that reach it and what
//! narrows it, each with where it is written.
//!
//! ```text
//! Deployment/default/triton, container "triton"  (deploy/triton.yaml:21, directory deploy)
//!   http     8000  internet  auth: none  ! reachable from the internet without authentication
//!     <- LoadBalancer Service "triton" forwards port 80 to the http port  (deploy/svc.yaml:9)
//! ```

use std::fmt::Write;

use super::{ExposureMap, LaunchExposure, Place, PortView};

fn at(place: &Option<Place>) -> String {
    match place {
        Some(p) => format!("  ({}:{})", p.file, p.line),
        None => String::new(),
    }
}

fn auth(port: &PortView) -> String {
    let mut names: Vec<String> = port
        .auth
        .iter()
        .map(|e| {
            if e.name.is_empty() || e.name == port.name {
                e.kind.clone()
            } else {
                format!("{} \"{}\"", e.kind, e.name)
            }
        })
        .collect();
    names.extend(
        port.routes
            .iter()
            .filter(|r| r.authenticated)
            .map(|r| format!("on {} \"{}\"", r.kind, r.name)),
    );
    names.dedup();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn launch_block(out: &mut String, launch: &LaunchExposure) {
    // A file that is a unit of its own (a Helm render, standard input) is named once.
    let where_ = match &launch.at {
        Some(p) if launch.unit == format!("file {}", p.file) => format!("{}:{}", p.file, p.line),
        Some(p) => format!("{}:{}, {}", p.file, p.line, launch.unit),
        None => launch.unit.clone(),
    };
    let _ = writeln!(out, "{}  ({where_})", launch.title());
    if launch.ports.is_empty() {
        out.push_str("  no enabled port\n");
    }
    for port in &launch.ports {
        let number = port.port.map_or_else(|| "?".to_string(), |n| n.to_string());
        let reach = port.reach.as_deref().unwrap_or("unknown");
        let warning = if port.open_to_internet() {
            "  ! reachable from the internet without authentication"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:<9} {:<5}  {:<8}  auth: {}{warning}",
            port.name,
            number,
            reach,
            auth(port)
        );
        for route in &port.routes {
            let _ = writeln!(out, "    <- {}{}", route.note, at(&route.at));
        }
        if port.routes.is_empty() {
            let how = match reach {
                "cluster" => "the pod address (no Service selects the pod)",
                "host" => "the container network of the host (not published)",
                "local" => "only from inside the pod or container",
                _ => "",
            };
            if !how.is_empty() {
                let _ = writeln!(out, "    <- {how}");
            }
        }
        for narrowing in &port.narrowed_by {
            let _ = writeln!(out, "    narrowed: {}{}", narrowing.note, at(&narrowing.at));
        }
    }
    if launch.ports.iter().any(|p| p.external) {
        if launch.rate_limiting.is_empty() {
            out.push_str("  rate limiting: none\n");
        }
        for limit in &launch.rate_limiting {
            let _ = writeln!(out, "  rate limiting: {}{}", limit.note, at(&limit.at));
        }
    }
}

pub fn render(map: &ExposureMap) -> String {
    let mut out = String::new();
    for (i, launch) in map.launches.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        launch_block(&mut out, launch);
    }
    if !map.launches.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}: {}", map.scanned, map.summary());
    out
}
