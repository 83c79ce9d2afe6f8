//! Facts of the files the rows make in the temp directory beyond the filesystem's type:
//! whether such a file can be polled, which decides when io_uring commits a provided buffer.

use super::FsType;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};

/// What epoll said of a fresh regular file in the temp directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EpollAnswer {
    /// epoll_ctl(EPOLL_CTL_ADD) of the file: `Ok` or its errno.
    Added(Result<(), Errno>),
    /// epoll_create1(2) failed (ENOSYS: no CONFIG_EPOLL; EMFILE, ENFILE, ENOMEM: no room).
    NoEpoll(Errno),
}

/// Whether a regular file in the temp directory has no `->poll` (file_can_poll() false,
/// include/linux/poll.h), and how that was decided. Such a file makes kbuf.c's
/// io_should_commit() commit a provided buffer at selection, with the requested length;
/// a file with `->poll` (FUSE: fuse_file_poll) is committed at completion with the bytes
/// read, or at selection when the filesystem sends the read to io-wq.
///
/// The call is epoll_ctl(EPOLL_CTL_ADD) of a fresh temp file (made as the rows make theirs):
/// fs/eventpoll.c do_epoll_ctl_file() answers EPERM exactly when `!file_can_poll()`. The
/// rows' calls are io_uring READs, so no row decides its answer by its own call. Without
/// CONFIG_EPOLL (ENOSYS) the filesystem's type decides: FUSE's regular files poll, those of
/// every other filesystem the suite knows do not; an unknown one leaves it undetermined.
pub(super) fn tmpdir_file_not_pollable(fs: Option<FsType>) -> (bool, String) {
    let dir = std::env::temp_dir();
    let file = match tempfile::tempfile() {
        Ok(f) => f,
        Err(e) => return (false, format!("no temp file in {}: {e}", dir.display())),
    };
    let answer = match Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC) {
        Ok(ep) => EpollAnswer::Added(ep.add(&file, EpollEvent::new(EpollFlags::EPOLLIN, 0))),
        Err(e) => EpollAnswer::NoEpoll(e),
    };
    let (not_pollable, how) = decide(answer, fs);
    (
        not_pollable == Some(true),
        format!("a regular temp file in {}: {how}", dir.display()),
    )
}

/// The verdict (`Some(true)`: no `->poll`; `None`: undetermined) and how it was decided.
pub(super) fn decide(answer: EpollAnswer, fs: Option<FsType>) -> (Option<bool>, String) {
    let by_epoll = |r: &str| format!("epoll_ctl(EPOLL_CTL_ADD, EPOLLIN) -> {r}");
    match answer {
        EpollAnswer::Added(Ok(())) => (Some(false), by_epoll("0 (it has ->poll)")),
        EpollAnswer::Added(Err(Errno::EPERM)) => {
            (Some(true), by_epoll("EPERM (no ->poll: do_epoll_ctl_file)"))
        }
        EpollAnswer::Added(Err(e)) => (None, by_epoll(&format!("{e} (undetermined)"))),
        EpollAnswer::NoEpoll(Errno::ENOSYS) => {
            let verdict = fs.and_then(regular_files_poll).map(|polls| !polls);
            let fs_name = fs.map_or_else(|| "no filesystem type".to_string(), FsType::describe);
            let by_type = match verdict {
                Some(true) => "whose regular files have no ->poll",
                Some(false) => "whose regular files have ->poll",
                None => "not known to the suite: undetermined",
            };
            (
                verdict,
                format!("epoll_create1 -> ENOSYS (no CONFIG_EPOLL); decided by the filesystem: {fs_name}, {by_type}"),
            )
        }
        EpollAnswer::NoEpoll(e) => (
            None,
            format!("epoll_create1 -> {e} (no epoll instance: undetermined)"),
        ),
    }
}

/// Whether regular files of a filesystem the suite knows have `->poll` in their
/// file_operations: only FUSE's (fuse_file_operations.poll = fuse_file_poll) among them;
/// overlayfs's ovl_file_operations, nfs_file_operations, shmem's, ext4's, xfs's, btrfs's,
/// f2fs's and ramfs's have none. `None` for a filesystem the suite does not know.
fn regular_files_poll(fs: FsType) -> Option<bool> {
    fs.name().map(|n| n == "fuse")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TMPFS: FsType = FsType(0x0102_1994);
    const FUSE: FsType = FsType(0x6573_5546);

    #[test]
    fn epoll_decides_where_it_exists() {
        assert_eq!(
            decide(EpollAnswer::Added(Err(Errno::EPERM)), Some(FUSE)).0,
            Some(true),
            "epoll's answer wins over the type"
        );
        assert_eq!(
            decide(EpollAnswer::Added(Ok(())), Some(TMPFS)).0,
            Some(false)
        );
        let (v, how) = decide(EpollAnswer::Added(Err(Errno::ENOMEM)), Some(TMPFS));
        assert_eq!(v, None);
        assert!(
            how.contains("ENOMEM") && how.contains("undetermined"),
            "{how}"
        );
    }

    #[test]
    fn without_epoll_the_filesystem_decides_and_says_so() {
        let (v, how) = decide(EpollAnswer::NoEpoll(Errno::ENOSYS), Some(TMPFS));
        assert_eq!(v, Some(true));
        assert!(
            how.contains("CONFIG_EPOLL") && how.contains("tmpfs"),
            "{how}"
        );
        assert_eq!(
            decide(EpollAnswer::NoEpoll(Errno::ENOSYS), Some(FUSE)).0,
            Some(false)
        );
        let (v, how) = decide(EpollAnswer::NoEpoll(Errno::ENOSYS), Some(FsType(0x1234)));
        assert_eq!(v, None);
        assert!(how.contains("unknown"), "{how}");
        assert_eq!(decide(EpollAnswer::NoEpoll(Errno::ENOSYS), None).0, None);
    }

    #[test]
    fn no_room_for_an_epoll_instance_is_undetermined() {
        let (v, how) = decide(EpollAnswer::NoEpoll(Errno::EMFILE), Some(TMPFS));
        assert_eq!(v, None);
        assert!(how.contains("EMFILE"), "{how}");
    }

    /// Where the tests run, the probe answers and says how.
    #[test]
    fn this_machine_is_probed() {
        let (_, how) = tmpdir_file_not_pollable(None);
        assert!(how.contains("temp"), "{how}");
    }
}
