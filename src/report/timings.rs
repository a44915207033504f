//! `check --timings`: the wall time of each stage, so a slow scan says where its time went.

use std::time::Duration;

/// One line per stage with its time and share of the total, then the total.
pub fn render(stages: &[(&'static str, Duration)], total: Duration) -> String {
    let width = stages.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let total_ms = total.as_secs_f64() * 1000.0;
    let mut out = String::from("timings:\n");
    for (name, time) in stages {
        let ms = time.as_secs_f64() * 1000.0;
        let share = if total_ms > 0.0 {
            ms / total_ms * 100.0
        } else {
            0.0
        };
        out.push_str(&format!("  {name:<width$}  {ms:>9.1} ms  {share:>5.1} %\n"));
    }
    out.push_str(&format!("  {:<width$}  {total_ms:>9.1} ms", "total"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_has_its_time_and_share_of_the_total() {
        let text = render(
            &[
                ("load", Duration::from_millis(30)),
                ("correlate", Duration::from_millis(10)),
            ],
            Duration::from_millis(100),
        );
        assert_eq!(
            text,
            "timings:\n  load            30.0 ms   30.0 %\n  correlate       10.0 ms   10.0 %\n  total          100.0 ms"
        );
    }
}
