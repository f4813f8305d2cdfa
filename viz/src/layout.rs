//! Placing operations on a horizontal axis: the compressed time axis and linearization points.
//!
//! Real histories have long idle gaps and bursts of operations a few nanoseconds apart, so a proportional
//! axis makes most boxes invisible slivers. The compressed axis keeps only what linearizability depends
//! on, the order of all call and return instants, and spaces consecutive instants as closely as the labels
//! allow: each box is at least as wide as its label. Equal instants share a position, so operations whose
//! intervals touch still overlap on screen, as they do for the checker (intervals are closed).
//!
//! The page script (`assets/viewer.js`, `compressedLayout`) implements the same rule so that the static
//! SVG and the interactive page agree.

/// Horizontal extent of one operation, in pixels from the left of the plot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    pub x0: f64,
    pub x1: f64,
    /// No response: the box runs to the right edge.
    pub open: bool,
}

/// Lays out operations given as `(call, return, minimum width)` on a compressed axis.
///
/// Returns each operation's span and the total width. Consecutive distinct instants are at least `gap`
/// apart; an open operation runs to the right edge, which is pushed out far enough for its label.
pub(crate) fn compressed(ops: &[(i64, Option<i64>, f64)], gap: f64) -> (Vec<Span>, f64) {
    let mut instants: Vec<i64> = ops
        .iter()
        .flat_map(|&(c, r, _)| std::iter::once(c).chain(r))
        .collect();
    instants.sort_unstable();
    instants.dedup();
    let index = |t: i64| {
        instants
            .binary_search(&t)
            .expect("every instant was collected")
    };

    // Constraints only point forward in time, so one pass in instant order finds the narrowest layout.
    let mut ending: Vec<Vec<(usize, f64)>> = vec![Vec::new(); instants.len()];
    for &(c, r, w) in ops {
        if let Some(r) = r {
            ending[index(r)].push((index(c), w));
        }
    }
    let mut x = vec![0.0f64; instants.len()];
    for i in 0..instants.len() {
        let mut xi = if i == 0 { 0.0 } else { x[i - 1] + gap };
        for &(c, w) in &ending[i] {
            xi = xi.max(x[c] + w);
        }
        x[i] = xi;
    }
    let last = x.last().copied().unwrap_or(0.0);
    let right = ops
        .iter()
        .filter(|(_, r, _)| r.is_none())
        .map(|&(c, _, w)| x[index(c)] + w + gap)
        .fold(last, f64::max);
    let spans = ops
        .iter()
        .map(|&(c, r, _)| match r {
            Some(r) => Span {
                x0: x[index(c)],
                x1: x[index(r)],
                open: false,
            },
            None => Span {
                x0: x[index(c)],
                x1: right,
                open: true,
            },
        })
        .collect();
    (spans, right)
}

/// Points for a linearization: one x per step, inside that step's span and never decreasing.
///
/// Any valid linearization has such points (that is what linearizable means), and the earliest
/// choice, `max(previous, call)`, always finds them. Drawn that way every point hugs the left edge of its
/// box, so each point is instead put in the middle of the room it has: between the earliest point the
/// steps before allow and the latest point the steps after allow, and never before the previous point.
pub(crate) fn linearization_points(spans: &[Span]) -> Vec<f64> {
    let n = spans.len();
    let mut latest = vec![0.0f64; n];
    let mut bound = f64::INFINITY;
    for i in (0..n).rev() {
        bound = bound.min(spans[i].x1);
        latest[i] = bound;
    }
    let mut out = Vec::with_capacity(n);
    let mut earliest = f64::NEG_INFINITY;
    let mut previous = f64::NEG_INFINITY;
    for i in 0..n {
        earliest = earliest.max(spans[i].x0);
        // A prefix that is not a valid linearization (it never should be) still gets a point in its box.
        let hi = latest[i].max(earliest);
        let x = previous
            .max((earliest + hi) / 2.0)
            .min(spans[i].x1.max(spans[i].x0));
        out.push(x);
        previous = x;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_instants_is_kept_and_labels_fit() {
        // a: [0, 100], b: [50, 60], c: [1000, 1001] with a wide label.
        let ops = [
            (0, Some(100), 10.0),
            (50, Some(60), 30.0),
            (1000, Some(1001), 80.0),
        ];
        let (spans, width) = compressed(&ops, 4.0);
        assert_eq!(spans[0].x0, 0.0);
        assert_eq!(spans[1].x0, 4.0);
        assert_eq!(spans[1].x1, 34.0, "b's label needs 30");
        assert_eq!(spans[0].x1, 38.0, "a returns after b");
        assert_eq!(spans[2].x0, 42.0, "the idle gap is compressed");
        assert_eq!(spans[2].x1, 122.0);
        assert_eq!(width, 122.0);
    }

    #[test]
    fn equal_instants_share_a_position_and_open_ops_reach_the_edge() {
        let ops = [(0, Some(10), 5.0), (10, Some(20), 5.0), (5, None, 50.0)];
        let (spans, width) = compressed(&ops, 4.0);
        assert_eq!(spans[0].x1, spans[1].x0);
        assert!(spans[2].open);
        assert_eq!(spans[2].x1, width);
        assert!(width >= spans[2].x0 + 50.0);
    }

    #[test]
    fn linearization_points_are_inside_and_ordered() {
        let spans = [
            Span {
                x0: 0.0,
                x1: 100.0,
                open: false,
            },
            Span {
                x0: 10.0,
                x1: 20.0,
                open: false,
            },
            Span {
                x0: 5.0,
                x1: 200.0,
                open: false,
            },
            Span {
                x0: 150.0,
                x1: 160.0,
                open: false,
            },
        ];
        let xs = linearization_points(&spans);
        for (x, s) in xs.iter().zip(&spans) {
            assert!(s.x0 <= *x && *x <= s.x1, "{x} outside {s:?}");
        }
        assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{xs:?}");
    }
}
