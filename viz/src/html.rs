//! The interactive page: one HTML file with its style, script and data inline, so it opens from disk
//! with no network and can be attached to a bug report as it is.
//!
//! The page is assembled from `assets/page.html` by replacing its `@@NAME@@` markers once each, in one
//! pass over the template, so that nothing substituted (the data in particular) is ever scanned for
//! markers again.

use checker::{CheckResult, HistoryView};

use crate::data;

const TEMPLATE: &str = include_str!("assets/page.html");
const STYLE: &str = include_str!("assets/viewer.css");
const SCRIPT: &str = include_str!("assets/viewer.js");

pub(crate) fn render(view: &HistoryView, result: &CheckResult) -> String {
    let data = data::page_data(view, result);
    let title = escape_html(&format!("{} - {} - Quill", view.model, result.verdict));
    let json = data::script_safe_json(&data);
    fill(
        TEMPLATE,
        &[
            ("TITLE", &title),
            ("STYLE", STYLE),
            ("DATA", &json),
            ("SCRIPT", SCRIPT),
        ],
    )
}

/// Replaces each `@@NAME@@` in `template` with its value. Unknown markers are left as they are.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let extra: usize = values.iter().map(|(_, v)| v.len()).sum();
    let mut out = String::with_capacity(template.len() + extra);
    let mut rest = template;
    while let Some(start) = rest.find("@@") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("@@") else { break };
        let name = &after[..end];
        match values.iter().find(|(k, _)| *k == name) {
            Some((_, value)) => {
                out.push_str(&rest[..start]);
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[..start + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Extracts and parses the data block of a rendered page (the inverse of embedding, for tests).
#[cfg(test)]
pub(crate) fn embedded_data(page: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" id="quill-data">"#;
    let start = page.find(open).expect("the page has a data block") + open.len();
    let end = start
        + page[start..]
            .find("</script>")
            .expect("the data block is closed");
    serde_json::from_str(&page[start..end]).expect("the data block is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{illegal_register, op};

    #[test]
    fn markers_are_filled_once_and_values_are_not_rescanned() {
        let out = fill("<a>@@X@@</a>@@Y@@ @@nope@@", &[("X", "@@Y@@"), ("Y", "y")]);
        assert_eq!(out, "<a>@@Y@@</a>y @@nope@@");
    }

    #[test]
    fn page_is_self_contained_and_data_round_trips() {
        let view = HistoryView {
            model: "kv</title><script>".into(),
            operations: vec![
                op(1, 0, Some(10), "put(x, </script><b>)", Some("")),
                op(2, 12, Some(20), "get(x)", Some("</script><b>")),
            ],
            annotations: vec![],
            time_unit: None,
        };
        let result = illegal_register(&view);
        let page = render(&view, &result);
        // One script element for the data and one for the code, and nothing fetched.
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "the page must not reach the network"
        );
        assert!(page
            .contains("<title>kv&lt;/title&gt;&lt;script&gt; - not linearizable - Quill</title>"));
        let data = embedded_data(&page);
        assert_eq!(data["model"], "kv</title><script>");
        let strings = data["strings"].as_array().unwrap();
        let input = data["ops"]["input"][0].as_u64().unwrap() as usize;
        assert_eq!(strings[input], "put(x, </script><b>)");
        assert_eq!(data["verdict"], "illegal");
        assert_eq!(data["partitions"][0]["partial"][0]["stuck"][0], 1);
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            escape_html(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
