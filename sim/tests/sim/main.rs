//! The simulator on its own, with toy processes: no system is involved.

mod crash_point;
mod effects;
mod exec;
mod network;
mod rules;
