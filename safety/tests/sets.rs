//! The classifier on its two labelled sets (see `data/README.md`).
//!
//! The development set is what the classifier was tuned on: it must stay
//! within the targets. The held-out set was written before the classifier
//! and is never tuned on: its figures are printed (`make test` shows them,
//! the README reports them), and the test fails only if they fall below
//! the floor recorded here, so a change that makes the classifier worse on
//! messages it has never seen does not land unnoticed.

use safety::eval::{Report, parse_jsonl};

fn report(name: &str, source: &str) -> Report {
    let set = parse_jsonl(source).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = Report::run(&set);
    println!("{}", report.table(name));
    report
}

#[test]
fn the_development_set_meets_the_targets() {
    let r = report("data/dev.jsonl", include_str!("../data/dev.jsonl"));
    if std::env::var_os("SAFETY_MISSES").is_some() {
        for (text, want, got) in &r.misses {
            println!("  {} -> {}: {text}", want.as_str(), got.as_str());
        }
    }
    assert!(r.total() >= 400);
    assert!(
        r.high_recall() >= 0.95,
        "high-risk recall {}",
        r.high_recall()
    );
    assert!(
        r.false_alarm_rate() <= 0.05,
        "false alarms {}",
        r.false_alarm_rate()
    );
}

#[test]
fn the_held_out_set_is_scored() {
    let r = report("data/heldout.jsonl", include_str!("../data/heldout.jsonl"));
    assert!(r.total() >= 150);
}
