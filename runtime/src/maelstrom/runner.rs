//! One run of `maelstrom test`: start the nodes, init them, drive the clients and the nemesis for the
//! time limit, heal, make the final reads, stop everything, check, and write the results.
//!
//! Whatever ends the run (the time limit, a node that breaks the protocol, Ctrl-C), the same ending
//! follows: the clients stop (an operation in flight is recorded as unknown), the nodes are killed with
//! their process groups, and the history, the verdict and the logs are written.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checker::recorder::Recorder;
use checker::Annotation;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, watch};

use super::client::{Client, Pacer, RpcError};
use super::config::{Config, Workload};
use super::nemesis::{Nemesis, Processes};
use super::network::Network;
use super::nodes::Nodes;
use super::process::NodeOutput;
use super::protocol::Message;
use super::results::{self, Outcome as RunOutcome};
use super::services::Services;
use super::workload::{topology, Generator, Outcome};
use super::{Error, Problem, Report};

/// A ChaCha8 stream of the run's seed, one per purpose, so adding a use never shifts another's numbers.
fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}

const STREAM_NETWORK: u64 = 1;
const STREAM_NEMESIS: u64 = 2;
const STREAM_PACERS: u64 = 1 << 32;
const STREAM_SERVICES: u64 = 4;
const STREAM_CLIENTS: u64 = 1 << 16;

/// Shared by the tasks of a run: the first problem ends it.
struct Run {
    config: Config,
    net: Arc<Network>,
    nodes: Arc<Nodes>,
    problem: Mutex<Option<Problem>>,
    stop: watch::Sender<bool>,
    next_client: AtomicU64,
    crashes: Mutex<Vec<String>>,
}

impl Run {
    fn fail(&self, problem: Problem) {
        let mut slot = self.problem.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(problem);
        }
        drop(slot);
        self.stop.send_replace(true);
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    fn client(&self) -> Client {
        let id = self.next_client.fetch_add(1, Ordering::SeqCst);
        Client::new(&self.net, format!("c{id}"))
    }

    /// Sends `init` to node `i` and waits for `init_ok`.
    async fn init(&self, i: usize) -> Result<(), Problem> {
        let mut client = self.client();
        let node_ids: Vec<String> = (0..self.config.node_count)
            .map(|n| format!("n{n}"))
            .collect();
        let body = json!({"type": "init", "node_id": format!("n{i}"), "node_ids": node_ids});
        let node = format!("n{i}");
        let mut stop = self.stop.subscribe();
        let reply = tokio::select! {
            r = client.rpc(&node, body, self.config.init_timeout) => r,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        match reply {
            Ok(reply) if reply.kind() == "init_ok" => Ok(()),
            Ok(reply) => Err(Problem::Protocol {
                node,
                line: reply.to_line().trim_end().to_string(),
                reason: "answered init with something other than init_ok".into(),
            }),
            Err(_) => Err(Problem::NoInit {
                node,
                secs: self.config.init_timeout.as_secs_f64(),
            }),
        }
    }
}

/// Reads the nodes' stdout and routes their messages.
async fn route(run: Arc<Run>, mut out: mpsc::UnboundedReceiver<NodeOutput>) {
    while let Some(event) = out.recv().await {
        match event {
            NodeOutput::Line {
                node,
                incarnation,
                line,
            } => {
                if !run.nodes.is_current(node, incarnation) || run.nodes.is_killed(node) {
                    continue;
                }
                let message = match Message::parse(&line) {
                    Ok(m) => m,
                    Err(reason) => {
                        run.fail(Problem::Protocol {
                            node: format!("n{node}"),
                            line,
                            reason: reason.to_string(),
                        });
                        continue;
                    }
                };
                if let Err(super::network::SendError::UnknownDest(dest)) =
                    run.net.send_from_node(node, message)
                {
                    run.fail(Problem::Protocol {
                        node: format!("n{node}"),
                        line,
                        reason: format!("sent to {dest:?}, which is not a node, client or service"),
                    });
                }
            }
            NodeOutput::Bad {
                node,
                incarnation,
                start,
                reason,
            } => {
                if run.nodes.is_current(node, incarnation) && !run.nodes.is_killed(node) {
                    run.fail(Problem::Protocol {
                        node: format!("n{node}"),
                        line: start,
                        reason,
                    });
                }
            }
            NodeOutput::Closed { node, incarnation } => {
                if run.nodes.is_current(node, incarnation) && !run.nodes.is_killed(node) {
                    // Give the process a moment to be reaped, so the status can be told.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let status = run
                        .nodes
                        .exit_status(node)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "closed its stdout".into());
                    let note = format!("n{node} exited on its own ({status}); see its log");
                    run.crashes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(note);
                }
            }
        }
    }
}

/// What the nemesis does to processes, for this run.
struct RunProcesses(Arc<Run>);

impl Processes for RunProcesses {
    fn kill(&self, node: usize) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.nodes.kill(node))
    }

    fn restart(&self, node: usize) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Err(e) = self.0.nodes.start(node) {
                self.0
                    .crashes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("n{node} could not be restarted: {e}"));
                return;
            }
            if let Err(problem) = self.0.init(node).await {
                self.0.fail(problem);
            }
        })
    }

    fn pause(&self, node: usize, paused: bool) {
        self.0.nodes.pause(node, paused);
    }
}

/// One client thread: requests until the time limit or a stop.
async fn client_loop(
    run: Arc<Run>,
    worker: usize,
    generator: Arc<Generator>,
    recorder: Recorder<Json, Json>,
    mut pacer: Pacer,
    deadline: tokio::time::Instant,
) {
    let mut rng = stream(run.config.seed, STREAM_CLIENTS + worker as u64);
    let concurrency = run.config.concurrency as u64;
    let mut process = worker as u64;
    let node = worker % run.config.node_count;
    let dest = format!("n{node}");
    let timeout = run.config.request_timeout();
    let mut client = run.client();
    let mut stop = run.stop.subscribe();
    loop {
        tokio::select! {
            _ = pacer.wait() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if tokio::time::Instant::now() >= deadline || run.stopped() {
            return;
        }
        let request = generator.next(worker, process, node, &mut rng);
        let ticket = recorder.call(process, request.input.clone());
        let reply = tokio::select! {
            r = client.rpc(&dest, request.body.clone(), timeout) => r,
            _ = stop.wait_for(|s| *s) => return, // the ticket drops: unknown
        };
        let outcome = match reply {
            Ok(reply) => match generator.complete(&request, &reply) {
                Ok(outcome) => outcome,
                Err(bad) => {
                    run.fail(Problem::Protocol {
                        node: reply.src.clone(),
                        line: reply.to_line().trim_end().to_string(),
                        reason: bad.to_string(),
                    });
                    return;
                }
            },
            Err(RpcError::Timeout) if request.idempotent => Outcome::Fail,
            Err(_) => Outcome::Info,
        };
        match outcome {
            Outcome::Ok(output) => ticket.ok(output),
            Outcome::Fail => ticket.fail(),
            Outcome::Info => {
                drop(ticket);
                // The process's request may still take effect: go on as a new process.
                process += concurrency;
            }
        }
    }
}

/// The final read of every node, retried until it succeeds or `until`.
async fn final_reads(
    run: &Arc<Run>,
    generator: &Generator,
    recorder: &Recorder<Json, Json>,
    until: Instant,
) {
    let base = 1_000_000 + run.config.concurrency as u64;
    let mut tasks = Vec::new();
    for node in 0..run.config.node_count {
        let Some(request) = generator.final_read(node) else {
            return;
        };
        let run = Arc::clone(run);
        let recorder = recorder.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = run.client();
            let dest = format!("n{node}");
            let mut attempt = 0;
            loop {
                let ticket = recorder.call(base + node as u64, request.input.clone());
                let reply = client
                    .rpc(&dest, request.body.clone(), run.config.request_timeout())
                    .await;
                let done = match reply {
                    Ok(reply) if reply.kind() == "read_ok" => {
                        let mut body = reply.body.clone();
                        for f in ["type", "msg_id", "in_reply_to"] {
                            body.remove(f);
                        }
                        ticket.ok(Json::Object(body));
                        true
                    }
                    _ => {
                        ticket.fail();
                        false
                    }
                };
                attempt += 1;
                if done || Instant::now() >= until || run.stopped() || attempt > 100 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Runs the test; `cancel` resolving (Ctrl-C) ends it early, with everything saved.
pub async fn run(config: Config, cancel: impl Future<Output = ()>) -> Result<Report, Error> {
    config.validate()?;
    let dir = results::make_dir(&config)?;
    let logs = dir.join("node-logs");
    std::fs::create_dir_all(&logs).map_err(|source| Error::Io {
        path: logs.clone(),
        source,
    })?;
    let net = Network::new(
        config.node_count,
        config.latency,
        config.latency_dist,
        stream(config.seed, STREAM_NETWORK),
        Services::new(stream(config.seed, STREAM_SERVICES)),
    );
    net.start();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let nodes = Nodes::new(
        config.bin.clone(),
        logs.clone(),
        config.log_stderr,
        config.node_count,
        out_tx,
        Arc::clone(&net),
    );
    let (stop, _) = watch::channel(false);
    let run = Arc::new(Run {
        config: config.clone(),
        net: Arc::clone(&net),
        nodes: Arc::clone(&nodes),
        problem: Mutex::new(None),
        stop,
        next_client: AtomicU64::new(0),
        crashes: Mutex::new(Vec::new()),
    });
    // With --tcp the proxies live as long as the run (dropped at the end of this function).
    let _proxy = if config.tcp {
        let proxy = super::tcp_proxy::TcpProxy::start(Arc::clone(&net), config.node_count)
            .await
            .map_err(|source| Error::Io {
                path: "127.0.0.1 (the TCP proxy)".into(),
                source,
            })?;
        for i in 0..config.node_count {
            nodes.set_env(i, proxy.env(i));
        }
        Some(proxy)
    } else {
        None
    };
    for i in 0..config.node_count {
        if let Err(source) = nodes.start(i) {
            nodes.shutdown().await;
            net.close();
            return Err(Error::Spawn {
                bin: config.bin.join(" "),
                source,
            });
        }
    }
    let router = tokio::spawn(route(Arc::clone(&run), out_rx));
    let outcome = drive(&run, &dir, cancel).await;
    nodes.shutdown().await;
    net.close();
    router.abort();
    let outcome = outcome?;
    results::write(&dir, &run.config, outcome, &net, &nodes)
}

/// Everything between starting the nodes and stopping them.
async fn drive(
    run: &Arc<Run>,
    dir: &std::path::Path,
    cancel: impl Future<Output = ()>,
) -> Result<RunOutcome, Error> {
    let config = &run.config;
    let started = Instant::now();
    let mut cancel = std::pin::pin!(cancel);
    let history_path = dir.join("history.jsonl");
    let model = match config.workload {
        Workload::LinKv => "keyed-cas-register",
        other => other.name(),
    };
    let recorder: Recorder<Json, Json> =
        Recorder::jsonl(&history_path, model).map_err(|e| Error::Io {
            path: history_path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let generator = Arc::new(Generator::new(config));
    let mut interrupted = false;

    // Init every node, and give broadcast its topology.
    let inits = async {
        let results = futures_join_all((0..config.node_count).map(|i| {
            let run = Arc::clone(run);
            async move { run.init(i).await }
        }))
        .await;
        for r in results {
            if let Err(problem) = r {
                run.fail(problem);
            }
        }
        if config.workload == Workload::Broadcast && !run.stopped() {
            let topology = topology::neighbours(config.topology, config.node_count);
            for i in 0..config.node_count {
                let mut client = run.client();
                let body = json!({"type": "topology", "topology": topology});
                match client
                    .rpc(&format!("n{i}"), body, config.init_timeout)
                    .await
                {
                    Ok(reply) if reply.kind() == "topology_ok" => {}
                    Ok(reply) => run.fail(Problem::Protocol {
                        node: format!("n{i}"),
                        line: reply.to_line().trim_end().to_string(),
                        reason: "answered topology with something other than topology_ok".into(),
                    }),
                    Err(_) => run.fail(Problem::NoReply {
                        node: format!("n{i}"),
                        what: "topology".into(),
                    }),
                }
            }
        }
    };
    tokio::select! {
        _ = inits => {}
        _ = &mut cancel => { interrupted = true; run.stop.send_replace(true); }
    }

    let mut nemesis_notes: Vec<Annotation> = Vec::new();
    let run_start = recorder.now();
    if !run.stopped() {
        let deadline = tokio::time::Instant::now() + config.time_limit;
        let clients: Vec<_> = (0..config.concurrency)
            .map(|w| {
                tokio::spawn(client_loop(
                    Arc::clone(run),
                    w,
                    Arc::clone(&generator),
                    recorder.clone(),
                    Pacer::new(
                        config.rate / config.concurrency as f64,
                        stream(config.seed, STREAM_PACERS + w as u64),
                    ),
                    deadline,
                ))
            })
            .collect();
        let (nemesis_stop, nemesis_rx) = watch::channel(false);
        let nemesis = Nemesis {
            faults: config.nemesis.clone(),
            interval: config.nemesis_interval,
            fraction: config.fault_fraction,
            node_count: config.node_count,
            rng: stream(config.seed, STREAM_NEMESIS),
        };
        let rec = recorder.clone();
        let nemesis = tokio::spawn(nemesis.run(
            Arc::clone(&run.net),
            Arc::new(RunProcesses(Arc::clone(run))),
            move || rec.now(),
            nemesis_rx,
        ));
        let mut stop = run.stop.subscribe();
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = stop.wait_for(|s| *s) => {}
            _ = &mut cancel => { interrupted = true; run.stop.send_replace(true); }
        }
        // Let the clients finish the request in flight (each is bounded by its timeout), then stop them.
        let grace = config.request_timeout() + Duration::from_millis(200);
        for c in clients {
            let abort = c.abort_handle();
            if tokio::time::timeout(grace, c).await.is_err() {
                abort.abort();
            }
        }
        let _ = nemesis_stop.send(true);
        if let Ok(notes) = nemesis.await {
            nemesis_notes = notes;
        }
        if config.workload.has_final_reads() && !run.stopped() {
            let healed = recorder.now();
            tokio::select! {
                _ = tokio::time::sleep(config.recovery_wait) => {}
                _ = &mut cancel => { interrupted = true; run.stop.send_replace(true); }
            }
            if !run.stopped() {
                let until = Instant::now() + config.recovery_wait.max(Duration::from_secs(1));
                final_reads(run, &generator, &recorder, until).await;
                nemesis_notes.push(Annotation {
                    client: None,
                    tag: Some("nemesis".into()),
                    start: healed,
                    end: recorder.now(),
                    text: "healed; recovery wait and final reads".into(),
                });
            }
        }
    }
    for note in nemesis_notes {
        recorder.annotate(note);
    }
    if let Some(err) = recorder.take_error() {
        return Err(Error::Io {
            path: history_path,
            source: std::io::Error::other(err.to_string()),
        });
    }
    let mut problem = run.problem.lock().unwrap_or_else(|e| e.into_inner()).take();
    if interrupted && problem.is_none() {
        problem = Some(Problem::Interrupted);
    }
    let crashes = run
        .crashes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(RunOutcome {
        history: recorder.history(),
        problem,
        crashes,
        run_start,
        wall: started.elapsed(),
    })
}

/// Awaits every future (a tiny `join_all`, to avoid a dependency for one use).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}
