//! The built-in models, and the table that finds one by name for histories read from files.
//!
//! | name | state | operations |
//! |---|---|---|
//! | `register` | one value, absent at first | read, write |
//! | `cas-register` | one value, absent at first | read, write, cas |
//! | `keyed-cas-register` | cas-registers by key, absent at first; partitioned by key | read, write, cas (with a key) |
//! | `kv` | strings by key, `""` at first; partitioned by key | get, put, append |
//! | `mutex` | locked or not, unlocked at first | acquire, release |
//! | `multi-register` | values by key, absent at first; by key when no transaction spans keys | txn of reads and writes |
//! | `queue` | a FIFO sequence, empty at first | enqueue, dequeue |
//! | `set` | a set, empty at first | add, read (the whole set) |
//! | `shard-config` | numbered shard configurations, config 0 at first | join, leave, move, query |

pub mod cas_register;
pub mod keyed_cas;
pub mod kv;
pub mod multi_register;
pub mod mutex;
mod orders;
pub mod queue;
pub mod register;
pub mod set;
pub mod shard_config;
mod value;

pub use cas_register::{CasInput, CasOutput, CasRegister};
pub use keyed_cas::{KeyedCasInput, KeyedCasRegister};
pub use kv::{Kv, KvInput, KvOutput};
pub use multi_register::{MicroKind, MicroOp, MultiInput, MultiOutput, MultiRegister};
pub use mutex::{Mutex, MutexInput, MutexOutput};
pub use queue::{Queue, QueueInput, QueueOutput};
pub use register::{Register, RegisterInput, RegisterOutput};
pub use set::{Set, SetInput, SetOutput};
pub use shard_config::{ConfigInput, ConfigOutput, ConfigState, ConfigView, ShardConfig};
pub use value::Value;
