//! `berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`: the daemon checks the
//! credentials against the registry (`POST /auth`), then they are stored in docker's
//! `config.json` (`$DOCKER_CONFIG`, else `~/.docker`), which docker reads too. Without
//! `-u`/`-p` on a terminal, asks for them (the password without echo). SERVER defaults to
//! Docker Hub.

use std::io::{BufRead, IsTerminal, Read, Write};

use berth_registry::{Credentials, DockerConfig};

use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

/// The registry host a SERVER argument names (`https://host/v1/` → `host`).
pub fn server_host(server: Option<&str>) -> String {
    let a = server.unwrap_or("docker.io").trim();
    let a = a.strip_prefix("https://").or_else(|| a.strip_prefix("http://")).unwrap_or(a);
    match a.split('/').next().unwrap_or(a) {
        "" | "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
        h => h.to_owned(),
    }
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "login";
    let host = server_host(args.server.as_deref());
    if args.password.is_some() && args.password_stdin {
        return Err(CliError::usage(CX, "--password and --password-stdin are mutually exclusive"));
    }
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if args.password_stdin => {
            return Err(CliError::usage(CX, "must provide --username with --password-stdin"))
        }
        None if interactive => prompt("Username: ")?,
        None => return Err(CliError::failed(CX, "cannot perform an interactive login from a non TTY device")),
    };
    let password = match (args.password, args.password_stdin) {
        (Some(p), _) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p
        }
        (None, true) => {
            let mut p = String::new();
            std::io::stdin()
                .read_to_string(&mut p)
                .map_err(|e| CliError::failed(CX, format!("read password from stdin: {e}")))?;
            p.trim_end_matches(['\n', '\r']).to_owned()
        }
        (None, false) if interactive => prompt_hidden("Password: ")?,
        (None, false) => return Err(CliError::failed(CX, "cannot perform an interactive login from a non TTY device")),
    };
    if username.is_empty() {
        return Err(CliError::failed(CX, "username is empty"));
    }
    let api = ctx.api(CX)?;
    api.block(api.client.registry_login(&username, &password, &host))
        .map_err(|e| CliError::api(CX, e))?;
    let path = DockerConfig::default_path();
    let mut config = DockerConfig::load(&path).map_err(|e| CliError::failed(CX, e))?;
    config.set(&host, &Credentials::new(&username, &password));
    config.save().map_err(|e| CliError::failed(CX, e))?;
    println!("Login Succeeded");
    Ok(())
}

fn prompt(label: &str) -> Result<String, CliError> {
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::failed("login", format!("read {label}: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn prompt_hidden(label: &str) -> Result<String, CliError> {
    use nix::sys::termios::{self, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    let saved = termios::tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = termios::tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let line = prompt(label);
    if let Some(t) = &saved {
        let _ = termios::tcsetattr(&stdin, SetArg::TCSANOW, t);
    }
    eprintln!();
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        assert_eq!(server_host(None), "docker.io");
        assert_eq!(server_host(Some("https://index.docker.io/v1/")), "docker.io");
        assert_eq!(server_host(Some("127.0.0.1:5000")), "127.0.0.1:5000");
        assert_eq!(server_host(Some("http://reg.lan:5000/")), "reg.lan:5000");
    }
}
