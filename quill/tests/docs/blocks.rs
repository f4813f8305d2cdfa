//! Fenced code blocks of a Markdown document, with the language and the line they start on.

use std::path::Path;

pub struct Block {
    /// The info string's first word (`console`, `sh`, `json`, ...), empty when there is none.
    pub lang: String,
    /// The line of the opening fence, 1-based.
    pub line: usize,
    pub body: String,
}

/// Every fenced block of `path`, in order.
pub fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let lang = info.split([',', ' ']).next().unwrap_or("").to_string();
                    open = Some((lang, String::new(), i + 1));
                }
            }
            Some((lang, body, start)) => {
                if trimmed.starts_with("```") {
                    out.push(Block {
                        lang: std::mem::take(lang),
                        line: *start,
                        body: std::mem::take(body),
                    });
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "{}: a code block is never closed",
        path.display()
    );
    out
}
