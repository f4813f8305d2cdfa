//! Reading histories from files: the JSON format of `docs/history-format.md` (whole documents, event
//! documents and JSON Lines) and the formats people already have (Jepsen's etcd log lines, Porcupine's
//! key/value lines).
//!
//! Every reader produces a [`RawHistory`]: operations whose inputs and outputs are still untyped JSON in
//! the shape of the JSON format, each with the [`Location`] it came from. [`crate::dynamic`] then types them
//! for the model named, so an error names the place in the file. JSON documents and JSON Lines are
//! streamed: a document is parsed as it is read, and JSON Lines are typed a block at a time, in parallel,
//! so the file is never held whole and bad input fails at its first bad byte.
//!
//! Whatever the format, reading never passes silently over what it did not understand: an empty file is
//! an error ("empty file"), and so is a file that yields no operation at all ("no operations found"),
//! unless it says so explicitly (a JSON document with `"operations": []`).

pub mod edn;
mod jepsen_log;
mod json;
mod jsonl;
pub(crate) mod keys;
mod lines;
mod nemesis;
mod porcupine_kv;
mod stream;

pub(crate) use jsonl::{fast_operation, Reported};

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value as Json;

use crate::error::{FormatError, Location};
use crate::history::{Annotation, ClientId, History, Operation};

/// One operation as read, before typing.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOp {
    /// Where the operation is in the file (its call's line, or its index).
    pub at: Location,
    pub client: ClientId,
    pub call: i64,
    pub ret: Option<i64>,
    pub input: Json,
    /// `None` when there was no response.
    pub output: Option<Json>,
    pub failed: bool,
}

impl RawOp {
    /// An operation just called: no return (yet), no output, not failed.
    pub(crate) fn called(at: Location, client: ClientId, call: i64, input: Json) -> Self {
        RawOp {
            at,
            client,
            call,
            ret: None,
            input,
            output: None,
            failed: false,
        }
    }
}

/// Operations as they are read: all at once, or streamed from a file. As an iterator it gives the
/// untyped operations one at a time; [`RawOps::typed`] types them all, in parallel where the format
/// allows. Either way, no operation at all is an error ([`FormatError::NoOperations`]) unless the file
/// said so explicitly.
pub struct RawOps {
    source: Source,
    /// Whether the file says explicitly that it has no operation.
    empty_ok: bool,
    /// Whether an operation (or an error) was given out.
    any: bool,
}

enum Source {
    Stream(Box<dyn Iterator<Item = Result<RawOp, FormatError>> + Send>),
    Lines(Box<jsonl::Lines>),
}

impl RawOps {
    /// Operations read already.
    pub fn loaded(operations: Vec<RawOp>) -> Self {
        RawOps::stream(Box::new(operations.into_iter().map(Ok)))
    }

    /// Operations read as they are asked for.
    pub fn stream(operations: Box<dyn Iterator<Item = Result<RawOp, FormatError>> + Send>) -> Self {
        RawOps {
            source: Source::Stream(operations),
            empty_ok: false,
            any: false,
        }
    }

    fn lines(lines: jsonl::Lines) -> Self {
        RawOps {
            source: Source::Lines(Box::new(lines)),
            empty_ok: false,
            any: false,
        }
    }

    /// The file says explicitly that it may have no operation (`"operations": []`).
    pub(crate) fn allow_empty(&mut self) {
        self.empty_ok = true;
    }

    /// Types every operation with `slow`, or, for JSON Lines, with `fast` where it can (see
    /// `fast_operation`) and in parallel; the first error in file order is the one returned. `share`
    /// is given the typed operations a block at a time, as they are typed (see `Model::share`).
    pub fn typed<T: Send>(
        self,
        fast: &(dyn Fn(&[u8]) -> Option<T> + Sync),
        slow: &(dyn Fn(RawOp) -> Result<T, FormatError> + Sync),
        share: &mut dyn FnMut(&mut [T]),
    ) -> Result<Vec<T>, FormatError> {
        let typed = match self.source {
            Source::Lines(lines) => lines.typed(fast, slow, share)?,
            Source::Stream(ops) => {
                let mut typed = ops
                    .map(|op| op.and_then(slow))
                    .collect::<Result<Vec<_>, _>>()?;
                share(&mut typed);
                typed
            }
        };
        if typed.is_empty() && !self.empty_ok {
            return Err(FormatError::NoOperations);
        }
        Ok(typed)
    }
}

impl Iterator for RawOps {
    type Item = Result<RawOp, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = match &mut self.source {
            Source::Stream(ops) => ops.next(),
            Source::Lines(lines) => lines.next(),
        };
        match next {
            None if !self.any && !self.empty_ok => {
                self.any = true;
                Some(Err(FormatError::NoOperations))
            }
            None => None,
            Some(op) => {
                self.any = true;
                Some(op)
            }
        }
    }
}

/// A history as read, before typing.
pub struct RawHistory {
    /// The format it was read as.
    pub format: Format,
    /// The model the file names, if any.
    pub model: Option<String>,
    /// The initial value the file gives, if any.
    pub init: Option<Json>,
    pub annotations: Vec<Annotation>,
    pub operations: RawOps,
}

impl RawHistory {
    fn loaded(format: Format, model: Option<String>, operations: Vec<RawOp>) -> Self {
        RawHistory {
            format,
            model,
            init: None,
            annotations: Vec::new(),
            operations: RawOps::loaded(operations),
        }
    }

    /// Reads every operation into an untyped history (for tools that rewrite histories).
    pub fn into_history(self) -> Result<History<Json, Json>, FormatError> {
        let operations = self
            .operations
            .map(|op| {
                op.map(|op| Operation {
                    client: op.client,
                    call: op.call,
                    ret: op.ret,
                    input: op.input,
                    output: op.output,
                    failed: op.failed,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(History {
            operations,
            annotations: self.annotations,
        })
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"model":..,"operations":[..]}` or `{"events":[..]}`.
    Json,
    /// One JSON operation per line, optionally after a header line `{"model":..}`.
    Jsonl,
    /// Jepsen's etcd test log lines (`INFO  jepsen.util - 3 :invoke :cas [1 4]`); a cas-register.
    JepsenLog,
    /// Porcupine's key/value lines (`{:process 3, :type :ok, :f :get, :key "1", :value "x"}`); a kv store.
    PorcupineKv,
    /// Jepsen/Knossos EDN histories (`[{:process 0, :type :invoke, :f :read, :value nil} ...]`).
    Edn,
}

impl Format {
    pub const NAMES: &'static [&'static str] =
        &["json", "jsonl", "jepsen-log", "porcupine-kv", "edn"];

    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::JepsenLog => "jepsen-log",
            Format::PorcupineKv => "porcupine-kv",
            Format::Edn => "edn",
        }
    }

    /// The model a format implies when the file does not name one.
    pub fn default_model(self) -> Option<&'static str> {
        match self {
            Format::JepsenLog | Format::Edn => Some("cas-register"),
            Format::PorcupineKv => Some("kv"),
            Format::Json | Format::Jsonl => None,
        }
    }
}

impl std::str::FromStr for Format {
    type Err = FormatError;
    fn from_str(name: &str) -> Result<Self, FormatError> {
        match name {
            "json" => Ok(Format::Json),
            "jsonl" | "json-lines" => Ok(Format::Jsonl),
            "jepsen-log" => Ok(Format::JepsenLog),
            "porcupine-kv" => Ok(Format::PorcupineKv),
            "edn" => Ok(Format::Edn),
            _ => Err(FormatError::UnknownFormat {
                name: name.to_string(),
                known: Format::NAMES.join(", "),
            }),
        }
    }
}

/// Tells the format from the first lines of a file.
pub fn detect(head: &str) -> Option<Format> {
    let first = head.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.contains("jepsen.util -") || jepsen_log::looks_like(first) {
        return Some(Format::JepsenLog);
    }
    if first.starts_with("{:") && first.contains(":process") && first.contains(":key") {
        return Some(Format::PorcupineKv);
    }
    if first.starts_with(['[', '(', ';']) || first.starts_with("{:") || first.starts_with("#jepsen")
    {
        // EDN. Comments may come first, so look at the first form for Porcupine's key/value lines, which
        // are EDN maps too but have a reader of their own.
        let form = head
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(';'));
        if form.is_some_and(|l| l.starts_with("{:") && l.contains(":process") && l.contains(":key"))
        {
            return Some(Format::PorcupineKv);
        }
        return Some(Format::Edn);
    }
    if first.starts_with('{') {
        // A first line that is a whole object holding an operation (or a bare header) is JSON Lines;
        // any other object is a document (whose unknown keys its reading will name).
        let mut lines = head.lines().map(str::trim).filter(|l| !l.is_empty());
        let another_object = lines.nth(1).is_some_and(|l| l.starts_with('{'));
        return match serde_json::from_str::<Json>(first) {
            // A whole object on the first line and another after it: lines, not one document.
            Ok(Json::Object(_)) if another_object => Some(Format::Jsonl),
            Ok(Json::Object(map))
                if json::OPERATION_KEYS.iter().any(|k| map.contains_key(*k))
                    || map.keys().all(|k| jsonl::HEADER_KEYS.contains(&k.as_str())) =>
            {
                Some(Format::Jsonl)
            }
            _ => Some(Format::Json),
        };
    }
    None
}

/// Reads a history from text that is already in memory.
pub fn parse(text: &str, format: Option<Format>) -> Result<RawHistory, FormatError> {
    read_reader(std::io::Cursor::new(text.as_bytes().to_vec()), format)
}

/// Reads a history from a file; see [`read_reader`].
pub fn read_path(path: &Path, format: Option<Format>) -> Result<RawHistory, FormatError> {
    read_reader(std::fs::File::open(path)?, format)
}

/// Reads a history from a stream (a file, standard input). Every format is parsed as it is read, so bad
/// input fails at its first bad byte (or line, or form), whatever the file's size.
pub fn read_reader<R: Read + Send + 'static>(
    reader: R,
    format: Option<Format>,
) -> Result<RawHistory, FormatError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let head = reader.fill_buf()?;
    // An empty file is each reader's to report (as "empty file", with what the format found missing).
    let format = match format {
        Some(f) => f,
        None => {
            let text = String::from_utf8_lossy(head);
            match detect(&text) {
                Some(f) => f,
                None => return Err(undetected(head)),
            }
        }
    };
    match format {
        Format::Jsonl => jsonl::read(reader),
        Format::Json => json::read(reader),
        Format::Edn => edn::read_history(reader),
        Format::JepsenLog => jepsen_log::read(reader),
        Format::PorcupineKv => porcupine_kv::read(reader),
    }
}

/// Why a file's format could not be told: it is blank, or it is not text (a control byte, or bytes that
/// are not UTF-8), or it is text in no format known.
fn undetected(head: &[u8]) -> FormatError {
    if stream::first_non_blank(head).is_none() {
        return FormatError::Empty;
    }
    // A character cut by the end of the head (`error_len` none) is not an error.
    let not_utf8 = match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_some() => Some(e.valid_up_to()),
        _ => None,
    };
    let control = head
        .iter()
        .position(|&b| b.is_ascii_control() && !b.is_ascii_whitespace());
    let Some(i) = [not_utf8, control].into_iter().flatten().min() else {
        return FormatError::Undetected;
    };
    let line = 1 + head[..i].iter().filter(|&&b| b == b'\n').count();
    let column = i - head[..i]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1)
        + 1;
    FormatError::syntax(
        Location::Position {
            line,
            column,
            offset: i as u64,
        },
        format!(
            "not a text file (byte 0x{:02x}); give --format if it is one",
            head[i]
        ),
    )
}

/// Pairs call and completion events of a line-oriented log into operations. A client has at most one
/// operation outstanding; one whose outcome is unknown (`Complete::Unknown`) is left without a return and
/// frees its client.
pub(crate) struct Pairing {
    open: std::collections::HashMap<ClientId, usize>,
    ops: Vec<RawOp>,
}

pub(crate) enum Complete {
    /// Returned with this output.
    Ok(Json),
    /// Known to have had no effect.
    Failed,
    /// No usable response: the operation may or may not have taken effect.
    Unknown,
}

impl Pairing {
    pub(crate) fn new() -> Self {
        Pairing {
            open: Default::default(),
            ops: Vec::new(),
        }
    }

    pub(crate) fn call(
        &mut self,
        line: usize,
        client: ClientId,
        input: Json,
    ) -> Result<(), FormatError> {
        if let Some(&other) = self.open.get(&client) {
            let since = match self.ops[other].at {
                Location::Line(l) => format!("line {l}"),
                ref at => at.to_string(),
            };
            return Err(FormatError::invalid(
                Location::Line(line),
                format!("process {client} invokes while its operation from {since} is still outstanding"),
            ));
        }
        self.open.insert(client, self.ops.len());
        self.ops.push(RawOp::called(
            Location::Line(line),
            client,
            line as i64,
            input,
        ));
        Ok(())
    }

    /// The input of the client's outstanding operation.
    pub(crate) fn outstanding(&self, client: ClientId) -> Option<&Json> {
        self.open.get(&client).map(|&i| &self.ops[i].input)
    }

    pub(crate) fn complete(
        &mut self,
        line: usize,
        client: ClientId,
        how: Complete,
    ) -> Result<(), FormatError> {
        let Some(index) = self.open.remove(&client) else {
            return Err(FormatError::invalid(
                Location::Line(line),
                format!("process {client} completes an operation it never invoked"),
            ));
        };
        let op = &mut self.ops[index];
        match how {
            Complete::Ok(output) => {
                op.ret = Some(line as i64);
                op.output = Some(output);
            }
            Complete::Failed => {
                op.ret = Some(line as i64);
                op.failed = true;
            }
            Complete::Unknown => {}
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<RawOp> {
        self.ops
    }
}
