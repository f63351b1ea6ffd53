//! Prints the level and the cues of each line of standard input, read as
//! one conversation (a blank line starts a new one):
//! `echo "I want to die" | cargo run -p safety --example explain`.
//! For a labelled file, `chorus safety-eval FILE.jsonl --misses`.

use std::io::BufRead;

fn main() {
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
