//! JSON Lines: one operation object per line, streamed. An optional first line without `"input"` is a
//! header carrying `model`, `init` and `annotations`.

use std::io::BufRead;

use serde_json::Value as Json;

use super::{json, Format, RawHistory, RawOp};
use crate::error::{FormatError, Location};
use crate::history::Annotation;

pub(super) fn read<R: BufRead + Send + 'static>(reader: R) -> Result<RawHistory, FormatError> {
    let mut lines = reader
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .peekable();
    let mut raw = RawHistory::loaded(Format::Jsonl, None, Vec::new());
    // The header, if the first non-blank line is one.
    while let Some((_, Ok(l))) = lines.peek() {
        if !l.trim().is_empty() {
            break;
        }
        lines.next();
    }
    if let Some((number, Ok(first))) = lines.peek() {
        let at = Location::Line(*number);
        if let Ok(Json::Object(mut header)) = serde_json::from_str::<Json>(first) {
            if !header.contains_key("input") {
                raw.model = header
                    .remove("model")
                    .and_then(|m| m.as_str().map(str::to_string));
                raw.init = header.remove("init");
                if let Some(a) = header.remove("annotations") {
                    raw.annotations = serde_json::from_value::<Vec<Annotation>>(a)
                        .map_err(|e| FormatError::invalid(at, format!("\"annotations\": {e}")))?;
                }
                lines.next();
            }
        }
    }
    raw.operations = Box::new(lines.filter_map(|(number, line)| {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                return Some(Err(FormatError::invalid(
                    Location::Line(number),
                    e.to_string(),
                )))
            }
        };
        if line.trim().is_empty() {
            return None;
        }
        Some(parse_line(&line, number))
    }));
    Ok(raw)
}

fn parse_line(line: &str, number: usize) -> Result<RawOp, FormatError> {
    let value: Json = serde_json::from_str(line).map_err(|e| {
        FormatError::syntax(Location::LineColumn(number, e.column()), e.to_string())
    })?;
    json::operation(value, Location::Line(number))
}
