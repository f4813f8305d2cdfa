//! JSON Lines: one operation object per line, streamed. An optional first line that is not an operation
//! (it has none of an operation's keys) is a header carrying `model`, `init` and `annotations`.
//!
//! The file is read in blocks of whole lines ([`Lines::next_block`]), never whole: a block's lines are
//! parsed in parallel, and the first bad line in file order is the one reported, with its number, column
//! and byte offset. A line longer than a block is checked as it grows, so that a file of garbage with no
//! line break fails at its first bad byte rather than after being read to the end; a line may not be
//! longer than [`MAX_LINE`].
//!
//! Typing a line goes by two roads that accept exactly the same lines. The fast one
//! ([`fast_operation`]) deserializes the line straight into the model's types, borrowing what it can; it
//! gives up on anything unusual. The careful one ([`parse_line`], then the model's typing) reads the line
//! as a JSON value and checks every part with messages for people; it is taken for every line the fast
//! one gave up on, so that an error always has its full explanation.

use std::collections::VecDeque;
use std::io::Read;

use rayon::prelude::*;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use super::stream::{self, first_non_blank};
use super::{json, keys, Format, RawHistory, RawOp, RawOps};
use crate::error::{FormatError, Location};
use crate::history::Operation;

/// The keys of a header line.
pub(super) const HEADER_KEYS: &[&str] = &["model", "init", "annotations"];
/// How much is read at a time: large enough that parsing a block in parallel pays, small enough that
/// the bytes held stay a few megabytes.
const BLOCK: usize = 4 << 20;
/// The longest line read. An operation is a few hundred bytes: a longer line is not a history's.
pub(crate) const MAX_LINE: usize = 64 << 20;
/// Lines typed per task of a block.
const TASK_LINES: usize = 2048;

/// Starts reading `reader` as JSON Lines: reads the header, if there is one, and leaves the operations
/// to be read as they are asked for.
pub(super) fn read<R: Read + Send + 'static>(reader: R) -> Result<RawHistory, FormatError> {
    let mut lines = Lines::new(Box::new(reader));
    let mut raw = RawHistory::loaded(Format::Jsonl, None, Vec::new());
    // The first non-blank line.
    let block = loop {
        let Some(block) = lines.next_block()? else {
            return Err(FormatError::Empty);
        };
        if block.lines().next().is_some() {
            break block;
        }
    };
    let first = block.lines().next().expect("a block with a non-blank line");
    let mut skip = None;
    let parsed = serde_json::from_slice::<Json>(first.bytes);
    if !matches!(parsed, Ok(Json::Object(_))) {
        // Neither a header nor an operation: say so now, before anything asks for the model (binary
        // data given as JSON Lines is "not JSON", not "no model named").
        parse_line(&first)?;
    }
    if let Ok(Json::Object(mut header)) = parsed {
        // A line with any of an operation's keys is an operation (perhaps with a misspelled key, which
        // its reading will name); any other object is the header.
        if !json::OPERATION_KEYS.iter().any(|k| header.contains_key(*k)) {
            let at = Location::Line(first.number);
            keys::check(&header, "the header line", HEADER_KEYS)
                .map_err(|m| FormatError::invalid(at.clone(), m))?;
            raw.model = match header.remove("model") {
                None | Some(Json::Null) => None,
                Some(Json::String(s)) => Some(s),
                Some(other) => {
                    return Err(FormatError::invalid(
                        at,
                        format!("\"model\" must be a string, not {other}"),
                    ))
                }
            };
            raw.init = header.remove("init");
            if let Some(a) = header.remove("annotations") {
                raw.annotations = json::annotations(a, &at)?;
            }
            skip = Some(first.end.min(block.bytes.len()));
        }
    }
    lines.peeked = Some(match skip {
        Some(end) => block.after(end),
        None => block,
    });
    raw.operations = RawOps::lines(lines);
    Ok(raw)
}

/// The operations of a JSON Lines file, read a block at a time.
pub(crate) struct Lines {
    reader: Box<dyn Read + Send>,
    /// The start of a line that did not fit in the last block.
    carry: Vec<u8>,
    /// The number of the first line of `carry`, and its offset in the file.
    line: usize,
    offset: u64,
    eof: bool,
    /// A block read (for the header) and not yet handed out.
    peeked: Option<Block>,
    /// For reading one operation at a time: the current block's operations, not yet handed out.
    queue: VecDeque<Result<RawOp, FormatError>>,
    failed: bool,
}

/// Whole lines of the file.
pub(crate) struct Block {
    bytes: Vec<u8>,
    /// Where in `bytes` the lines not yet handed out start.
    start: usize,
    /// The number of the line starting at `start`, and the file offset of `bytes[0]`.
    line: usize,
    offset: u64,
}

/// One non-blank line of a block.
pub(crate) struct Line<'a> {
    pub(crate) number: usize,
    /// The file offset of its first byte.
    pub(crate) offset: u64,
    pub(crate) bytes: &'a [u8],
    /// Where in the block the next line starts.
    end: usize,
}

impl Block {
    /// The block without its lines before `start`.
    fn after(mut self, start: usize) -> Block {
        let skipped = self.bytes[self.start..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line += skipped;
        self.start = start;
        self
    }

    /// The non-blank lines, in order.
    fn lines(&self) -> impl Iterator<Item = Line<'_>> {
        let mut at = self.start;
        let mut number = self.line;
        std::iter::from_fn(move || loop {
            if at >= self.bytes.len() {
                return None;
            }
            let rest = &self.bytes[at..];
            let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            let line = Line {
                number,
                offset: self.offset + at as u64,
                bytes: &rest[..len],
                end: at + len + 1,
            };
            at = line.end;
            number += 1;
            if first_non_blank(line.bytes).is_some() {
                return Some(line);
            }
        })
    }
}

impl Lines {
    fn new(reader: Box<dyn Read + Send>) -> Self {
        Lines {
            reader,
            carry: Vec::new(),
            line: 1,
            offset: 0,
            eof: false,
            peeked: None,
            queue: VecDeque::new(),
            failed: false,
        }
    }

    /// The next block of whole lines, or `None` at the end of the file.
    pub(crate) fn next_block(&mut self) -> Result<Option<Block>, FormatError> {
        if let Some(block) = self.peeked.take() {
            return Ok(Some(block));
        }
        let mut bytes = std::mem::take(&mut self.carry);
        // A long line is checked each time the bytes held double, so that checking costs no more than
        // reading.
        let mut next_check = BLOCK;
        loop {
            let before = bytes.len();
            self.fill(&mut bytes, before + BLOCK)?;
            if let Some(last) = memchr::memrchr(b'\n', &bytes[before..]) {
                let end = before + last + 1;
                self.carry = bytes[end..].to_vec();
                bytes.truncate(end);
                return Ok(Some(self.block(bytes)));
            }
            if self.eof {
                if bytes.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.block(bytes)));
            }
            // No line break in a whole block: a line longer than a block, or not text at all.
            if bytes.len() >= next_check || bytes.len() > MAX_LINE {
                self.check_long_line(&bytes)?;
                next_check = bytes.len() * 2;
            }
        }
    }

    fn block(&mut self, bytes: Vec<u8>) -> Block {
        let block = Block {
            start: 0,
            line: self.line,
            offset: self.offset,
            bytes,
        };
        self.line += memchr::memchr_iter(b'\n', &block.bytes).count();
        self.offset += block.bytes.len() as u64;
        block
    }

    /// Reads until `bytes` holds `until` bytes or the file ends.
    fn fill(&mut self, bytes: &mut Vec<u8>, until: usize) -> Result<(), FormatError> {
        bytes.reserve(until.saturating_sub(bytes.len()));
        while bytes.len() < until && !self.eof {
            let n = (&mut self.reader)
                .take((until - bytes.len()) as u64)
                .read_to_end(bytes)?;
            if n == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// The start of a line that has not ended yet: an error now if it cannot be the start of an
    /// operation object, or if it is too long to be one.
    fn check_long_line(&self, bytes: &[u8]) -> Result<(), FormatError> {
        if let Some((i, b)) = first_non_blank(bytes) {
            if b != b'{' {
                return Err(stream::not_json(
                    b,
                    self.line,
                    i + 1,
                    self.offset + i as u64,
                ));
            }
        }
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(bytes) {
            if !e.is_eof() {
                return Err(line_syntax(&e, self.line, self.offset));
            }
        }
        if bytes.len() > MAX_LINE {
            return Err(FormatError::invalid(
                Location::Line(self.line),
                format!(
                    "the line is longer than {} MiB without ending; a JSON Lines file has one operation per line",
                    MAX_LINE >> 20
                ),
            ));
        }
        Ok(())
    }

    /// Types every operation, a block at a time, each block's lines in parallel: with `fast` where it
    /// can, else with `slow` after reading the line as a JSON value. The first error in file order is
    /// the one returned. Each part typed is given to `share` before the next block is read.
    pub(crate) fn typed<T: Send>(
        mut self,
        fast: &(dyn Fn(&[u8]) -> Option<T> + Sync),
        slow: &(dyn Fn(RawOp) -> Result<T, FormatError> + Sync),
        share: &mut dyn FnMut(&mut [T]),
    ) -> Result<Vec<T>, FormatError> {
        let mut out = Vec::new();
        while let Some(block) = self.next_block()? {
            let lines: Vec<Line<'_>> = block.lines().collect();
            let parts: Vec<Result<Vec<T>, FormatError>> = lines
                .par_chunks(TASK_LINES)
                .map(|part| {
                    part.iter()
                        .map(|line| match fast(line.bytes) {
                            Some(op) => Ok(op),
                            None => parse_line(line).and_then(slow),
                        })
                        .collect()
                })
                .collect();
            for part in parts {
                let mut part = part?;
                share(&mut part);
                out.extend(part);
            }
        }
        Ok(out)
    }
}

/// One operation at a time (for tools that want the untyped operations), a block at a time.
impl Iterator for Lines {
    type Item = Result<RawOp, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.queue.is_empty() && !self.failed {
            match self.next_block() {
                Ok(Some(block)) => {
                    for line in block.lines() {
                        let op = parse_line(&line);
                        let bad = op.is_err();
                        self.queue.push_back(op);
                        if bad {
                            self.failed = true;
                            break;
                        }
                    }
                }
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        self.queue.pop_front()
    }
}

/// A syntax error on line `number`, which starts at file offset `offset`.
fn line_syntax(e: &serde_json::Error, number: usize, offset: u64) -> FormatError {
    let column = e.column().max(1);
    FormatError::syntax(
        Location::Position {
            line: number,
            column,
            offset: offset + column as u64 - 1,
        },
        stream::message(e, "the line"),
    )
}

/// Reads one line as an operation object, with messages for people.
pub(crate) fn parse_line(line: &Line<'_>) -> Result<RawOp, FormatError> {
    let (i, b) = first_non_blank(line.bytes).unwrap_or((0, b' '));
    // What can start a JSON value, but not an object, is JSON of the wrong shape; anything else is
    // not JSON at all.
    let starts_json = matches!(
        b,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    );
    if !starts_json {
        return Err(stream::not_json(
            b,
            line.number,
            i + 1,
            line.offset + i as u64,
        ));
    }
    let value: Json = serde_json::from_slice(line.bytes)
        .map_err(|e| line_syntax(&e, line.number, line.offset))?;
    json::operation(value, Location::Line(line.number))
}

/// A line read the fast way: the operation's fields, its input and output left as borrowed JSON text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastLine<'a> {
    client: u64,
    call: i64,
    /// Required, and null for no response.
    #[serde(rename = "return", deserialize_with = "nullable")]
    ret: Option<i64>,
    #[serde(borrow)]
    input: &'a RawValue,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
    #[serde(default)]
    failed: Option<bool>,
}

fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<i64>::deserialize(d)
}

/// The keys of an input or output object, borrowed from the line, each with whether its value is
/// null, and the value of `"op"`; at most [`FastKeys::MAX`] keys without escapes (else the careful road).
#[derive(Default)]
pub(crate) struct FastKeys<'a> {
    pub(crate) op: Option<&'a str>,
    keys: [(&'a str, bool); FastKeys::MAX],
    len: usize,
}

impl<'a> FastKeys<'a> {
    const MAX: usize = 4;

    pub(crate) fn keys(&self) -> &[(&'a str, bool)] {
        &self.keys[..self.len]
    }
}

impl<'de> Deserialize<'de> for FastKeys<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = FastKeys<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastKeys<'de>, A::Error> {
                let mut out = FastKeys::default();
                while let Some(key) = map.next_key::<&'de str>()? {
                    if out.len == FastKeys::MAX {
                        return Err(serde::de::Error::custom("too many keys"));
                    }
                    let null = if key == "op" {
                        out.op = Some(map.next_value::<&'de str>()?);
                        false
                    } else {
                        map.next_value::<Nullness>()?.0
                    };
                    out.keys[out.len] = (key, null);
                    out.len += 1;
                }
                Ok(out)
            }
        }
        d.deserialize_map(Keys)
    }
}

/// Whether a value is null, its content skipped.
struct Nullness(bool);

impl<'de> Deserialize<'de> for Nullness {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Null;
        impl<'de> Visitor<'de> for Null {
            type Value = Option<IgnoredAny>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a value")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                IgnoredAny::deserialize(d).map(Some)
            }
        }
        d.deserialize_option(Null).map(|v| Nullness(v.is_none()))
    }
}

/// What a line's output says, as the models' typing checks it (see `crate::dynamic`).
pub(crate) enum Reported<'k> {
    /// `null`, or no `"output"`.
    Nothing,
    /// An object: its keys, each with whether its value is null.
    Object(&'k [(&'k str, bool)]),
}

/// Whether an operation of the model (its `op`, its input's keys each with whether its value is null,
/// what its output reports, whether it completed) has the shape the model accepts.
pub(crate) type ShapeCheck<'f> = dyn Fn(&str, &[(&str, bool)], Reported<'_>, bool) -> bool + 'f;

/// Types a line the fast way, or gives up (`None`) on anything it does not handle: `check` says whether
/// an operation's input keys and output are ones the model accepts (given the operation's `op`, its
/// input keys and whether it completed). Accepts only lines the careful road accepts, and reads them to
/// the same operation.
pub(crate) fn fast_operation<I: DeserializeOwned, O: DeserializeOwned>(
    line: &[u8],
    check: &ShapeCheck<'_>,
) -> Option<Operation<I, O>> {
    let line: FastLine<'_> = serde_json::from_slice(line).ok()?;
    let failed = line.failed.unwrap_or(false);
    if let Some(ret) = line.ret {
        if ret < line.call {
            return None;
        }
    } else if line.output.is_some() {
        return None;
    }
    let input_keys: FastKeys<'_> = serde_json::from_str(line.input.get()).ok()?;
    let output_keys: Option<FastKeys<'_>> = match line.output {
        Some(raw) => Some(serde_json::from_str(raw.get()).ok()?),
        None => None,
    };
    let reported = match &output_keys {
        Some(k) => Reported::Object(k.keys()),
        None => Reported::Nothing,
    };
    let completed = line.ret.is_some() && !failed;
    if !check(input_keys.op?, input_keys.keys(), reported, completed) {
        return None;
    }
    let input = serde_json::from_str::<I>(line.input.get()).ok()?;
    // As the careful road does: a completed operation's output is typed even when it failed.
    let output = match line.ret {
        Some(_) => Some(serde_json::from_str::<O>(line.output.map_or("{}", |raw| raw.get())).ok()?),
        None => None,
    };
    let output = if failed { None } else { output };
    Some(Operation {
        client: line.client,
        call: line.call,
        ret: line.ret,
        input,
        output,
        failed,
    })
}
