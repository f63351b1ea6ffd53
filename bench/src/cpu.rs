//! CPU time of the server and of this process over the measured window,
//! from `/proc/<pid>/stat` (Linux): on a shared machine, throughput per
//! CPU-second holds up where throughput per second does not.

use tokio::time::{Instant, sleep_until};

/// Clock ticks per second of `/proc/*/stat` times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU use over the window, in cores (1.0 = one core busy all along).
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub server_cores: f64,
    pub client_cores: f64,
}

/// A measurement in progress.
pub struct Window {
    task: Option<tokio::task::JoinHandle<Option<Usage>>>,
}

impl Window {
    /// Reads both processes' CPU time at `from` and at `to`.
    pub fn start(pid: Option<u32>, from: Instant, to: Instant) -> Self {
        let task = pid.map(|pid| {
            tokio::spawn(async move {
                sleep_until(from).await;
                let (s0, c0) = (ticks(&pid.to_string())?, ticks("self")?);
                sleep_until(to).await;
                let (s1, c1) = (ticks(&pid.to_string())?, ticks("self")?);
                let secs = (to - from).as_secs_f64().max(1e-3);
                Some(Usage {
                    server_cores: (s1 - s0) / TICKS / secs,
                    client_cores: (c1 - c0) / TICKS / secs,
                })
            })
        });
        Self { task }
    }

    pub async fn finish(self) -> Option<Usage> {
        self.task?.await.ok().flatten()
    }
}

/// User plus system ticks of `/proc/<who>/stat`.
fn ticks(who: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{who}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15: 11 and 12 after the name.
    Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
}

/// The 1-minute load average, to note beside a figure.
pub fn load_avg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_cpu_ticks() {
        assert!(super::ticks("self").is_some());
    }
}
