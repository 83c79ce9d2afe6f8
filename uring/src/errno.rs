//! The kernel's answer as a value: `Errno(i32)` keeps unknown numbers representable.
//!
//! Every errno the kernel defines has its name: the uapi ones of
//! `include/uapi/asm-generic/errno-base.h` and `errno.h` (the numbering of x86, arm64 and
//! the other asm-generic architectures), and the kernel-internal ones of
//! `include/linux/errno.h` (512 and up), which must never reach user space but can leak
//! through a bug: a CQE with `res = -ERESTARTSYS` or `-ENOTSUPP` reads by name.

use std::fmt;

/// A positive errno value as returned by a syscall (or negated in a CQE's `res`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $value:literal),* $(,)?) => {
        impl Errno {
            $(#[allow(missing_docs)] pub const $name: Errno = Errno($value);)*
            /// Every named errno, in numeric order.
            pub const KNOWN: &'static [Errno] = &[$(Errno::$name),*];
            /// The symbolic name (`"EINVAL"`), or `None` for a number the kernel does not name.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
            /// The errno with this symbolic name (or alias: `EWOULDBLOCK`, `EDEADLOCK`,
            /// `EFSBADCRC`, `EFSCORRUPTED`, and libc's `ENOTSUP`).
            pub fn from_name(name: &str) -> Option<Errno> {
                match name {
                    $(stringify!($name) => Some(Errno::$name),)*
                    "EWOULDBLOCK" => Some(Errno::EAGAIN),
                    "EDEADLOCK" => Some(Errno::EDEADLK),
                    "EFSBADCRC" => Some(Errno::EBADMSG),
                    "EFSCORRUPTED" => Some(Errno::EUCLEAN),
                    "ENOTSUP" => Some(Errno::EOPNOTSUPP),
                    _ => None,
                }
            }
        }
    };
}

errnos!(
    // include/uapi/asm-generic/errno-base.h and errno.h
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTBLK = 15,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOMSG = 42,
    EIDRM = 43,
    ECHRNG = 44,
    EL2NSYNC = 45,
    EL3HLT = 46,
    EL3RST = 47,
    ELNRNG = 48,
    EUNATCH = 49,
    ENOCSI = 50,
    EL2HLT = 51,
    EBADE = 52,
    EBADR = 53,
    EXFULL = 54,
    ENOANO = 55,
    EBADRQC = 56,
    EBADSLT = 57,
    EBFONT = 59,
    ENOSTR = 60,
    ENODATA = 61,
    ETIME = 62,
    ENOSR = 63,
    ENONET = 64,
    ENOPKG = 65,
    EREMOTE = 66,
    ENOLINK = 67,
    EADV = 68,
    ESRMNT = 69,
    ECOMM = 70,
    EPROTO = 71,
    EMULTIHOP = 72,
    EDOTDOT = 73,
    EBADMSG = 74,
    EOVERFLOW = 75,
    ENOTUNIQ = 76,
    EBADFD = 77,
    EREMCHG = 78,
    ELIBACC = 79,
    ELIBBAD = 80,
    ELIBSCN = 81,
    ELIBMAX = 82,
    ELIBEXEC = 83,
    EILSEQ = 84,
    ERESTART = 85,
    ESTRPIPE = 86,
    EUSERS = 87,
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EPFNOSUPPORT = 96,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ENETRESET = 102,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ESHUTDOWN = 108,
    ETOOMANYREFS = 109,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
    ESTALE = 116,
    EUCLEAN = 117,
    ENOTNAM = 118,
    ENAVAIL = 119,
    EISNAM = 120,
    EREMOTEIO = 121,
    EDQUOT = 122,
    ENOMEDIUM = 123,
    EMEDIUMTYPE = 124,
    ECANCELED = 125,
    ENOKEY = 126,
    EKEYEXPIRED = 127,
    EKEYREVOKED = 128,
    EKEYREJECTED = 129,
    EOWNERDEAD = 130,
    ENOTRECOVERABLE = 131,
    ERFKILL = 132,
    EHWPOISON = 133,
    EFTYPE = 134,
    // include/linux/errno.h: kernel-internal, never meant for user space
    ERESTARTSYS = 512,
    ERESTARTNOINTR = 513,
    ERESTARTNOHAND = 514,
    ENOIOCTLCMD = 515,
    ERESTART_RESTARTBLOCK = 516,
    EPROBE_DEFER = 517,
    EOPENSTALE = 518,
    ENOPARAM = 519,
    EBADHANDLE = 521,
    ENOTSYNC = 522,
    EBADCOOKIE = 523,
    ENOTSUPP = 524,
    ETOOSMALL = 525,
    ESERVERFAULT = 526,
    EBADTYPE = 527,
    EJUKEBOX = 528,
    EIOCBQUEUED = 529,
    ERECALLCONFLICT = 530,
    ENOGRACE = 531,
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
        assert_eq!(format!("{}", Errno(520)), "Errno(520)");
        assert_eq!(format!("{}", Errno(0)), "Errno(0)");
        assert_eq!(Errno::from_res(-22), Err(Errno::EINVAL));
        assert_eq!(Errno::from_res(7), Ok(7));
    }

    /// Every known value prints its own name, and the name leads back to it.
    #[test]
    fn every_known_errno_prints_its_name() {
        assert_eq!(Errno::KNOWN.len(), 151);
        for &e in Errno::KNOWN {
            let name = e.name().expect("named");
            assert_eq!(format!("{e}"), name);
            assert_eq!(Errno::from_name(name), Some(e), "{name}");
        }
        for (n, name) in [
            (15, "ENOTBLK"),
            (77, "EBADFD"),
            (130, "EOWNERDEAD"),
            (134, "EFTYPE"),
            (512, "ERESTARTSYS"),
            (516, "ERESTART_RESTARTBLOCK"),
            (524, "ENOTSUPP"),
            (529, "EIOCBQUEUED"),
            (531, "ENOGRACE"),
        ] {
            assert_eq!(Errno(n).to_string(), name);
        }
        for (alias, e) in [
            ("EWOULDBLOCK", Errno::EAGAIN),
            ("EDEADLOCK", Errno::EDEADLK),
            ("ENOTSUP", Errno::EOPNOTSUPP),
        ] {
            assert_eq!(Errno::from_name(alias), Some(e));
        }
    }

    /// The numbers agree with the C library of the target architecture.
    #[test]
    fn numbers_match_libc() {
        for (ours, theirs) in [
            (Errno::EPERM, libc::EPERM),
            (Errno::ENOENT, libc::ENOENT),
            (Errno::ESRCH, libc::ESRCH),
            (Errno::EINTR, libc::EINTR),
            (Errno::EIO, libc::EIO),
            (Errno::ENXIO, libc::ENXIO),
            (Errno::E2BIG, libc::E2BIG),
            (Errno::ENOEXEC, libc::ENOEXEC),
            (Errno::EBADF, libc::EBADF),
            (Errno::ECHILD, libc::ECHILD),
            (Errno::EAGAIN, libc::EAGAIN),
            (Errno::ENOMEM, libc::ENOMEM),
            (Errno::EACCES, libc::EACCES),
            (Errno::EFAULT, libc::EFAULT),
            (Errno::ENOTBLK, libc::ENOTBLK),
            (Errno::EBUSY, libc::EBUSY),
            (Errno::EEXIST, libc::EEXIST),
            (Errno::EXDEV, libc::EXDEV),
            (Errno::ENODEV, libc::ENODEV),
            (Errno::ENOTDIR, libc::ENOTDIR),
            (Errno::EISDIR, libc::EISDIR),
            (Errno::EINVAL, libc::EINVAL),
            (Errno::ENFILE, libc::ENFILE),
            (Errno::EMFILE, libc::EMFILE),
            (Errno::ENOTTY, libc::ENOTTY),
            (Errno::ETXTBSY, libc::ETXTBSY),
            (Errno::EFBIG, libc::EFBIG),
            (Errno::ENOSPC, libc::ENOSPC),
            (Errno::ESPIPE, libc::ESPIPE),
            (Errno::EROFS, libc::EROFS),
            (Errno::EMLINK, libc::EMLINK),
            (Errno::EPIPE, libc::EPIPE),
            (Errno::EDOM, libc::EDOM),
            (Errno::ERANGE, libc::ERANGE),
            (Errno::EDEADLK, libc::EDEADLK),
            (Errno::ENAMETOOLONG, libc::ENAMETOOLONG),
            (Errno::ENOLCK, libc::ENOLCK),
            (Errno::ENOSYS, libc::ENOSYS),
            (Errno::ENOTEMPTY, libc::ENOTEMPTY),
            (Errno::ELOOP, libc::ELOOP),
            (Errno::ENOMSG, libc::ENOMSG),
            (Errno::EIDRM, libc::EIDRM),
            (Errno::ECHRNG, libc::ECHRNG),
            (Errno::EL2NSYNC, libc::EL2NSYNC),
            (Errno::EL3HLT, libc::EL3HLT),
            (Errno::EL3RST, libc::EL3RST),
            (Errno::ELNRNG, libc::ELNRNG),
            (Errno::EUNATCH, libc::EUNATCH),
            (Errno::ENOCSI, libc::ENOCSI),
            (Errno::EL2HLT, libc::EL2HLT),
            (Errno::EBADE, libc::EBADE),
            (Errno::EBADR, libc::EBADR),
            (Errno::EXFULL, libc::EXFULL),
            (Errno::ENOANO, libc::ENOANO),
            (Errno::EBADRQC, libc::EBADRQC),
            (Errno::EBADSLT, libc::EBADSLT),
            (Errno::EBFONT, libc::EBFONT),
            (Errno::ENOSTR, libc::ENOSTR),
            (Errno::ENODATA, libc::ENODATA),
            (Errno::ETIME, libc::ETIME),
            (Errno::ENOSR, libc::ENOSR),
            (Errno::ENONET, libc::ENONET),
            (Errno::ENOPKG, libc::ENOPKG),
            (Errno::EREMOTE, libc::EREMOTE),
            (Errno::ENOLINK, libc::ENOLINK),
            (Errno::EADV, libc::EADV),
            (Errno::ESRMNT, libc::ESRMNT),
            (Errno::ECOMM, libc::ECOMM),
            (Errno::EPROTO, libc::EPROTO),
            (Errno::EMULTIHOP, libc::EMULTIHOP),
            (Errno::EDOTDOT, libc::EDOTDOT),
            (Errno::EBADMSG, libc::EBADMSG),
            (Errno::EOVERFLOW, libc::EOVERFLOW),
            (Errno::ENOTUNIQ, libc::ENOTUNIQ),
            (Errno::EBADFD, libc::EBADFD),
            (Errno::EREMCHG, libc::EREMCHG),
            (Errno::ELIBACC, libc::ELIBACC),
            (Errno::ELIBBAD, libc::ELIBBAD),
            (Errno::ELIBSCN, libc::ELIBSCN),
            (Errno::ELIBMAX, libc::ELIBMAX),
            (Errno::ELIBEXEC, libc::ELIBEXEC),
            (Errno::EILSEQ, libc::EILSEQ),
            (Errno::ERESTART, libc::ERESTART),
            (Errno::ESTRPIPE, libc::ESTRPIPE),
            (Errno::EUSERS, libc::EUSERS),
            (Errno::ENOTSOCK, libc::ENOTSOCK),
            (Errno::EDESTADDRREQ, libc::EDESTADDRREQ),
            (Errno::EMSGSIZE, libc::EMSGSIZE),
            (Errno::EPROTOTYPE, libc::EPROTOTYPE),
            (Errno::ENOPROTOOPT, libc::ENOPROTOOPT),
            (Errno::EPROTONOSUPPORT, libc::EPROTONOSUPPORT),
            (Errno::ESOCKTNOSUPPORT, libc::ESOCKTNOSUPPORT),
            (Errno::EOPNOTSUPP, libc::EOPNOTSUPP),
            (Errno::EPFNOSUPPORT, libc::EPFNOSUPPORT),
            (Errno::EAFNOSUPPORT, libc::EAFNOSUPPORT),
            (Errno::EADDRINUSE, libc::EADDRINUSE),
            (Errno::EADDRNOTAVAIL, libc::EADDRNOTAVAIL),
            (Errno::ENETDOWN, libc::ENETDOWN),
            (Errno::ENETUNREACH, libc::ENETUNREACH),
            (Errno::ENETRESET, libc::ENETRESET),
            (Errno::ECONNABORTED, libc::ECONNABORTED),
            (Errno::ECONNRESET, libc::ECONNRESET),
            (Errno::ENOBUFS, libc::ENOBUFS),
            (Errno::EISCONN, libc::EISCONN),
            (Errno::ENOTCONN, libc::ENOTCONN),
            (Errno::ESHUTDOWN, libc::ESHUTDOWN),
            (Errno::ETOOMANYREFS, libc::ETOOMANYREFS),
            (Errno::ETIMEDOUT, libc::ETIMEDOUT),
            (Errno::ECONNREFUSED, libc::ECONNREFUSED),
            (Errno::EHOSTDOWN, libc::EHOSTDOWN),
            (Errno::EHOSTUNREACH, libc::EHOSTUNREACH),
            (Errno::EALREADY, libc::EALREADY),
            (Errno::EINPROGRESS, libc::EINPROGRESS),
            (Errno::ESTALE, libc::ESTALE),
            (Errno::EUCLEAN, libc::EUCLEAN),
            (Errno::ENOTNAM, libc::ENOTNAM),
            (Errno::ENAVAIL, libc::ENAVAIL),
            (Errno::EISNAM, libc::EISNAM),
            (Errno::EREMOTEIO, libc::EREMOTEIO),
            (Errno::EDQUOT, libc::EDQUOT),
            (Errno::ENOMEDIUM, libc::ENOMEDIUM),
            (Errno::EMEDIUMTYPE, libc::EMEDIUMTYPE),
            (Errno::ECANCELED, libc::ECANCELED),
            (Errno::ENOKEY, libc::ENOKEY),
            (Errno::EKEYEXPIRED, libc::EKEYEXPIRED),
            (Errno::EKEYREVOKED, libc::EKEYREVOKED),
            (Errno::EKEYREJECTED, libc::EKEYREJECTED),
            (Errno::EOWNERDEAD, libc::EOWNERDEAD),
            (Errno::ENOTRECOVERABLE, libc::ENOTRECOVERABLE),
            (Errno::ERFKILL, libc::ERFKILL),
            (Errno::EHWPOISON, libc::EHWPOISON),
        ] {
            assert_eq!(ours.0, theirs, "{ours}");
        }
    }
}
