//! The static timeline: one SVG drawn with plotters, for READMEs, bug reports and terminals that cannot
//! run a page.
//!
//! A picture in a README is read at a glance, so it shows at most [`MAX_OPS`] operations: an illegal
//! history is cut down to the operations around its first error (the last steps of the longest
//! linearizable prefix, the operations that could not be placed next, and whatever overlaps them); a
//! linearizable or undecided history is shown whole when it is small, and otherwise its first partition's
//! first operations. The caption says what was left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use checker::{CheckResult, ClientId, HistoryView, PartitionResult, Step, Verdict};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::layout::{self, Span};
use crate::Error;

/// Most operations one picture shows.
pub(crate) const MAX_OPS: usize = 12;

/// How many steps of the linearizable prefix are kept before the error.
const STEPS_BEFORE_ERROR: usize = 5;

/// Labels longer than this are cut in the middle: one long value must not stretch the whole axis, and
/// the end of a value (where an appended log differs) matters as much as its start.
const MAX_LABEL_CHARS: usize = 34;

/// The widest picture drawn: labels are cut shorter until the timeline fits, so that the operations
/// around the error are all on screen on a common display.
pub(crate) const MAX_WIDTH: i32 = 1600;

/// Labels are never cut shorter than this, whatever the width.
const MIN_LABEL_CHARS: usize = 12;

/// How far a box with no response fades out past its label, rather than running to the right edge,
/// which in a cut-down picture would only say "the picture ends here".
const OPEN_FADE: f64 = 60.0;

// Geometry, in pixels. Labels are monospace so their width is known without a font file.
const FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";
const FONT_PX: f64 = 12.0;
const CHAR_PX: f64 = 7.3;
const LEFT: i32 = 120;
const RIGHT_PAD: i32 = 24;
/// Where the lanes start: below the title and one caption line, or two for an illegal partition.
const TOP: i32 = 66;
const TOP_WITH_STATE: i32 = 84;
const LANE: i32 = 38;
const BOX: i32 = 26;
// Labels sit in the upper part of a box and linearization points in the lower part, so that the line
// joining the points never runs through a label.
const LABEL_DY: i32 = 11;
const POINT_DY: i32 = 20;
const BOTTOM: i32 = 74;
const GAP: f64 = 14.0;

// Palette: blue for ordinary operations, red for the error, purple for the linearization.
const INK: RGBColor = RGBColor(31, 41, 55);
const MUTED: RGBColor = RGBColor(107, 114, 128);
const LANE_BG: RGBColor = RGBColor(243, 244, 246);
const OP_FILL: RGBColor = RGBColor(219, 234, 254);
const OP_LINE: RGBColor = RGBColor(59, 130, 246);
const FAILED_FILL: RGBColor = RGBColor(229, 231, 235);
const FAILED_LINE: RGBColor = RGBColor(156, 163, 175);
const STUCK_FILL: RGBColor = RGBColor(254, 202, 202);
const STUCK_LINE: RGBColor = RGBColor(220, 38, 38);
const LIN: RGBColor = RGBColor(124, 58, 237);
const CE_LINE: RGBColor = RGBColor(217, 119, 6);

/// Plotters divides font sizes by 1.24 when it writes SVG text; this undoes it.
fn font(px: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, px * 1.24).into_font())
}

/// What one picture shows.
pub(crate) struct Focus<'a> {
    /// The partition whose (partial) linearization is drawn; `None` draws the linearizations of every
    /// partition that has shown operations.
    pub partition: Option<&'a PartitionResult>,
    /// Operations shown, in history order.
    pub ops: Vec<usize>,
    pub caption: String,
}

/// Chooses what to show (see the module header).
pub(crate) fn focus<'a>(view: &HistoryView, result: &'a CheckResult) -> Focus<'a> {
    let total = view.operations.len();
    if let Some(p) = result.illegal().next() {
        // The counterexample of this partition explains the error by itself: keep it in view.
        let counterexample: &[usize] = match &result.counterexample {
            Some(c) if c.partition == p.label => &c.operations,
            _ => &[],
        };
        let ops = around_error(view, p, counterexample);
        let caption = if ops.len() < p.operations.len() {
            format!(
                "partition {}: {} of its {} operations, around the first error",
                p.label,
                ops.len(),
                p.operations.len()
            )
        } else {
            format!("partition {}: all {} operations", p.label, ops.len())
        };
        return Focus {
            partition: Some(p),
            ops,
            caption,
        };
    }
    if total <= MAX_OPS {
        let caption = format!(
            "all {total} operations, {} partition(s)",
            result.partitions.len()
        );
        return Focus {
            partition: None,
            ops: (0..total).collect(),
            caption,
        };
    }
    let Some(p) = result.partitions.first() else {
        return Focus {
            partition: None,
            ops: (0..MAX_OPS).collect(),
            caption: format!("first {MAX_OPS} of {total} operations"),
        };
    };
    let ops: Vec<usize> = p.operations.iter().copied().take(MAX_OPS).collect();
    let caption = if ops.len() < p.operations.len() {
        format!(
            "partition {}: first {} of its {} operations",
            p.label,
            ops.len(),
            p.operations.len()
        )
    } else {
        format!("partition {}: all {} operations", p.label, ops.len())
    };
    Focus {
        partition: Some(p),
        ops,
        caption,
    }
}

/// The operations of illegal partition `p` nearest its first error, at most [`MAX_OPS`], with the
/// counterexample's when there is room.
fn around_error(view: &HistoryView, p: &PartitionResult, counterexample: &[usize]) -> Vec<usize> {
    if p.operations.len() <= MAX_OPS {
        return p.operations.clone();
    }
    let ops = &view.operations;
    let Some(partial) = p.partial.first() else {
        return p.operations.iter().copied().take(MAX_OPS).collect();
    };
    // Must-keep: the operations that could not be placed and the end of the prefix before them.
    let mut keep: BTreeSet<usize> = partial
        .stuck
        .iter()
        .copied()
        .chain([partial.blocking])
        .collect();
    keep.retain(|&i| i < ops.len());
    // The error happens by the time the last of those returned; what came after it does not explain it.
    let horizon = keep
        .iter()
        .map(|&i| ops[i].ret.unwrap_or(ops[i].call))
        .max()
        .unwrap_or(0);
    let tail = partial.steps.len().saturating_sub(STEPS_BEFORE_ERROR);
    keep.extend(
        partial.steps[tail..]
            .iter()
            .map(|s| s.op)
            .filter(|&i| i < ops.len()),
    );
    if keep.len() + counterexample.len() <= MAX_OPS {
        keep.extend(counterexample.iter().copied().filter(|&i| i < ops.len()));
    }
    // The rest of the room goes to the operations closest before the horizon (overlapping it first).
    let end = |i: usize| ops[i].ret.unwrap_or(i64::MAX).min(horizon);
    let mut rest: Vec<usize> = p
        .operations
        .iter()
        .copied()
        .filter(|&i| i < ops.len() && !keep.contains(&i) && ops[i].call <= horizon)
        .collect();
    rest.sort_by_key(|&i| horizon.abs_diff(end(i)));
    let room = MAX_OPS.saturating_sub(keep.len());
    keep.extend(rest.into_iter().take(room));
    keep.into_iter().collect()
}

/// Which lane each shown operation is on: clients in id order, then annotation lanes.
struct Lanes {
    names: Vec<String>,
    of_client: HashMap<ClientId, usize>,
}

fn lanes(view: &HistoryView, ops: &[usize]) -> Lanes {
    let clients: BTreeSet<ClientId> = ops.iter().map(|&i| view.operations[i].client).collect();
    let names = clients.iter().map(|c| format!("client {c}")).collect();
    let of_client = clients.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    Lanes { names, of_client }
}

pub(crate) fn render(view: &HistoryView, result: &CheckResult) -> Result<String, Error> {
    let n = view.operations.len();
    let check = |i: usize| {
        if i < n {
            Ok(i)
        } else {
            Err(Error::OperationOutOfRange { index: i, len: n })
        }
    };
    for p in &result.partitions {
        for &i in p
            .operations
            .iter()
            .chain(p.linearization.iter().map(|s| &s.op))
        {
            check(i)?;
        }
        for pl in &p.partial {
            for &i in pl
                .steps
                .iter()
                .map(|s| &s.op)
                .chain(&pl.stuck)
                .chain([&pl.blocking])
            {
                check(i)?;
            }
        }
    }

    let focus = focus(view, result);
    let lanes = lanes(view, &focus.ops);

    // Evidence for the shown operations.
    let (stuck, blocking): (BTreeSet<usize>, Option<usize>) = match focus.partition {
        Some(p) if p.verdict == Verdict::Illegal => match p.partial.first() {
            Some(pl) => (pl.stuck.iter().copied().collect(), Some(pl.blocking)),
            None => (BTreeSet::new(), None),
        },
        _ => (BTreeSet::new(), None),
    };
    let in_counterexample: BTreeSet<usize> = result
        .counterexample
        .as_ref()
        .filter(|c| focus.partition.is_some_and(|p| p.label == c.partition))
        .map(|c| c.operations.iter().copied().collect())
        .unwrap_or_default();
    let chains: Vec<&[Step]> = match focus.partition {
        Some(p) => vec![chain_of(p)],
        None => result.partitions.iter().map(chain_of).collect(),
    };

    // Horizontal layout on the compressed axis, with labels cut shorter until the picture fits
    // [`MAX_WIDTH`] (the full labels are in each box's `<title>`).
    let mut max_chars = MAX_LABEL_CHARS;
    let (labels, spans, plot_width) = loop {
        let labels: Vec<String> = focus
            .ops
            .iter()
            .map(|&i| shorten_to(&view.operations[i].label(), max_chars))
            .collect();
        let spec: Vec<(i64, Option<i64>, f64)> = focus
            .ops
            .iter()
            .zip(&labels)
            .map(|(&i, l)| {
                let op = &view.operations[i];
                (op.call, op.ret, l.chars().count() as f64 * CHAR_PX + 14.0)
            })
            .collect();
        let (spans, plot_width) = layout::compressed(&spec, GAP);
        if LEFT + plot_width.ceil() as i32 + RIGHT_PAD <= MAX_WIDTH || max_chars <= MIN_LABEL_CHARS
        {
            break (labels, spans, plot_width);
        }
        max_chars = (max_chars * 3 / 4).max(MIN_LABEL_CHARS);
    };
    let span_of: BTreeMap<usize, Span> = focus
        .ops
        .iter()
        .copied()
        .zip(spans.iter().copied())
        .collect();

    let title = format!("{} - {}", view.model, result.verdict);
    let legend_width = 760;
    let width = (LEFT + plot_width.ceil() as i32 + RIGHT_PAD)
        .max(legend_width)
        .max(LEFT + (title.len().max(focus.caption.len()) as f64 * 8.0) as i32);
    let width = width.min(MAX_WIDTH.max(LEFT + plot_width.ceil() as i32 + RIGHT_PAD));
    let state_line = prefix_state(focus.partition);
    // The state line is cut to the width, like the labels; the full state is in its `<title>`.
    const STATE_TEXT: &str = "after the longest linearizable prefix the state is ";
    const STATE_END: &str = "; no red operation can come next";
    let state_room = ((width - 32) as f64 / CHAR_PX) as usize;
    let state_text = state_line.map(|state| {
        let room = state_room.saturating_sub(STATE_TEXT.len() + STATE_END.len());
        format!(
            "{STATE_TEXT}{}{STATE_END}",
            shorten_to(state, room.max(MIN_LABEL_CHARS))
        )
    });
    let mut titles: Vec<(i32, i32, i32, i32, String)> = Vec::new();
    let lanes_top = if state_line.is_some() {
        TOP_WITH_STATE
    } else {
        TOP
    };
    let height = lanes_top + LANE * lanes.names.len().max(1) as i32 + BOTTOM;
    let px = |x: f64| LEFT + x.round() as i32;
    let lane_top = |lane: usize| lanes_top + LANE * lane as i32;

    let mut out = String::new();
    {
        let root =
            SVGBackend::with_string(&mut out, (width as u32, height as u32)).into_drawing_area();
        let draw_err = |e: DrawingAreaErrorKind<std::io::Error>| Error::Draw {
            message: e.to_string(),
        };
        root.fill(&WHITE).map_err(draw_err)?;

        // Title and caption.
        let verdict_color = match result.verdict {
            Verdict::Ok => RGBColor(22, 163, 74),
            Verdict::Illegal => STUCK_LINE,
            Verdict::Unknown => RGBColor(217, 119, 6),
        };
        let left_text = font(FONT_PX).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(
            view.model.clone(),
            (16, 22),
            font(16.0)
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
        let verdict_x = 16 + (view.model.chars().count() as f64 * 9.8) as i32 + 14;
        root.draw(&Text::new(
            result.verdict.to_string(),
            (verdict_x, 22),
            TextStyle::from((FONT, 16.0 * 1.24).into_font().style(FontStyle::Bold))
                .color(&verdict_color)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            focus.caption.clone(),
            (16, 46),
            left_text.color(&MUTED),
        ))
        .map_err(draw_err)?;
        if let (Some(state), Some(text)) = (state_line, &state_text) {
            let w = (text.chars().count() as f64 * CHAR_PX) as i32;
            titles.push((16, 56, 16 + w, 72, format!("{STATE_TEXT}{state}")));
            root.draw(&Text::new(text.clone(), (16, 64), left_text.color(&MUTED)))
                .map_err(draw_err)?;
        }

        // Lanes.
        for (i, name) in lanes.names.iter().enumerate() {
            let top = lane_top(i);
            if i % 2 == 0 {
                root.draw(&Rectangle::new(
                    [(0, top), (width, top + LANE)],
                    LANE_BG.filled(),
                ))
                .map_err(draw_err)?;
            }
            root.draw(&Text::new(
                name.clone(),
                (12, top + LANE / 2),
                left_text.color(&INK),
            ))
            .map_err(draw_err)?;
        }
        root.draw(&PathElement::new(
            vec![
                (LEFT - 8, lanes_top),
                (LEFT - 8, lane_top(lanes.names.len())),
            ],
            MUTED.stroke_width(1),
        ))
        .map_err(draw_err)?;

        // Boxes, then labels on top of them.
        for (k, &i) in focus.ops.iter().enumerate() {
            let op = &view.operations[i];
            let span = spans[k];
            let top = lane_top(lanes.of_client[&op.client]) + (LANE - BOX) / 2;
            let (x0, x1) = (px(span.x0), px(span.x1).max(px(span.x0) + 4));
            let (fill, line, stroke) = if stuck.contains(&i) || blocking == Some(i) {
                (
                    STUCK_FILL,
                    STUCK_LINE,
                    if blocking == Some(i) { 3 } else { 2 },
                )
            } else if op.failed {
                (FAILED_FILL, FAILED_LINE, 1)
            } else {
                (OP_FILL, OP_LINE, 1)
            };
            if span.open {
                // No response: the box fades out instead of ending.
                let steps = 8;
                let fade_to = (x0
                    + (labels[k].chars().count() as f64 * CHAR_PX + 14.0 + OPEN_FADE) as i32)
                    .min(x1);
                let x1 = fade_to.max(x0 + steps);
                let w = x1 - x0;
                for s in 0..steps {
                    let a = 1.0 - s as f64 / steps as f64;
                    let sx0 = x0 + w * s / steps;
                    let sx1 = x0 + w * (s + 1) / steps;
                    root.draw(&Rectangle::new(
                        [(sx0, top), (sx1, top + BOX)],
                        fill.mix(a).filled(),
                    ))
                    .map_err(draw_err)?;
                }
                let edge = line.mix(0.8).stroke_width(stroke);
                root.draw(&PathElement::new(
                    vec![(x1, top), (x0, top), (x0, top + BOX), (x1, top + BOX)],
                    edge,
                ))
                .map_err(draw_err)?;
            } else {
                root.draw(&Rectangle::new([(x0, top), (x1, top + BOX)], fill.filled()))
                    .map_err(draw_err)?;
                root.draw(&Rectangle::new(
                    [(x0, top), (x1, top + BOX)],
                    line.stroke_width(stroke),
                ))
                .map_err(draw_err)?;
            }
            titles.push((x0, top, x1, top + BOX, op.label()));
            if in_counterexample.contains(&i) {
                root.draw(&Rectangle::new(
                    [(x0 - 3, top - 3), (x1 + 3, top + BOX + 3)],
                    CE_LINE.stroke_width(2),
                ))
                .map_err(draw_err)?;
            }
        }

        // The (partial) linearization: a point inside each placed operation's box, joined in order. The
        // line goes under the labels and the points over them.
        let mut chain_points: Vec<Vec<(i32, i32)>> = Vec::new();
        for chain in &chains {
            let placed: Vec<(usize, Span)> = chain
                .iter()
                .filter_map(|s| span_of.get(&s.op).map(|sp| (s.op, *sp)))
                .collect();
            let spans: Vec<Span> = placed.iter().map(|(_, s)| *s).collect();
            let xs = layout::linearization_points(&spans);
            let points: Vec<(i32, i32)> = placed
                .iter()
                .zip(&xs)
                .map(|((op, _), &x)| {
                    let lane = lanes.of_client[&view.operations[*op].client];
                    (px(x), lane_top(lane) + (LANE - BOX) / 2 + POINT_DY)
                })
                .collect();
            if points.len() > 1 {
                root.draw(&PathElement::new(
                    points.clone(),
                    LIN.mix(0.85).stroke_width(2),
                ))
                .map_err(draw_err)?;
            }
            chain_points.push(points);
        }
        for (k, &i) in focus.ops.iter().enumerate() {
            let op = &view.operations[i];
            let top = lane_top(lanes.of_client[&op.client]) + (LANE - BOX) / 2;
            let ink = if op.failed { MUTED } else { INK };
            // A patch of the box's colour behind the label keeps the line from running through it.
            let fill = if stuck.contains(&i) || blocking == Some(i) {
                STUCK_FILL
            } else if op.failed {
                FAILED_FILL
            } else {
                OP_FILL
            };
            let x0 = px(spans[k].x0);
            let text_w = (labels[k].chars().count() as f64 * CHAR_PX) as i32;
            let right = (x0 + 9 + text_w).min(px(spans[k].x1) - 2).max(x0 + 2);
            root.draw(&Rectangle::new(
                [(x0 + 3, top + LABEL_DY - 7), (right, top + LABEL_DY + 7)],
                fill.filled(),
            ))
            .map_err(draw_err)?;
            root.draw(&Text::new(
                labels[k].clone(),
                (px(spans[k].x0) + 7, top + LABEL_DY),
                left_text.color(&ink),
            ))
            .map_err(draw_err)?;
        }
        for &p in chain_points.iter().flatten() {
            root.draw(&Circle::new(p, 3, LIN.filled()))
                .map_err(draw_err)?;
        }

        // Axis and legend.
        let axis_y = lane_top(lanes.names.len()) + 14;
        root.draw(&PathElement::new(
            vec![(LEFT, axis_y), (px(plot_width), axis_y)],
            MUTED.stroke_width(1),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            "time -> (idle gaps compressed; the order of calls and returns is kept)".to_string(),
            (LEFT, axis_y + 14),
            left_text.color(&MUTED),
        ))
        .map_err(draw_err)?;
        let legend_y = axis_y + 40;
        let mut x = 16;
        let mut swatch = |fill: RGBColor, line: RGBColor, text: &str| -> Result<(), Error> {
            root.draw(&Rectangle::new(
                [(x, legend_y - 7), (x + 22, legend_y + 7)],
                fill.filled(),
            ))
            .map_err(draw_err)?;
            root.draw(&Rectangle::new(
                [(x, legend_y - 7), (x + 22, legend_y + 7)],
                line.stroke_width(1),
            ))
            .map_err(draw_err)?;
            root.draw(&Text::new(
                text.to_string(),
                (x + 28, legend_y),
                left_text.color(&INK),
            ))
            .map_err(draw_err)?;
            x += 28 + (text.len() as f64 * CHAR_PX) as i32 + 22;
            Ok(())
        };
        swatch(OP_FILL, OP_LINE, "operation")?;
        if !stuck.is_empty() || blocking.is_some() {
            swatch(STUCK_FILL, STUCK_LINE, "cannot be placed next")?;
        }
        if focus.ops.iter().any(|&i| view.operations[i].failed) {
            swatch(FAILED_FILL, FAILED_LINE, "failed")?;
        }
        if focus.ops.iter().any(|i| in_counterexample.contains(i)) {
            swatch(WHITE, CE_LINE, "counterexample")?;
        }
        root.draw(&PathElement::new(
            vec![(x, legend_y), (x + 22, legend_y)],
            LIN.stroke_width(2),
        ))
        .map_err(draw_err)?;
        root.draw(&Circle::new((x + 11, legend_y), 4, LIN.filled()))
            .map_err(draw_err)?;
        let lin_text = if blocking.is_some() {
            "longest linearizable prefix"
        } else {
            "linearization"
        };
        root.draw(&Text::new(
            lin_text.to_string(),
            (x + 28, legend_y),
            left_text.color(&INK),
        ))
        .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(with_titles(out, &titles))
}

/// `svg` with a transparent rectangle over each of `areas` (left, top, right, bottom) whose `<title>`
/// is the full text there: a viewer shows it on hover, and text search finds it. Plotters has no
/// element for titles, so they go in last, on top.
fn with_titles(svg: String, areas: &[(i32, i32, i32, i32, String)]) -> String {
    let Some(end) = svg.rfind("</svg>") else {
        return svg;
    };
    let mut out = String::with_capacity(svg.len() + areas.len() * 96);
    out.push_str(&svg[..end]);
    for (x0, y0, x1, y1, text) in areas {
        out.push_str(&format!(
            "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill=\"transparent\"><title>{}</title></rect>\n",
            (x1 - x0).max(1),
            (y1 - y0).max(1),
            xml_escape(text)
        ));
    }
    out.push_str(&svg[end..]);
    out
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `label`, cut in the middle to [`MAX_LABEL_CHARS`] characters.
#[cfg(test)]
fn shorten(label: &str) -> String {
    shorten_to(label, MAX_LABEL_CHARS)
}

/// `label`, cut in the middle to `max` characters (at least 3) with an ellipsis.
fn shorten_to(label: &str, max: usize) -> String {
    let max = max.max(3);
    let chars: Vec<char> = label.chars().collect();
    if chars.len() <= max {
        return label.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('\u{2026}');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// For an illegal partition, the model state its longest linearizable prefix ends in.
fn prefix_state(partition: Option<&PartitionResult>) -> Option<&str> {
    let p = partition.filter(|p| p.verdict == Verdict::Illegal)?;
    let pl = p.partial.first()?;
    Some(
        pl.steps
            .last()
            .map_or(p.initial_state.as_str(), |s| s.state.as_str()),
    )
}

/// The steps drawn for a partition: its linearization, or its longest linearizable prefix.
fn chain_of(p: &PartitionResult) -> &[Step] {
    match p.verdict {
        Verdict::Illegal => p
            .partial
            .first()
            .map(|pl| pl.steps.as_slice())
            .unwrap_or(&[]),
        _ => &p.linearization,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{illegal_register, op};
    use checker::OpView;

    fn small() -> HistoryView {
        HistoryView {
            model: "register".into(),
            operations: vec![
                op(1, 0, Some(10), "write(1)", Some("")),
                op(2, 12, Some(20), "read()", Some("2")),
                op(3, 5, None, "write(3)", None),
            ],
            annotations: vec![],
            time_unit: None,
        }
    }

    #[test]
    fn svg_has_lanes_labels_and_the_error() {
        let view = small();
        let result = illegal_register(&view);
        let svg = render(&view, &result).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        for text in [
            "client 1",
            "client 2",
            "client 3",
            "write(1)",
            "read() -&gt; 2",
            "write(3) -&gt; ?",
            "not linearizable",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        // The stuck operation is drawn in red.
        assert!(
            svg.contains("#DC2626") || svg.contains("#dc2626"),
            "no red in the SVG"
        );
        // The prefix is drawn as a polyline (plotters writes paths as <polyline>).
        assert!(svg.contains("<polyline"), "no polyline");
    }

    #[test]
    fn large_illegal_partitions_are_cut_down_around_the_error() {
        let mut operations = Vec::new();
        for i in 0..200 {
            operations.push(op(
                i % 4,
                i as i64 * 10,
                Some(i as i64 * 10 + 5),
                "read()",
                Some("0"),
            ));
        }
        let view = HistoryView {
            model: "register".into(),
            operations,
            annotations: vec![],
            time_unit: None,
        };
        let mut result = illegal_register(&view);
        let p = &mut result.partitions[0];
        p.operations = (0..200).collect();
        p.partial[0].steps = (0..150)
            .map(|op| Step {
                op,
                state: "0".into(),
            })
            .collect();
        p.partial[0].stuck = vec![150];
        p.partial[0].blocking = 150;
        let f = focus(&view, &result);
        assert_eq!(f.ops.len(), MAX_OPS);
        assert!(f.ops.contains(&150) && f.ops.contains(&149));
        assert!(!f.ops.contains(&0), "far from the error");
        assert!(!f.ops.contains(&151), "after the error");
        assert!(
            f.caption.contains(&format!("{MAX_OPS} of its 200")),
            "{}",
            f.caption
        );
    }

    #[test]
    fn long_labels_keep_both_ends() {
        let long = format!("get(k) -> \"{}\"", "x 1 y ".repeat(20));
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_LABEL_CHARS);
        assert!(
            short.starts_with("get(k) -> ") && short.ends_with("y \""),
            "{short}"
        );
        assert_eq!(shorten("put(x, a)"), "put(x, a)");
    }

    #[test]
    fn long_values_fit_the_width_and_keep_their_full_text_in_titles() {
        let value = "x 1 y ".repeat(40);
        let operations: Vec<OpView> = (0..12)
            .map(|k| {
                op(
                    k,
                    k as i64 * 100,
                    Some(k as i64 * 100 + 50),
                    &format!("get(k{k})"),
                    Some(&format!("{value}{k}")),
                )
            })
            .collect();
        let view = HistoryView {
            model: "kv".into(),
            operations,
            annotations: vec![],
            time_unit: None,
        };
        let mut result = illegal_register(&view);
        result.partitions[0].partial[0].steps[0].state = format!("{{k0: {value:?}}}");
        let svg = render(&view, &result).unwrap();
        let width: i32 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .unwrap();
        assert!(width <= MAX_WIDTH, "{width}");
        // Every operation's full label, and the full state, are in titles; the drawn text is cut.
        for k in 0..12 {
            let full = xml_escape(&format!("get(k{k}) -> {value}{k}"));
            assert!(svg.contains(&format!("<title>{full}</title>")), "#{k}");
        }
        assert!(svg.contains("<title>after the longest linearizable prefix the state is {k0: "));
        assert!(svg.contains('\u{2026}'));
    }

    #[test]
    fn bad_indices_are_an_error() {
        let view = small();
        let mut result = illegal_register(&view);
        result.partitions[0].operations.push(7);
        assert!(matches!(
            render(&view, &result),
            Err(Error::OperationOutOfRange { index: 7, len: 3 })
        ));
    }
}
