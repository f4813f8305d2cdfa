//! The node processes of a run: started, killed, restarted, paused and resumed by index.
//!
//! Every start of a node (the first, and each restart after the `kill` nemesis) is a new *incarnation*;
//! output from an older incarnation still in the pipe is ignored. A node is sent `init` by the runner
//! after every start, since a restarted process knows nothing but what it persisted.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use nix::sys::signal::Signal;
use tokio::sync::mpsc;

use super::network::Network;
use super::process::{NodeOutput, NodeProcess};

struct Slot {
    process: Option<NodeProcess>,
    incarnation: u32,
    /// Killed or paused on purpose, so its silence or exit is expected.
    killed: bool,
    paused: bool,
}

pub struct Nodes {
    bin: Vec<String>,
    logs: PathBuf,
    echo_stderr: bool,
    out: mpsc::UnboundedSender<NodeOutput>,
    net: Arc<Network>,
    slots: Mutex<Vec<Slot>>,
    /// Extra environment per node (the TCP addresses with `--tcp`).
    envs: Mutex<Vec<Vec<(String, String)>>>,
}

impl Nodes {
    pub fn new(
        bin: Vec<String>,
        logs: PathBuf,
        echo_stderr: bool,
        count: usize,
        out: mpsc::UnboundedSender<NodeOutput>,
        net: Arc<Network>,
    ) -> Arc<Self> {
        Arc::new(Nodes {
            bin,
            logs,
            echo_stderr,
            out,
            net,
            slots: Mutex::new(
                (0..count)
                    .map(|_| Slot {
                        process: None,
                        incarnation: 0,
                        killed: false,
                        paused: false,
                    })
                    .collect(),
            ),
            envs: Mutex::new(vec![Vec::new(); count]),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// The log file of node `i`.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.logs.join(format!("n{i}.log"))
    }

    /// Sets the extra environment node `i` is started with from now on.
    pub fn set_env(&self, i: usize, env: Vec<(String, String)>) {
        self.envs.lock().unwrap_or_else(|e| e.into_inner())[i] = env;
    }

    /// Starts (or restarts) node `i` as a new incarnation.
    pub fn start(&self, i: usize) -> std::io::Result<u32> {
        let env = self.envs.lock().unwrap_or_else(|e| e.into_inner())[i].clone();
        let mut slots = self.lock();
        let slot = &mut slots[i];
        slot.incarnation += 1;
        let process = NodeProcess::spawn(
            &self.bin,
            i,
            slot.incarnation,
            &self.log_path(i),
            self.echo_stderr,
            &env,
            self.out.clone(),
        )?;
        self.net.set_stdin(i, Some(process.stdin()));
        slot.process = Some(process);
        slot.killed = false;
        slot.paused = false;
        Ok(slot.incarnation)
    }

    /// Whether `incarnation` is node `i`'s current one.
    pub fn is_current(&self, i: usize, incarnation: u32) -> bool {
        self.lock()[i].incarnation == incarnation
    }

    /// Whether node `i` was stopped on purpose (killed).
    pub fn is_killed(&self, i: usize) -> bool {
        self.lock()[i].killed
    }

    pub fn is_running(&self, i: usize) -> bool {
        let slots = self.lock();
        slots[i].process.is_some() && !slots[i].killed
    }

    /// Kills node `i`'s process group (the `kill` nemesis).
    pub async fn kill(&self, i: usize) {
        let process = {
            let mut slots = self.lock();
            slots[i].killed = true;
            slots[i].paused = false;
            slots[i].process.take()
        };
        self.net.set_stdin(i, None);
        if let Some(p) = process {
            p.kill().await;
        }
    }

    /// Stops (`SIGSTOP`) or continues (`SIGCONT`) node `i`'s process group (the `pause` nemesis).
    pub fn pause(&self, i: usize, paused: bool) {
        let mut slots = self.lock();
        slots[i].paused = paused;
        if let Some(p) = &slots[i].process {
            p.signal(if paused {
                Signal::SIGSTOP
            } else {
                Signal::SIGCONT
            });
        }
    }

    /// The exit status of node `i`, if its process has exited.
    pub fn exit_status(&self, i: usize) -> Option<std::process::ExitStatus> {
        self.lock()[i].process.as_mut().and_then(|p| p.try_status())
    }

    /// Kills every node and waits for them.
    pub async fn shutdown(&self) {
        let processes: Vec<NodeProcess> = {
            let mut slots = self.lock();
            slots
                .iter_mut()
                .filter_map(|s| {
                    s.killed = true;
                    s.process.take()
                })
                .collect()
        };
        for i in 0..self.count() {
            self.net.set_stdin(i, None);
        }
        for p in processes {
            p.kill().await;
        }
    }
}
