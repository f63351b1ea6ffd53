// throwaway: scores files, prints misses of high and false alarms
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|a| a == "--all");
    for f in args.iter().filter(|a| !a.starts_with("--")) {
        let src = std::fs::read_to_string(f).unwrap();
        let set = safety::eval::parse_jsonl(&src).unwrap();
        let r = safety::eval::Report::run(&set);
        let (c, t) = r.high_caught();
        let (fa, ft) = r.false_alarms();
        println!(
            "{f}: recall {:.3} ({c}/{t}) FA {:.1}% ({fa}/{ft})",
            r.high_recall(),
            100.0 * r.false_alarm_rate()
        );
        for (text, label, got) in &r.misses {
            let hi = label.as_str() == "high" || got.as_str() == "high";
            if all || hi {
                println!(
                    "  {} -> {}: {text}\n      {}",
                    label.as_str(),
                    got.as_str(),
                    safety::assess(text).explanation()
                );
            }
        }
    }
}
