//! The classifier on its labelled sets (see `data/README.md`).
//!
//! The development sets are what the classifier was tuned on (and what its
//! model learns from): together they must stay within the targets. The
//! held-out set was written before the classifier and is never tuned on:
//! its figures are printed (`make test` shows them, the README reports
//! them), and the test fails only if they fall below the floor recorded
//! here, so a change that makes the classifier worse on messages it has
//! never seen does not land unnoticed.

use safety::eval::{Report, parse_jsonl};

fn report(name: &str, source: &str) -> Report {
    let set = parse_jsonl(source).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = Report::run(&set);
    println!("{}", report.table(name));
    report
}

/// Every development set, together (each file ends with a newline).
const DEVELOPMENT: &str = concat!(
    include_str!("../data/dev.jsonl"),
    include_str!("../data/dev-young.jsonl"),
    include_str!("../data/dev-adult.jsonl"),
    include_str!("../data/dev-indirect.jsonl"),
    include_str!("../data/dev-voices.jsonl"),
    include_str!("../data/dev-hedged.jsonl"),
    include_str!("../data/dev-night.jsonl"),
    include_str!("../data/dev-pairs.jsonl"),
    include_str!("../data/dev-plain.jsonl"),
    include_str!("../data/dev-real.jsonl"),
    include_str!("../data/dev-trades.jsonl"),
    include_str!("../data/dev-lives.jsonl"),
    include_str!("../data/dev-world.jsonl"),
    include_str!("../data/dev-euphemism.jsonl"),
    include_str!("../data/dev-fragments.jsonl"),
    include_str!("../data/dev-ages.jsonl"),
    include_str!("../data/dev-cross.jsonl"),
    include_str!("../data/dev-everyday.jsonl"),
    include_str!("../data/dev-crossline.jsonl"),
    include_str!("../data/dev-line.jsonl"),
    include_str!("../data/dev-understated.jsonl"),
    include_str!("../data/dev-blindline.jsonl"),
    include_str!("../data/dev-crossworld.jsonl"),
    include_str!("../data/dev-englishes.jsonl"),
    include_str!("../data/dev-farewells.jsonl"),
    include_str!("../data/dev-crises.jsonl"),
    include_str!("../data/dev-evening.jsonl"),
    include_str!("../data/dev-second-language.jsonl"),
    include_str!("../data/dev-world-slang.jsonl"),
);

#[test]
fn the_development_sets_meet_the_targets() {
    let r = report("data/dev*.jsonl", DEVELOPMENT);
    assert!(r.total() >= 2000);
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

/// The floor under the held-out figures the README reports (recall 0.947,
/// false alarms 3.8% when this floor was last raised): a change that loses
/// more than a couple of its messages fails here.
#[test]
fn the_held_out_set_stays_above_its_floor() {
    let r = report("data/heldout.jsonl", include_str!("../data/heldout.jsonl"));
    assert!(r.total() >= 150);
    assert!(
        r.high_recall() >= 0.92,
        "held-out high-risk recall {}",
        r.high_recall()
    );
    assert!(
        r.false_alarm_rate() <= 0.06,
        "held-out false alarms {}",
        r.false_alarm_rate()
    );
}
