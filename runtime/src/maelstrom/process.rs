//! Node processes: spawned in a process group of their own, read and written line by line, killed with
//! their whole group when dropped.
//!
//! Each node runs as the leader of a new process group, so a node started through a shell or a wrapper
//! script is stopped, continued and killed as a whole (`killpg`). [`NodeProcess`] kills its group when it
//! is dropped, so a run that ends by an error, a panic or Ctrl-C (which drops the runner's state) leaves no
//! process behind; `kill_on_drop` covers the direct child as well.
//!
//! Stdout is read in lines of at most [`MAX_LINE`] bytes: a node that floods a line without an end is
//! reported, not buffered without limit. Stderr goes to the node's log file, appended across restarts.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The longest stdout line accepted from a node.
pub const MAX_LINE: usize = 4 << 20;

/// What a node's stdout said.
#[derive(Debug)]
pub enum NodeOutput {
    Line {
        node: usize,
        incarnation: u32,
        line: String,
    },
    /// A line longer than [`MAX_LINE`], or not UTF-8: its beginning.
    Bad {
        node: usize,
        incarnation: u32,
        start: String,
        reason: String,
    },
    /// Stdout closed: the process exited (or closed it).
    Closed { node: usize, incarnation: u32 },
}

/// One running incarnation of a node.
pub struct NodeProcess {
    pub incarnation: u32,
    child: Child,
    pgid: Option<Pid>,
    stdin: mpsc::UnboundedSender<String>,
}

impl NodeProcess {
    /// Starts `bin` as node `node`; its stdout lines go to `out`, its stderr to `log` (and to our stderr,
    /// prefixed with the node's name, when `echo_stderr`).
    pub fn spawn(
        bin: &[String],
        node: usize,
        incarnation: u32,
        log: &Path,
        echo_stderr: bool,
        env: &[(String, String)],
        out: mpsc::UnboundedSender<NodeOutput>,
    ) -> std::io::Result<Self> {
        let mut command = Command::new(&bin[0]);
        command
            .args(&bin[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // Nodes that persist (`quill node kvraft`) keep their state under the run's results
        // directory (`<dir>/node-logs/n0.log` -> `<dir>/node-data`), so a run never inherits another's.
        if let Some(dir) = log.parent().and_then(Path::parent) {
            command.env("QUILL_NODE_DATA", dir.join("node-data"));
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn()?;
        let pgid = child.id().map(|id| Pid::from_raw(id as i32));
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");

        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                // A node that exited or closed its stdin loses what is sent to it, as on a network.
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
                if stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(read_stdout(stdout, node, incarnation, out));
        tokio::spawn(copy_stderr(stderr, log.to_path_buf(), node, echo_stderr));
        Ok(NodeProcess {
            incarnation,
            child,
            pgid,
            stdin: tx,
        })
    }

    /// Queues a line (with its newline) for the node's stdin.
    pub fn send(&self, line: String) {
        let _ = self.stdin.send(line);
    }

    /// A handle to write to the node's stdin from elsewhere.
    pub fn stdin(&self) -> mpsc::UnboundedSender<String> {
        self.stdin.clone()
    }

    /// Sends a signal to the node's process group.
    pub fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, signal);
        }
    }

    /// Kills the group and waits for the direct child to be reaped.
    pub async fn kill(mut self) {
        self.signal(Signal::SIGCONT);
        self.signal(Signal::SIGKILL);
        let _ = self.child.wait().await;
        self.pgid = None;
    }

    /// The exit status, if the process has exited.
    pub fn try_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // Continue first: a stopped group does not die of SIGKILL until it is continued on some
            // systems, and a paused node must not outlive the run.
            let _ = killpg(pgid, Signal::SIGCONT);
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

async fn read_stdout(
    stdout: tokio::process::ChildStdout,
    node: usize,
    incarnation: u32,
    out: mpsc::UnboundedSender<NodeOutput>,
) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let chunk = match reader.fill_buf().await {
            Ok(chunk) if !chunk.is_empty() => chunk,
            _ => break,
        };
        let (taken, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        buf.extend_from_slice(&chunk[..taken.min(chunk.len())]);
        reader.consume(taken);
        if buf.len() > MAX_LINE {
            let start = String::from_utf8_lossy(&buf[..200]).into_owned();
            let _ = out.send(NodeOutput::Bad {
                node,
                incarnation,
                start,
                reason: format!("a stdout line longer than {MAX_LINE} bytes"),
            });
            break;
        }
        if !end {
            continue;
        }
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let line = std::mem::take(&mut buf);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match String::from_utf8(line) {
            Ok(line) => {
                if out
                    .send(NodeOutput::Line {
                        node,
                        incarnation,
                        line,
                    })
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let start = String::from_utf8_lossy(e.as_bytes())
                    .chars()
                    .take(200)
                    .collect();
                let _ = out.send(NodeOutput::Bad {
                    node,
                    incarnation,
                    start,
                    reason: "a stdout line that is not UTF-8".into(),
                });
                break;
            }
        }
    }
    let _ = out.send(NodeOutput::Closed { node, incarnation });
}

async fn copy_stderr(stderr: tokio::process::ChildStderr, log: PathBuf, node: usize, echo: bool) {
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .await;
    let mut file = file.ok();
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if echo {
            eprintln!("n{node}: {line}");
        }
        if let Some(f) = file.as_mut() {
            let _ = f.write_all(line.as_bytes()).await;
            let _ = f.write_all(b"\n").await;
        }
    }
    if let Some(mut f) = file {
        let _ = f.flush().await;
    }
}
