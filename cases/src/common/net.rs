//! The registered buffer and the socket reads of the socket opcodes' rows on registered
//! buffers ([`crate::fixed_net`], [`crate::fixed_net_zc`]).

use crate::common::pattern;
use crate::common::ring_with_buffer_in;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use uring::{Mem, Ring};
use uring_harness::{CaseError, Cx, Setup};

/// Where the rows' registered buffer starts in its memory: not on a page boundary.
pub const LEAD: u64 = 0x80;

/// The length of the rows' registered buffer: from [`LEAD`] to the end of two pages of this
/// machine (a literal 4096 would register and cross other boundaries on 16 KiB pages).
pub fn buf_len() -> u64 {
    2 * uring::sys::page_size() as u64 - LEAD
}

/// The registered buffer of these rows: [`buf_len`] bytes from [`LEAD`] into fresh memory
/// holding a pattern; returns the ring, the memory, the buffer's address and the pattern.
pub fn ring_with_pattern(cx: &Cx) -> Result<(Ring, Arc<Mem>, u64, Vec<u8>), CaseError> {
    let mem = cx.mem((LEAD + buf_len()) as usize)?;
    let data = pattern(mem.len(), 4);
    mem.write(0, &data);
    let (ring, base) = ring_with_buffer_in(cx, &mem, LEAD as usize)?;
    Ok((ring, mem, base, data))
}

/// Everything the socket `s` holds now, read without blocking.
pub fn drain_socket<S>(
    s: &S,
    nonblocking: fn(&S, bool) -> std::io::Result<()>,
) -> Result<Vec<u8>, CaseError>
where
    for<'a> &'a S: Read,
{
    nonblocking(s, true).setup("O_NONBLOCK on the peer")?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match (&mut &*s).read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) => return Err(CaseError::Broken(format!("read the peer: {e}"))),
        }
    }
}

/// Everything the AF_UNIX peer `s` holds now, read without blocking.
pub fn unix_drain(s: &UnixStream) -> Result<Vec<u8>, CaseError> {
    drain_socket(s, UnixStream::set_nonblocking)
}
