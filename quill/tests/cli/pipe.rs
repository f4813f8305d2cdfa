//! `quill check ... | head` and `quill gen ... | head`: a reader that closes the pipe early is not a
//! crash. Nothing more is printed, and the status is still the verdict's (for `gen`, success).

use std::io::Read;
use std::process::{Command, Stdio};

use super::{example, stderr};

/// Runs `quill` with `args`, reading at most `keep` bytes of its standard output before closing the pipe
/// (`head -c`), and waits for it.
fn run_into_closed_pipe(args: &[String], keep: usize) -> (std::process::Output, Vec<u8>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quill"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("quill runs");
    let mut read = vec![0; keep];
    let mut stdout = child.stdout.take().expect("a piped stdout");
    let n = stdout.read(&mut read).expect("reading quill's output");
    read.truncate(n);
    drop(stdout);
    (child.wait_with_output().expect("quill ends"), read)
}

#[test]
fn a_reader_that_closes_early_is_no_panic_and_the_status_is_the_verdict() {
    // Far more output than a pipe holds (64 KiB on Linux), so that quill must write after the close.
    let linearizable = example("kv-linearizable.json");
    let illegal = example("kv-stale-read.json");
    let mut args = vec!["check".to_string()];
    args.extend(vec![linearizable.clone(); 3000]);
    let (out, read) = run_into_closed_pipe(&args, 10);
    assert!(!read.is_empty(), "quill printed nothing before the close");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // An illegal file after the close still decides the status.
    args.push(illegal);
    let (out, _) = run_into_closed_pipe(&args, 10);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // `--json` writes one document: cut in its middle, it is no error either.
    let mut args = vec!["check".to_string(), "--json".to_string()];
    args.extend(vec![linearizable; 3000]);
    let (out, read) = run_into_closed_pipe(&args, 10);
    assert!(read.starts_with(b"{"), "{}", String::from_utf8_lossy(&read));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn gen_into_a_closed_pipe_stops_quietly() {
    for format in [&["--jsonl"][..], &[][..]] {
        let mut args: Vec<String> = ["gen", "--model", "kv", "--ops", "100000"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(format.iter().map(|s| s.to_string()));
        let (out, read) = run_into_closed_pipe(&args, 10);
        assert!(read.starts_with(b"{"), "{}", String::from_utf8_lossy(&read));
        assert!(stderr(&out).is_empty(), "{format:?}: {}", stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{format:?}");
    }
}
