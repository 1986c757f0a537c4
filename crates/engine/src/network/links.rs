//! `--link NAME[:ALIAS]`, Docker's legacy way for containers on the default bridge (where
//! names do not resolve) to find each other: the linked container's address under its
//! name and the alias, in this container's `/etc/hosts`. The linked container must be
//! running, as in Docker; the environment variables Docker's links also set are not.

use crate::container::record::Record;
use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// `HostConfig.Links` entries: the CLI's `name:alias`, or the stored `/name:/me/alias`.
fn parse(link: &str) -> (String, String) {
    let (name, alias) = link.split_once(':').unwrap_or((link, link));
    let name = name.trim_start_matches('/').to_owned();
    let alias = alias.rsplit('/').next().unwrap_or(alias).to_owned();
    (name, alias)
}

/// The `/etc/hosts` lines for the container's links.
pub fn hosts_entries(d: &Daemon, r: &Record) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for link in r.host_config.links.iter().flatten() {
        let (name, alias) = parse(link);
        let other = d
            .lookup(&name)
            .map_err(|_| Error::Invalid(format!("could not get container for {name}")))?;
        let o = other.record();
        if !o.state.status.is_running() {
            return Err(Error::Invalid(format!("cannot link to a non running container: /{} AS /{}/{alias}", o.name, r.name)));
        }
        let Some(ep) = o.net.endpoints.first() else {
            return Err(Error::Invalid(format!("cannot link to /{}: it has no network address", o.name)));
        };
        let names = if alias == o.name { o.name.clone() } else { format!("{alias} {}", o.name) };
        out.push(format!("{}\t{names} {}\n", ep.ip, &o.id[..12]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn link_forms() {
        assert_eq!(parse("db:database"), ("db".into(), "database".into()));
        assert_eq!(parse("db"), ("db".into(), "db".into()));
        assert_eq!(parse("/db:/web/database"), ("db".into(), "database".into()));
    }
}
