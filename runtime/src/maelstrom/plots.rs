//! The pictures of a run, drawn with plotters as SVG: latency over time, throughput over time, and a
//! Lamport diagram of the messages (one lane per node, clients and services; time runs down).

use plotters::prelude::*;

use super::network::Logged;
use super::workload::JsonHistory;

/// Why plotters could not draw a picture (its error, whose type depends on the backend, as text).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(String);

impl PlotError {
    fn new(e: impl std::fmt::Display) -> PlotError {
        PlotError(e.to_string())
    }
}

type Plot = Result<String, PlotError>;

fn kind_of(input: &serde_json::Value) -> String {
    input["f"]
        .as_str()
        .or_else(|| input["op"].as_str())
        .unwrap_or("?")
        .to_string()
}

/// Each operation's latency (ms) against its call time (s); ok green, failed red, unknown (drawn at the
/// top of the chart) grey.
pub fn latency(history: &JsonHistory, start: i64) -> Plot {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::new)?;
        let points: Vec<(f64, f64, u8)> = history
            .operations
            .iter()
            .map(|op| {
                let t = (op.call - start) as f64 / 1e9;
                match op.ret {
                    Some(r) => (t, (r - op.call) as f64 / 1e6, if op.failed { 1 } else { 0 }),
                    None => (t, f64::NAN, 2),
                }
            })
            .collect();
        let max_t = points.iter().map(|p| p.0).fold(1.0, f64::max);
        let max_l = points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|p| p.1)
            .fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Latency of each operation (ms) by call time (s)",
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..max_t * 1.02, 0.0..max_l * 1.1)
            .map_err(PlotError::new)?;
        chart.configure_mesh().draw().map_err(PlotError::new)?;
        for (class, color, label) in [(0u8, GREEN, "ok"), (1, RED, "fail"), (2, BLACK, "info")] {
            let series: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.2 == class)
                .map(|p| (p.0, if p.1.is_finite() { p.1 } else { max_l * 1.05 }))
                .collect();
            chart
                .draw_series(
                    series
                        .into_iter()
                        .map(|p| Circle::new(p, 2, color.filled())),
                )
                .map_err(PlotError::new)?
                .label(label)
                .legend(move |(x, y)| Circle::new((x, y), 3, color.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(PlotError::new)?;
        root.present().map_err(PlotError::new)?;
    }
    Ok(svg)
}

/// Completed operations per second, by kind.
pub fn rate(history: &JsonHistory, start: i64) -> Plot {
    let mut kinds: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    let end = history
        .operations
        .iter()
        .filter_map(|op| op.ret)
        .max()
        .unwrap_or(start);
    let bins = (((end - start) as f64 / 1e9).ceil() as usize).max(1);
    for op in &history.operations {
        let Some(r) = op.ret else { continue };
        let bin = (((r - start).max(0) as f64 / 1e9) as usize).min(bins - 1);
        kinds
            .entry(kind_of(&op.input))
            .or_insert_with(|| vec![0; bins])[bin] += 1;
    }
    let max = kinds.values().flatten().copied().max().unwrap_or(1).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::new)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Completed operations per second", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0..bins, 0..max + 1)
            .map_err(PlotError::new)?;
        chart.configure_mesh().draw().map_err(PlotError::new)?;
        for (i, (kind, counts)) in kinds.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(counts.iter().copied().enumerate(), color))
                .map_err(PlotError::new)?
                .label(kind.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(PlotError::new)?;
        root.present().map_err(PlotError::new)?;
    }
    Ok(svg)
}

/// A Lamport diagram of (at most the first [`LOG_LIMIT`](super::network::LOG_LIMIT)) messages: clients
/// share the leftmost lane; a message dropped or never delivered is drawn as a red stub.
pub fn lamport(messages: &[Logged], node_count: usize) -> Plot {
    let lane_of = |name: &str| -> usize {
        if let Some(i) = name.strip_prefix('n').and_then(|i| i.parse::<usize>().ok()) {
            if i < node_count {
                return i + 1;
            }
        }
        match name {
            "lin-kv" => node_count + 1,
            "seq-kv" => node_count + 2,
            "lww-kv" => node_count + 3,
            "lin-tso" => node_count + 4,
            _ => 0,
        }
    };
    let lanes = node_count + 5;
    let t0 = messages.iter().map(|m| m.sent).min().unwrap_or(0);
    let t1 = messages
        .iter()
        .map(|m| m.delivered.unwrap_or(m.sent))
        .max()
        .unwrap_or(1)
        .max(t0 + 1);
    let height = 1200u32;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (120 * lanes as u32, height)).into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::new)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Messages (first {}), time down, in ms", messages.len()),
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5..lanes as f64 - 0.5, (t1 - t0) as f64 / 1e6..0.0)
            .map_err(PlotError::new)?;
        let names: Vec<String> = std::iter::once("clients".to_string())
            .chain((0..node_count).map(|i| format!("n{i}")))
            .chain(["lin-kv", "seq-kv", "lww-kv", "lin-tso"].map(String::from))
            .collect();
        chart
            .configure_mesh()
            .x_labels(lanes)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .disable_x_mesh()
            .draw()
            .map_err(PlotError::new)?;
        let ms = |t: i64| (t - t0) as f64 / 1e6;
        chart
            .draw_series(messages.iter().map(|m| {
                let a = (lane_of(&m.src) as f64, ms(m.sent));
                match m.delivered {
                    Some(d) => {
                        PathElement::new(vec![a, (lane_of(&m.dest) as f64, ms(d))], BLUE.mix(0.5))
                    }
                    None => {
                        let towards = lane_of(&m.dest) as f64;
                        let b = (a.0 + (towards - a.0) * 0.25, a.1);
                        PathElement::new(vec![a, b], RED.mix(0.8))
                    }
                }
            }))
            .map_err(PlotError::new)?;
        root.present().map_err(PlotError::new)?;
    }
    Ok(svg)
}
