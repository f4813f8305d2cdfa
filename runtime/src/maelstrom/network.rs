//! The runner's network: every message between nodes, clients and services passes through it.
//!
//! Rules, in the order they apply:
//! 1. The destination must exist (a node, a client or a service); otherwise the sender broke the protocol.
//! 2. Links to and from clients have no latency and no faults (as in Maelstrom).
//! 3. Every other message gets a latency drawn from `--latency-dist` around `--latency`.
//! 4. Between two nodes, while the `loss` fault is on a fraction of messages is dropped at the sender, and
//!    while `duplicate` is on a fraction is delivered twice (each copy with its own latency).
//! 5. Each destination receives in deadline order. At delivery, a message from a node the receiver is cut
//!    off from is dropped (partitions, two-way or one-way, are checked at the receiver, so a message in
//!    flight when a partition starts is lost, as in Maelstrom). Services are never partitioned.
//!
//! Random choices (latencies, losses, duplicates) come from one ChaCha8 stream of the run's seed; real
//! scheduling still decides the interleaving, so a seed fixes the choices, not the run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::sync::mpsc;

use super::config::LatencyDist;
use super::protocol::Message;
use super::services::Services;

/// Counts of messages of one kind of link.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkStats {
    pub sent: u64,
    pub delivered: u64,
    /// Dropped at the receiver by a partition.
    pub partitioned: u64,
    /// Dropped by the `loss` fault.
    pub lost: u64,
    /// Extra copies made by the `duplicate` fault.
    pub duplicated: u64,
    /// Sent to a node that was not running (killed) when it arrived.
    pub undeliverable: u64,
}

/// Network statistics, by kind of link.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetStats {
    /// Between clients and nodes.
    pub clients: LinkStats,
    /// Between nodes (Maelstrom's "servers"): the cost of the protocol.
    pub servers: LinkStats,
    /// Between nodes and the services (lin-kv, seq-kv, lww-kv, lin-tso).
    pub services: LinkStats,
}

/// One message as drawn on the Lamport diagram.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    pub src: String,
    pub dest: String,
    pub kind: String,
    /// Nanoseconds since the network started.
    pub sent: i64,
    /// When it was delivered; `None` when it was dropped or is still in flight.
    pub delivered: Option<i64>,
}

/// The most messages kept for the Lamport diagram (Maelstrom draws the first 10,000 events).
pub const LOG_LIMIT: usize = 10_000;

/// The faults the nemesis has switched on.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// `(from, to)`: messages from node `from` are dropped at node `to`.
    pub cut: BTreeSet<(usize, usize)>,
    pub loss: f64,
    pub duplicate: f64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Node(usize),
    Client,
    Service,
}

struct InFlight {
    /// The real sender (a node may forward a message with a client's `src`; faults apply to the link it
    /// was actually sent on).
    from: Kind,
    deadline: Instant,
    seq: u64,
    log: Option<usize>,
    message: Message,
}

struct State {
    rng: ChaCha8Rng,
    clients: HashMap<String, mpsc::UnboundedSender<Message>>,
    inboxes: HashMap<String, mpsc::UnboundedSender<InFlight>>,
    /// The stdin of each node's running incarnation (`None` while it is killed).
    stdins: Vec<Option<mpsc::UnboundedSender<String>>>,
    faults: Faults,
    stats: NetStats,
    log: Vec<Logged>,
    seq: u64,
}

/// The network. Shared (`Arc`) by the router, the clients, the services and the nemesis.
pub struct Network {
    start: Instant,
    latency: Duration,
    dist: LatencyDist,
    node_count: usize,
    state: Mutex<State>,
    services: Mutex<Services>,
}

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    UnknownDest(String),
}

impl Network {
    pub fn new(
        node_count: usize,
        latency: Duration,
        dist: LatencyDist,
        rng: ChaCha8Rng,
        services: Services,
    ) -> Arc<Self> {
        Arc::new(Network {
            start: Instant::now(),
            latency,
            dist,
            node_count,
            state: Mutex::new(State {
                rng,
                clients: HashMap::new(),
                inboxes: HashMap::new(),
                stdins: vec![None; node_count],
                faults: Faults::default(),
                stats: NetStats::default(),
                log: Vec::new(),
                seq: 0,
            }),
            services: Mutex::new(services),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Nanoseconds since the network started.
    pub fn now(&self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }

    /// Starts the inboxes of every node and service (call once, inside the runtime).
    pub fn start(self: &Arc<Self>) {
        let mut names: Vec<String> = (0..self.node_count).map(|i| format!("n{i}")).collect();
        names.extend(Services::NAMES.iter().map(|s| s.to_string()));
        for name in names {
            let (tx, rx) = mpsc::unbounded_channel();
            self.lock().inboxes.insert(name.clone(), tx);
            tokio::spawn(Arc::clone(self).inbox(name, rx));
        }
    }

    /// Drops every route, which ends the inbox tasks.
    pub fn close(&self) {
        let mut state = self.lock();
        state.inboxes.clear();
        state.clients.clear();
        for s in state.stdins.iter_mut() {
            *s = None;
        }
    }

    /// Registers a client; messages to `name` go to the receiver.
    pub fn add_client(&self, name: &str) -> mpsc::UnboundedReceiver<Message> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().clients.insert(name.to_string(), tx);
        rx
    }

    pub fn remove_client(&self, name: &str) {
        self.lock().clients.remove(name);
    }

    /// Sets (or clears, when killed) where node `node`'s messages are written.
    pub fn set_stdin(&self, node: usize, stdin: Option<mpsc::UnboundedSender<String>>) {
        self.lock().stdins[node] = stdin;
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub fn stats(&self) -> NetStats {
        self.lock().stats.clone()
    }

    pub fn message_log(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    fn kind(&self, name: &str) -> Kind {
        if let Some(i) = name.strip_prefix('n').and_then(|i| i.parse::<usize>().ok()) {
            if i < self.node_count && name == format!("n{i}") {
                return Kind::Node(i);
            }
        }
        if Services::NAMES.contains(&name) {
            return Kind::Service;
        }
        Kind::Client
    }

    fn sample_latency(&self, rng: &mut ChaCha8Rng) -> Duration {
        if self.latency.is_zero() {
            return Duration::ZERO;
        }
        let mean = self.latency.as_secs_f64();
        let secs = match self.dist {
            LatencyDist::Constant => mean,
            LatencyDist::Uniform => rng.gen_range(0.0..2.0 * mean),
            LatencyDist::Exponential => -mean * (1.0 - rng.gen::<f64>()).ln(),
        };
        Duration::from_secs_f64(secs.min(60.0))
    }

    /// Sends `message` by the rules of the module guide, from the sender its `src` names.
    pub fn send(&self, message: Message) -> Result<(), SendError> {
        let src = self.kind(&message.src);
        self.send_as(src, message)
    }

    /// Sends a message that node `node` wrote, whatever its `src` says.
    pub fn send_from_node(&self, node: usize, message: Message) -> Result<(), SendError> {
        self.send_as(Kind::Node(node), message)
    }

    fn send_as(&self, src: Kind, message: Message) -> Result<(), SendError> {
        let dest = self.kind(&message.dest);
        let mut guard = self.lock();
        let state = &mut *guard;
        let link = link(&mut state.stats, src, dest);
        if dest == Kind::Client {
            let Some(tx) = state.clients.get(&message.dest).cloned() else {
                // A reply to a client that has gone (its run is over): dropped, like Maelstrom's.
                if message.dest.starts_with('c') {
                    return Ok(());
                }
                return Err(SendError::UnknownDest(message.dest));
            };
            link.sent += 1;
            link.delivered += 1;
            // Client links have no latency: drawn as delivered when sent.
            if let Some(i) = self.log(state, &message, true) {
                state.log[i].delivered = Some(state.log[i].sent);
            }
            let _ = tx.send(message);
            return Ok(());
        }
        let Some(inbox) = state.inboxes.get(&message.dest).cloned() else {
            return Err(SendError::UnknownDest(message.dest));
        };
        link.sent += 1;
        let between_nodes = matches!((src, dest), (Kind::Node(_), Kind::Node(_)));
        let mut copies = 1;
        if between_nodes {
            if state.faults.loss > 0.0 && state.rng.gen_bool(state.faults.loss) {
                link.lost += 1;
                self.log(state, &message, false);
                return Ok(());
            }
            if state.faults.duplicate > 0.0 && state.rng.gen_bool(state.faults.duplicate) {
                link.duplicated += 1;
                copies = 2;
            }
        }
        let now = Instant::now();
        for _ in 0..copies {
            let latency = if src == Kind::Client {
                Duration::ZERO
            } else {
                self.sample_latency(&mut state.rng)
            };
            let log = self.log(state, &message, true);
            state.seq += 1;
            let _ = inbox.send(InFlight {
                from: src,
                deadline: now + latency,
                seq: state.seq,
                log,
                message: message.clone(),
            });
        }
        Ok(())
    }

    fn log(&self, state: &mut State, message: &Message, in_flight: bool) -> Option<usize> {
        if state.log.len() >= LOG_LIMIT {
            return None;
        }
        state.log.push(Logged {
            src: message.src.clone(),
            dest: message.dest.clone(),
            kind: message.kind().to_string(),
            sent: self.now(),
            delivered: None,
        });
        in_flight.then_some(state.log.len() - 1)
    }

    /// Delivers one message that reached its deadline.
    fn deliver(&self, flight: InFlight) {
        let src = flight.from;
        let dest = self.kind(&flight.message.dest);
        let mut state = self.lock();
        match dest {
            Kind::Node(to) => {
                if let Kind::Node(from) = src {
                    if state.faults.cut.contains(&(from, to)) {
                        state.stats.servers.partitioned += 1;
                        return;
                    }
                }
                let Some(stdin) = state.stdins[to].clone() else {
                    link(&mut state.stats, src, dest).undeliverable += 1;
                    return;
                };
                link(&mut state.stats, src, dest).delivered += 1;
                if let Some(i) = flight.log {
                    state.log[i].delivered = Some(self.now());
                }
                drop(state);
                let _ = stdin.send(flight.message.to_line());
            }
            Kind::Service => {
                state.stats.services.delivered += 1;
                if let Some(i) = flight.log {
                    state.log[i].delivered = Some(self.now());
                }
                drop(state);
                let reply = self
                    .services
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .handle(&flight.message);
                if let Some(reply) = reply {
                    let _ = self.send(reply);
                }
            }
            Kind::Client => {}
        }
    }

    /// Delivers the messages for `name` in deadline order.
    async fn inbox(self: Arc<Self>, name: String, mut rx: mpsc::UnboundedReceiver<InFlight>) {
        let mut heap: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
        let mut waiting: BTreeMap<u64, InFlight> = BTreeMap::new();
        let _ = name; // kept for debugging: the task's destination
        loop {
            let next = heap.peek().map(|Reverse((deadline, _))| *deadline);
            tokio::select! {
                received = rx.recv() => match received {
                    Some(flight) => {
                        heap.push(Reverse((flight.deadline, flight.seq)));
                        waiting.insert(flight.seq, flight);
                    }
                    None => return,
                },
                _ = sleep_until(next), if next.is_some() => {
                    let now = Instant::now();
                    while let Some(Reverse((deadline, seq))) = heap.peek().copied() {
                        if deadline > now {
                            break;
                        }
                        heap.pop();
                        if let Some(flight) = waiting.remove(&seq) {
                            self.deliver(flight);
                        }
                    }
                }
            }
        }
    }
}

fn link(stats: &mut NetStats, src: Kind, dest: Kind) -> &mut LinkStats {
    match (src, dest) {
        (Kind::Client, _) | (_, Kind::Client) => &mut stats.clients,
        (Kind::Service, _) | (_, Kind::Service) => &mut stats.services,
        _ => &mut stats.servers,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
