//! A pure-Rust io_uring: the uapi structures, the three syscalls, the ring with its
//! mappings, SQE builders, registration calls and provided-buffer rings.
//!
//! It knows nothing of tests. It is built for a conformance suite, so every field the
//! kernel reads can be given any value (opcodes and flags are integer newtypes), while
//! memory the kernel may write is only ever [`Mem`]: an mmap-backed region that the ring
//! keeps alive until the kernel is done with it.
//!
//! The one piece kept for a test harness, [`census`] (the mappings the crate has not
//! unmapped, the regions rings leaked on purpose), is read-only bookkeeping the ring
//! itself never consults.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod abi;
pub mod bufring;
pub mod census;
pub mod compat;
mod errno;
mod error;
pub mod mem;
pub mod op;
pub mod register;
pub mod ring;
pub mod sys;
pub mod trace;

pub use bufring::{BufRing, BufRingMemory};
pub use compat::{Abi, MsgHdr};
pub use errno::Errno;
pub use error::Error;
pub use mem::{BufSlice, ForeignAddr, HeldIov, HeldIovecs, HeldMem, HeldSlice, Mem};
pub use op::Sqe;
pub use ring::{Cqe, PushError, Ring, RingBuilder, SqBatch, WaitError};
