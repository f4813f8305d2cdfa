//! The history as Jepsen EDN (`history.edn`): an invocation and a completion per operation, in time order,
//! as Jepsen and Maelstrom write them. lin-kv's values are Jepsen's independent tuples: `[key value]`, and
//! `[key [from to]]` for a cas; a cas that did not swap completes as `:fail`, as Knossos expects. An
//! operation with no response completes as `:info` at the end.

use std::fmt::Write;

use serde_json::Value as Json;

use super::workload::JsonHistory;

/// JSON as EDN: objects become maps with keyword keys.
pub fn value(json: &Json) -> String {
    match json {
        Json::Null => "nil".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => Json::String(s.clone()).to_string(),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(" "))
        }
        Json::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!(":{} {}", keyword(k), value(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

fn keyword(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_?!*".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `(f, invocation value, completion value)` of an operation.
fn f_and_values(lin_kv: bool, input: &Json, output: Option<&Json>) -> (String, String, String) {
    if lin_kv {
        let key = value(&input["key"]);
        let op = input["op"].as_str().unwrap_or("?").to_string();
        let (invoke, done) = match op.as_str() {
            "read" => (
                "nil".to_string(),
                output.map(|o| value(&o["value"])).unwrap_or("nil".into()),
            ),
            "write" => (value(&input["value"]), value(&input["value"])),
            _ => {
                let v = format!("[{} {}]", value(&input["from"]), value(&input["to"]));
                (v.clone(), v)
            }
        };
        return (op, format!("[{key} {invoke}]"), format!("[{key} {done}]"));
    }
    let f = input["f"].as_str().unwrap_or("?").to_string();
    let arg = ["element", "message", "delta", "value"]
        .iter()
        .find_map(|k| input.get(*k))
        .map(value)
        .unwrap_or_else(|| "nil".into());
    let done = match output {
        Some(Json::Object(map)) if map.len() == 1 => value(map.values().next().expect("one")),
        Some(Json::Object(map)) if map.is_empty() => arg.clone(),
        Some(other) => value(other),
        None => arg.clone(),
    };
    (f, arg, done)
}

pub fn write(history: &JsonHistory, lin_kv: bool) -> String {
    let end = history
        .operations
        .iter()
        .filter_map(|op| op.ret)
        .chain(history.operations.iter().map(|op| op.call))
        .max()
        .unwrap_or(0);
    // (time, completion?, index)
    let mut events: Vec<(i64, u8, usize)> = Vec::new();
    for (i, op) in history.operations.iter().enumerate() {
        events.push((op.call, 0, i));
        events.push((op.ret.unwrap_or(end), 1, i));
    }
    events.sort_unstable();
    let mut out = String::new();
    for (n, (time, completion, i)) in events.into_iter().enumerate() {
        let op = &history.operations[i];
        let output = op.output.as_ref().filter(|_| op.is_complete());
        let (f, invoke, done) = f_and_values(lin_kv, &op.input, output);
        // A cas that did not swap (error 20 or 22) is a failed cas to Knossos.
        let refused = lin_kv && output.is_some_and(|o| o["ok"] == false);
        let (kind, v) = match (completion, op.ret, op.failed || refused) {
            (0, _, _) => ("invoke", invoke),
            (_, None, _) => ("info", invoke),
            (_, Some(_), true) => ("fail", invoke),
            _ => ("ok", done),
        };
        let _ = writeln!(
            out,
            "{{:process {}, :type :{kind}, :f :{}, :value {v}, :time {time}, :index {n}}}",
            op.client,
            keyword(&f)
        );
    }
    out
}
