//! Reading histories from files: the JSON format of `docs/history-format.md` (whole documents, event
//! documents and JSON Lines) and the formats people already have (Jepsen's etcd log lines, Porcupine's
//! key/value lines).
//!
//! Every reader produces a [`RawHistory`]: operations whose inputs and outputs are still untyped JSON in
//! the shape of the JSON format, each with the [`Location`] it came from. [`crate::dynamic`] then types them
//! for the model named, so an error names the place in the file. JSON Lines are streamed: operations are
//! typed as they are read and the file is never held whole.

pub mod edn;
mod jepsen_log;
mod json;
mod jsonl;
mod lines;
mod nemesis;
mod porcupine_kv;

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

/// Operations as they are read: all at once, or streamed from a file.
pub type RawOps = Box<dyn Iterator<Item = Result<RawOp, FormatError>> + Send>;

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
            operations: Box::new(operations.into_iter().map(Ok)),
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
        // A first line that is a whole object holding an operation (or a bare header) is JSON Lines.
        return match serde_json::from_str::<Json>(first) {
            Ok(Json::Object(map))
                if !map.contains_key("operations") && !map.contains_key("events") =>
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
    let format = match format {
        Some(f) => f,
        None => detect(text).ok_or(FormatError::Undetected)?,
    };
    match format {
        Format::Json => json::parse(text),
        Format::Jsonl => jsonl::read(BufReader::new(std::io::Cursor::new(
            text.as_bytes().to_vec(),
        ))),
        Format::JepsenLog => jepsen_log::parse(text),
        Format::PorcupineKv => porcupine_kv::parse(text),
        Format::Edn => edn::parse(text),
    }
}

/// Reads a history from a file; JSON Lines are streamed, the other formats read whole.
pub fn read_path(path: &Path, format: Option<Format>) -> Result<RawHistory, FormatError> {
    let file = std::fs::File::open(path)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let format = match format {
        Some(f) => f,
        None => {
            let head = String::from_utf8_lossy(reader.fill_buf()?).into_owned();
            detect(&head).ok_or(FormatError::Undetected)?
        }
    };
    if format == Format::Jsonl {
        return jsonl::read(reader);
    }
    // EDN and the log formats stream too: bad input fails where it stands, whatever the file's size.
    match format {
        Format::Edn => return edn::read_history(reader),
        Format::JepsenLog => return jepsen_log::read(reader),
        Format::PorcupineKv => return porcupine_kv::read(reader),
        Format::Json | Format::Jsonl => {}
    }
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .map_err(|e| FormatError::invalid(Location::File, format!("not UTF-8 text: {e}")))?;
    parse(&text, Some(format))
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
