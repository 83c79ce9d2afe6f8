//! The row: a case's name, requirements, action, expected answer (possibly per feature
//! level) and citation. The runner is generic over rows.

pub use crate::answer::{Answer, CaseError, CaseResult, Expect, Expected, Observation, Want};
use crate::cx::Cx;
use crate::env::Fact;
use crate::level::Level;
use crate::probe::Feature;
use std::fmt;
use uring::Abi;

/// Where the rule is written: a man page section and/or a kernel function.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cite {
    /// Man page and section, e.g. ("io_uring_register.2", "ERRORS: EINVAL").
    pub man: Option<(&'static str, &'static str)>,
    /// Kernel `file:function` (7.x names), e.g. "rsrc.c:io_sqe_buffers_register".
    pub kernel: &'static str,
    /// Catalogue rows of error-paths.md this case covers.
    pub catalogue: &'static [&'static str],
    /// Where the man page or the catalogue is wrong, and what the source says.
    pub note: Option<&'static str>,
}

impl Cite {
    /// Cites a kernel function.
    pub const fn kernel(f: &'static str) -> Cite {
        Cite {
            man: None,
            kernel: f,
            catalogue: &[],
            note: None,
        }
    }
    /// Adds a man page reference.
    pub const fn man(self, page: &'static str, section: &'static str) -> Cite {
        Cite {
            man: Some((page, section)),
            ..self
        }
    }
    /// Names the catalogue rows covered.
    pub const fn rows(self, ids: &'static [&'static str]) -> Cite {
        Cite {
            catalogue: ids,
            ..self
        }
    }
    /// Adds a note (a man-page contradiction or a catalogue correction).
    pub const fn note(self, n: &'static str) -> Cite {
        Cite {
            note: Some(n),
            ..self
        }
    }
}

impl fmt::Display for Cite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((p, s)) = self.man {
            write!(f, "{p} ({s}); ")?;
        }
        write!(f, "kernel {}", self.kernel)
    }
}

/// Where a case runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// In a test thread of this process, in parallel with others.
    Thread,
    /// In a child process (re-executed binary) as an unprivileged user with a small
    /// RLIMIT_MEMLOCK; such cases share the user's memlock quota, so they run one at a time.
    Unprivileged {
        /// RLIMIT_MEMLOCK in bytes.
        memlock: u64,
    },
}

/// One row of the table.
#[derive(Clone, Copy)]
pub struct Case {
    /// `interface::scenario`.
    pub name: &'static str,
    /// Features the kernel must have for the case to run.
    pub requires: &'static [Feature],
    /// Facts of the machine or kernel configuration the case needs (else it skips).
    pub needs: &'static [Fact],
    /// A behaviour change the case cannot run without (it skips unless the kernel is
    /// decided to have it): for rows that would hang or mean nothing on older kernels.
    pub needs_level: Option<&'static Level>,
    /// The action: sets up fresh rings, performs the call under test, checks effects.
    pub run: fn(&mut Cx) -> CaseResult,
    /// The expected answer of the call under test.
    pub expect: Expect,
    /// Where the rule is written.
    pub cite: Cite,
    /// Where it runs.
    pub isolation: Isolation,
    /// The ABI of the rings its context makes ([`Cx::ring`]): native, or compat for the
    /// `compat::` copy of a row ([`Case::on_compat`]).
    pub abi: Abi,
    /// Why the row has no compat copy (its input does not fit the compat layout, e.g. an
    /// iovec base above 4 GiB), or `None`: [`Case::on_compat`] copies only rows without one.
    pub native_only: Option<&'static str>,
}

impl Case {
    /// The interface: the part of the name before `::`.
    pub fn interface(&self) -> &'static str {
        self.name.split("::").next().unwrap_or(self.name)
    }

    /// This row run on compat rings, named `compat::NAME`, needing the 32-bit syscall entry
    /// ([`Fact::Ia32Emulation`]) besides its own facts, with the same requirements, action
    /// and expected answer; `None` for a [`CaseBuilder::native_only`] row. The name and
    /// facts are leaked: the copies are made once per run, for the tables that take iovecs
    /// or msghdrs.
    pub fn on_compat(&self) -> Option<Case> {
        if self.native_only.is_some() {
            return None;
        }
        let name: &'static str = Box::leak(format!("compat::{}", self.name).into_boxed_str());
        let mut needs = self.needs.to_vec();
        needs.push(Fact::Ia32Emulation);
        Some(Case {
            name,
            needs: Box::leak(needs.into_boxed_slice()),
            abi: Abi::Compat,
            ..*self
        })
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("expect", &self.expect)
            .finish()
    }
}

/// A row being built, as a declaration: `Case::new(name)`, then everything it needs
/// (`.requires`, `.needs`, `.needs_level`, `.unprivileged`), the expected answer
/// (`.expect`), the citation (`.cite`), and `.run(..)` last. Named steps instead of
/// positional arguments; `run` yields the [`Case`], so a row without an action cannot be
/// written, nothing can be added after the body, and a row without `expect` or `cite` fails
/// to compile (the tables are constants: the builder's panic is a compile-time error).
#[derive(Clone, Copy)]
pub struct CaseBuilder {
    name: &'static str,
    requires: &'static [Feature],
    needs: &'static [Fact],
    needs_level: Option<&'static Level>,
    isolation: Isolation,
    native_only: Option<&'static str>,
    expect: Option<Expect>,
    cite: Option<Cite>,
}

impl Case {
    /// Starts a row named `interface::scenario` (no requirements, runs in a thread).
    // Not `Self`: the builder only becomes a `Case` once `run` is given.
    #[allow(clippy::new_ret_no_self)]
    pub const fn new(name: &'static str) -> CaseBuilder {
        CaseBuilder {
            name,
            requires: &[],
            needs: &[],
            needs_level: None,
            isolation: Isolation::Thread,
            native_only: None,
            expect: None,
            cite: None,
        }
    }
}

impl CaseBuilder {
    /// Features the kernel must have for the row to run.
    pub const fn requires(self, requires: &'static [Feature]) -> CaseBuilder {
        CaseBuilder { requires, ..self }
    }
    /// The facts of the environment this row needs; where one does not hold it skips.
    pub const fn needs(self, needs: &'static [Fact]) -> CaseBuilder {
        CaseBuilder { needs, ..self }
    }
    /// The behaviour change this row cannot run without.
    pub const fn needs_level(self, level: &'static Level) -> CaseBuilder {
        CaseBuilder {
            needs_level: Some(level),
            ..self
        }
    }
    /// Runs this row in an unprivileged child with `memlock` bytes of RLIMIT_MEMLOCK.
    pub const fn unprivileged(self, memlock: u64) -> CaseBuilder {
        CaseBuilder {
            isolation: Isolation::Unprivileged { memlock },
            ..self
        }
    }
    /// The row has no compat copy, for this reason: what it sends does not fit the compat
    /// layout (a base above 4 GiB, a length above 4 GiB), so no compat ring can be asked.
    pub const fn native_only(self, why: &'static str) -> CaseBuilder {
        CaseBuilder {
            native_only: Some(why),
            ..self
        }
    }
    /// The expected answer of the call under test.
    pub const fn expect(self, expect: Expect) -> CaseBuilder {
        CaseBuilder {
            expect: Some(expect),
            ..self
        }
    }
    /// Where the rule is written.
    pub const fn cite(self, cite: Cite) -> CaseBuilder {
        CaseBuilder {
            cite: Some(cite),
            ..self
        }
    }
    /// The action; completes the row, so it comes last.
    pub const fn run(self, run: fn(&mut Cx) -> CaseResult) -> Case {
        let Some(expect) = self.expect else {
            panic!("a row needs .expect(..) before .run(..)")
        };
        let Some(cite) = self.cite else {
            panic!("a row needs .cite(..) before .run(..)")
        };
        Case {
            name: self.name,
            requires: self.requires,
            needs: self.needs,
            needs_level: self.needs_level,
            run,
            expect,
            cite,
            isolation: self.isolation,
            abi: Abi::Native,
            native_only: self.native_only,
        }
    }
}
