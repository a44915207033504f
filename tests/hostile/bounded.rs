//! Runs one hostile case in a child process with a deadline and a memory ceiling, and
//! reports its peak resident memory, so that a regression to quadratic time or to memory
//! that grows with expansion fails a test instead of hanging it or exhausting the machine.
//!
//! The child is this same test binary, asked to run exactly one test with
//! `TG_HOSTILE_CHILD=<test name>`; in the child, [`bounded`] runs the case and prints the
//! peak RSS (`VmHWM`) from `/proc/self/status`. The parent starts it under `ulimit -v` (an
//! address-space ceiling well above the limit checked), polls it until the deadline (and
//! kills it after), and checks the exit status and the peak. Deadlines are generous (an
//! unoptimised build on a busy 2-core machine); they separate linear from quadratic work,
//! which differs by orders of magnitude on these inputs, not small constant factors.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "TG_HOSTILE_CHILD";
const PEAK_MARKER: &str = "hostile-peak-kib:";

/// Limits of one case.
pub struct Limits {
    pub deadline: Duration,
    /// Peak resident memory of the whole child process (the test binary's own few MiB
    /// included).
    pub peak_mib: u64,
}

pub fn limits(deadline_s: u64, peak_mib: u64) -> Limits {
    Limits {
        deadline: Duration::from_secs(deadline_s),
        peak_mib,
    }
}

/// Runs `case` as the test `path` (`module_path!()` and the test function's name) within
/// `limits` (see the module docs).
pub fn bounded(path: &str, limits: Limits, case: impl FnOnce()) {
    // The test harness names tests without the crate.
    let name = path.split_once("::").map_or(path, |(_, rest)| rest);
    if std::env::var(CHILD).as_deref() == Ok(name) {
        case();
        println!("{PEAK_MARKER} {}", own_peak_kib());
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    // The address-space ceiling: a runaway allocation fails in the child, it does not take
    // the machine. Address space is larger than RSS (thread stacks, allocator arenas).
    let ceiling_kib = (limits.peak_mib * 4 + 1024) * 1024;
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ceiling_kib}; exec \"$0\" \"$@\""))
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child test process");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > limits.deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name}: still running after {:?}: not linear any more?",
                limits.deadline
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    assert!(
        status.success(),
        "{name}: the case failed ({status}) after {elapsed:?}\n{stdout}\n{stderr}"
    );
    let peak_kib: u64 = stdout
        .lines()
        .find_map(|l| l.split_once(PEAK_MARKER))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name}: the child did not report its peak memory\n{stdout}"));
    eprintln!(
        "{name}: {:.2} s, peak {:.1} MiB",
        elapsed.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    assert!(
        peak_kib <= limits.peak_mib * 1024,
        "{name}: peak resident memory {:.1} MiB exceeds {} MiB",
        peak_kib as f64 / 1024.0,
        limits.peak_mib
    );
}

/// The peak resident set of this process, in KiB.
fn own_peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}
