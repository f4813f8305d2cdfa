//! `quill completions SHELL` and `quill man [--out DIR]`: shell completions and man pages, generated
//! from the same clap definitions that parse the command line, so they cannot fall behind it.
//!
//! ```text
//! quill completions bash > ~/.local/share/bash-completion/completions/quill
//! quill completions zsh > ~/.zfunc/_quill
//! quill completions fish > ~/.config/fish/completions/quill.fish
//! quill man > quill.1                 # one page, listing the subcommands
//! quill man --out man/                # quill.1 and a page per subcommand (quill-check.1, ...)
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `quill.1` and one page per subcommand into this directory instead of printing `quill.1`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "quill", &mut out);
    out.flush().context("writing to standard output")?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let command = Cli::command();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .context("writing to standard output")?;
            out.flush().context("writing to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
