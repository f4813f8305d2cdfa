//! How the check's time grows with the length of a history at fixed concurrency: synthetic kv histories
//! (1,000 keys, 100 clients, 100 operations outstanding at once) of 62,500 to 1,000,000 operations, each
//! written as JSON Lines, then read, typed and checked as `quill check` does. Prints a table and draws
//! `docs/scaling.svg`.
//!
//! `cargo run --release -p quill-checker --example scaling [-- OUTPUT.svg]`

use std::path::PathBuf;
use std::time::Instant;

use checker::dynamic::check_raw;
use checker::formats::read_path;
use checker::gen::{generate, GenModel, GenOptions};
use checker::{Options, Verdict};
use plotters::prelude::*;

const SIZES: [usize; 5] = [62_500, 125_000, 250_000, 500_000, 1_000_000];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let svg = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scaling.svg"))
        });
    let file = std::env::temp_dir().join(format!("quill-scaling-{}.jsonl", std::process::id()));
    // (operations, seconds to read and check, seconds of the check alone)
    let mut points: Vec<(usize, f64, f64)> = Vec::new();
    println!("operations\tread+check_s\tcheck_s");
    for operations in SIZES {
        let options = GenOptions {
            model: GenModel::Kv,
            clients: 100,
            keys: 1000,
            operations,
            concurrency: 100,
            anomaly: None,
            seed: 1,
            pending_rate: 0.0,
        };
        generate(&options)?.write(std::io::BufWriter::new(std::fs::File::create(&file)?), true)?;
        let started = Instant::now();
        let checked = check_raw(read_path(&file, None)?, None, &Options::default())?;
        let total = started.elapsed().as_secs_f64();
        let check = checked.result.micros as f64 / 1e6;
        assert_eq!(
            checked.result.verdict,
            Verdict::Ok,
            "a clean generated history is linearizable"
        );
        println!("{operations}\t{total:.3}\t{check:.3}");
        points.push((operations, total, check));
    }
    std::fs::remove_file(&file)?;
    draw(&svg, &points)?;
    println!("wrote {}", svg.display());
    Ok(())
}

fn draw(path: &PathBuf, points: &[(usize, f64, f64)]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (720, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_ops = points.iter().map(|p| p.0).max().unwrap_or(1) as f64 / 1e6;
    let max_s = points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "quill check: kv, 1,000 keys, 100 clients (2 cores)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..max_ops * 1.05, 0.0..max_s)?;
    chart
        .configure_mesh()
        .x_desc("operations (millions)")
        .y_desc("seconds")
        .draw()?;
    let series = [
        ("read JSON Lines + check", 1, RED),
        ("check alone", 2, BLUE),
    ];
    for (label, which, color) in series {
        let data: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.0 as f64 / 1e6, if which == 1 { p.1 } else { p.2 }))
            .collect();
        chart
            .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(data.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    // Where a straight line through the origin and the largest point would be: linear growth.
    if let Some(&(n, t, _)) = points.last() {
        let slope = t / (n as f64 / 1e6);
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, 0.0), (max_ops, slope * max_ops)],
                BLACK.mix(0.3),
            ))?
            .label("linear (through the largest)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
