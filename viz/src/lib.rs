//! Pictures of checked histories: an interactive HTML page and a static SVG timeline.
//!
//! `viz` is a pure function of a described history ([`checker::HistoryView`]) and the checker's verdict
//! ([`checker::CheckResult`]). It draws one lane per client (and one per annotation tag, for faults), every
//! operation as a box from its call to its return, and the evidence that travels with the verdict: the
//! linearization of a linearizable partition, or for an illegal one the longest linearizable prefix and
//! the operations that could not be placed after it, in red.
//!
//! - [`render_html`] gives one self-contained page (style, script and data inline; no network) that opens
//!   from disk in any browser: partitions to choose from (illegal ones first), a button that jumps to the
//!   first error, hover and click for an operation's input, output, times and the model state before and
//!   after it, a compressed or proportional time axis, zoom and pan. It draws on a canvas only what is in
//!   view, so a 100,000-operation history opens in a few seconds.
//! - [`render_svg`] gives a static picture of the same timeline, cut down to the operations around the
//!   first error, for a README or a bug report.
//!
//! ```
//! use checker::{History, HistoryView, Model, Operation, Options};
//!
//! /// A register holding one integer; `None` reads, `Some(v)` writes.
//! struct Register;
//! impl Model for Register {
//!     type State = i64;
//!     type Input = Option<i64>;
//!     type Output = i64;
//!     fn init(&self) -> i64 { 0 }
//!     fn step(&self, state: &i64, input: &Option<i64>, output: Option<&i64>) -> Option<i64> {
//!         match (input, output) {
//!             (Some(v), _) => Some(*v),
//!             (None, Some(read)) if read != state => None,
//!             (None, _) => Some(*state),
//!         }
//!     }
//! }
//!
//! // Client 1 writes 1; afterwards client 2 still reads 0: not linearizable.
//! let history = History::new(vec![
//!     Operation::new(1, 0, 10, Some(1), 0),
//!     Operation::new(2, 20, 30, None, 0),
//! ]);
//! let result = checker::check(&Register, &history, &Options::default()).unwrap();
//! let view = HistoryView::new(&Register, "register", &history);
//!
//! let page = viz::render_html(&view, &result);
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! let svg = viz::render_svg(&view, &result).unwrap();
//! assert!(svg.contains("not linearizable"));
//! ```
//!
//! # Module map
//! - `data`: the data a page embeds (operations as columns, strings interned, times made relative) and
//!   its escaping for a `<script>` element.
//! - `html`: assembles the page from `assets/page.html`, `assets/viewer.css` and `assets/viewer.js`; the
//!   script draws the timeline on a canvas and exposes `window.quill` for browser tests.
//! - `layout`: the compressed time axis and the placement of linearization points, shared in spirit
//!   with the script.
//! - `svg`: the static timeline, drawn with plotters.

mod data;
mod html;
mod layout;
mod svg;
#[cfg(test)]
mod testing;

use checker::{CheckResult, HistoryView};

/// Why a picture could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The verdict names an operation the history does not have: the two do not belong together.
    #[error("the verdict refers to operation {index}, but the history has {len} operations")]
    OperationOutOfRange { index: usize, len: usize },
    /// The drawing backend failed.
    #[error("drawing the SVG failed: {message}")]
    Draw { message: String },
}

/// A self-contained interactive HTML page showing `view` and `result`.
///
/// Never fails: indices in `result` that `view` does not have are left out and listed on the page as
/// warnings, so that a report can always be looked at.
pub fn render_html(view: &HistoryView, result: &CheckResult) -> String {
    html::render(view, result)
}

/// A static SVG timeline of the illegal partition around its first error, or of the whole history when it
/// is small (see the `svg` module for what is shown when).
pub fn render_svg(view: &HistoryView, result: &CheckResult) -> Result<String, Error> {
    svg::render(view, result)
}
