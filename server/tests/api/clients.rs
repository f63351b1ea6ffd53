//! README "Use the API": its curl lines and its Python client run against
//! the real server, exactly as the README shows them (the Node client:
//! `e2e/apidocs.test.mjs`).

use crate::helpers::spawn_app;
use std::path::PathBuf;

fn example(name: &str) -> (PathBuf, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("examples").join(name);
    let code = std::fs::read_to_string(&path).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(code.trim()),
        "README.md must show examples/{name} as it is"
    );
    (path, code)
}

async fn run(program: &str, file: &PathBuf, base: &str) -> String {
    let out = tokio::process::Command::new(program)
        .arg(file)
        .arg(base)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {}: {stdout}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_readme_curl_lines_check_readiness_sign_up_and_stream_a_reply() {
    let app = spawn_app().await;
    let (file, _) = example("curl.sh");
    let out = run("sh", &file, &app.url("")).await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with(r#"{"status":"ready""#), "{out}");
    assert!(lines[1].contains(r#""username":"curl_user""#), "{out}");
    assert!(out.contains("event: assistant_complete"), "{out}");
}

#[tokio::test]
async fn the_readme_python_client_streams_a_reply_and_a_persona() {
    let app = spawn_app().await;
    let (file, _) = example("client.py");
    let out = run("python3", &file, &app.url("")).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "a reply, then a persona's: {out}");
    assert!(
        lines
            .iter()
            .all(|l| l.len() > 10 && !l.starts_with("error")),
        "{out}"
    );
}
