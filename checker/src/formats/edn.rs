//! Jepsen and Knossos histories in EDN: `[{:process 0, :type :invoke, :f :read, :value nil} ...]`.
//!
//! Two layers. [`read`] is a small, complete reader for the EDN data a history can hold (vectors, lists,
//! maps, sets, keywords, symbols, strings with escapes, characters, integers, floats, `nil`/`true`/`false`,
//! `;` comments, `#_` discards, commas as white space, and tagged literals such as `#inst "..."` or Jepsen's
//! `#jepsen.history.Op{...}` records, whose tag is dropped), with the line and column of every form so that
//! errors name a place. `parse` then gives the forms Jepsen's meaning (Knossos semantics):
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
//! register was empty. Its process goes on invoking, as it does in the file. This differs from the etcd log format ([`super::Format::JepsenLog`]), where `:ok :read nil` means the
//! key is absent; the two formats keep their own meaning. EDN values become JSON: keywords keep their colon
//! (`":x"`), sets and lists become arrays, map keys become strings (a keyword key loses its colon, so
//! `{:x 0}` is `{"x":0}`), and transaction keys are named the same way (`[:read :x 1]` reads key `"x"`).
//!
//! When the file does not name a model, the operations choose it: `:txn` means `multi-register`,
//! `:acquire`/`:release` `mutex`, `:enqueue`/`:dequeue` `queue`, `:add` `set`; otherwise it is a
//! `cas-register`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::{json, Map, Value as Json};

use super::{Format, RawHistory, RawOp};
use crate::error::{FormatError, Location};
use crate::history::{Annotation, ClientId};

/// An EDN value.
#[derive(Debug, Clone, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Char(char),
    /// A keyword, without its colon: `:f` is `Keyword("f")`.
    Keyword(String),
    Symbol(String),
    List(Vec<Form>),
    Vector(Vec<Form>),
    Map(Vec<(Form, Form)>),
    Set(Vec<Form>),
    /// A tagged literal: `#inst "2024-01-01"` is `Tagged("inst", ..)`.
    Tagged(String, Box<Form>),
}

/// An EDN value with the place where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub value: Edn,
    pub line: usize,
    pub column: usize,
}

impl Form {
    /// The value under any tags: `#jepsen.history.Op{..}` reads as its map.
    pub fn untagged(&self) -> &Edn {
        match &self.value {
            Edn::Tagged(_, inner) => inner.untagged(),
            other => other,
        }
    }
}

impl Edn {
    /// The entry of a map under the keyword `:key`.
    pub fn get(&self, key: &str) -> Option<&Form> {
        match self {
            Edn::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Edn::Keyword(name) if name == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The elements of a vector, list or set.
    pub fn elements(&self) -> Option<&[Form]> {
        match self {
            Edn::Vector(items) | Edn::List(items) | Edn::Set(items) => Some(items),
            _ => None,
        }
    }

    /// A short name of the kind of value, for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) => "an integer",
            Edn::Float(_) => "a float",
            Edn::Str(_) => "a string",
            Edn::Char(_) => "a character",
            Edn::Keyword(_) => "a keyword",
            Edn::Symbol(_) => "a symbol",
            Edn::List(_) => "a list",
            Edn::Vector(_) => "a vector",
            Edn::Map(_) => "a map",
            Edn::Set(_) => "a set",
            Edn::Tagged(..) => "a tagged literal",
        }
    }

    /// The value as JSON (see the module documentation for the mapping).
    pub fn to_json(&self) -> Json {
        match self {
            Edn::Nil => Json::Null,
            Edn::Bool(b) => Json::Bool(*b),
            Edn::Int(i) => Json::from(*i),
            Edn::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Json::String(f.to_string()), Json::Number),
            Edn::Str(s) => Json::String(s.clone()),
            Edn::Char(c) => Json::String(c.to_string()),
            Edn::Keyword(k) => Json::String(format!(":{k}")),
            Edn::Symbol(s) => Json::String(s.clone()),
            Edn::List(items) | Edn::Vector(items) | Edn::Set(items) => {
                Json::Array(items.iter().map(|f| f.value.to_json()).collect())
            }
            Edn::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.key_name(), v.value.to_json()))
                    .collect::<Map<_, _>>(),
            ),
            Edn::Tagged(_, inner) => inner.value.to_json(),
        }
    }

    /// The value as a name for a map key or a register key: a keyword without its colon, a string as
    /// itself, anything else as its EDN text.
    pub fn key_name(&self) -> String {
        match self {
            Edn::Keyword(k) | Edn::Str(k) | Edn::Symbol(k) => k.clone(),
            Edn::Tagged(_, inner) => inner.value.key_name(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Edn {
    /// EDN text (tags dropped), for annotations and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Form], close: &str) -> fmt::Result {
            f.write_str(open)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{}", item.value)?;
            }
            f.write_str(close)
        }
        match self {
            Edn::Nil => f.write_str("nil"),
            Edn::Bool(b) => write!(f, "{b}"),
            Edn::Int(i) => write!(f, "{i}"),
            Edn::Float(x) => write!(f, "{x}"),
            Edn::Str(s) => write!(f, "{s:?}"),
            Edn::Char(c) => write!(f, "\\{c}"),
            Edn::Keyword(k) => write!(f, ":{k}"),
            Edn::Symbol(s) => f.write_str(s),
            Edn::List(items) => seq(f, "(", items, ")"),
            Edn::Vector(items) => seq(f, "[", items, "]"),
            Edn::Set(items) => seq(f, "#{", items, "}"),
            Edn::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", k.value, v.value)?;
                }
                f.write_str("}")
            }
            Edn::Tagged(_, inner) => write!(f, "{}", inner.value),
        }
    }
}

/// Reads every top-level form of `text`.
pub fn read(text: &str) -> Result<Vec<Form>, FormatError> {
    let mut reader = Reader {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
        column: 1,
    };
    let mut forms = Vec::new();
    while let Some(form) = reader.next_form()? {
        forms.push(form);
    }
    Ok(forms)
}

/// Reads one EDN value (for a value given on the command line, such as `--init {:x 0}`) as JSON.
pub fn value_to_json(text: &str) -> Result<Json, FormatError> {
    match read(text)?.as_slice() {
        [one] => Ok(one.value.to_json()),
        [] => Err(FormatError::syntax(
            Location::LineColumn(1, 1),
            "expected a value, found nothing",
        )),
        [_, second, ..] => Err(FormatError::syntax(
            Location::LineColumn(second.line, second.column),
            "expected one value, found more",
        )),
    }
}

struct Reader<'t> {
    text: &'t [u8],
    pos: usize,
    line: usize,
    column: usize,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';'
        )
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if b & 0xC0 != 0x80 {
            // Count characters, not the continuation bytes of UTF-8 sequences.
            self.column += 1;
        }
        Some(b)
    }

    fn error(&self, line: usize, column: usize, message: impl Into<String>) -> FormatError {
        FormatError::syntax(Location::LineColumn(line, column), message)
    }

    /// Skips white space, commas and comments.
    fn skip_blank(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() || b == b',' {
                self.bump();
            } else if b == b';' {
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    /// The next form at top level, or `None` at the end of the text.
    fn next_form(&mut self) -> Result<Option<Form>, FormatError> {
        self.skip_blank();
        while self.peek() == Some(b'#') && self.text.get(self.pos + 1) == Some(&b'_') {
            self.discard()?;
            self.skip_blank();
        }
        match self.peek() {
            None => Ok(None),
            Some(b @ (b')' | b']' | b'}')) => Err(self.error(
                self.line,
                self.column,
                format!("unexpected `{}` with nothing open", b as char),
            )),
            Some(_) => self.form().map(Some),
        }
    }

    /// One form; white space before it is already skipped.
    fn form(&mut self) -> Result<Form, FormatError> {
        let (line, column) = (self.line, self.column);
        let Some(b) = self.peek() else {
            return Err(self.error(line, column, "expected a value, found the end of the file"));
        };
        let value = match b {
            b'(' => {
                self.bump();
                Edn::List(self.sequence(b')', line, column)?)
            }
            b'[' => {
                self.bump();
                Edn::Vector(self.sequence(b']', line, column)?)
            }
            b'{' => {
                self.bump();
                self.map(line, column)?
            }
            b'"' => {
                self.bump();
                Edn::Str(self.string(line, column)?)
            }
            b'#' => {
                self.bump();
                self.dispatch(line, column)?
            }
            b'\\' => {
                self.bump();
                self.character(line, column)?
            }
            b')' | b']' | b'}' => {
                return Err(self.error(line, column, format!("unexpected `{}`", b as char)));
            }
            _ => self.atom(line, column)?,
        };
        Ok(Form {
            value,
            line,
            column,
        })
    }

    /// Forms up to `close`, which was opened at (`line`, `column`).
    fn sequence(
        &mut self,
        close: u8,
        line: usize,
        column: usize,
    ) -> Result<Vec<Form>, FormatError> {
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.peek() {
                None => {
                    return Err(self.error(
                        line,
                        column,
                        format!(
                            "`{}` is never closed (expected `{}`)",
                            opener(close),
                            close as char
                        ),
                    ))
                }
                Some(b) if b == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(b @ (b')' | b']' | b'}')) => {
                    return Err(self.error(
                        self.line,
                        self.column,
                        format!(
                            "`{}` does not close the `{}` opened at line {line}, column {column}",
                            b as char,
                            opener(close)
                        ),
                    ))
                }
                Some(b'#') if self.text.get(self.pos + 1) == Some(&b'_') => {
                    self.discard()?;
                }
                Some(_) => items.push(self.form()?),
            }
        }
    }

    fn map(&mut self, line: usize, column: usize) -> Result<Edn, FormatError> {
        let items = self.sequence(b'}', line, column)?;
        if items.len() % 2 == 1 {
            let last = &items[items.len() - 1];
            return Err(self.error(
                last.line,
                last.column,
                format!(
                    "the map opened at line {line}, column {column} has a key ({}) with no value",
                    last.value
                ),
            ));
        }
        let mut entries = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(k), Some(v)) = (items.next(), items.next()) {
            entries.push((k, v));
        }
        Ok(Edn::Map(entries))
    }

    /// `#_ form`: reads a form and drops it.
    fn discard(&mut self) -> Result<(), FormatError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        self.bump();
        self.skip_blank();
        if self.peek().is_none() {
            return Err(self.error(line, column, "`#_` discards nothing: the file ends"));
        }
        self.form().map(drop)
    }

    /// After `#`: a set, a discard, a symbolic float, a regex (read as its string) or a tagged literal.
    fn dispatch(&mut self, line: usize, column: usize) -> Result<Edn, FormatError> {
        match self.peek() {
            Some(b'{') => {
                self.bump();
                Ok(Edn::Set(self.sequence(b'}', line, column)?))
            }
            Some(b'_') => {
                self.bump();
                self.skip_blank();
                self.form()?;
                self.skip_blank();
                // A discard inside a collection is handled there; at top level the next form stands in.
                self.form().map(|f| f.value)
            }
            Some(b'#') => {
                self.bump();
                let word = self.word();
                match word.as_str() {
                    "Inf" => Ok(Edn::Float(f64::INFINITY)),
                    "-Inf" => Ok(Edn::Float(f64::NEG_INFINITY)),
                    "NaN" => Ok(Edn::Float(f64::NAN)),
                    _ => {
                        Err(self.error(line, column, format!("unknown symbolic value `##{word}`")))
                    }
                }
            }
            Some(b'"') => {
                self.bump();
                Ok(Edn::Str(self.string(line, column)?))
            }
            Some(b) if !is_delimiter(b) => {
                let tag = self.word();
                // A record (`#jepsen.history.Op{...}`) follows its tag directly; other tags take a space.
                self.skip_blank();
                if self.peek().is_none() {
                    return Err(self.error(line, column, format!("the tag `#{tag}` has no value")));
                }
                let inner = self.form()?;
                Ok(Edn::Tagged(tag, Box::new(inner)))
            }
            _ => Err(self.error(
                line,
                column,
                "`#` must start a set `#{`, a tag `#inst`, or a discard `#_`",
            )),
        }
    }

    /// The bytes up to the next delimiter.
    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delimiter(b)) {
            self.bump();
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn string(&mut self, line: usize, column: usize) -> Result<String, FormatError> {
        let mut bytes = Vec::new();
        loop {
            let (esc_line, esc_column) = (self.line, self.column);
            match self.bump() {
                None => return Err(self.error(line, column, "this string is never closed")),
                Some(b'"') => break,
                Some(b'\\') => match self.bump() {
                    Some(b'n') => bytes.push(b'\n'),
                    Some(b't') => bytes.push(b'\t'),
                    Some(b'r') => bytes.push(b'\r'),
                    Some(b'b') => bytes.push(8),
                    Some(b'f') => bytes.push(12),
                    Some(b'0') => bytes.push(0),
                    Some(b @ (b'"' | b'\\' | b'\'')) => bytes.push(b),
                    Some(b'u') => {
                        let hex: String =
                            (0..4).filter_map(|_| self.bump().map(char::from)).collect();
                        let c = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                self.error(
                                    esc_line,
                                    esc_column,
                                    format!("bad escape `\\u{hex}`: expected four hex digits"),
                                )
                            })?;
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    Some(other) => {
                        return Err(self.error(
                            esc_line,
                            esc_column,
                            format!("unknown escape `\\{}`", other as char),
                        ))
                    }
                    None => return Err(self.error(line, column, "this string is never closed")),
                },
                Some(b) => bytes.push(b),
            }
        }
        String::from_utf8(bytes)
            .map_err(|_| self.error(line, column, "this string is not valid UTF-8"))
    }

    fn character(&mut self, line: usize, column: usize) -> Result<Edn, FormatError> {
        // The first character is taken even when it is a delimiter (`\(`, `\ `).
        let first = self.bump().ok_or_else(|| {
            self.error(
                line,
                column,
                "a `\\` character literal with nothing after it",
            )
        })?;
        let mut word = vec![first];
        while self.peek().is_some_and(|b| !is_delimiter(b)) {
            word.push(self.bump().unwrap_or_default());
        }
        let word = String::from_utf8_lossy(&word).into_owned();
        let c = match word.as_str() {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            w if w.starts_with('u') && w.len() == 5 => u32::from_str_radix(&w[1..], 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| self.error(line, column, format!("unknown character `\\{w}`")))?,
            w if w.chars().count() == 1 => w.chars().next().unwrap_or_default(),
            w => return Err(self.error(line, column, format!("unknown character `\\{w}`"))),
        };
        Ok(Edn::Char(c))
    }

    /// A number, keyword, symbol, `nil`, `true` or `false`.
    fn atom(&mut self, line: usize, column: usize) -> Result<Edn, FormatError> {
        let word = self.word();
        if word.is_empty() {
            let b = self.peek().unwrap_or(b' ');
            return Err(self.error(line, column, format!("unexpected `{}`", b as char)));
        }
        let bytes = word.as_bytes();
        let numeric = bytes[0].is_ascii_digit()
            || (matches!(bytes[0], b'+' | b'-') && bytes.get(1).is_some_and(u8::is_ascii_digit));
        if numeric {
            return number(&word)
                .ok_or_else(|| self.error(line, column, format!("`{word}` is not a number")));
        }
        Ok(match word.as_str() {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            _ if word.starts_with(':') => {
                let name = word.trim_start_matches(':');
                if name.is_empty() {
                    return Err(self.error(line, column, "a keyword needs a name after `:`"));
                }
                Edn::Keyword(name.to_string())
            }
            _ => Edn::Symbol(word),
        })
    }
}

fn opener(close: u8) -> char {
    match close {
        b')' => '(',
        b']' => '[',
        _ => '{',
    }
}

/// An integer (`42`, `-7`, `42N`), a float (`1.5`, `1e3`, `2.5M`) or a ratio (`1/2`, read as a float).
fn number(word: &str) -> Option<Edn> {
    if let Some(int) = word.strip_suffix('N') {
        return Some(
            int.parse::<i64>()
                .map(Edn::Int)
                .unwrap_or_else(|_| Edn::Float(int.parse().unwrap_or(f64::NAN))),
        );
    }
    if let Some(dec) = word.strip_suffix('M') {
        return dec.parse::<f64>().ok().map(Edn::Float);
    }
    if let Some((n, d)) = word.split_once('/') {
        let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
        return Some(Edn::Float(n / d));
    }
    if let Ok(i) = word.parse::<i64>() {
        return Some(Edn::Int(i));
    }
    word.parse::<f64>().ok().map(Edn::Float)
}

/// The operations of a history file: the elements of its one vector or list, or its top-level maps.
fn operation_forms(forms: Vec<Form>) -> Vec<Form> {
    match forms.as_slice() {
        [one] if matches!(one.value, Edn::Vector(_) | Edn::List(_)) => {
            match forms.into_iter().next() {
                Some(Form {
                    value: Edn::Vector(items) | Edn::List(items),
                    ..
                }) => items,
                _ => Vec::new(),
            }
        }
        _ => forms,
    }
}

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

/// One map of the file, read.
struct Event<'f> {
    line: usize,
    process: Process,
    kind: Kind,
    f: String,
    value: &'f Edn,
    index: Option<i64>,
}

const NIL: Edn = Edn::Nil;

fn event(form: &Form) -> Result<Event<'_>, FormatError> {
    let at = Location::Line(form.line);
    let map = form.untagged();
    if !matches!(map, Edn::Map(_)) {
        return Err(FormatError::invalid(
            at,
            format!("expected an operation map such as {{:process 0, :type :invoke, :f :read}}, found {}", map.kind()),
        ));
    }
    let field = |name: &str| map.get(name).map(Form::untagged);
    let process = match field("process") {
        Some(Edn::Int(p)) if *p >= 0 => Process::Client(*p as ClientId),
        Some(Edn::Int(p)) => {
            return Err(FormatError::invalid(
                at,
                format!(":process must not be negative, found {p}"),
            ))
        }
        Some(Edn::Keyword(name) | Edn::Symbol(name) | Edn::Str(name)) => {
            Process::Other(name.clone())
        }
        Some(other) => {
            return Err(FormatError::invalid(
                at,
                format!(":process must be an integer or :nemesis, found {other}"),
            ))
        }
        None => return Err(FormatError::invalid(at, "missing :process")),
    };
    let kind = match field("type") {
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
    let f = match field("f") {
        Some(Edn::Keyword(f) | Edn::Symbol(f) | Edn::Str(f)) => f.clone(),
        Some(other) => {
            return Err(FormatError::invalid(
                at,
                format!(":f must be a keyword such as :read, found {other}"),
            ))
        }
        None => return Err(FormatError::invalid(at, "missing :f")),
    };
    let index = match field("index") {
        Some(Edn::Int(i)) => Some(*i),
        _ => None,
    };
    Ok(Event {
        line: form.line,
        process,
        kind,
        f,
        value: field("value").unwrap_or(&NIL),
        index,
    })
}

/// An operation waiting for its completion.
struct Open<'f> {
    op: usize,
    f: String,
    value: &'f Edn,
}

/// A nemesis operation waiting for its completion.
struct OpenFault {
    time: i64,
    f: String,
    text: String,
}

pub(super) fn parse(text: &str) -> Result<RawHistory, FormatError> {
    let forms = operation_forms(read(text)?);
    let events = forms.iter().map(event).collect::<Result<Vec<_>, _>>()?;
    // Times: the positions, or the `:index`es when every event has one and they increase.
    let indices: Option<Vec<i64>> = events.iter().map(|e| e.index).collect();
    let times: Vec<i64> = match indices {
        Some(ix) if ix.windows(2).all(|w| w[0] < w[1]) => ix,
        _ => (0..events.len() as i64).collect(),
    };

    let mut ops: Vec<RawOp> = Vec::new();
    let mut annotations: Vec<Annotation> = Vec::new();
    let mut open: HashMap<ClientId, Open<'_>> = HashMap::new();
    // Processes whose last operation ended `:info`, with its line: they must not invoke again.
    let mut crashed: HashMap<ClientId, usize> = HashMap::new();
    let mut faults: HashMap<String, OpenFault> = HashMap::new();
    let mut fs: HashSet<String> = HashSet::new();

    for (event, &time) in events.iter().zip(&times) {
        let at = Location::Line(event.line);
        let client = match &event.process {
            Process::Client(c) => *c,
            Process::Other(name) => {
                let text = describe_event(&event.f, event.value);
                match faults.remove(name) {
                    Some(started) if started.f == event.f && event.kind != Kind::Invoke => {
                        // The completion usually says what was done; the invocation, what was asked.
                        let text = if matches!(event.value, Edn::Nil) {
                            started.text
                        } else {
                            text
                        };
                        annotations.push(fault(name, started.time, time, text));
                        continue;
                    }
                    Some(unfinished) => annotations.push(fault(
                        name,
                        unfinished.time,
                        unfinished.time,
                        unfinished.text,
                    )),
                    None => {}
                }
                // Older Jepsen logs a nemesis's invocation as `:info` too, so an `:info` with nothing open
                // starts an interval that the next event with the same `:f` ends.
                if matches!(event.kind, Kind::Invoke | Kind::Info) {
                    faults.insert(
                        name.clone(),
                        OpenFault {
                            time,
                            f: event.f.clone(),
                            text,
                        },
                    );
                } else {
                    annotations.push(fault(name, time, time, text));
                }
                continue;
            }
        };
        match event.kind {
            Kind::Invoke => {
                if let Some(o) = open.get(&client) {
                    let since = ops[o.op].at.clone();
                    return Err(FormatError::invalid(
                        at,
                        format!("process {client} invokes while its operation from {since} is still pending"),
                    ));
                }
                if let Some(line) = crashed.get(&client) {
                    return Err(FormatError::invalid(
                        at,
                        format!(
                            "process {client} invokes again after its operation ended :info at line {line} \
                             (Jepsen gives a crashed process a new number; this history is malformed)"
                        ),
                    ));
                }
                let input = input_json(&event.f, event.value, &at)?;
                fs.insert(event.f.clone());
                open.insert(
                    client,
                    Open {
                        op: ops.len(),
                        f: event.f.clone(),
                        value: event.value,
                    },
                );
                ops.push(RawOp::called(at, client, time, input));
            }
            Kind::Ok | Kind::Fail | Kind::Info => {
                let Some(pending) = open.remove(&client) else {
                    if event.kind == Kind::Info {
                        // A client's `:info` about nothing it invoked is a note, not an operation.
                        annotations.push(Annotation {
                            client: Some(client),
                            tag: None,
                            start: time,
                            end: time,
                            text: describe_event(&event.f, event.value),
                        });
                        continue;
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
                            event.f, pending.f, ops[pending.op].at
                        ),
                    ));
                }
                let op = &mut ops[pending.op];
                match event.kind {
                    // A nil read's result is unknown: no return, no output (see the module's documentation).
                    Kind::Ok if event.f == "read" && matches!(event.value, Edn::Nil) => {}
                    Kind::Ok => {
                        op.ret = Some(time);
                        op.output = Some(output_json(&event.f, event.value, pending.value, &at)?);
                    }
                    Kind::Fail => {
                        op.ret = Some(time);
                        op.failed = true;
                    }
                    _ => {
                        crashed.insert(client, event.line);
                    }
                }
            }
        }
    }
    for (name, started) in faults {
        annotations.push(fault(&name, started.time, started.time, started.text));
    }
    annotations.sort_by_key(|a| (a.start, a.end));
    let model = infer_model(&fs).map(str::to_string);
    let mut raw = RawHistory::loaded(Format::Edn, model, ops);
    raw.annotations = annotations;
    Ok(raw)
}

fn fault(process: &str, start: i64, end: i64, text: String) -> Annotation {
    Annotation {
        client: None,
        tag: Some(process.to_string()),
        start,
        end,
        text,
    }
}

fn describe_event(f: &str, value: &Edn) -> String {
    match value {
        Edn::Nil => f.to_string(),
        v => format!("{f} {v}"),
    }
}

/// The model a history's operations imply, when they all belong to one.
fn infer_model(fs: &HashSet<String>) -> Option<&'static str> {
    const MODELS: &[(&str, &[&str])] = &[
        ("multi-register", &["txn"]),
        ("mutex", &["acquire", "release"]),
        ("queue", &["enqueue", "dequeue"]),
        ("set", &["add", "read"]),
    ];
    MODELS
        .iter()
        .find(|(_, words)| {
            fs.iter()
                .any(|f| words.contains(&f.as_str()) && f != "read")
                && fs.iter().all(|f| words.contains(&f.as_str()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Edn {
        read(text).unwrap().remove(0).value
    }

    #[test]
    fn reads_scalars_and_collections() {
        assert_eq!(one("nil"), Edn::Nil);
        assert_eq!(one("-42"), Edn::Int(-42));
        assert_eq!(one("7N"), Edn::Int(7));
        assert_eq!(one("1.5"), Edn::Float(1.5));
        assert_eq!(one(":a/b"), Edn::Keyword("a/b".into()));
        assert_eq!(one(r#""a\"b\n\u0041""#), Edn::Str("a\"b\nA".into()));
        assert_eq!(one(r"\space"), Edn::Char(' '));
        assert_eq!(one("#{1 2}").to_json(), json!([1, 2]));
        assert_eq!(
            one("{:x 0, \"y\" [1 (2)]}").to_json(),
            json!({"x": 0, "y": [1, [2]]})
        );
        assert_eq!(one("#inst \"2020\"").to_json(), json!("2020"));
        assert_eq!(one("[1 #_ 2 3]").to_json(), json!([1, 3]));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = read("[1 2\n  {:a 1 :b}]").unwrap_err().to_string();
        assert!(err.starts_with("line 2, column 9:"), "{err}");
        let err = read("(1 2]").unwrap_err().to_string();
        assert!(
            err.contains("line 1, column 5") && err.contains("does not close"),
            "{err}"
        );
        let err = read("\n\n  \"abc").unwrap_err().to_string();
        assert!(
            err.starts_with("line 3, column 3:") && err.contains("never closed"),
            "{err}"
        );
    }
}
