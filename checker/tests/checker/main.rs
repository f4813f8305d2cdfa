//! Integration tests of the checker: hand-made histories, the corpus, the formats, and a brute-force oracle.

mod corpus;
mod examples;
mod formats;
mod oracle;
mod search;
