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
