//! The command line's error: a message, an optional hint, and an exit status.

use std::fmt;

/// What went wrong, what to try next, and how the process exits.
#[derive(Debug)]
pub struct CliError {
    /// The message, as a sentence.
    pub message: String,
    /// What to type next, when there is something useful to say.
    pub hint: Option<String>,
    /// 1 for failures, 2 for usage errors.
    pub status: u8,
}

impl CliError {
    /// Returns a failure (exit status 1).
    pub fn fail(message: impl fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            hint: None,
            status: 1,
        }
    }

    /// Returns a usage error (exit status 2).
    pub fn usage(message: impl fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            hint: None,
            status: 2,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl fmt::Display) -> Self {
        self.hint = Some(hint.to_string());
        self
    }
}

impl From<rev_migrate::MigrateError> for CliError {
    fn from(error: rev_migrate::MigrateError) -> Self {
        CliError {
            hint: error.hint(),
            status: if error.is_usage() { 2 } else { 1 },
            message: error.to_string(),
        }
    }
}

impl From<rev_project::ProjectError> for CliError {
    fn from(error: rev_project::ProjectError) -> Self {
        rev_migrate::MigrateError::from(error).into()
    }
}

impl From<rev_graph::ParseTargetError> for CliError {
    fn from(error: rev_graph::ParseTargetError) -> Self {
        rev_migrate::MigrateError::from(error).into()
    }
}

impl From<rev_graph::ResolveError> for CliError {
    fn from(error: rev_graph::ResolveError) -> Self {
        rev_migrate::MigrateError::from(error).into()
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        // `rev history | head` closes the pipe early; that is the reader's choice, not a failure.
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError {
                message: String::new(),
                hint: None,
                status: 0,
            };
        }
        CliError::fail(format!("cannot write output: {error}"))
    }
}

impl From<serde_json::Error> for CliError {
    fn from(error: serde_json::Error) -> Self {
        CliError::fail(format!("cannot write JSON: {error}"))
    }
}
