//! Jepsen and Knossos histories in EDN: `[{:process 0, :type :invoke, :f :read, :value nil} ...]`.
//!
//! Two layers. [`syntax`] is a small, complete, streaming reader for the EDN data a history can hold, with
//! the line and column of every form so that errors name a place, and limits (depth, token size, UTF-8,
//! no control bytes) so that no input crashes it or exhausts memory. This file then gives the forms Jepsen's
//! meaning (Knossos semantics), one operation map at a time as they are read:
//!
//! The syntax layer is written here rather than taken from the `edn-format` crate, which was weighed for
//! it: that crate gives no position for the forms it reads (only for its own errors), so an operation's
//! line could not be named; its recursive parser overflows the stack on deeply nested input (the crash this
//! reader must not have); it reads a `&str` whole, where this reader streams; and it read the histories
//! measured about half as fast.
//!
//! - The history is one vector or list of operation maps, or a bare sequence of them.
//! - Real-time order is the order of the maps in the file, never `:time` (which goes backwards in real
//!   files). A map's time is its position in the file, or its `:index` when every map has one and they
//!   increase, so that times on a timeline match the indices a Jepsen user already knows.
//! - Invocations and completions pair by `:process`. `:ok` took effect between the two, and its `:value`
//!   replaces the invocation's (reads and transactions carry their results there). `:fail` did not happen:
//!   the operation is kept for display but marked failed, so the check ignores it. `:info`, or no completion
//!   at all, is indeterminate: the operation has no return and no output, and its process never invokes
//!   again (Jepsen gives a crashed client a new process number).
//! - A non-integer process (`:nemesis`) is fault injection: its events become annotations on a "nemesis"
//!   lane, an invocation and its completion forming one interval (older Jepsen logs both halves as `:info`
//!   events with the same `:f`; they pair the same way). An `:info` from a client with nothing pending is
//!   shown as a point on that client's lane.
//!
//! Operations are translated to the JSON shape of the built-in models (see [`crate::models`]):
//!
//! | EDN `:f` | input | output of `:ok` |
//! |---|---|---|
//! | `:read` | `{"op":"read"}` | `{"value":V}`; a nil `V`: no output (see below) |
//! | `:write` | `{"op":"write","value":V}` | `{}` |
//! | `:cas` | `{"op":"cas","from":A,"to":B}` from `[A B]` | `{"ok":true}` |
//! | `:acquire`, `:release` | `{"op":"acquire"}`, `{"op":"release"}` | `{}` |
//! | `:txn` | `{"op":"txn","ops":[{"f":"read","key":"x","value":null},..]}` | `{"ops":[..]}` (the completion's) |
//! | `:enqueue`, `:dequeue` | `{"op":"enqueue","value":V}`, `{"op":"dequeue"}` | `{}`, `{"value":V}` (nil: empty) |
//! | `:add` | `{"op":"add","value":V}` | `{}` |
//! | anything else | `{"op":F,"value":V}` | `{"value":V}` |
//!
//! A nil read is "result unknown" in Knossos: it constrains nothing, even when the register holds a value.
//! Such a read is kept without a return and without an output, the checker's way of saying "any result":
//! a read changes no state, so dropping its end time loses nothing, while a nil output would claim that the
//! register was empty. Its process goes on invoking, as it does in the file. The same holds for a set's
//! `:read` of nil (an empty set is `#{}`) and a nil micro-op read in a transaction; a `:dequeue` of nil
//! says the queue was empty (docs/history-format.md has the rule per model). This differs from the etcd
//! log format ([`super::Format::JepsenLog`]), where `:ok :read nil` means the key is absent; the two
//! formats keep their own meaning. EDN values become JSON: keywords keep their colon
//! (`":x"`), sets and lists become arrays, map keys become strings (a keyword key loses its colon, so
//! `{:x 0}` is `{"x":0}`), and transaction keys are named the same way (`[:read :x 1]` reads key `"x"`).
//!
//! When the file does not name a model, the operations choose it: `:txn` means `multi-register`,
//! `:acquire`/`:release` `mutex`, `:enqueue`/`:dequeue` `queue`, `:add` `set`; otherwise it is a
//! `cas-register`.

pub mod syntax;

use std::collections::{HashMap, HashSet};
use std::io::Read;

use serde_json::{json, Value as Json};

pub use syntax::{read, value_to_json, Edn, Form, MAX_DEPTH, MAX_TOKEN};

use super::nemesis::{FaultEvent, Nemesis};
use super::{Format, RawHistory, RawOp};
use crate::error::{FormatError, Location};
use crate::history::{Annotation, ClientId};

/// Who issued an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Process {
    Client(ClientId),
    /// `:nemesis`, or any other process that is not a number.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One map of the file, read: the keys Jepsen gives a meaning; the others are dropped.
struct Event {
    line: usize,
    process: Process,
    kind: Kind,
    f: String,
    value: Edn,
    index: Option<i64>,
}

/// The value under any tags, taken out of its form.
fn untag(form: Form) -> Edn {
    match form.value {
        Edn::Tagged(_, inner) => untag(*inner),
        other => other,
    }
}

fn event(form: Form) -> Result<Event, FormatError> {
    let line = form.line;
    let at = Location::Line(line);
    let entries = match untag(form) {
        Edn::Map(entries) => entries,
        other => {
            return Err(FormatError::invalid(
                at,
                format!(
                    "expected an operation map such as {{:process 0, :type :invoke, :f :read}}, found {}",
                    other.kind()
                ),
            ))
        }
    };
    let (mut process, mut kind, mut f, mut value, mut index) = (None, None, None, None, None);
    for (key, v) in entries {
        let slot = match &key.value {
            Edn::Keyword(name) => match name.as_str() {
                "process" => &mut process,
                "type" => &mut kind,
                "f" => &mut f,
                "value" => &mut value,
                "index" => &mut index,
                _ => continue,
            },
            _ => continue,
        };
        if slot.is_some() {
            return Err(FormatError::invalid(
                at,
                format!("the key {} appears twice in this map", key.value),
            ));
        }
        *slot = Some(untag(v));
    }
    let process = match process {
        Some(Edn::Int(p)) if p >= 0 => Process::Client(p as ClientId),
        Some(Edn::Int(p)) => {
            return Err(FormatError::invalid(
                at,
                format!(":process must not be negative, found {p}"),
            ))
        }
        Some(Edn::Keyword(name) | Edn::Symbol(name) | Edn::Str(name)) => Process::Other(name),
        Some(other) => {
            return Err(FormatError::invalid(
                at,
                format!(":process must be an integer or :nemesis, found {other}"),
            ))
        }
        None => return Err(FormatError::invalid(at, "missing :process")),
    };
    let kind = match kind {
        Some(Edn::Keyword(k)) => match k.as_str() {
            "invoke" => Kind::Invoke,
            "ok" => Kind::Ok,
            "fail" => Kind::Fail,
            "info" => Kind::Info,
            other => {
                return Err(FormatError::invalid(
                    at,
                    format!(":type must be :invoke, :ok, :fail or :info, found :{other}"),
                ))
            }
        },
        Some(other) => {
            return Err(FormatError::invalid(
                at,
                format!(":type must be a keyword such as :ok, found {other}"),
            ))
        }
        None => return Err(FormatError::invalid(at, "missing :type")),
    };
    let f = match f {
        Some(Edn::Keyword(f) | Edn::Symbol(f) | Edn::Str(f)) => f,
        Some(other) => {
            return Err(FormatError::invalid(
                at,
                format!(":f must be a keyword such as :read, found {other}"),
            ))
        }
        None => return Err(FormatError::invalid(at, "missing :f")),
    };
    let index = match index {
        Some(Edn::Int(i)) => Some(i),
        _ => None,
    };
    Ok(Event {
        line,
        process,
        kind,
        f,
        value: value.unwrap_or(Edn::Nil),
        index,
    })
}

/// An operation waiting for its completion.
struct Open {
    op: usize,
    f: String,
    value: Edn,
}

/// Reads an EDN history as a stream, one operation map at a time: bad input fails where it stands,
/// without reading the rest, and only what the history keeps is held.
pub(super) fn read_history(input: impl Read) -> Result<RawHistory, FormatError> {
    let mut elements = syntax::Elements::new(input);
    let mut builder = Builder::default();
    while let Some(form) = elements.next_element()? {
        builder.event(event(form)?)?;
    }
    if builder.indices.is_empty() {
        let why = if elements.saw_nothing() {
            "empty file (no EDN forms, only white space and comments)"
        } else {
            "no operations found: the history holds no operation maps"
        };
        return Err(FormatError::invalid(Location::File, why));
    }
    builder.finish()
}

/// Gives the events Jepsen's meaning (see the module's documentation), as they come. Times are the
/// events' positions until the end, where they become the `:index`es if every event had one and they
/// increase.
#[derive(Default)]
struct Builder {
    ops: Vec<RawOp>,
    nemesis: Nemesis,
    open: HashMap<ClientId, Open>,
    /// Processes whose last operation ended `:info`, with its line: they must not invoke again.
    crashed: HashMap<ClientId, usize>,
    fs: HashSet<String>,
    /// Each event's `:index`, while every event has one and they increase.
    indices: Vec<i64>,
    indexed: Option<bool>,
}

impl Builder {
    fn event(&mut self, event: Event) -> Result<(), FormatError> {
        let time = self.indices.len() as i64;
        let increasing = match (event.index, self.indices.last()) {
            (Some(i), Some(&last)) => i > last,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.indexed = Some(self.indexed.unwrap_or(true) && increasing);
        self.indices.push(event.index.unwrap_or_default());
        let at = Location::Line(event.line);
        let client = match &event.process {
            Process::Client(c) => *c,
            Process::Other(name) => {
                let kind = match event.kind {
                    Kind::Invoke => FaultEvent::Invoke,
                    Kind::Info => FaultEvent::Info,
                    Kind::Ok | Kind::Fail => FaultEvent::Complete,
                };
                let text = describe_event(&event.f, &event.value);
                let has_value = !matches!(event.value, Edn::Nil);
                self.nemesis
                    .event(name, kind, &event.f, text, has_value, time);
                return Ok(());
            }
        };
        match event.kind {
            Kind::Invoke => {
                if let Some(o) = self.open.get(&client) {
                    let since = self.ops[o.op].at.clone();
                    return Err(FormatError::invalid(
                        at,
                        format!("process {client} invokes while its operation from {since} is still pending"),
                    ));
                }
                if let Some(line) = self.crashed.get(&client) {
                    return Err(FormatError::invalid(
                        at,
                        format!(
                            "process {client} invokes again after its operation ended :info at line {line} \
                             (Jepsen gives a crashed process a new number; this history is malformed)"
                        ),
                    ));
                }
                let input = input_json(&event.f, &event.value, &at)?;
                if !self.fs.contains(&event.f) {
                    self.fs.insert(event.f.clone());
                }
                self.open.insert(
                    client,
                    Open {
                        op: self.ops.len(),
                        f: event.f,
                        value: event.value,
                    },
                );
                self.ops.push(RawOp::called(at, client, time, input));
            }
            Kind::Ok | Kind::Fail | Kind::Info => {
                let Some(pending) = self.open.remove(&client) else {
                    if event.kind == Kind::Info {
                        // A client's `:info` about nothing it invoked is a note, not an operation.
                        self.nemesis.note(Annotation {
                            client: Some(client),
                            tag: None,
                            start: time,
                            end: time,
                            text: describe_event(&event.f, &event.value),
                        });
                        return Ok(());
                    }
                    return Err(FormatError::invalid(
                        at,
                        format!(
                            "process {client} completes an operation (:{}) it never invoked",
                            event.f
                        ),
                    ));
                };
                if pending.f != event.f {
                    return Err(FormatError::invalid(
                        at,
                        format!(
                            "process {client} completes :{} but invoked :{} at {}",
                            event.f, pending.f, self.ops[pending.op].at
                        ),
                    ));
                }
                let op = &mut self.ops[pending.op];
                match event.kind {
                    // A nil read's result is unknown: no return, no output (see the module's documentation).
                    Kind::Ok if event.f == "read" && matches!(event.value, Edn::Nil) => {}
                    Kind::Ok => {
                        op.ret = Some(time);
                        op.output = Some(output_json(&event.f, &event.value, &pending.value, &at)?);
                    }
                    Kind::Fail => {
                        op.ret = Some(time);
                        op.failed = true;
                    }
                    _ => {
                        self.crashed.insert(client, event.line);
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<RawHistory, FormatError> {
        let Builder {
            mut ops,
            nemesis,
            fs,
            indices,
            indexed,
            ..
        } = self;
        if ops.is_empty() {
            return Err(FormatError::invalid(
                Location::File,
                "no operations found: only fault-injection (nemesis) events and notes",
            ));
        }
        let mut annotations = nemesis.finish();
        if indexed == Some(true) {
            // Every event had an increasing `:index`: those are the times a Jepsen user knows.
            let time = |position: i64| indices[position as usize];
            for op in &mut ops {
                op.call = time(op.call);
                op.ret = op.ret.map(time);
            }
            for a in &mut annotations {
                a.start = time(a.start);
                a.end = time(a.end);
            }
        }
        let fs: HashSet<&str> = fs.iter().map(String::as_str).collect();
        let model = infer_model(&fs).map(str::to_string);
        let mut raw = RawHistory::loaded(Format::Edn, model, ops);
        raw.annotations = annotations;
        Ok(raw)
    }
}

fn describe_event(f: &str, value: &Edn) -> String {
    match value {
        Edn::Nil => f.to_string(),
        v => format!("{f} {v}"),
    }
}

/// The model a history's operations imply, when they all belong to one.
fn infer_model(fs: &HashSet<&str>) -> Option<&'static str> {
    const MODELS: &[(&str, &[&str])] = &[
        ("multi-register", &["txn"]),
        ("mutex", &["acquire", "release"]),
        ("queue", &["enqueue", "dequeue"]),
        ("set", &["add", "read"]),
    ];
    MODELS
        .iter()
        .find(|(_, words)| {
            fs.iter().any(|f| words.contains(f) && *f != "read")
                && fs.iter().all(|f| words.contains(f))
        })
        .map(|(name, _)| *name)
}

fn input_json(f: &str, value: &Edn, at: &Location) -> Result<Json, FormatError> {
    Ok(match f {
        "read" => json!({"op": "read"}),
        "write" => json!({"op": "write", "value": value.to_json()}),
        "cas" => match value.elements() {
            Some([from, to]) => {
                json!({"op": "cas", "from": from.value.to_json(), "to": to.value.to_json()})
            }
            _ => {
                return Err(FormatError::invalid(
                    at.clone(),
                    format!("a :cas needs [old new], found {value}"),
                ))
            }
        },
        "acquire" | "release" | "dequeue" => json!({"op": f}),
        "txn" => json!({"op": "txn", "ops": micro_ops(value, at)?}),
        "enqueue" | "add" => json!({"op": f, "value": value.to_json()}),
        _ => json!({"op": f, "value": value.to_json()}),
    })
}

/// The output of an `:ok` completion with value `value`, the invocation having had `invoked`.
fn output_json(f: &str, value: &Edn, invoked: &Edn, at: &Location) -> Result<Json, FormatError> {
    Ok(match f {
        "read" | "dequeue" => json!({"value": value.to_json()}),
        "cas" => json!({"ok": true}),
        "write" | "acquire" | "release" | "enqueue" | "add" => json!({}),
        "txn" => {
            let done = if matches!(value, Edn::Nil) {
                invoked
            } else {
                value
            };
            json!({"ops": micro_ops(done, at)?})
        }
        _ => json!({"value": value.to_json()}),
    })
}

/// `[[:read :x 1] [:write :y 2]]` as `[{"f":"read","key":"x","value":1}, ..]`.
fn micro_ops(value: &Edn, at: &Location) -> Result<Json, FormatError> {
    let bad = |what: String| FormatError::invalid(at.clone(), what);
    let Some(items) = value.elements() else {
        return Err(bad(format!(
            "a :txn needs a vector of [f key value] micro-ops, found {value}"
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (f, key, v) = match item.untagged().elements() {
            Some([f, key, v]) => (f, key, v.value.to_json()),
            Some([f, key]) => (f, key, Json::Null),
            _ => {
                return Err(bad(format!(
                    "a micro-op must be [f key value], found {}",
                    item.value
                )))
            }
        };
        let f = match f.untagged().key_name().as_str() {
            "read" | "r" => "read",
            "write" | "w" => "write",
            other => {
                return Err(bad(format!(
                    "a micro-op must be :read or :write, found :{other}"
                )))
            }
        };
        out.push(json!({"f": f, "key": key.untagged().key_name(), "value": v}));
    }
    Ok(Json::Array(out))
}
