//! Jepsen's test logs: the operation records that `jepsen.util` logs, a compare-and-set register whose key
//! starts absent.
//!
//! Two layouts of a log line are read, told apart line by line:
//! - the old one, `INFO  jepsen.util - 3 :invoke :cas [1 4]` (as in the etcd files of the corpus);
//! - the current one, `2017-03-03 18:05:41,102{GMT}<TAB>INFO<TAB>[jepsen worker 0] jepsen.util: 3<TAB>:invoke<TAB>:cas<TAB>[1 4]`;
//!
//! and a bare record without the logger's prefix (`3 :invoke :cas [1 4]`). A record is
//! `<process> <type> <f> <value>`, fields separated by tabs or spaces, the value in EDN.
//!
//! Every non-blank line must be understood. A line is one of:
//! - a record, from `jepsen.util` or bare: an operation's event, or a nemesis event when the process is not
//!   a number (`:nemesis :info :start nil`), which becomes an annotation as in EDN ([`super::nemesis`]);
//! - a log line of any other logger (`INFO  jepsen.core - Running test`): ignored;
//! - a continuation of such a line (a stack trace: a line that starts with white space, `Caused by:`, or
//!   an exception's name): ignored;
//! - a blank line: ignored.
//!
//! Anything else (prose, EDN, JSON, binary) is an error naming the line, as is a `jepsen.util` line that is
//! not a record. A log that yields no operation is an error.
//!
//! Lines are in real-time order and their timestamps are not used: a line's number is its time.
//! `:ok :read nil` means the key was absent. `:fail :cas` did not swap (the register did not hold the
//! expected value), so it is a completed cas returning false. `:info` (and a `:fail :read` timeout) got no
//! answer: the operation may have taken effect at any point after its call, or never. A `:fail :write` had
//! no effect.

use std::io::BufRead;

use serde_json::{json, Value as Json};

use super::lines::for_each_line;
use super::nemesis::{FaultEvent, Nemesis};
use super::{edn, Complete, Format, Pairing, RawHistory};
use crate::error::{FormatError, Location};

const LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL",
];

/// True for a line of a Jepsen log: a log line in either layout, or a bare record. Used to detect the
/// format from a file's first line.
pub(super) fn looks_like(line: &str) -> bool {
    log_line(line).is_some() || is_record(line)
}

/// True for a bare `<process> <type> <f> <value>` record.
fn is_record(line: &str) -> bool {
    let mut words = line.split_whitespace();
    matches!(
        (words.next(), words.next(), words.next()),
        (Some(p), Some(":invoke" | ":ok" | ":fail" | ":info"), Some(_))
            if p.parse::<u64>().is_ok() || p.starts_with(':')
    )
}

/// A log line's logger and message: `[date time] LEVEL [\[thread\]] logger( -|:) message`.
fn log_line(line: &str) -> Option<(&str, &str)> {
    let mut rest = line.trim_start();
    // An optional timestamp: a date `2017-03-03`, then a time `18:05:41,102{GMT}`.
    // Bytes, not string slices: the line may hold any characters (the fuzzer found a panic here).
    let head = rest.as_bytes();
    if head.len() >= 10 && head[..4].iter().all(u8::is_ascii_digit) && head[4] == b'-' {
        let mut parts = rest.splitn(3, [' ', '\t']);
        let (_date, time) = (parts.next()?, parts.next()?);
        if !time.starts_with(|c: char| c.is_ascii_digit()) || !time.contains(':') {
            return None;
        }
        rest = parts.next()?.trim_start();
    }
    let (level, after) = rest.split_once([' ', '\t'])?;
    if !LEVELS.contains(&level) {
        return None;
    }
    rest = after.trim_start();
    if let Some(thread) = rest.strip_prefix('[') {
        rest = thread.split_once(']')?.1.trim_start();
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ':')
        .unwrap_or(rest.len());
    let logger = &rest[..end];
    if logger.is_empty()
        || !logger
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '$' | '-'))
    {
        return None;
    }
    let after = &rest[end..];
    let message = if let Some(m) = after.strip_prefix(':') {
        m
    } else if let Some(m) = after.trim_start().strip_prefix("- ") {
        m
    } else if after.trim().is_empty() || after.trim() == "-" {
        ""
    } else {
        return None;
    };
    Some((logger, message.trim_start()))
}

/// A line that continues a multi-line message of another logger (a stack trace).
fn is_continuation(line: &str) -> bool {
    if line.starts_with([' ', '\t']) || line.starts_with("Caused by: ") {
        return true;
    }
    // `java.lang.RuntimeException: message`, `clojure.lang.ExceptionInfo: ...`
    let head = line.split([':', ' ']).next().unwrap_or("");
    head.contains('.')
        && (head.ends_with("Exception")
            || head.ends_with("Error")
            || head.ends_with("ExceptionInfo"))
}

pub(super) fn read(reader: impl BufRead) -> Result<RawHistory, FormatError> {
    let mut pairing = Pairing::new();
    let mut nemesis = Nemesis::default();
    // Whether the last line that was not blank belonged to another logger (so a stack trace may follow).
    let mut in_other = false;
    let (mut lines, mut records) = (0usize, 0usize);
    for_each_line(reader, |number, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        lines += 1;
        let record = match log_line(line) {
            Some(("jepsen.util", message)) => {
                if !is_record(message) {
                    return Err(FormatError::invalid(
                        Location::Line(number),
                        format!(
                            "a jepsen.util line that is not an operation record \
                             `<process> <type> <f> <value>`: `{}`",
                            excerpt(message)
                        ),
                    ));
                }
                message
            }
            Some(_) => {
                in_other = true;
                return Ok(());
            }
            None if is_record(line) => line,
            None if in_other && is_continuation(line) => return Ok(()),
            None => {
                return Err(FormatError::invalid(
                    Location::Line(number),
                    format!(
                        "not a line of a Jepsen log: `{}` (expected `INFO  jepsen.util - <process> \
                         <type> <f> <value>` or `<date> <time>{{TZ}}<TAB>INFO<TAB>[thread] jepsen.util: \
                         <process><TAB><type><TAB><f><TAB><value>`)",
                        excerpt(line)
                    ),
                ))
            }
        };
        in_other = false;
        records += 1;
        self::record(number, record, &mut pairing, &mut nemesis)
    })?;
    let ops = pairing.finish();
    if ops.is_empty() {
        let why = if lines == 0 {
            "empty file (no log lines)".to_string()
        } else {
            format!(
                "no operations found: {lines} log lines, {records} of them operation records, none a \
                 client's operation"
            )
        };
        return Err(FormatError::invalid(Location::File, why));
    }
    let mut raw = RawHistory::loaded(Format::JepsenLog, Some("cas-register".to_string()), ops);
    raw.annotations = nemesis.finish();
    Ok(raw)
}

/// The start of a line, for a message.
fn excerpt(line: &str) -> String {
    let cut: String = line.chars().take(60).collect();
    if cut.len() < line.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

/// One record, `<process> <type> <f> <value>`, of line `number`.
fn record(
    number: usize,
    record: &str,
    pairing: &mut Pairing,
    nemesis: &mut Nemesis,
) -> Result<(), FormatError> {
    let at = || Location::Line(number);
    let mut rest = record.trim();
    let mut field = || {
        let (word, after) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
        rest = after.trim_start();
        word
    };
    let (process, kind, f) = (field(), field(), field());
    let value_text = rest.trim();
    let value = match value_text {
        "" => Json::Null,
        text => edn::value_to_json(text).map_err(|e| {
            FormatError::syntax(
                at(),
                format!("cannot read the value `{}`: {e}", excerpt(text)),
            )
        })?,
    };
    let Ok(process) = process.parse::<u64>() else {
        // Fault injection (`:nemesis :info :start nil`): an annotation.
        let fault = match kind {
            ":invoke" => FaultEvent::Invoke,
            ":info" => FaultEvent::Info,
            _ => FaultEvent::Complete,
        };
        let f = f.trim_start_matches(':');
        let text = if value.is_null() {
            f.to_string()
        } else {
            format!("{f} {value_text}")
        };
        nemesis.event(
            process.trim_start_matches(':'),
            fault,
            f,
            text,
            !value.is_null(),
            number as i64,
        );
        return Ok(());
    };
    if kind != ":invoke" {
        // A completion must be of the operation its process invoked.
        let invoked = pairing
            .outstanding(process)
            .and_then(|input| input.get("op"))
            .and_then(Json::as_str);
        if let Some(invoked) = invoked {
            if f.strip_prefix(':') != Some(invoked) {
                return Err(FormatError::invalid(
                    at(),
                    format!(
                        "process {process} completes {f} but its pending operation is :{invoked}"
                    ),
                ));
            }
        }
    }
    match kind {
        ":invoke" => {
            let input = match (f, &value) {
                (":read", _) => json!({"op": "read"}),
                (":write", v) => json!({"op": "write", "value": v}),
                (":cas", Json::Array(pair)) if pair.len() == 2 => {
                    json!({"op": "cas", "from": pair[0], "to": pair[1]})
                }
                (":cas", v) => {
                    return Err(FormatError::invalid(
                        at(),
                        format!("a cas needs [from to], not {v}"),
                    ))
                }
                (other, _) => {
                    return Err(FormatError::invalid(
                        at(),
                        format!(
                            "unknown operation {other} (a register has :read, :write and :cas)"
                        ),
                    ))
                }
            };
            pairing.call(number, process, input)
        }
        ":ok" => {
            let output = match f {
                ":read" => json!({"value": value}),
                ":cas" => json!({"ok": true}),
                _ => json!({}),
            };
            pairing.complete(number, process, Complete::Ok(output))
        }
        ":fail" => {
            let how = match f {
                ":cas" => Complete::Ok(json!({"ok": false})),
                ":read" => Complete::Unknown,
                _ => Complete::Failed,
            };
            pairing.complete(number, process, how)
        }
        ":info" => pairing.complete(number, process, Complete::Unknown),
        other => Err(FormatError::invalid(
            at(),
            format!("unknown type {other} (expected :invoke, :ok, :fail or :info)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_are_log_lines() {
        assert_eq!(
            log_line("INFO  jepsen.util - 0\t:invoke\t:read\tnil"),
            Some(("jepsen.util", "0\t:invoke\t:read\tnil"))
        );
        assert_eq!(
            log_line("2017-03-03 18:05:41,102{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:invoke\t:write\t1"),
            Some(("jepsen.util", "0\t:invoke\t:write\t1"))
        );
        assert_eq!(
            log_line("2017-03-03 18:05:40,001{GMT}\tINFO\t[main] jepsen.core: Running test"),
            Some(("jepsen.core", "Running test"))
        );
        assert_eq!(log_line("Hello, world: this is prose"), None);
        assert_eq!(log_line("[{:process 0, :type :invoke}]"), None);
    }

    #[test]
    fn stack_traces_continue_a_line() {
        assert!(is_continuation("\tat clojure.core$eval.invoke(core.clj:3)"));
        assert!(is_continuation(
            "java.net.SocketTimeoutException: Read timed out"
        ));
        assert!(!is_continuation("Hello, world"));
    }
}
