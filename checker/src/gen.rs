//! Synthetic histories: reproducible, of any size, linearizable by construction, or with one anomaly put in.
//!
//! Clients issue operations one at a time; at most [`GenOptions::concurrency`] are outstanding at once,
//! each lasting a random number of ticks. Every operation takes effect at a random instant of its interval
//! (its linearization point), and its output is what the sequential object gives when the operations are
//! applied in the order of those instants: so the clean history is linearizable, with that order as a
//! witness. Every value written is unique, which is what lets an anomaly be seen.
//!
//! An anomaly changes one operation and is then confirmed by checking the sub-history it touches (the key's
//! operations, or the whole register); a candidate the checker still accepts is given up for another. So a
//! history generated with an anomaly is never linearizable.
//! - [`Anomaly::StaleRead`]: a read returns the value from before a write that completed before the read
//!   was called.
//! - [`Anomaly::LostWrite`]: a write is acknowledged, but later reads never see its effect.
//!
//! With [`GenOptions::pending_rate`] R, a fraction R of the operations get no response, as requests that
//! timed out do under faults: each either takes effect at a random instant of its interval or never (one
//! chance in two), its output is not recorded, and its client goes on under a new client id once the
//! timeout is over (a client has one operation outstanding at most). The clean history stays
//! linearizable; an anomaly is put only into a completed operation.
//!
//! One `u64` seed drives every random choice (ChaCha8, whose stream is stable across versions), so a seed
//! and the options name a history.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use thiserror::Error;

use crate::check::{check, Options};
use crate::history::{History, Operation};
use crate::models::{
    CasInput, CasOutput, CasRegister, Kv, KvInput, KvOutput, Register, RegisterInput,
    RegisterOutput, Value,
};
use crate::verdict::{CheckResult, Verdict};

/// The object whose history is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenModel {
    Kv,
    Register,
    CasRegister,
}

impl GenModel {
    pub const NAMES: &'static [&'static str] = &["kv", "register", "cas-register"];

    /// The model's name in history files.
    pub fn name(self) -> &'static str {
        match self {
            GenModel::Kv => "kv",
            GenModel::Register => "register",
            GenModel::CasRegister => "cas-register",
        }
    }
}

impl std::str::FromStr for GenModel {
    type Err = GenError;
    fn from_str(name: &str) -> Result<Self, GenError> {
        match name {
            "kv" => Ok(GenModel::Kv),
            "register" => Ok(GenModel::Register),
            "cas-register" => Ok(GenModel::CasRegister),
            _ => Err(GenError::UnknownModel {
                name: name.to_string(),
                known: GenModel::NAMES.join(", "),
            }),
        }
    }
}

/// A violation of linearizability to put into the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    StaleRead,
    LostWrite,
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Anomaly::StaleRead => "stale-read",
            Anomaly::LostWrite => "lost-write",
        })
    }
}

impl std::str::FromStr for Anomaly {
    type Err = GenError;
    fn from_str(name: &str) -> Result<Self, GenError> {
        match name {
            "stale-read" => Ok(Anomaly::StaleRead),
            "lost-write" => Ok(Anomaly::LostWrite),
            _ => Err(GenError::UnknownAnomaly {
                name: name.to_string(),
            }),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub model: GenModel,
    /// Clients (processes); each has at most one operation outstanding.
    pub clients: usize,
    /// Keys of the kv store (registers have one).
    pub keys: usize,
    pub operations: usize,
    /// At most this many operations outstanding at once (at most `clients`).
    pub concurrency: usize,
    pub anomaly: Option<Anomaly>,
    pub seed: u64,
    /// The fraction of operations that get no response, in `[0, 1]`.
    pub pending_rate: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            model: GenModel::Kv,
            clients: 10,
            keys: 10,
            operations: 1000,
            concurrency: 5,
            anomaly: None,
            seed: 0,
            pending_rate: 0.0,
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum GenError {
    #[error("unknown model `{name}` (known: {known})")]
    UnknownModel { name: String, known: String },
    #[error("unknown anomaly `{name}` (known: stale-read, lost-write)")]
    UnknownAnomaly { name: String },
    #[error("{what} must be at least 1")]
    Zero { what: &'static str },
    #[error("concurrency {concurrency} is more than the {clients} clients")]
    ConcurrencyAboveClients { concurrency: usize, clients: usize },
    #[error("the pending rate must be a number from 0 to 1, not {rate}")]
    PendingRate { rate: f64 },
    #[error("no place for a {anomaly} in this history (too few operations, or every candidate stays linearizable)")]
    NoPlaceForAnomaly { anomaly: Anomaly },
}

/// A generated history, typed for its model.
#[derive(Debug, Clone)]
pub enum Generated {
    Kv(History<KvInput, KvOutput>),
    Register(History<RegisterInput, RegisterOutput>),
    CasRegister(History<CasInput, CasOutput>),
}

impl Generated {
    pub fn model(&self) -> GenModel {
        match self {
            Generated::Kv(_) => GenModel::Kv,
            Generated::Register(_) => GenModel::Register,
            Generated::CasRegister(_) => GenModel::CasRegister,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Generated::Kv(h) => h.len(),
            Generated::Register(h) => h.len(),
            Generated::CasRegister(h) => h.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks the history against its model.
    pub fn check(&self, options: &Options) -> CheckResult {
        let result = match self {
            Generated::Kv(h) => check(&Kv, h, options),
            Generated::Register(h) => check(&Register::default(), h, options),
            Generated::CasRegister(h) => check(&CasRegister::default(), h, options),
        };
        result.expect("a generated history is well formed")
    }

    /// Writes the history as a JSON document (`jsonl` false) or as JSON Lines (a header line, then one
    /// operation per line), in the format `quill check` reads.
    pub fn write<W: Write>(&self, out: W, jsonl: bool) -> std::io::Result<()> {
        match self {
            Generated::Kv(h) => write_history(out, self.model(), h, jsonl),
            Generated::Register(h) => write_history(out, self.model(), h, jsonl),
            Generated::CasRegister(h) => write_history(out, self.model(), h, jsonl),
        }
    }
}

fn write_history<W: Write, I: Serialize, O: Serialize>(
    mut out: W,
    model: GenModel,
    history: &History<I, O>,
    jsonl: bool,
) -> std::io::Result<()> {
    let header = serde_json::json!({ "model": model.name() });
    if jsonl {
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        for op in &history.operations {
            serde_json::to_writer(&mut out, op)?;
            out.write_all(b"\n")?;
        }
    } else {
        write!(out, "{{\"model\":\"{}\",\"operations\":[", model.name())?;
        for (i, op) in history.operations.iter().enumerate() {
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut out, op)?;
        }
        out.write_all(b"\n]}\n")?;
    }
    out.flush()
}

/// What an operation does, before it is typed for its model. Register values are integers in text.
#[derive(Debug, Clone)]
enum Act {
    Read,
    Write(String),
    Append(String),
    Cas { from: Option<String>, to: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Out {
    Nothing,
    Value(Option<String>),
    Swapped(bool),
}

#[derive(Debug, Clone)]
struct Op {
    client: u64,
    call: i64,
    ret: i64,
    /// The linearization point, in `[call, ret]`.
    lin: i64,
    key: usize,
    act: Act,
    out: Out,
    /// It gets no response (`ret` is then when its client gave up on it).
    pending: bool,
    /// It takes effect (false only for some of the pending ones).
    effect: bool,
}

impl Op {
    fn writes(&self) -> bool {
        matches!(self.act, Act::Write(_) | Act::Append(_)) || self.out == Out::Swapped(true)
    }
}

/// Generates a history.
pub fn generate(options: &GenOptions) -> Result<Generated, GenError> {
    for (what, n) in [
        ("clients", options.clients),
        ("concurrency", options.concurrency),
    ] {
        if n == 0 {
            return Err(GenError::Zero { what });
        }
    }
    if options.model == GenModel::Kv && options.keys == 0 {
        return Err(GenError::Zero { what: "keys" });
    }
    if !(0.0..=1.0).contains(&options.pending_rate) {
        return Err(GenError::PendingRate {
            rate: options.pending_rate,
        });
    }
    if options.concurrency > options.clients {
        return Err(GenError::ConcurrencyAboveClients {
            concurrency: options.concurrency,
            clients: options.clients,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut ops = schedule(options, &mut rng);
    // Outputs come from applying the operations in the order of their linearization points.
    let mut by_lin: Vec<usize> = (0..ops.len()).collect();
    by_lin.sort_by_key(|&i| (ops[i].lin, i));
    let keys = if options.model == GenModel::Kv {
        options.keys
    } else {
        1
    };
    let before = apply(&mut ops, &by_lin, keys, None);
    if let Some(anomaly) = options.anomaly {
        inject(
            &mut ops,
            &by_lin,
            &before,
            keys,
            anomaly,
            options.model,
            &mut rng,
        )?;
    }
    Ok(typed(&ops, options.model))
}

/// Call and return times, clients, keys and inputs, in call order.
fn schedule(options: &GenOptions, rng: &mut ChaCha8Rng) -> Vec<Op> {
    let mut ops = Vec::with_capacity(options.operations);
    let mut free: Vec<u64> = (0..options.clients as u64).collect();
    let mut outstanding: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
    let mut now = 0i64;
    let longest = 2 * options.concurrency as i64;
    // Values recently written, for a cas to name (so that some cas succeed).
    let mut recent: Vec<String> = Vec::new();
    // The clients whose operation got no response, which go on under a new id.
    let mut gave_up: Vec<u64> = Vec::new();
    let mut next_client = options.clients as u64;
    for index in 0..options.operations {
        while outstanding.len() >= options.concurrency || free.is_empty() {
            let Reverse((ret, client)) = outstanding.pop().expect("an outstanding operation");
            // The next call comes strictly after this return, so the two are ordered in real time.
            now = now.max(ret + 1);
            if let Some(k) = gave_up.iter().position(|&c| c == client) {
                gave_up.swap_remove(k);
                free.push(next_client);
                next_client += 1;
            } else {
                free.push(client);
            }
        }
        let client = free.swap_remove(rng.gen_range(0..free.len()));
        let call = now;
        now += 1;
        let ret = call + rng.gen_range(1..=longest);
        outstanding.push(Reverse((ret, client)));
        let lin = rng.gen_range(call..=ret);
        // No random draw at all when nothing is pending, so that the other histories stay as they were.
        let pending = options.pending_rate > 0.0 && rng.gen_bool(options.pending_rate);
        let effect = !pending || rng.gen_bool(0.5);
        if pending {
            gave_up.push(client);
        }
        let key = if options.model == GenModel::Kv {
            rng.gen_range(0..options.keys)
        } else {
            0
        };
        let roll = rng.gen_range(0..100);
        let act = match options.model {
            // Puts often enough that values stay short: an append is undone by the next put.
            GenModel::Kv if roll < 50 => Act::Read,
            GenModel::Kv if roll < 65 => Act::Write(format!("p{index} ")),
            GenModel::Kv => Act::Append(format!("{index} ")),
            GenModel::Register if roll < 50 => Act::Read,
            GenModel::Register => Act::Write(index.to_string()),
            GenModel::CasRegister if roll < 40 => Act::Read,
            GenModel::CasRegister if roll < 60 => Act::Write(index.to_string()),
            GenModel::CasRegister => {
                let from = recent.choose(rng).cloned();
                Act::Cas {
                    from,
                    to: index.to_string(),
                }
            }
        };
        if let Act::Write(v) | Act::Cas { to: v, .. } = &act {
            if recent.len() == 4 {
                recent.remove(0);
            }
            recent.push(v.clone());
        }
        ops.push(Op {
            client,
            call,
            ret,
            lin,
            key,
            act,
            out: Out::Nothing,
            pending,
            effect,
        });
    }
    ops
}

/// Applies the operations in linearization order, filling in their outputs, with `lost`'s effect left out.
/// Returns each operation's key's value before it.
fn apply(
    ops: &mut [Op],
    by_lin: &[usize],
    keys: usize,
    lost: Option<usize>,
) -> Vec<Option<String>> {
    let mut state: Vec<Option<String>> = vec![None; keys];
    let mut before = vec![None; ops.len()];
    for &i in by_lin {
        let op = &mut ops[i];
        let value = &mut state[op.key];
        before[i] = value.clone();
        let effect = lost != Some(i) && op.effect;
        op.out = match &op.act {
            Act::Read => Out::Value(value.clone()),
            Act::Write(v) => {
                if effect {
                    *value = Some(v.clone());
                }
                Out::Nothing
            }
            Act::Append(v) => {
                if effect {
                    *value = Some(format!("{}{v}", value.as_deref().unwrap_or("")));
                }
                Out::Nothing
            }
            Act::Cas { from, to } => {
                let swaps = value == from;
                if swaps && effect {
                    *value = Some(to.clone());
                }
                Out::Swapped(swaps)
            }
        };
    }
    before
}

fn inject(
    ops: &mut Vec<Op>,
    by_lin: &[usize],
    before: &[Option<String>],
    keys: usize,
    anomaly: Anomaly,
    model: GenModel,
    rng: &mut ChaCha8Rng,
) -> Result<(), GenError> {
    // Candidates in a random order; each is confirmed by the checker, and a few dozen are tried at most.
    let mut candidates: Vec<usize> = (0..ops.len())
        .filter(|&i| match anomaly {
            _ if ops[i].pending => false,
            Anomaly::StaleRead => matches!(ops[i].act, Act::Read),
            Anomaly::LostWrite => matches!(ops[i].act, Act::Write(_) | Act::Append(_)),
        })
        .collect();
    candidates.shuffle(rng);
    for &i in candidates.iter().take(64) {
        let key = ops[i].key;
        let mut changed = ops.clone();
        match anomaly {
            Anomaly::StaleRead => {
                // The latest write (in linearization order) that returned before the read was called.
                let Some(&w) = by_lin
                    .iter()
                    .filter(|&&w| {
                        let op = &ops[w];
                        op.key == key && !op.pending && op.writes() && op.ret < ops[i].call
                    })
                    .max_by_key(|&&w| (ops[w].lin, w))
                else {
                    continue;
                };
                let stale = Out::Value(before[w].clone());
                if stale == ops[i].out {
                    continue;
                }
                changed[i].out = stale;
            }
            Anomaly::LostWrite => {
                // Only a write that some later read could have seen.
                let seen_later = ops.iter().any(|r| {
                    r.key == key && !r.pending && matches!(r.act, Act::Read) && r.call > ops[i].ret
                });
                if !seen_later {
                    continue;
                }
                apply(&mut changed, by_lin, keys, Some(i));
            }
        }
        let touched: Vec<Op> = changed.iter().filter(|op| op.key == key).cloned().collect();
        let options = Options {
            timeout: Some(Duration::from_secs(10)),
            ..Options::default()
        };
        if typed(&touched, model).check(&options).verdict == Verdict::Illegal {
            *ops = changed;
            return Ok(());
        }
    }
    Err(GenError::NoPlaceForAnomaly { anomaly })
}

fn typed(ops: &[Op], model: GenModel) -> Generated {
    fn history<I, O>(
        ops: &[Op],
        input: impl Fn(&Op) -> I,
        output: impl Fn(&Op) -> O,
    ) -> History<I, O> {
        History::new(
            ops.iter()
                .map(|op| Operation {
                    client: op.client,
                    call: op.call,
                    ret: (!op.pending).then_some(op.ret),
                    input: input(op),
                    output: (!op.pending).then(|| output(op)),
                    failed: false,
                })
                .collect(),
        )
    }
    let int = |v: &Option<String>| {
        v.as_ref()
            .map(|v| Value::int(v.parse().expect("register values are integers")))
    };
    let value = |op: &Op| match &op.out {
        Out::Value(v) => v.clone(),
        _ => None,
    };
    match model {
        GenModel::Kv => {
            let keys: Vec<Arc<str>> = (0..=ops.iter().map(|op| op.key).max().unwrap_or(0))
                .map(|k| Arc::from(format!("k{k}")))
                .collect();
            Generated::Kv(history(
                ops,
                |op| {
                    let key = keys[op.key].clone();
                    match &op.act {
                        Act::Read => KvInput::Get { key },
                        Act::Write(v) => KvInput::Put {
                            key,
                            value: v.as_str().into(),
                        },
                        Act::Append(v) => KvInput::Append {
                            key,
                            value: v.as_str().into(),
                        },
                        Act::Cas { .. } => unreachable!("a kv store has no cas"),
                    }
                },
                |op| match &op.act {
                    Act::Read => KvOutput {
                        value: Some(value(op).unwrap_or_default().into()),
                    },
                    _ => KvOutput { value: None },
                },
            ))
        }
        GenModel::Register => Generated::Register(history(
            ops,
            |op| match &op.act {
                Act::Write(v) => RegisterInput::Write {
                    value: int(&Some(v.clone())),
                },
                _ => RegisterInput::Read,
            },
            |op| RegisterOutput {
                value: int(&value(op)),
            },
        )),
        GenModel::CasRegister => Generated::CasRegister(history(
            ops,
            |op| match &op.act {
                Act::Read => CasInput::Read,
                Act::Write(v) | Act::Append(v) => CasInput::Write {
                    value: int(&Some(v.clone())),
                },
                Act::Cas { from, to } => CasInput::Cas {
                    from: int(from),
                    to: int(&Some(to.clone())),
                },
            },
            |op| match op.out {
                Out::Swapped(ok) => CasOutput {
                    value: None,
                    ok: Some(ok),
                },
                _ => CasOutput {
                    value: int(&value(op)),
                    ok: None,
                },
            },
        )),
    }
}
