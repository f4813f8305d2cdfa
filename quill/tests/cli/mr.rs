//! `quill mr` and `quill test mr --real` as real processes: a small job, the external-program
//! application, and Ctrl-C cleaning up.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const QUILL: &str = env!("CARGO_BIN_EXE_quill");

/// A fresh directory holding two small books.
fn job_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quill-mr-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("pg-a.txt"),
        "The cat saw the dog; the DOG saw a cat.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pg-b.txt"),
        "A dog, a cat, and the end of the story.\n",
    )
    .unwrap();
    dir
}

fn quill_mr(dir: &Path, args: &[&str]) -> Child {
    Command::new(QUILL)
        .arg("mr")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("quill runs")
}

/// Waits for `child` at most `limit`, killing it then; returns its stderr and whether it succeeded.
fn finish(mut child: Child, limit: Duration, what: &str) -> String {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err).unwrap();
            }
            assert!(status.success(), "{what} failed with {status}: {err}");
            return err;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `sort mr-out* | grep .` in `dir`.
fn outputs(dir: &Path) -> String {
    let mut lines: Vec<String> = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("mr-out") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            lines.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
        }
    }
    lines.sort();
    lines.join("\n")
}

fn expected(dir: &Path) -> String {
    let out = dir.join("expected");
    let c = Command::new(QUILL)
        .args([
            "mr",
            "sequential",
            "--app",
            "wc",
            "pg-a.txt",
            "pg-b.txt",
            "--dir",
        ])
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(c, Duration::from_secs(30), "quill mr sequential");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    lines.sort();
    lines.join("\n")
}

fn run_job(dir: &Path, worker_args: &[&str]) {
    let coord = quill_mr(
        dir,
        &["coordinator", "pg-a.txt", "pg-b.txt", "--reduce", "3"],
    );
    let socket = runtime::mr::rpc::default_socket(dir);
    let t0 = Instant::now();
    while !socket.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no socket {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let workers: Vec<Child> = (0..2).map(|_| quill_mr(dir, worker_args)).collect();
    finish(coord, Duration::from_secs(30), "the coordinator");
    for w in workers {
        finish(w, Duration::from_secs(30), "a worker");
    }
    assert!(!socket.exists(), "the coordinator left its socket behind");
}

#[test]
fn real_wc_on_two_small_files_equals_the_sequential_output() {
    let dir = job_dir("wc");
    run_job(&dir, &["worker", "--app", "wc"]);
    let got = outputs(&dir);
    assert!(got.contains("cat 3") && got.contains("the 4"), "{got}");
    assert_eq!(got, expected(&dir));
    // Three reduce tasks, three outputs; no temporary file left.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("mr-out-")).count(), 3);
    assert!(!names.iter().any(|n| n.starts_with("mr-tmp-")), "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn external_word_count_in_python_equals_the_builtin_wc() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/mapreduce/wc.py");
    assert!(
        script.exists(),
        "the example {} is missing",
        script.display()
    );
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok(),
        "this test runs the Python example: python3 must be on PATH"
    );
    let dir = job_dir("external");
    let mapper = format!("python3 {} map", script.display());
    let reducer = format!("python3 {} reduce", script.display());
    run_job(
        &dir,
        &[
            "worker",
            "--app",
            "external",
            "--mapper",
            &mapper,
            "--reducer",
            &reducer,
        ],
    );
    assert_eq!(outputs(&dir), expected(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_coordinator_with_a_missing_input_names_it() {
    let dir = job_dir("missing");
    let out = Command::new(QUILL)
        .args(["mr", "coordinator", "pg-nope.txt", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("input file pg-nope.txt"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(needle) {
                pids.push(pid);
            }
        }
    }
    pids
}

#[test]
fn ctrl_c_during_the_real_suite_kills_its_processes_and_removes_socket_and_directory() {
    let inputs = job_dir("ctrl-c");
    let mut suite = Command::new(QUILL)
        .args(["test", "mr", "--real", "job_count", "--inputs"])
        .arg(&inputs)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let work = std::env::temp_dir().join(format!("quill-mr-suite-{}", suite.id()));
    let mut err = BufReader::new(suite.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Starting job_count") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the suite ended before the test began"
        );
    }
    // Let the coordinator and the four workers start (job count takes 10 s or so).
    let job = work.join("mr-tmp-job_count");
    let t0 = Instant::now();
    while processes_mentioning(&job.display().to_string()).len() < 5 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the job's processes did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let socket = runtime::mr::rpc::default_socket(&job);
    assert!(
        socket.exists(),
        "the job's socket {} is not there",
        socket.display()
    );
    let sent = Command::new("kill")
        .args(["-INT", &suite.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = suite.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the suite ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    // SIGKILLed children vanish at once, but give the kernel a moment to reap them.
    let t0 = Instant::now();
    while !processes_mentioning(&job.display().to_string()).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "processes of the job survived Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!socket.exists(), "the socket survived Ctrl-C");
    assert!(!work.exists(), "the suite's directory survived Ctrl-C");
    std::fs::remove_dir_all(&inputs).unwrap();
}

/// The faults between real processes: a worker SIGKILLed right after it receives its
/// first task, and the coordinator's socket moved away for 2 s. The job must still end with the
/// sequential output (the suite's `faults` test compares it), and the suite must say that both
/// faults happened.
#[test]
fn a_killed_worker_and_an_unreachable_socket_still_give_the_sequential_output() {
    let inputs = job_dir("faults");
    let out = Command::new(QUILL)
        .args(["test", "mr", "--real", "faults", "--inputs"])
        .arg(&inputs)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the faults test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("faults") && l.contains("PASS")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("killed a worker after `quill-mr worker") && l.contains(": start ")),
        "the worker was not killed in a task:\n{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("socket was unreachable for 2 s")),
        "{stdout}"
    );
    assert!(stdout.contains("1 tests: 1 passed, 0 failed"), "{stdout}");
    std::fs::remove_dir_all(&inputs).unwrap();
}
