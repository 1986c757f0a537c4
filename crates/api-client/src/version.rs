//! API version negotiation: the daemon's `Api-Version` header from `HEAD /_ping`, capped
//! at the newest version this client speaks.

use std::fmt;

/// `major.minor` of the Engine API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// The newest version this client was written against.
    pub const MAX: ApiVersion = ApiVersion(1, 47);
    /// What is assumed of a daemon that sends no `Api-Version` (docker does the same).
    pub const FALLBACK: ApiVersion = ApiVersion(1, 24);

    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (a, b) = s.trim().split_once('.')?;
        Some(ApiVersion(a.parse().ok()?, b.parse().ok()?))
    }

    /// min(server, [`ApiVersion::MAX`]); an unreadable header falls back.
    pub fn negotiate(header: Option<&str>) -> ApiVersion {
        header
            .and_then(ApiVersion::parse)
            .map(|v| v.min(ApiVersion::MAX))
            .unwrap_or(ApiVersion::FALLBACK)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_caps_and_falls_back() {
        assert_eq!(ApiVersion::negotiate(Some("1.41")), ApiVersion(1, 41));
        assert_eq!(ApiVersion::negotiate(Some("1.50")), ApiVersion(1, 47));
        assert_eq!(ApiVersion::negotiate(Some("2.0")), ApiVersion(1, 47));
        assert_eq!(ApiVersion::negotiate(Some("junk")), ApiVersion::FALLBACK);
        assert_eq!(ApiVersion::negotiate(None), ApiVersion::FALLBACK);
        assert!(ApiVersion(1, 9) < ApiVersion(1, 10));
        assert_eq!(ApiVersion(1, 47).to_string(), "1.47");
    }
}
