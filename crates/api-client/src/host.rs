//! Where the daemon listens: `--host`, else `BERTH_HOST`, else `DOCKER_HOST`, else
//! berthd's default socket. Only unix sockets are spoken; a `tcp://` host is understood
//! (so the error can say so) but refused.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// berthd's socket when nothing says otherwise.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
}

impl Host {
    /// Parses `unix:///path` (or a bare absolute path, as some tools write it).
    pub fn parse(s: &str) -> Result<Host> {
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(Error::InvalidHost(s.to_owned(), "empty socket path"));
            }
            return Ok(Host::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(Host::Unix(PathBuf::from(s)));
        }
        if s.starts_with("tcp://") || s.starts_with("http://") || s.starts_with("https://") {
            return Err(Error::InvalidHost(
                s.to_owned(),
                "only unix:// sockets are supported",
            ));
        }
        if s.starts_with("ssh://") || s.starts_with("npipe://") || s.starts_with("fd://") {
            return Err(Error::InvalidHost(s.to_owned(), "scheme not supported"));
        }
        Err(Error::InvalidHost(s.to_owned(), "expected unix:///path"))
    }

    /// The host chosen by a flag, then the environment, then the default.
    pub fn from_env(flag: Option<&str>) -> Result<Host> {
        Host::parse(&choose(
            flag,
            std::env::var("BERTH_HOST").ok().as_deref(),
            std::env::var("DOCKER_HOST").ok().as_deref(),
        ))
    }

    /// The socket path.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Host::Unix(p) => p,
        }
    }
}

/// The first non-empty of flag, `BERTH_HOST`, `DOCKER_HOST`, default.
fn choose(flag: Option<&str>, berth: Option<&str>, docker: Option<&str>) -> String {
    [flag, berth, docker]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .unwrap_or(DEFAULT_HOST)
        .to_owned()
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_and_refuses_tcp() {
        assert_eq!(
            Host::parse("unix:///run/x.sock").unwrap(),
            Host::Unix("/run/x.sock".into())
        );
        assert_eq!(
            Host::parse("/tmp/d.sock").unwrap().path(),
            std::path::Path::new("/tmp/d.sock")
        );
        let e = Host::parse("tcp://127.0.0.1:2375").unwrap_err().to_string();
        assert!(e.contains("only unix://"), "{e}");
        assert!(Host::parse("unix://").is_err());
        assert!(Host::parse("bogus").is_err());
    }

    #[test]
    fn flag_beats_env_beats_default() {
        assert_eq!(
            choose(Some("unix:///a"), Some("unix:///b"), Some("unix:///c")),
            "unix:///a"
        );
        assert_eq!(
            choose(None, Some("unix:///b"), Some("unix:///c")),
            "unix:///b"
        );
        assert_eq!(choose(None, Some(""), Some("unix:///c")), "unix:///c");
        assert_eq!(choose(None, None, None), DEFAULT_HOST);
        assert_eq!(Host::parse(DEFAULT_HOST).unwrap().to_string(), DEFAULT_HOST);
    }
}
