//! The record an unprivileged child sends its parent: one line on stdout, [`PREFIX`] and a
//! JSON object.

use crate::{Answer, SkipCause};
use serde::{Deserialize, Serialize};

/// How the child's result line starts.
pub const PREFIX: &str = "RESULT ";

/// What the child saw: the call under test and the kernel's answer, or why it did not get
/// that far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChildResult {
    /// The call was made and answered.
    Obs {
        /// The call, rendered.
        call: String,
        /// The answer.
        answer: Answer,
    },
    /// The case failed before it had an answer to compare.
    Fail {
        /// Why.
        message: String,
    },
    /// Setup failed.
    Broken {
        /// Why.
        message: String,
    },
    /// The case cannot run here.
    Skip {
        /// Why.
        cause: SkipCause,
    },
    /// A wait ran out of time.
    Timeout {
        /// Why.
        message: String,
    },
}

impl ChildResult {
    /// The result line (no newline).
    pub fn to_line(&self) -> String {
        format!(
            "{PREFIX}{}",
            serde_json::to_string(self).expect("child results serialize")
        )
    }
    /// Reads a result line; `None` if the line is not one.
    pub fn from_line(line: &str) -> Option<Result<ChildResult, String>> {
        let json = line.strip_prefix(PREFIX)?;
        Some(serde_json::from_str(json).map_err(|e| e.to_string()))
    }
}
