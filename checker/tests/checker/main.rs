//! Integration tests of the checker: hand-made histories, the corpus, the formats, and a brute-force oracle.

mod corpus;
mod edn;
mod examples;
mod explain;
mod formats;
mod fuzz;
mod gen;
mod models;
mod oracle;
mod recorder;
mod search;
