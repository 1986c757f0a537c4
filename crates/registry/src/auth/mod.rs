//! Authentication: the registry's challenge ([`challenge`]), stored logins
//! ([`credentials`]), and [`login`], which checks credentials against a registry the
//! way `docker login` does (a `GET /v2/` answered with them, or a token fetched with them).

pub mod challenge;
pub mod credentials;

use crate::client::{Access, Session};
use crate::config::Options;
use crate::error::Result;
use credentials::Credentials;

/// Checks that `creds` are accepted by `registry`; an [`crate::Error::Unauthorized`]
/// when they are not.
pub fn login(opts: &Options, registry: &str, creds: &Credentials) -> Result<()> {
    // No repository: a token without a scope, which is what token servers give a login.
    let s = Session::open(
        opts,
        "login",
        registry,
        "",
        Access::Pull,
        Some(creds.clone()),
    )?;
    // Open authenticated as the registry asked; a registry that asked for nothing takes
    // anyone, and a registry with basic auth must accept this header now.
    s.reauthenticate()?;
    let resp = s.send("GET /v2/", |c| c.get(s.url("").replace("/v2//", "/v2/")))?;
    if !resp.status().is_success() {
        return Err(s.unexpected("GET /v2/", resp));
    }
    Ok(())
}
