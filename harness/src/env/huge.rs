//! The huge page sizes of this kernel, which follow its base page size: a transparent huge
//! page is a PMD (2 MiB with 4 KiB pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB), and
//! hugetlb offers pools of the sizes the architecture supports (arm64 with 64 KiB pages:
//! 2 MiB of contiguous PTEs, 512 MiB, 16 GiB). The huge-page rows size their memory from
//! these, probed from sysfs and /proc/meminfo, instead of assuming x86_64's 2 MiB; where no
//! size fits, they skip naming what was found.

use crate::answer::CaseError;
use crate::resource::{resource_cause, skip, Resource};
use std::sync::OnceLock;
use uring_report::SkipCause;

/// One hugetlb pool: /sys/kernel/mm/hugepages/hugepages-<size>kB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HugetlbPool {
    /// Its page size in bytes.
    pub size: usize,
    /// Its free pages (`free_hugepages`).
    pub free: u64,
}

/// The huge page sizes of this kernel, as probed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HugePageSizes {
    /// The PMD size a THP has (/sys/kernel/mm/transparent_hugepage/hpage_pmd_size), or why
    /// it is unknown.
    pub pmd: Result<usize, String>,
    /// The hugetlb pools, smallest first (empty without CONFIG_HUGETLBFS).
    pub pools: Vec<HugetlbPool>,
    /// The default hugetlb size (Hugepagesize in /proc/meminfo): MAP_HUGETLB without a
    /// MAP_HUGE_* size, and `hugepages=` on the command line without `hugepagesz=`.
    pub default_size: Option<usize>,
    /// MemAvailable in bytes (/proc/meminfo): THP memory is taken from it when touched.
    pub mem_available: Option<u64>,
}

const PMD_PATH: &str = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";
const POOLS_DIR: &str = "/sys/kernel/mm/hugepages";
/// Why a CPU can have no huge pages with the kernel's support built in: s390's
/// hugepages_supported() and has_transparent_hugepage() need EDAT-1, which QEMU's TCG does
/// not emulate (hugetlb_init and hugepage_init then make no sysfs entries).
pub(super) const NO_HUGE_CPU: &str = "a CPU without huge pages: s390 without EDAT-1";

/// This kernel's huge page sizes, probed once per process (the free page counts are those
/// of the first call: a row that takes pages finds out from its mmap).
pub fn huge_page_sizes() -> &'static HugePageSizes {
    static SIZES: OnceLock<HugePageSizes> = OnceLock::new();
    SIZES.get_or_init(HugePageSizes::probe)
}

impl HugePageSizes {
    /// Reads sysfs and /proc/meminfo.
    pub fn probe() -> HugePageSizes {
        let pmd = std::fs::read_to_string(PMD_PATH)
            .map_err(|e| {
                format!("{PMD_PATH}: {e} (no CONFIG_TRANSPARENT_HUGEPAGE, or {NO_HUGE_CPU})")
            })
            .and_then(|s| {
                s.trim()
                    .parse()
                    .map_err(|_| format!("{PMD_PATH}: {:?}", s.trim()))
            });
        let mut pools: Vec<HugetlbPool> = std::fs::read_dir(POOLS_DIR)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|d| {
                let size = pool_size(d.file_name().to_str()?)?;
                let free = std::fs::read_to_string(d.path().join("free_hugepages")).ok()?;
                Some(HugetlbPool {
                    size,
                    free: free.trim().parse().ok()?,
                })
            })
            .collect();
        pools.sort_by_key(|p| p.size);
        let kb = |key| super::probes::meminfo_value(key).map(|v| v * 1024);
        HugePageSizes {
            pmd,
            pools,
            default_size: kb("Hugepagesize").map(|v| v as usize),
            mem_available: kb("MemAvailable"),
        }
    }

    /// Whether some hugetlb pool has a free page (the fact `hugetlb_pages`), and what the
    /// pools hold.
    pub fn any_free(&self) -> (bool, String) {
        (self.pools.iter().any(|p| p.free > 0), self.describe_pools())
    }

    /// The THP size for a row that touches `pages` PMD-sized pages: the PMD size, or a skip
    /// where it is unknown or `pages` of it would take more than half of MemAvailable (a
    /// 512 MiB PMD on 64 KiB pages does not fit a small VM).
    pub fn thp(&self, pages: usize) -> Result<usize, CaseError> {
        let pmd = self.pmd.clone().map_err(|e| {
            skip(SkipCause::Fact {
                fact: "transparent_hugepages".into(),
                needs: "the PMD size of a transparent huge page".into(),
                probe: e,
            })
        })?;
        let want = (pages * pmd) as u64;
        match self.mem_available {
            Some(avail) if want <= avail / 2 => Ok(pmd),
            avail => Err(skip(resource_cause(
                Resource::HugePages,
                &format!(
                    "{pages} transparent huge page(s) of {} (the PMD size, {PMD_PATH})",
                    size_name(pmd)
                ),
                None,
                format!(
                    "MemAvailable {} (the row takes at most half)",
                    avail.map_or("unknown".into(), |a| size_name(a as usize))
                ),
            ))),
        }
    }

    /// The hugetlb page size for a row that maps `pages` huge pages of one size, at most
    /// `max_bytes` in all: the smallest pool above `page` (the base page size) with that
    /// many free pages, or a skip naming every pool.
    pub fn hugetlb(&self, pages: u64, page: usize, max_bytes: usize) -> Result<usize, CaseError> {
        self.pools
            .iter()
            .find(|p| p.size > page && p.free >= pages && p.size as u64 * pages <= max_bytes as u64)
            .map(|p| p.size)
            .ok_or_else(|| {
                skip(SkipCause::Fact {
                    fact: "hugetlb_pages".into(),
                    needs: format!(
                        "{pages} free hugetlb pages of one size, {} at most in all",
                        size_name(max_bytes)
                    ),
                    probe: self.describe_pools(),
                })
            })
    }

    fn describe_pools(&self) -> String {
        if self.pools.is_empty() {
            return format!("no pools in {POOLS_DIR} (no CONFIG_HUGETLBFS, or {NO_HUGE_CPU})");
        }
        let pools: Vec<String> = self
            .pools
            .iter()
            .map(|p| format!("{} free {}", size_name(p.size), p.free))
            .collect();
        format!(
            "{POOLS_DIR}: {}; default size (Hugepagesize) {}",
            pools.join(", "),
            self.default_size.map_or("unknown".into(), size_name)
        )
    }
}

/// `hugepages-2048kB` -> 2 MiB in bytes.
fn pool_size(dir: &str) -> Option<usize> {
    let kb: usize = dir
        .strip_prefix("hugepages-")?
        .strip_suffix("kB")?
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

/// 2097152 -> "2 MiB", 1536 -> "1536 bytes".
pub fn size_name(bytes: usize) -> String {
    const UNITS: [(usize, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(u, _)| bytes >= *u && bytes.is_multiple_of(*u))
        .map_or(format!("{bytes} bytes"), |(u, n)| {
            format!("{} {n}", bytes / u)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(pmd: usize, pools: &[(usize, u64)], avail: u64) -> HugePageSizes {
        HugePageSizes {
            pmd: Ok(pmd),
            pools: pools
                .iter()
                .map(|&(size, free)| HugetlbPool { size, free })
                .collect(),
            default_size: pools.first().map(|p| p.0),
            mem_available: Some(avail),
        }
    }

    #[test]
    fn pool_directories_and_sizes_are_named() {
        assert_eq!(pool_size("hugepages-2048kB"), Some(2 << 20));
        assert_eq!(pool_size("hugepages-1048576kB"), Some(1 << 30));
        assert_eq!(pool_size("hugepages-x"), None);
        assert_eq!(size_name(32 << 20), "32 MiB");
        assert_eq!(size_name(64 << 10), "64 KiB");
        assert_eq!(size_name(1000), "1000 bytes");
    }

    /// The smallest pool above the base page size with enough free pages, within the cap.
    #[test]
    fn hugetlb_takes_the_smallest_pool_that_fits() {
        const M: usize = 1 << 20;
        // arm64 with 16 KiB pages, a 2 MiB pool given on the command line.
        let s = sizes(32 * M, &[(2 * M, 4), (32 * M, 0), (1 << 30, 0)], 1 << 30);
        assert_eq!(s.hugetlb(2, 16 << 10, 64 * M).ok(), Some(2 * M));
        assert!(s.hugetlb(5, 16 << 10, 64 * M).is_err());
        let s = sizes(32 * M, &[(2 * M, 1), (32 * M, 4)], 1 << 30);
        assert_eq!(s.hugetlb(2, 16 << 10, 64 * M).ok(), Some(32 * M));
        assert!(s.hugetlb(4, 16 << 10, 64 * M).is_err(), "over the cap");
        // A "huge" size no bigger than the base page is no huge page.
        let s = sizes(512 * M, &[(64 << 10, 9)], 1 << 30);
        let e = s.hugetlb(1, 64 << 10, 64 * M).unwrap_err().to_string();
        assert!(e.contains("64 KiB free 9"), "{e}");
        assert!(!sizes(2 * M, &[], 0).any_free().0);
    }

    #[test]
    fn thp_needs_room_for_its_pmd_pages() {
        const M: usize = 1 << 20;
        assert_eq!(sizes(2 * M, &[], 400 * M as u64).thp(2).ok(), Some(2 * M));
        let e = sizes(512 * M, &[], 400 * M as u64).thp(1).unwrap_err();
        assert!(e.to_string().contains("512 MiB"), "{e}");
        let mut s = sizes(2 * M, &[], 1 << 30);
        s.pmd = Err("no such file".into());
        assert!(s.thp(1).is_err());
    }

    #[test]
    fn this_machine_is_probed() {
        let s = huge_page_sizes();
        assert!(s.pools.windows(2).all(|w| w[0].size < w[1].size));
        assert!(!s.any_free().1.is_empty());
    }
}
