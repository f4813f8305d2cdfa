//! Reading JSON as a stream, and saying where and why it is not JSON in words a user can act on.
//!
//! A file is never read whole before it is parsed: a JSON document is parsed from the stream as it is
//! read, so that a file of gigabytes of garbage fails at its first bad byte, at once and in little memory.
//! Errors give the line, the column and the byte offset, once each (serde_json's own messages repeat a
//! position, which for a line of JSON Lines is the wrong one), and never a Rust type name.

use std::io::{self, Read};

use serde_json::error::Category;

use crate::error::{FormatError, Location};

/// A reader that remembers where the lines it has passed start, so that a line and a column reported
/// by the parser can be turned into a byte offset.
pub(crate) struct Tracking<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// The 1-based number of the line being read and the offset where it starts.
    line: usize,
    line_start: u64,
    /// The same for the line before it (the parser may report a position one byte behind the reader).
    previous: (usize, u64),
    /// Whether anything but blank space was read.
    text: bool,
}

impl<R: Read> Tracking<R> {
    pub(crate) fn new(inner: R) -> Self {
        Tracking {
            inner,
            offset: 0,
            line: 1,
            line_start: 0,
            previous: (0, 0),
            text: false,
        }
    }

    /// Whether everything read so far was blank space.
    pub(crate) fn blank(&self) -> bool {
        !self.text
    }

    /// The offset of `column` (1-based, in bytes) of `line`, when that line is one of the last two read.
    pub(crate) fn offset_of(&self, line: usize, column: usize) -> Option<u64> {
        let start = if line == self.line {
            self.line_start
        } else if line == self.previous.0 {
            self.previous.1
        } else {
            return None;
        };
        Some(start + column.saturating_sub(1) as u64)
    }
}

impl<R: Read> Read for Tracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            self.text |= !b.is_ascii_whitespace();
            if b == b'\n' {
                self.previous = (self.line, self.line_start);
                self.line += 1;
                self.line_start = self.offset + i as u64 + 1;
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// What serde_json says, without the position it appends and in plainer words where it has some.
pub(crate) fn message(e: &serde_json::Error, whole: &str) -> String {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => &text,
    };
    match e.classify() {
        Category::Eof => format!("{whole} ends in the middle of a JSON value"),
        _ if text == "expected value" => "not a JSON value here".to_string(),
        _ if text == "trailing characters" => format!("more text after the end of {whole}"),
        _ => text.to_string(),
    }
}

/// A syntax error of a JSON document read with [`Tracking`].
pub(crate) fn syntax_error<R: Read>(e: serde_json::Error, at: &Tracking<R>) -> FormatError {
    if e.is_io() {
        return FormatError::Io(e.into());
    }
    if e.is_eof() && at.blank() {
        return FormatError::Empty;
    }
    let (line, column) = (e.line(), e.column());
    let location = match at.offset_of(line, column) {
        Some(offset) => Location::Position {
            line,
            column,
            offset,
        },
        None => Location::LineColumn(line, column),
    };
    FormatError::syntax(location, message(&e, "the file"))
}

/// The error for a byte that cannot start (or continue) JSON text: binary data, most often.
pub(crate) fn not_json(byte: u8, line: usize, column: usize, offset: u64) -> FormatError {
    let what = if byte.is_ascii_graphic() {
        format!("`{}`", byte as char)
    } else {
        format!("byte 0x{byte:02x}")
    };
    FormatError::syntax(
        Location::Position {
            line,
            column,
            offset,
        },
        format!("not JSON: {what} where a JSON object should start"),
    )
}

/// The first byte of `bytes` that is not blank space, with its index.
pub(crate) fn first_non_blank(bytes: &[u8]) -> Option<(usize, u8)> {
    bytes
        .iter()
        .copied()
        .enumerate()
        .find(|&(_, b)| !b.is_ascii_whitespace())
}
