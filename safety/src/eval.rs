//! Scoring the classifier on a labelled file: JSON lines of
//! `{"text": "...", "label": "none|low|medium|high"}`.
//!
//! [`Report::table`] is what `chorus safety-eval FILE.jsonl` and `make test`
//! print: the confusion matrix, precision and recall per level, the recall
//! of high risk and the false alarms on benign messages (none or low
//! escalated to high).

use crate::{RiskLevel, assess};
use serde::Deserialize;
use std::fmt::Write as _;

const LEVELS: [RiskLevel; 4] = [
    RiskLevel::None,
    RiskLevel::Low,
    RiskLevel::Medium,
    RiskLevel::High,
];

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Labelled {
    pub text: String,
    pub label: RiskLevel,
}

/// A line of the file that is not a labelled message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// Reads JSON lines; blank lines and lines starting with `#` or `//` are
/// skipped.
pub fn parse_jsonl(source: &str) -> Result<Vec<Labelled>, ParseError> {
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && !t.starts_with("//")
        })
        .map(|(i, l)| {
            serde_json::from_str::<Labelled>(l).map_err(|e| ParseError {
                line: i + 1,
                reason: format!(
                    "expected {{\"text\": \"...\", \"label\": \"none|low|medium|high\"}} ({e})"
                ),
            })
        })
        .collect()
}

/// The classifier's results on a labelled set.
#[derive(Debug, Clone)]
pub struct Report {
    /// `matrix[label][classified]`, in the order none, low, medium, high.
    pub matrix: [[usize; 4]; 4],
    /// Messages classified otherwise than labelled: (text, label, got).
    pub misses: Vec<(String, RiskLevel, RiskLevel)>,
}

fn index(level: RiskLevel) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(0)
}

impl Report {
    /// Classifies every message of the set.
    pub fn run(set: &[Labelled]) -> Self {
        let mut matrix = [[0usize; 4]; 4];
        let mut misses = Vec::new();
        for m in set {
            let got = assess(&m.text).level;
            matrix[index(m.label)][index(got)] += 1;
            if got != m.label {
                misses.push((m.text.clone(), m.label, got));
            }
        }
        Self { matrix, misses }
    }

    /// How many messages.
    pub fn total(&self) -> usize {
        self.matrix.iter().flatten().sum()
    }

    /// Of the messages classified `level`, the share labelled so.
    pub fn precision(&self, level: RiskLevel) -> Option<f64> {
        let i = index(level);
        let predicted: usize = self.matrix.iter().map(|row| row[i]).sum();
        (predicted > 0).then(|| self.matrix[i][i] as f64 / predicted as f64)
    }

    /// Of the messages labelled `level`, the share classified so.
    pub fn recall(&self, level: RiskLevel) -> Option<f64> {
        let i = index(level);
        let actual: usize = self.matrix[i].iter().sum();
        (actual > 0).then(|| self.matrix[i][i] as f64 / actual as f64)
    }

    /// (caught, labelled high).
    pub fn high_caught(&self) -> (usize, usize) {
        let h = index(RiskLevel::High);
        (self.matrix[h][h], self.matrix[h].iter().sum())
    }

    /// (benign escalated to high, benign): benign is labelled none or low.
    pub fn false_alarms(&self) -> (usize, usize) {
        let h = index(RiskLevel::High);
        let benign = [index(RiskLevel::None), index(RiskLevel::Low)];
        (
            benign.iter().map(|&b| self.matrix[b][h]).sum(),
            benign
                .iter()
                .map(|&b| self.matrix[b].iter().sum::<usize>())
                .sum(),
        )
    }

    /// (someone else's risk escalated to high, labelled medium).
    pub fn medium_escalated(&self) -> (usize, usize) {
        let m = index(RiskLevel::Medium);
        (
            self.matrix[m][index(RiskLevel::High)],
            self.matrix[m].iter().sum(),
        )
    }

    /// High-risk recall, or 1 when the set has none.
    pub fn high_recall(&self) -> f64 {
        let (caught, all) = self.high_caught();
        if all == 0 {
            1.0
        } else {
            caught as f64 / all as f64
        }
    }

    /// The share of benign messages escalated, or 0 when the set has none.
    pub fn false_alarm_rate(&self) -> f64 {
        let (alarms, all) = self.false_alarms();
        if all == 0 {
            0.0
        } else {
            alarms as f64 / all as f64
        }
    }

    /// The printed report.
    pub fn table(&self, name: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "safety classifier on {} messages ({name})",
            self.total()
        );
        let _ = writeln!(
            out,
            "confusion matrix (rows: label, columns: classified as)"
        );
        let _ = writeln!(
            out,
            "{:<8} {:>6} {:>6} {:>6} {:>6}",
            "", "none", "low", "medium", "high"
        );
        for level in LEVELS {
            let row = self.matrix[index(level)];
            let _ = writeln!(
                out,
                "{:<8} {:>6} {:>6} {:>6} {:>6}",
                level.as_str(),
                row[0],
                row[1],
                row[2],
                row[3]
            );
        }
        let _ = writeln!(
            out,
            "{:<8} {:>9} {:>7} {:>8}",
            "level", "precision", "recall", "support"
        );
        for level in LEVELS.iter().rev() {
            let f = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{v:.2}"));
            let _ = writeln!(
                out,
                "{:<8} {:>9} {:>7} {:>8}",
                level.as_str(),
                f(self.precision(*level)),
                f(self.recall(*level)),
                self.matrix[index(*level)].iter().sum::<usize>()
            );
        }
        let (caught, high) = self.high_caught();
        let _ = writeln!(
            out,
            "high-risk recall: {:.3} ({caught} of {high} escalated)",
            self.high_recall()
        );
        let (alarms, benign) = self.false_alarms();
        let _ = writeln!(
            out,
            "false alarms on benign (none/low escalated): {:.1}% ({alarms} of {benign})",
            100.0 * self.false_alarm_rate()
        );
        let (esc, medium) = self.medium_escalated();
        let _ = writeln!(out, "medium escalated to high: {esc} of {medium}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let err = parse_jsonl(
            "{\"text\":\"hi\",\"label\":\"none\"}\n\n{\"text\":\"x\",\"label\":\"urgent\"}",
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("none|low|medium|high"));
    }

    #[test]
    fn the_report_counts_recall_and_false_alarms() {
        let set = parse_jsonl(
            "{\"text\":\"I want to kill myself\",\"label\":\"high\"}\n\
             {\"text\":\"what a lovely day\",\"label\":\"none\"}\n\
             {\"text\":\"my phone died\",\"label\":\"none\"}",
        )
        .unwrap();
        let r = Report::run(&set);
        assert_eq!(r.high_caught(), (1, 1));
        assert_eq!(r.false_alarms(), (0, 2));
        assert!(
            r.table("t")
                .contains("high-risk recall: 1.000 (1 of 1 escalated)")
        );
    }
}
