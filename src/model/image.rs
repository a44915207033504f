//! Container image references, and what the name tells about a Triton image: the NGC
//! container release in the tag and the Triton server version it ships.

use crate::model::launch::{Fact, Image};
use crate::source::Span;

/// Splits `registry/repo/name:tag@digest` and fills in what is known about Triton images.
pub fn parse_image(reference: &str, span: Option<Span>) -> Image {
    let reference = reference.trim();
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (reference, None),
    };
    // A ':' after the last '/' separates the tag; one before it is a registry port.
    let last_slash = name_and_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_and_tag[..last_slash + i],
            Some(name_and_tag[last_slash + i + 1..].to_string()),
        ),
        None => (name_and_tag, None),
    };
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_string()), rest.to_string())
        }
        _ => (None, name.to_string()),
    };
    let is_triton = repository.contains("tritonserver");
    let stock =
        is_triton && registry.as_deref() == Some("nvcr.io") && repository.starts_with("nvidia/");
    let (release, variant) = match (&tag, is_triton) {
        (Some(tag), true) => split_release(tag),
        _ => (None, None),
    };
    let triton_version = release.as_deref().and_then(triton_version_for_release);
    // `-sdk` images hold the clients and `-min` images are the build base: neither contains a
    // server, so only a tritonserver command run in them makes them a Triton launch.
    let no_server = variant.as_deref().is_some_and(contains_no_server);
    Image {
        reference: Fact::known(reference.to_string(), span),
        registry,
        repository: Some(repository),
        tag,
        digest,
        is_triton: is_triton && !no_server,
        release,
        triton_version,
        variant,
        // NGC's server images are CUDA builds; a custom image could be anything.
        gpu_capable: if stock { Some(true) } else { None },
        // NGC images create a `triton-server` user but set no USER (deploy guide).
        default_user_root: if stock { Some(true) } else { None },
    }
}

/// NGC tag variants that ship no tritonserver: `py3-sdk`, `py3-igpu-sdk`, `py3-min`.
fn contains_no_server(variant: &str) -> bool {
    variant
        .rsplit('-')
        .next()
        .is_some_and(|last| matches!(last, "sdk" | "min"))
}

/// `24.10-py3` → (`24.10`, `py3`); tags that do not start with a YY.MM release give nothing.
fn split_release(tag: &str) -> (Option<String>, Option<String>) {
    let (head, variant) = match tag.split_once('-') {
        Some((h, v)) => (h, Some(v.to_string())),
        None => (tag, None),
    };
    let mut parts = head.split('.');
    let (Some(yy), Some(mm), None) = (parts.next(), parts.next(), parts.next()) else {
        return (None, variant);
    };
    let valid = yy.len() == 2
        && mm.len() == 2
        && yy.bytes().all(|b| b.is_ascii_digit())
        && mm.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    if valid {
        (Some(head.to_string()), variant)
    } else {
        (None, variant)
    }
}

/// The Triton server version an NGC release ships (build.py's version map): 2.N.0 where N
/// counts months from 22.01 = 2.18.0, until 25.06 = 2.59.0; 25.07 shipped 2.59.1, after which
/// the count continues one lower (25.08 = 2.60.0).
pub fn triton_version_for_release(release: &str) -> Option<String> {
    let (yy, mm) = release.split_once('.')?;
    let yy: i64 = yy.parse().ok()?;
    let mm: i64 = mm.parse().ok()?;
    let months = (yy - 22) * 12 + (mm - 1);
    // 21.12 = 2.17.0 is the oldest release the map was checked against.
    if months < -1 {
        return None;
    }
    let july_2025 = (25 - 22) * 12 + 6;
    Some(match months.cmp(&july_2025) {
        std::cmp::Ordering::Less => format!("2.{}.0", 18 + months),
        std::cmp::Ordering::Equal => "2.59.1".to_string(),
        std::cmp::Ordering::Greater => format!("2.{}.0", 17 + months),
    })
}

/// The NGC release that ships a Triton server version: the inverse of
/// [`triton_version_for_release`] (`2.51.0` → `24.10`, `2.59.1` → `25.07`), for a version a
/// running server reports. Patch versions other than 2.59.1 map to their minor's release.
pub fn release_for_triton_version(version: &str) -> Option<String> {
    let mut parts = version.trim().split('.');
    let (Some("2"), Some(minor), patch) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let minor: i64 = minor.parse().ok()?;
    let patch: i64 = patch
        .map(|p| p.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let months = match (minor, patch) {
        (59, 1) => (25 - 22) * 12 + 6,
        (m, _) if m <= 59 => m - 18,
        (m, _) => m - 17,
    };
    if months < -1 {
        return None;
    }
    let total = 22 * 12 + months;
    Some(format!("{:02}.{:02}", total / 12, total % 12 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngc_references_are_split_and_mapped_to_versions() {
        let image = parse_image("nvcr.io/nvidia/tritonserver:24.10-py3", None);
        assert_eq!(image.registry.as_deref(), Some("nvcr.io"));
        assert_eq!(image.repository.as_deref(), Some("nvidia/tritonserver"));
        assert_eq!(image.release.as_deref(), Some("24.10"));
        assert_eq!(image.variant.as_deref(), Some("py3"));
        assert_eq!(image.triton_version.as_deref(), Some("2.51.0"));
        assert!(image.is_triton);
        assert_eq!(image.gpu_capable, Some(true));
        assert_eq!(image.default_user_root, Some(true));
    }

    #[test]
    fn the_version_map_matches_build_py_at_its_turns() {
        for (release, version) in [
            ("21.12", "2.17.0"),
            ("22.01", "2.18.0"),
            ("23.05", "2.34.0"),
            ("24.04", "2.45.0"),
            ("25.06", "2.59.0"),
            ("25.07", "2.59.1"),
            ("25.08", "2.60.0"),
            ("26.07", "2.71.0"),
        ] {
            assert_eq!(
                triton_version_for_release(release).as_deref(),
                Some(version),
                "{release}"
            );
        }
        assert_eq!(triton_version_for_release("20.01"), None);
    }

    #[test]
    fn server_versions_map_back_to_their_release() {
        for release in [
            "21.12", "22.01", "23.05", "24.04", "24.10", "25.06", "25.07", "25.08", "26.07",
        ] {
            let version = triton_version_for_release(release).unwrap();
            assert_eq!(
                release_for_triton_version(&version).as_deref(),
                Some(release),
                "{version}"
            );
        }
        assert_eq!(
            release_for_triton_version("2.51.0dev").as_deref(),
            Some("24.10")
        );
        assert_eq!(release_for_triton_version("2.16.0"), None);
        assert_eq!(release_for_triton_version("3.0.0"), None);
        assert_eq!(release_for_triton_version("garbage"), None);
    }

    #[test]
    fn registry_ports_digests_and_custom_images() {
        let image = parse_image(
            "localhost:5000/team/tritonserver-custom:1.2@sha256:abc",
            None,
        );
        assert_eq!(image.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(
            image.repository.as_deref(),
            Some("team/tritonserver-custom")
        );
        assert_eq!(image.tag.as_deref(), Some("1.2"));
        assert_eq!(image.digest.as_deref(), Some("sha256:abc"));
        assert!(image.is_triton);
        assert_eq!(image.release, None);
        assert_eq!(image.gpu_capable, None);
        let sdk = parse_image("nvcr.io/nvidia/tritonserver:24.10-py3-sdk", None);
        assert!(!sdk.is_triton, "the SDK image holds clients, not a server");
        for tag in ["24.10-py3-min", "24.10-py3-igpu-sdk", "24.10-py3-igpu-min"] {
            let image = parse_image(&format!("nvcr.io/nvidia/tritonserver:{tag}"), None);
            assert!(!image.is_triton, "{tag} holds no server");
            assert_eq!(image.release.as_deref(), Some("24.10"));
        }
        let full = parse_image("nvcr.io/nvidia/tritonserver:24.10-trtllm-python-py3", None);
        assert!(full.is_triton);
        let other = parse_image("nginx:1.27", None);
        assert!(!other.is_triton);
        assert_eq!(other.repository.as_deref(), Some("nginx"));
    }
}
