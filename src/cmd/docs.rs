//! `haema docs --out DIR`: shell completions and man pages, generated from the clap definition.
//!
//! The checked-in `completions/` and `man/` are this command's output (`cargo run -- docs
//! --out .`); a test fails when they no longer match the command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args as ClapArgs;
use clap_complete::Shell;

/// Arguments of `haema docs`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Where to write `completions/` and `man/`.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Writes bash, zsh, fish and PowerShell completions, and a man page for haema and each
/// subcommand.
pub fn run(args: Args, mut cmd: clap::Command) -> anyhow::Result<()> {
    let completions = args.out.join("completions");
    let man = args.out.join("man");
    std::fs::create_dir_all(&completions)
        .with_context(|| format!("creating {}", completions.display()))?;
    std::fs::create_dir_all(&man).with_context(|| format!("creating {}", man.display()))?;
    cmd.build();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "haema", &mut buf);
        let name = match shell {
            Shell::Bash => "haema.bash",
            Shell::Zsh => "_haema",
            Shell::Fish => "haema.fish",
            _ => "_haema.ps1",
        };
        write(&completions.join(name), &buf)?;
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    write(&man.join("haema.1"), &page)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("haema-{}", sub.get_name());
        // clap names are 'static; this command runs once and exits.
        let sub = sub.clone().name(&*Box::leak(name.clone().into_boxed_str()));
        let mut page = Vec::new();
        clap_mangen::Man::new(sub).render(&mut page)?;
        write(&man.join(format!("{name}.1")), &page)?;
    }
    eprintln!("wrote {} and {}", completions.display(), man.display());
    Ok(())
}
