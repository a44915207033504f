//! `check --timings`: the wall time of each stage and the peak memory when it ended, so a
//! slow or large scan says where its time and memory went.

use std::time::Duration;

use crate::report::Stage;

/// One line per stage with its time, share of the total and the peak resident memory at its
/// end, then the total.
pub fn render(stages: &[Stage], total: Duration) -> String {
    let width = stages.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let total_ms = total.as_secs_f64() * 1000.0;
    let mut out = String::from("timings:\n");
    for stage in stages {
        let ms = stage.time.as_secs_f64() * 1000.0;
        let share = if total_ms > 0.0 {
            ms / total_ms * 100.0
        } else {
            0.0
        };
        let memory = stage
            .peak_rss
            .map(|bytes| format!("  peak {:>7.1} MiB", bytes as f64 / 1048576.0))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<width$}  {ms:>9.1} ms  {share:>5.1} %{memory}\n",
            stage.name
        ));
    }
    out.push_str(&format!("  {:<width$}  {total_ms:>9.1} ms", "total"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_has_its_time_share_of_the_total_and_peak_memory() {
        let text = render(
            &[
                Stage {
                    name: "load",
                    time: Duration::from_millis(30),
                    peak_rss: Some(64 * 1048576),
                },
                Stage {
                    name: "correlate",
                    time: Duration::from_millis(10),
                    peak_rss: None,
                },
            ],
            Duration::from_millis(100),
        );
        assert_eq!(
            text,
            "timings:\n  load            30.0 ms   30.0 %  peak    64.0 MiB\n  correlate       10.0 ms   10.0 %\n  total          100.0 ms"
        );
    }
}
