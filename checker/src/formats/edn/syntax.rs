//! The syntax layer of EDN: a small, complete reader for the data a history can hold, with the line and
//! column of every form so that errors name a place.
//!
//! It reads vectors, lists, maps, sets, keywords, symbols, strings with escapes, characters, integers,
//! floats, `nil`/`true`/`false`, `;` comments, `#_` discards, commas as white space, and tagged literals such
//! as `#inst "..."` or Jepsen's `#jepsen.history.Op{...}` records (the tag is kept, and [`Form::untagged`]
//! looks through it).
//!
//! The reader streams: it pulls bytes from any [`Read`] through a small window, so that a file is never
//! held whole and bad input fails at its first bad byte, whatever the file's size. Its limits keep memory
//! and the stack bounded on any input:
//! - the text must be UTF-8; the first byte that is not is an error giving its line, column and byte offset;
//! - control bytes (NUL, ...) other than tab, newline, return and form feed are an error where they stand,
//!   except inside strings, where tab, newline and return are allowed;
//! - collections and tags nest at most [`MAX_DEPTH`] deep (the reader is recursive: deeper input would
//!   overflow the stack); Jepsen's histories nest five or six deep;
//! - a string, symbol or other atom is at most [`MAX_TOKEN`] bytes.

use std::fmt;
use std::io::{ErrorKind, Read};

use serde_json::{Map, Value as Json};

use crate::error::{FormatError, Location};

/// How deep collections and tagged values may nest.
pub const MAX_DEPTH: usize = 200;

/// The longest string, symbol, keyword or number, in bytes.
pub const MAX_TOKEN: usize = 1 << 24;

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
    pub(crate) fn kind(&self) -> &'static str {
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
    let mut reader = Reader::new(text.as_bytes());
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

/// The forms of a history, one at a time: the elements of the file's one top-level vector or list, or
/// else its top-level forms.
pub struct Elements<R> {
    reader: Reader<R>,
    state: ElementsState,
}

enum ElementsState {
    Start,
    /// Inside the top-level collection opened at (line, column), which `close` ends.
    Inside {
        close: u8,
        line: usize,
        column: usize,
    },
    Bare,
    Done,
}

impl<R: Read> Elements<R> {
    pub fn new(input: R) -> Self {
        Elements {
            reader: Reader::new(input),
            state: ElementsState::Start,
        }
    }

    /// True when the input has held nothing but white space and comments so far (at all, once
    /// [`Elements::next_element`] has returned `None`).
    pub fn saw_nothing(&self) -> bool {
        !self.reader.saw_form
    }

    /// The next operation form, or `None` at the end.
    pub fn next_element(&mut self) -> Result<Option<Form>, FormatError> {
        loop {
            match self.state {
                ElementsState::Done => return Ok(None),
                ElementsState::Start => {
                    self.reader.skip_blank_and_discards()?;
                    match self.reader.peek() {
                        Some(close @ (b'[' | b'(')) => {
                            let (line, column) = (self.reader.line, self.reader.column);
                            self.reader.bump();
                            self.reader.saw_form = true;
                            self.state = ElementsState::Inside {
                                close: if close == b'[' { b']' } else { b')' },
                                line,
                                column,
                            };
                        }
                        _ => self.state = ElementsState::Bare,
                    }
                }
                ElementsState::Bare => {
                    let form = self.reader.next_form()?;
                    if form.is_none() {
                        self.state = ElementsState::Done;
                    }
                    return Ok(form);
                }
                ElementsState::Inside {
                    close,
                    line,
                    column,
                } => {
                    // The collection counts as one level, as it would if read whole.
                    self.reader.depth = 1;
                    let item = self.reader.item(close, line, column)?;
                    self.reader.depth = 0;
                    if item.is_some() {
                        return Ok(item);
                    }
                    self.state = ElementsState::Done;
                    self.reader.skip_blank_and_discards()?;
                    if self.reader.peek().is_some() {
                        let (l, c) = (self.reader.line, self.reader.column);
                        return Err(self.reader.error(
                            l,
                            c,
                            format!(
                                "more after the history's `{}` (opened at line {line}, column {column}), \
                                 which should be the whole file",
                                close as char
                            ),
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    }
}

/// The streaming reader: a window `buf[pos..checked]` of bytes known to be UTF-8, refilled from `input`.
struct Reader<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    /// `buf[..checked]` is valid UTF-8; bytes after it wait for the rest of their character.
    checked: usize,
    /// The byte offset in the input of `buf[0]`.
    base: u64,
    eof: bool,
    /// Why the input stops at `checked` early (bad UTF-8, a read error): reported as soon as the parser
    /// gets there, in place of whatever it expected.
    stop: Option<String>,
    line: usize,
    column: usize,
    /// Forms open around the current one.
    depth: usize,
    saw_form: bool,
}

const CHUNK: usize = 1 << 16;

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || is_control(b)
        || matches!(
            b,
            b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';'
        )
}

/// Bytes that never belong in EDN text outside strings.
fn is_control(b: u8) -> bool {
    (b < 0x20 && !b.is_ascii_whitespace()) || b == 0x7f
}

impl<R: Read> Reader<R> {
    fn new(input: R) -> Self {
        Reader {
            input,
            buf: Vec::new(),
            pos: 0,
            checked: 0,
            base: 0,
            eof: false,
            stop: None,
            line: 1,
            column: 1,
            depth: 0,
            saw_form: false,
        }
    }

    /// Makes `buf[pos + ahead]` available if the input has it.
    fn fill(&mut self, ahead: usize) {
        while self.pos + ahead >= self.checked && !self.eof {
            if self.pos > 0 {
                // Drop what was consumed, so the window stays small.
                self.buf.drain(..self.pos);
                self.base += self.pos as u64;
                self.checked -= self.pos;
                self.pos = 0;
            }
            let old = self.buf.len();
            self.buf.resize(old + CHUNK, 0);
            let got = loop {
                match self.input.read(&mut self.buf[old..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.stop = Some(format!("cannot read further: {e}"));
                        break 0;
                    }
                }
            };
            self.buf.truncate(old + got);
            if got == 0 {
                self.eof = true;
            }
            match std::str::from_utf8(&self.buf[self.checked..]) {
                Ok(_) => self.checked = self.buf.len(),
                Err(e) => {
                    let good = self.checked + e.valid_up_to();
                    if e.error_len().is_some() || self.eof {
                        let byte = self.buf[good];
                        self.stop.get_or_insert(format!(
                            "byte 0x{byte:02x} at byte offset {} is not UTF-8: this is not EDN text",
                            self.base + good as u64
                        ));
                        self.buf.truncate(good);
                        self.eof = true;
                    }
                    self.checked = good;
                }
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.peek_at(0)
    }

    fn peek_at(&mut self, ahead: usize) -> Option<u8> {
        if let Some(&b) = self.buf[..self.checked].get(self.pos + ahead) {
            return Some(b);
        }
        self.fill(ahead);
        if self.pos + ahead < self.checked {
            Some(self.buf[self.pos + ahead])
        } else {
            None
        }
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

    /// The byte offset of the next byte.
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// A syntax error at (`line`, `column`); where the input stopped early and the parser has got there,
    /// the reason it stopped instead.
    fn error(&self, line: usize, column: usize, message: impl Into<String>) -> FormatError {
        if let Some(stop) = &self.stop {
            if self.pos >= self.checked {
                return FormatError::syntax(
                    Location::LineColumn(self.line, self.column),
                    stop.clone(),
                );
            }
        }
        FormatError::syntax(Location::LineColumn(line, column), message)
    }

    /// The error for a control byte where a form or a delimiter should be.
    fn control_error(&self, b: u8) -> FormatError {
        self.error(
            self.line,
            self.column,
            format!(
                "unexpected byte 0x{b:02x} at byte offset {}: this is not EDN text",
                self.offset()
            ),
        )
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

    fn at_discard(&mut self) -> bool {
        self.peek() == Some(b'#') && self.peek_at(1) == Some(b'_')
    }

    fn skip_blank_and_discards(&mut self) -> Result<(), FormatError> {
        self.skip_blank();
        while self.at_discard() {
            self.discard()?;
            self.skip_blank();
        }
        Ok(())
    }

    /// The next form at top level, or `None` at the end of the text.
    fn next_form(&mut self) -> Result<Option<Form>, FormatError> {
        self.skip_blank_and_discards()?;
        match self.peek() {
            None if self.stop.is_some() => Err(self.error(self.line, self.column, "")),
            None => Ok(None),
            Some(b @ (b')' | b']' | b'}')) => Err(self.error(
                self.line,
                self.column,
                format!("unexpected `{}` with nothing open", b as char),
            )),
            Some(_) => {
                self.saw_form = true;
                self.form().map(Some)
            }
        }
    }

    /// One form; white space before it is already skipped. Every nested form passes here, so this is
    /// where the depth is bounded.
    fn form(&mut self) -> Result<Form, FormatError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(
                self.line,
                self.column,
                format!("nested more than {MAX_DEPTH} deep: too deep for a history"),
            ));
        }
        self.depth += 1;
        let form = self.form_here();
        self.depth -= 1;
        form
    }

    fn form_here(&mut self) -> Result<Form, FormatError> {
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
            b if is_control(b) => return Err(self.control_error(b)),
            _ => self.atom(line, column)?,
        };
        Ok(Form {
            value,
            line,
            column,
        })
    }

    /// The next form of a collection that `close` ends (opened at `line`, `column`), or `None` once
    /// `close` is read.
    fn item(&mut self, close: u8, line: usize, column: usize) -> Result<Option<Form>, FormatError> {
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
                    return Ok(None);
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
                Some(b'#') if self.peek_at(1) == Some(b'_') => self.discard()?,
                Some(_) => return self.form().map(Some),
            }
        }
    }

    /// Forms up to `close`, which was opened at (`line`, `column`).
    fn sequence(
        &mut self,
        close: u8,
        line: usize,
        column: usize,
    ) -> Result<Vec<Form>, FormatError> {
        let mut items = Vec::new();
        while let Some(form) = self.item(close, line, column)? {
            items.push(form);
        }
        Ok(items)
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
                let word = self.word(line, column)?;
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
                let tag = self.word(line, column)?;
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

    /// The bytes up to the next delimiter (UTF-8, since the window is).
    fn word(&mut self, line: usize, column: usize) -> Result<String, FormatError> {
        let mut bytes = Vec::new();
        while let Some(b) = self.peek().filter(|&b| !is_delimiter(b)) {
            if bytes.len() >= MAX_TOKEN {
                return Err(self.error(
                    line,
                    column,
                    format!("a word longer than {MAX_TOKEN} bytes"),
                ));
            }
            bytes.push(b);
            self.bump();
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn string(&mut self, line: usize, column: usize) -> Result<String, FormatError> {
        let mut bytes = Vec::new();
        loop {
            if bytes.len() >= MAX_TOKEN {
                return Err(self.error(
                    line,
                    column,
                    format!("a string longer than {MAX_TOKEN} bytes"),
                ));
            }
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
                Some(b) if (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f => {
                    return Err(self.error(
                        esc_line,
                        esc_column,
                        format!(
                            "the string opened at line {line}, column {column} holds the control \
                             byte 0x{b:02x} (byte offset {}): this is not EDN text",
                            self.offset() - 1
                        ),
                    ))
                }
                Some(b) => bytes.push(b),
            }
        }
        // The window is UTF-8 and escapes write whole characters, so this holds; keep the check cheap.
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
        if is_control(first) {
            return Err(self.error(
                line,
                column,
                format!("a `\\` character literal of the control byte 0x{first:02x}"),
            ));
        }
        let mut word = vec![first];
        while let Some(b) = self.peek().filter(|&b| !is_delimiter(b)) {
            if word.len() > 16 {
                return Err(self.error(line, column, "unknown character literal"));
            }
            word.push(b);
            self.bump();
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
        let word = self.word(line, column)?;
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
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
