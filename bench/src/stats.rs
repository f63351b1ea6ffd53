//! Latency samples and their percentiles.
//!
//! Samples are kept whole (microseconds, 4 bytes each) and sorted once at
//! the end: exact percentiles, and ten million samples cost 40 MB.

use serde::Serialize;
use std::time::Duration;

/// Errors of one or many connections: how many, and the first few words.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    pub count: u64,
    pub first: Vec<String>,
}

impl Errors {
    /// How many error messages a report keeps.
    const KEEP: usize = 3;

    pub fn record(&mut self, what: impl Into<String>) {
        self.count += 1;
        if self.first.len() < Self::KEEP {
            self.first.push(what.into());
        }
    }

    pub fn merge(&mut self, other: Errors) {
        self.count += other.count;
        let room = Self::KEEP.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }

    /// The report's lines: the count, then the first messages.
    pub fn write(&self, table: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(table, "  errors            {}", self.count);
        for e in &self.first {
            let _ = writeln!(table, "    {e}");
        }
    }
}

/// Durations recorded by one or many connections.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<u32>);

/// Percentiles of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros().min(u128::from(u32::MAX)) as u32);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// The percentiles (nearest rank); all zero when there is no sample.
    pub fn summary(mut self) -> Summary {
        self.0.sort_unstable();
        let v = &self.0;
        let at = |q: f64| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
            f64::from(v[rank - 1]) / 1000.0
        };
        Summary {
            n: v.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms  (n={})",
            self.p50, self.p90, self.p99, self.p999, self.max, self.n
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_count_all_and_keep_the_first_three() {
        let mut a = Errors::default();
        a.record("one");
        a.record("two");
        let mut b = Errors::default();
        for w in ["three", "four", "five"] {
            b.record(w);
        }
        a.merge(b);
        assert_eq!(a.count, 5);
        assert_eq!(a.first, ["one", "two", "three"]);
        let mut table = String::new();
        a.write(&mut table);
        assert_eq!(
            table,
            "  errors            5\n    one\n    two\n    three\n"
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut s = Samples::default();
        for ms in 1..=1000u64 {
            s.push(Duration::from_millis(ms));
        }
        let sum = s.summary();
        assert_eq!(sum.n, 1000);
        assert_eq!(sum.p50, 500.0);
        assert_eq!(sum.p90, 900.0);
        assert_eq!(sum.p99, 990.0);
        assert_eq!(sum.p999, 999.0);
        assert_eq!(sum.max, 1000.0);
    }

    #[test]
    fn no_samples_give_zeros() {
        let sum = Samples::default().summary();
        assert_eq!((sum.n, sum.p99, sum.max), (0, 0.0, 0.0));
    }
}
