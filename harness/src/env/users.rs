//! The uids rows run as when they must not share a memlock quota: io_uring charges locked
//! memory to the user (`user->locked_vm`, io_uring/rsrc.c __io_account_mem), which every
//! process of that uid shares. A row measuring RLIMIT_MEMLOCK therefore runs as a uid that
//! no process uses, chosen here from the uids mapped in this user namespace and verified
//! against every task in /proc (real, effective, saved and filesystem uid).

use std::collections::BTreeSet;

/// The uids chosen for this run, both used by no process when probed, both mapped (with the
/// gid of the same number) in this user namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpareUids {
    /// The uid (and gid) the unprivileged children of the memlock rows drop to.
    pub memlock_rows: u32,
    /// The uid of "another user" (clone_buffers::src_of_another_user's helper thread):
    /// not `memlock_rows`, so that its ring is never charged to the quota a child measures.
    pub another_user: u32,
}

/// The first candidate: below 65534 (nobody, and the overflow uid as which a user namespace
/// shows every task whose uid it does not map, so it cannot be verified unused), above
/// systemd's dynamic users (61184-65519).
const FIRST_CANDIDATE: u32 = 65_533;
/// Tasks of the target uid a child needs room for under RLIMIT_NPROC (copy_process checks
/// the new task's user against it, kernel/fork.c): the child and the thread a row starts.
pub(crate) const NPROC_NEEDED: u64 = 4;

/// One line of /proc/self/uid_map or gid_map: `inside outside count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdRange {
    inside: u32,
    outside: u32,
    count: u32,
}

/// The ranges of an id map; `None` where there is no map file (no CONFIG_USER_NS: every id
/// is mapped as itself).
pub(crate) fn read_id_map(path: &str) -> Result<Option<Vec<IdRange>>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(parse_id_map(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{path}: {e}")),
    }
}

fn parse_id_map(text: &str) -> Vec<IdRange> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().map(|v| v.parse::<u32>().ok());
            Some(IdRange {
                inside: f.next()??,
                outside: f.next()??,
                count: f.next()??,
            })
        })
        .collect()
}

/// `id` of this namespace as the parent namespace sees it, if the map maps it.
pub(crate) fn to_outside(map: &Option<Vec<IdRange>>, id: u32) -> Option<u32> {
    let Some(ranges) = map else {
        return Some(id);
    };
    ranges.iter().find_map(|r| {
        let off = id.checked_sub(r.inside)?;
        (off < r.count).then(|| r.outside.wrapping_add(off))
    })
}

/// A task holding `uid` as one of its uids: its pid (the thread's id for a thread) and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The task's id (/proc/PID/task/TID/status `Pid:`).
    pub pid: u32,
    /// The task's name (`Name:`).
    pub comm: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.comm)
    }
}

/// Every task of every process in /proc (threads too: setresuid(2) changes one thread),
/// with its real, effective, saved and filesystem uids. Tasks that end while being read
/// are left out.
fn tasks() -> Vec<(Holder, [u32; 4])> {
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let name = p.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(threads) = std::fs::read_dir(p.path().join("task")) else {
            continue;
        };
        for t in threads.flatten() {
            let Ok(status) = std::fs::read_to_string(t.path().join("status")) else {
                continue;
            };
            if let Some(task) = parse_status(&status) {
                out.push(task);
            }
        }
    }
    out
}

fn parse_status(status: &str) -> Option<(Holder, [u32; 4])> {
    let field = |key: &str| status.lines().find_map(|l| l.strip_prefix(key));
    let comm = field("Name:")?.trim().to_string();
    let pid = field("Pid:")?.trim().parse().ok()?;
    let ids: Vec<u32> = field("Uid:")?
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    Some((Holder { pid, comm }, ids.try_into().ok()?))
}

/// The tasks that have `uid` as a real, effective, saved or filesystem uid, in this pid
/// namespace's /proc.
pub fn holders_of(uid: u32) -> Vec<Holder> {
    tasks()
        .into_iter()
        .filter(|(_, ids)| ids.contains(&uid))
        .map(|(h, _)| h)
        .collect()
}

/// Whether /proc hides other users' tasks from this process (mounted with hidepid=1/2,
/// invisible or noaccess, and no CAP_SYS_PTRACE to see them anyway): then no scan can
/// verify that a uid is unused.
fn proc_hides_tasks() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let opts = mounts
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/proc"))?
        .rsplit(' ')
        .next()?
        .to_string();
    let hidepid = opts.split(',').find_map(|o| o.strip_prefix("hidepid="))?;
    let hides = !matches!(hidepid, "0" | "off");
    (hides && !super::probes::has_cap(CAP_SYS_PTRACE)).then(|| format!("hidepid={hidepid}"))
}

const CAP_SYS_PTRACE: u32 = 19;

/// The spare uids, or why there are none: a uid and the gid of the same number, both mapped
/// in this user namespace, that no task in /proc uses, searched downwards from
/// [`FIRST_CANDIDATE`].
fn choose(
    uid_map: &Option<Vec<IdRange>>,
    gid_map: &Option<Vec<IdRange>>,
    used: &BTreeSet<u32>,
) -> Option<SpareUids> {
    let mut free = (1..=FIRST_CANDIDATE).rev().filter(|id| {
        !used.contains(id)
            && to_outside(uid_map, *id).is_some()
            && to_outside(gid_map, *id).is_some()
    });
    Some(SpareUids {
        memlock_rows: free.next()?,
        another_user: free.next()?,
    })
}

/// Whether this process can run a row as a spare uid: CAP_SETUID and CAP_SETGID, two uids
/// (and gids) mapped here that no task uses, setgroups(2) allowed (or no supplementary
/// group to drop), and RLIMIT_NPROC room for the child's tasks. Read from /proc and
/// getrlimit; nothing is tried.
pub(super) fn can_drop_privileges() -> (bool, String, Option<SpareUids>) {
    let caps = super::probes::has_cap(super::probes::CAP_SETUID)
        && super::probes::has_cap(super::probes::CAP_SETGID);
    if !caps {
        return (
            false,
            "CapEff lacks CAP_SETUID or CAP_SETGID (/proc/self/status)".into(),
            None,
        );
    }
    if let Some(h) = proc_hides_tasks() {
        return (
            false,
            format!("/proc is mounted with {h} and this process lacks CAP_SYS_PTRACE: no uid can be verified unused"),
            None,
        );
    }
    let maps =
        read_id_map("/proc/self/uid_map").and_then(|u| Ok((u, read_id_map("/proc/self/gid_map")?)));
    let (uid_map, gid_map) = match maps {
        Ok(m) => m,
        Err(e) => return (false, e, None),
    };
    let tasks = tasks();
    let used: BTreeSet<u32> = tasks.iter().flat_map(|(_, ids)| *ids).collect();
    let Some(spare) = choose(&uid_map, &gid_map, &used) else {
        let show = |m: &Option<Vec<IdRange>>| match m {
            Some(r) => r
                .iter()
                .map(|r| format!("{} {} {}", r.inside, r.outside, r.count))
                .collect::<Vec<_>>()
                .join("; "),
            None => "all".into(),
        };
        return (
            false,
            format!(
                "no two uids in 1..={FIRST_CANDIDATE} are mapped (uid and gid) and used by no task: uid_map {}, gid_map {}, {} uids in use",
                show(&uid_map),
                show(&gid_map),
                used.len()
            ),
            None,
        );
    };
    let setgroups = std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "allow".into());
    let groups = nix::unistd::getgroups()
        .map(|g| g.len())
        .unwrap_or(usize::MAX);
    if setgroups != "allow" && groups > 0 {
        return (
            false,
            format!("/proc/self/setgroups is {setgroups:?} and this process has {groups} supplementary groups to drop"),
            Some(spare),
        );
    }
    let nproc = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC)
        .map_or(0, |l| l.0);
    if nproc < NPROC_NEEDED {
        return (
            false,
            format!(
                "RLIMIT_NPROC is {nproc}: a child as uid {} needs room for {NPROC_NEEDED} tasks",
                spare.memlock_rows
            ),
            Some(spare),
        );
    }
    let pidns = nested_pid_namespace();
    (
        true,
        format!(
            "CapEff has CAP_SETUID and CAP_SETGID; uids {} (memlock rows) and {} (another user) and their gids are mapped here and used by none of the {} tasks in /proc{}; /proc/self/setgroups {setgroups}; RLIMIT_NPROC {}",
            spare.memlock_rows,
            spare.another_user,
            tasks.len(),
            if pidns { " (this pid namespace's: tasks outside it are not seen)" } else { "" },
            if nproc == libc::RLIM_INFINITY { "unlimited".into() } else { nproc.to_string() },
        ),
        Some(spare),
    )
}

/// Whether this process is in a pid namespace below the initial one (NSpid lists more
/// than one pid), whose /proc does not show the tasks of its parents.
fn nested_pid_namespace() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .map(|v| v.split_whitespace().count() > 1)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_maps_translate_only_what_they_map() {
        let rootless = Some(parse_id_map(
            "         0       1000          1\n         1     100000      65536\n",
        ));
        assert_eq!(to_outside(&rootless, 0), Some(1000));
        assert_eq!(to_outside(&rootless, 65_533), Some(165_532));
        assert_eq!(to_outside(&rootless, 65_537), None);
        let map_root_only = Some(parse_id_map("0 0 1\n"));
        assert_eq!(to_outside(&map_root_only, 65_533), None);
        assert_eq!(
            to_outside(&None, 7),
            Some(7),
            "no user namespaces: all mapped"
        );
    }

    /// The choice skips used uids and uids whose uid or gid is not mapped, and finds none
    /// where only root is mapped (`unshare --user --map-root-user`).
    #[test]
    fn spare_uids_are_mapped_and_unused() {
        let used: BTreeSet<u32> = [0, 65_533, 65_531].into();
        let all = Some(parse_id_map("0 0 4294967295"));
        let gids = Some(parse_id_map("0 0 65532"));
        assert_eq!(
            choose(&all, &gids, &used),
            Some(SpareUids {
                memlock_rows: 65_530,
                another_user: 65_529
            })
        );
        assert_eq!(
            choose(&all, &None, &BTreeSet::new()),
            Some(SpareUids {
                memlock_rows: 65_533,
                another_user: 65_532
            })
        );
        let root_only = Some(parse_id_map("0 0 1"));
        assert_eq!(choose(&root_only, &root_only, &BTreeSet::new()), None);
    }

    #[test]
    fn task_status_gives_every_uid() {
        let status = "Name:\tcat\nUmask:\t0022\nState:\tR\nTgid:\t42\nNgid:\t0\nPid:\t43\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n";
        let (h, ids) = parse_status(status).unwrap();
        assert_eq!(
            h,
            Holder {
                pid: 43,
                comm: "cat".into()
            }
        );
        assert_eq!(ids, [1000, 1001, 1002, 1003]);
    }

    /// This test's own thread is found under its uid.
    #[test]
    fn this_process_holds_its_uid() {
        let me = std::process::id();
        let uid = nix::unistd::geteuid().as_raw();
        assert!(holders_of(uid).iter().any(|h| h.pid == me));
    }
}
