//! Prints the level and the cues of each line of standard input
//! (`echo "I want to die" | cargo run -p safety --example explain`; a blank
//! line starts a new conversation), or, given a labelled JSON-lines file,
//! the messages it classifies otherwise than labelled, with their cues.

use std::io::BufRead;

fn main() {
    if let Some(path) = std::env::args().nth(1) {
        let source = std::fs::read_to_string(&path).expect("a readable file");
        let set = safety::eval::parse_jsonl(&source).expect("a labelled file");
        for m in set {
            let a = safety::assess(&m.text);
            if a.level != m.label {
                println!(
                    "{} -> {} {:.2} {}\n       {}",
                    m.label.as_str(),
                    a.level.as_str(),
                    a.score,
                    m.text,
                    a.explanation()
                );
            }
        }
        return;
    }
    let mut earlier: Vec<String> = Vec::new();
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        if line.trim().is_empty() {
            earlier.clear();
            continue;
        }
        let refs: Vec<&str> = earlier.iter().map(String::as_str).collect();
        let a = safety::assess_in_context(&line, &refs);
        println!(
            "{:<6} {:.2} {}\n       {}",
            a.level.as_str(),
            a.score,
            line,
            a.explanation()
        );
        earlier.push(line);
    }
}
