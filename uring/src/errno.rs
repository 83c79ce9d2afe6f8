//! The kernel's answer as a value: `Errno(i32)` keeps unknown numbers representable.

use std::fmt;

/// A positive errno value as returned by a syscall (or negated in a CQE's `res`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(#[allow(missing_docs)] pub const $name: Errno = Errno(libc::$name);)*
            /// The symbolic name (`"EINVAL"`), or `None` for a number this crate does not name.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(libc::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
            /// The errno with this symbolic name.
            pub fn from_name(name: &str) -> Option<Errno> {
                match name {
                    $(stringify!($name) => Some(Errno::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errnos!(
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, EBADF, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY,
    EEXIST, ENODEV, ENOTDIR, EINVAL, ENFILE, EMFILE, EFBIG, ENOSPC, ESPIPE, EPIPE, ERANGE, ENOSYS,
    EOPNOTSUPP, EOVERFLOW, EBADFD, ENOBUFS, ECANCELED, ETIME, ETIMEDOUT, EOWNERDEAD, EALREADY,
    ENOTSOCK, ECONNRESET, EMSGSIZE, ENOTCONN, ENODATA,
);

impl Errno {
    /// The errno of the last failed libc call on this thread.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// Interprets a CQE `res` or raw return value: negative means `-errno`.
    pub fn from_res(res: i32) -> Result<i32, Errno> {
        if res < 0 {
            Err(Errno(-res))
        } else {
            Ok(res)
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names_round_trip_and_unknown_stays_numeric() {
        assert_eq!(Errno::from_name("ENXIO"), Some(Errno::ENXIO));
        assert_eq!(Errno::EBADFD.name(), Some("EBADFD"));
        assert_eq!(format!("{:?}", Errno(4000)), "Errno(4000)");
        assert_eq!(Errno::from_res(-22), Err(Errno::EINVAL));
        assert_eq!(Errno::from_res(7), Ok(7));
    }
}
