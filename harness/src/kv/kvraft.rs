//! kvraft (4A/4B) under the simulator: in progress.
