//! What the terminal can take: colour (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`),
//! decided once per process. The environment is read here and nowhere else in the
//! CLI's output path.

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ValueEnum;
use preflight_report::Styling;

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set (`CLICOLOR_FORCE`
    /// forces it).
    #[default]
    Auto,
    /// Always colour, even into a pipe or a file.
    Always,
    /// Never colour.
    Never,
}

static STYLING: OnceLock<Styling> = OnceLock::new();

/// Decides colour for this process; later calls change nothing.
pub fn init(choice: ColorChoice) {
    let env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !env("NO_COLOR") && (env("CLICOLOR_FORCE") || std::io::stdout().is_terminal())
        }
    };
    let _ = STYLING.set(Styling { color });
}

/// How the human report on stdout is styled.
pub fn stdout_styling() -> Styling {
    STYLING.get().copied().unwrap_or_default()
}
