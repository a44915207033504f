//! Resource quantities: Kubernetes (`16Gi`, `500m`, `1e9`) and Docker (`16g`, `512m`) forms.

/// A Kubernetes quantity in milli-units (so CPU `500m` is 500 and memory `1Ki` is 1_024_000).
pub fn parse_k8s_milli(text: &str) -> Option<i128> {
    let text = text.trim();
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    if number.is_empty() {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let factor: f64 = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let milli = value * factor * 1000.0;
    if !milli.is_finite() || milli < 0.0 {
        return None;
    }
    Some(milli.round() as i128)
}

/// Bytes of a Kubernetes memory quantity.
pub fn k8s_bytes(text: &str) -> Option<i64> {
    parse_k8s_milli(text).and_then(|m| i64::try_from(m / 1000).ok())
}

/// Millicores of a Kubernetes CPU quantity.
pub fn k8s_millicores(text: &str) -> Option<i64> {
    parse_k8s_milli(text).and_then(|m| i64::try_from(m).ok())
}

/// Bytes of a Docker memory size (`512m`, `2g`, `1024k`, `1073741824`, `1gb`).
pub fn docker_bytes(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (number, unit) = match lower.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => lower.split_at(i),
        None => (lower, ""),
    };
    let value: f64 = number.parse().ok()?;
    let factor: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    let bytes = value * factor;
    if bytes.is_finite() && bytes >= 0.0 {
        Some(bytes as i64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_quantities() {
        assert_eq!(k8s_bytes("16Gi"), Some(16 * 1024 * 1024 * 1024));
        assert_eq!(k8s_bytes("1G"), Some(1_000_000_000));
        assert_eq!(k8s_bytes("1e3"), Some(1000));
        assert_eq!(k8s_bytes("128974848"), Some(128_974_848));
        assert_eq!(k8s_millicores("500m"), Some(500));
        assert_eq!(k8s_millicores("2"), Some(2000));
        assert_eq!(k8s_millicores("0.5"), Some(500));
        assert_eq!(k8s_bytes("lots"), None);
        assert_eq!(k8s_bytes("12Qi"), None);
    }

    #[test]
    fn docker_sizes() {
        assert_eq!(docker_bytes("512m"), Some(512 * 1024 * 1024));
        assert_eq!(docker_bytes("2g"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(docker_bytes("2GB"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(docker_bytes("1000"), Some(1000));
        assert_eq!(docker_bytes("big"), None);
    }
}
