//! `quill maelstrom test` as a user runs it: Maelstrom's command line, exit statuses, the results line.

use super::{quill, root, stderr, stdout, temp};

#[test]
fn bad_usage_exits_three_with_the_reason() {
    let store = temp("maelstrom-usage").display().to_string();
    for (args, reason) in [
        (vec!["-w", "nope", "--bin", "true"], "unknown workload"),
        (
            vec![
                "-w",
                "lin-kv",
                "--bin",
                "true",
                "--node-count",
                "2",
                "--concurrency",
                "3",
            ],
            "multiple of 2 x node-count",
        ),
        (
            vec!["-w", "echo", "--bin", "true", "--nemesis", "meteor"],
            "unknown nemesis",
        ),
        (
            vec!["-w", "echo", "--bin", "true", "--concurrency", "xn"],
            "--concurrency",
        ),
        (vec!["-w", "echo"], "--bin"),
    ] {
        let mut all = vec!["maelstrom", "test", "--store", &store];
        all.extend(args);
        let out = quill(&all);
        assert_eq!(out.status.code(), Some(3), "{all:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(reason), "{all:?}: {}", stderr(&out));
    }
}

#[test]
fn an_echo_node_given_as_one_command_line_is_valid() {
    let node = root().join("runtime/tests/maelstrom/nodes/echo.py");
    let bin = format!("python3 {}", node.display());
    let store = temp("maelstrom-echo").display().to_string();
    let out = quill(&[
        "maelstrom",
        "test",
        "-w",
        "echo",
        "--bin",
        &bin,
        "--node-count",
        "2",
        "--concurrency",
        "2n",
        "--time-limit",
        "1",
        "--rate",
        "20",
        "--store",
        &store,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("results in"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("echoes completed, 0 wrong"),
        "{}",
        stdout(&out)
    );
}
