//! Answers a MapReduce coroutine's needs for real: files in the job directory, tokio's clock,
//! this process's id, `/proc` for liveness, spawned programs for external applications, and the
//! coordinator's socket for calls.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mapreduce::{Coroutine, Got, IoError, Need, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::rpc;

/// Where a coroutine's needs are carried out.
pub struct RealEnv {
    /// The job directory; relative paths in needs are relative to it.
    pub dir: PathBuf,
    /// The coordinator's socket (`None`: calls fail, e.g. for the sequential reference).
    pub socket: Option<PathBuf>,
    /// Print each task a worker starts on stderr (the suite watches for them).
    pub verbose: bool,
    rng: u64,
}

impl RealEnv {
    pub fn new(dir: PathBuf, socket: Option<PathBuf>) -> Self {
        // crash.go draws from crypto/rand: every process must draw differently, and nothing needs
        // to replay a real run, so the time and the pid seed the stream.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        RealEnv {
            dir,
            socket,
            verbose: false,
            rng: nanos ^ (u64::from(std::process::id()) << 32) ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Carries out one need. [`Need::Crash`] ends the process here and now, with status 1.
    pub async fn answer(&mut self, need: Need) -> Got {
        match need {
            Need::Call(req) => {
                if self.verbose {
                    if let mapreduce::Request::Report { task, attempt, .. } = &req {
                        eprintln!(
                            "quill-mr worker {}: done {task} attempt {attempt}",
                            std::process::id()
                        );
                    }
                }
                let reply = match &self.socket {
                    Some(s) => rpc::call(s, &req).await,
                    None => None,
                };
                if self.verbose {
                    if let Some(mapreduce::Reply::Task(a)) = &reply {
                        eprintln!(
                            "quill-mr worker {}: start {} attempt {}",
                            std::process::id(),
                            a.task,
                            a.attempt
                        );
                    }
                }
                Got::Reply(reply)
            }
            Need::ReadFile { path } => Got::Bytes(
                tokio::fs::read(self.path(&path))
                    .await
                    .map(Arc::from)
                    .map_err(|e| io_error("read", &path, &e)),
            ),
            Need::WriteFile { path, bytes } => Got::Done(
                tokio::fs::write(self.path(&path), bytes)
                    .await
                    .map_err(|e| io_error("write", &path, &e)),
            ),
            Need::Rename { from, to } => Got::Done(
                tokio::fs::rename(self.path(&from), self.path(&to))
                    .await
                    .map_err(|e| io_error("rename", &from, &e)),
            ),
            Need::RemoveFile { path } => Got::Done(
                tokio::fs::remove_file(self.path(&path))
                    .await
                    .map_err(|e| io_error("remove", &path, &e)),
            ),
            Need::ListDir => Got::Names(list_dir(&self.dir).await),
            Need::Sleep(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Got::Done(Ok(()))
            }
            Need::Now => Got::Time(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            ),
            Need::Pid => Got::Pid(std::process::id()),
            // kill(pid, 0) succeeds for any existing process, zombies included: so does /proc.
            Need::Alive(pid) => Got::Alive(Path::new(&format!("/proc/{pid}")).exists()),
            Need::Random(bound) => Got::Random(self.next_random() % bound.max(1)),
            Need::RunCommand { argv, vars, stdin } => {
                Got::Bytes(run_command(&self.dir, &argv, &vars, stdin).await)
            }
            Need::Crash => std::process::exit(1),
        }
    }

    /// Runs a coroutine to its end, answering every need for real.
    pub async fn drive<T>(&mut self, mut co: Coroutine<T>) -> T {
        let mut got = None;
        loop {
            match co.resume(got.take()) {
                Step::Done(v) => return v,
                Step::Need(need) => got = Some(self.answer(need).await),
            }
        }
    }
}

fn io_error(op: &'static str, path: &str, e: &std::io::Error) -> IoError {
    IoError {
        op,
        path: path.to_string(),
        message: e.to_string(),
    }
}

async fn list_dir(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(mut rd) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = rd.next_entry().await {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

async fn run_command(
    dir: &Path,
    argv: &[String],
    vars: &[(String, String)],
    stdin: Vec<u8>,
) -> Result<Arc<[u8]>, IoError> {
    let program = argv.first().cloned().unwrap_or_default();
    let fail = |message: String| IoError {
        op: "run",
        path: program.clone(),
        message,
    };
    if program.is_empty() {
        return Err(fail("no program given".into()));
    }
    let mut child = tokio::process::Command::new(&program)
        .args(&argv[1..])
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let mut input = child.stdin.take().expect("piped");
    let mut output = child.stdout.take().expect("piped");
    // Feed stdin and drain stdout at once, so a program that writes before it has read all its
    // input cannot deadlock against us.
    let writer = async move {
        let r = input.write_all(&stdin).await;
        drop(input);
        r
    };
    let reader = async move {
        let mut out = Vec::new();
        output.read_to_end(&mut out).await.map(|_| out)
    };
    let (w, r) = tokio::join!(writer, reader);
    let out = r.map_err(|e| fail(format!("reading its output: {e}")))?;
    let status = child.wait().await.map_err(|e| fail(e.to_string()))?;
    // A program that exits without reading all of its input is fine (a broken pipe) as long as it
    // succeeds.
    if let Err(e) = w {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(fail(format!("writing its input: {e}")));
        }
    }
    if !status.success() {
        return Err(fail(format!("exited with {status}")));
    }
    Ok(Arc::from(out))
}
