//! The seven tests of the lab's `test-mr.sh` (lab catalog section 3) as data: what each one
//! runs and what it asserts about the output, for both drivers (the simulator's scenarios in
//! `labs::mr` and the real-process suite in `runtime::mr`) to share. A driver only drives: it
//! starts the coordinator and [`LabTest::workers`] workers of [`LabTest::app`] (the crash test
//! restarts them), waits for every process under [`LabTest::limit_ms`], then hands the output
//! (the script's `sort mr-out* | grep .`, see [`crate::canonical`]) to [`LabTest::check`].
//!
//! The checks are the script's, line for line:
//!
//! | test | workers | app | passes when |
//! |---|---|---|---|
//! | wc | 3 | wc | the output equals the sorted sequential wc output |
//! | indexer | 2 | indexer | likewise for indexer |
//! | map_parallelism | 2 | mtiming | exactly 2 lines `times-..`, and a line `^parallel.* 2` |
//! | reduce_parallelism | 2 | rtiming | at least 2 lines `^[a-z] 2` |
//! | job_count | 4 | jobcount | the line `a 8`: no map task ran twice |
//! | early_exit | 3 | early_exit | the output when the first process exits equals the final one ([`check_early_exit`]) |
//! | crash | 1 + 3 restarting | crash | the output equals the sorted sequential `nocrash` output |

use crate::env::Millis;

/// The script's `timeout -k 2s 45s` around every process.
pub const LIMIT_MS: Millis = 45_000;
/// The crash test's `timeout -k 2s 120s`.
pub const CRASH_LIMIT_MS: Millis = 120_000;

/// One test of the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabTest {
    pub name: &'static str,
    /// The application the workers run.
    pub app: &'static str,
    /// How many workers the script starts (the crash test: the first of four slots).
    pub workers: usize,
    /// Each process's time limit.
    pub limit_ms: Millis,
    /// The application whose sequential output the result must equal, if the test compares.
    pub reference: Option<&'static str>,
}

/// The tests, in the script's order.
pub const TESTS: [LabTest; 7] = [
    test("wc", "wc", 3, LIMIT_MS, Some("wc")),
    test("indexer", "indexer", 2, LIMIT_MS, Some("indexer")),
    test("map_parallelism", "mtiming", 2, LIMIT_MS, None),
    test("reduce_parallelism", "rtiming", 2, LIMIT_MS, None),
    test("job_count", "jobcount", 4, LIMIT_MS, None),
    test("early_exit", "early_exit", 3, LIMIT_MS, None),
    test("crash", "crash", 4, CRASH_LIMIT_MS, Some("nocrash")),
];

const fn test(
    name: &'static str,
    app: &'static str,
    workers: usize,
    limit_ms: Millis,
    reference: Option<&'static str>,
) -> LabTest {
    LabTest {
        name,
        app,
        workers,
        limit_ms,
        reference,
    }
}

/// The test called `name`, if the script has one.
pub fn lab_test(name: &str) -> Option<&'static LabTest> {
    TESTS.iter().find(|t| t.name == name)
}

/// Why a test failed, in the script's words where it has them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TestFailure {
    #[error("{test}: output is not the same as the sequential output ({got_lines} lines, want {want_lines}); first difference at line {line}: got {got:?}, want {want:?}")]
    NotSequential {
        test: &'static str,
        got_lines: usize,
        want_lines: usize,
        line: usize,
        got: String,
        want: String,
    },
    #[error("{test}: the sequential {app} output it compares with is missing")]
    NoReference {
        test: &'static str,
        app: &'static str,
    },
    #[error("map workers did not run in parallel: {lines} `times-` lines, want 2")]
    MapTimes { lines: usize },
    #[error("map workers did not run in parallel: no line `^parallel.* 2`")]
    MapNotParallel,
    #[error("too few parallel reduces: {lines} lines `^[a-z] 2`, want at least 2")]
    ReduceNotParallel { lines: usize },
    #[error("map jobs ran incorrect number of times: output {output:?}, want `a 8`")]
    JobCount { output: String },
    #[error("output changed after the first process exited: {first_lines} lines then, {last_lines} at the end")]
    EarlyExit {
        first_lines: usize,
        last_lines: usize,
    },
}

impl LabTest {
    /// The script's assertion on the final output (canonical: sorted, without empty lines).
    /// `reference` is the sorted sequential output of [`LabTest::reference`], for the tests that
    /// compare. The early-exit test's own assertion is [`check_early_exit`].
    pub fn check(&self, output: &[u8], reference: Option<&[u8]>) -> Result<(), TestFailure> {
        if let Some(app) = self.reference {
            let want = reference.ok_or(TestFailure::NoReference {
                test: self.name,
                app,
            })?;
            return compare(self.name, output, want);
        }
        let text = String::from_utf8_lossy(output);
        match self.name {
            "map_parallelism" => {
                let lines = text.lines().filter(|l| l.starts_with("times-")).count();
                if lines != 2 {
                    return Err(TestFailure::MapTimes { lines });
                }
                // grep '^parallel.* 2'
                if !text
                    .lines()
                    .any(|l| l.strip_prefix("parallel").is_some_and(|r| r.contains(" 2")))
                {
                    return Err(TestFailure::MapNotParallel);
                }
            }
            "reduce_parallelism" => {
                // grep '^[a-z] 2'
                let lines = text
                    .lines()
                    .filter(|l| {
                        let b = l.as_bytes();
                        b.len() >= 3 && b[0].is_ascii_lowercase() && &b[1..3] == b" 2"
                    })
                    .count();
                if lines < 2 {
                    return Err(TestFailure::ReduceNotParallel { lines });
                }
            }
            "job_count" if !text.lines().any(|l| l == "a 8") => {
                return Err(TestFailure::JobCount {
                    output: text.trim().to_string(),
                });
            }
            // early_exit compares two outputs ([`check_early_exit`]); nothing more to check here.
            _ => {}
        }
        Ok(())
    }
}

/// The early-exit test: the output when the first process exited (`wait -n`) must equal the
/// final output.
pub fn check_early_exit(first: &[u8], last: &[u8]) -> Result<(), TestFailure> {
    if first == last {
        return Ok(());
    }
    let lines = |b: &[u8]| String::from_utf8_lossy(b).lines().count();
    Err(TestFailure::EarlyExit {
        first_lines: lines(first),
        last_lines: lines(last),
    })
}

/// `cmp` of the output with the sorted sequential output, naming the first line that differs.
pub fn compare(test: &'static str, got: &[u8], want: &[u8]) -> Result<(), TestFailure> {
    if got == want {
        return Ok(());
    }
    let (g, w) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
    let at = g
        .lines()
        .zip(w.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| g.lines().count().min(w.lines().count()));
    let line = |t: &str| t.lines().nth(at).unwrap_or("<end>").to_string();
    Err(TestFailure::NotSequential {
        test,
        got_lines: g.lines().count(),
        want_lines: w.lines().count(),
        line: at + 1,
        got: line(&g),
        want: line(&w),
    })
}
