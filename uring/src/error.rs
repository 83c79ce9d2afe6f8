//! [`Error`]: why a call failed, keeping the kernel's answers apart from the library's own
//! refusals. An [`Errno`] in this crate is always what the kernel answered; a call that can
//! fail before any syscall is made returns [`Error`], whose other variants say so.

use crate::Errno;
use std::fmt;

/// The error of a call that can fail without asking the kernel.
///
/// There is deliberately no conversion to [`Errno`]: a refusal of the library must never be
/// mistaken for an answer of the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The kernel answered this errno.
    Kernel(Errno),
    /// What was asked is valid for the kernel but this crate cannot do it (no syscall was
    /// made).
    Unsupported(&'static str),
    /// The arguments break a rule of this crate's safe API (no syscall was made).
    Usage(&'static str),
    /// A value the compat ABI carries in 32 bits (a pointer or a length in a
    /// `compat_iovec` or `compat_msghdr`) does not fit: the structure could not be laid out
    /// for a compat ring (no syscall was made).
    Above32Bits {
        /// The field, e.g. "an iovec base".
        what: &'static str,
        /// The value that does not fit.
        value: u64,
    },
}

impl Error {
    /// The kernel's errno, if the kernel answered.
    pub fn kernel(self) -> Option<Errno> {
        match self {
            Error::Kernel(e) => Some(e),
            Error::Unsupported(_) | Error::Usage(_) | Error::Above32Bits { .. } => None,
        }
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Error {
        Error::Kernel(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Kernel(e) => write!(f, "{e}"),
            Error::Unsupported(what) => {
                write!(
                    f,
                    "not supported by the uring crate (no syscall made): {what}"
                )
            }
            Error::Usage(what) => write!(f, "refused by the uring crate (no syscall made): {what}"),
            Error::Above32Bits { what, value } => write!(
                f,
                "refused by the uring crate (no syscall made): {what} {value:#x} does not fit \
                 the 32 bits of the compat layout"
            ),
        }
    }
}

impl std::error::Error for Error {}
