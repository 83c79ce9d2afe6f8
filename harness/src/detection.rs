//! One probe's verdict, the same for a kernel feature ([`crate::probe`]) and for a fact of
//! the environment ([`crate::env`]).

/// One probe's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Whether the kernel has it.
    pub present: bool,
    /// The call and the answer that decided.
    pub how: String,
}

/// Verdicts for every key of `all`: present for those in `present`, each decided by `how`
/// (a synthetic set for the harness's tests, or the parent's probe in a child process).
pub(crate) fn table<K: Ord + Copy>(
    all: &[K],
    present: &[K],
    how: &str,
) -> std::collections::BTreeMap<K, Detection> {
    all.iter()
        .map(|k| {
            let d = Detection {
                present: present.contains(k),
                how: how.into(),
            };
            (*k, d)
        })
        .collect()
}

/// The names of the present entries, comma separated: how a child gets the parent's probe.
pub(crate) fn present_names<K: Copy>(
    t: &std::collections::BTreeMap<K, Detection>,
    name: impl Fn(K) -> &'static str,
) -> String {
    t.iter()
        .filter(|(_, d)| d.present)
        .map(|(k, _)| name(*k))
        .collect::<Vec<_>>()
        .join(",")
}

/// The keys named in a comma-separated list (unknown names are left out).
pub(crate) fn parse_names<K>(names: &str, from_name: impl Fn(&str) -> Option<K>) -> Vec<K> {
    names.split(',').filter_map(from_name).collect()
}

/// Why a probe proved nothing either way: its deciding call ran out of a resource of the
/// machine (the memlock quota, fds), so the feature is neither present nor absent. Set by
/// the probe from the errno it got, never read back from the text of `how`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undetermined {
    /// The resource that ran out.
    pub resource: crate::resource::Resource,
    /// The errno of the deciding call.
    pub errno: uring::Errno,
    /// The call and its answer, as in [`Detection::how`].
    pub how: String,
}

impl Undetermined {
    /// The record for a probe whose deciding call answered `e`, if `e` says a resource
    /// ran out (ENOMEM, EMFILE, ENFILE: see [`crate::resource::Resource::of_setup_errno`]).
    pub fn of(e: uring::Errno, how: &str) -> Option<Undetermined> {
        use crate::resource::ResourceLimit;
        let resource = crate::resource::Resource::of_setup_errno(e)?;
        matches!(
            resource,
            crate::resource::Resource::LockedMemory
                | crate::resource::Resource::OpenFiles
                | crate::resource::Resource::SystemFiles
        )
        .then(|| Undetermined {
            resource,
            errno: e,
            how: how.into(),
        })
    }
}

impl std::fmt::Display for Undetermined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::resource::ResourceLimit;
        write!(f, "{} ({})", self.how, self.resource.describe())
    }
}
