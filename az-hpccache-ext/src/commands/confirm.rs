//! `--yes` and az's confirmation prompt.

use std::io::{BufRead, IsTerminal, Write};

use crate::exit::CliError;

/// Asks `question` on the terminal unless `yes`. Without a terminal and without `--yes`,
/// fails with az's own message.
pub fn confirm(question: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::Usage(
            "Unable to prompt for confirmation as no tty available. Use --yes.".into(),
        ));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} (y/n): ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Runtime(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Runtime("Operation cancelled.".into()))
    }
}
