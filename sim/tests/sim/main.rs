//! The simulator on its own, with toy processes: no system is involved.

mod effects;
mod exec;
mod network;
mod rules;
