//! Query strings, percent-encoded by hand (the few characters that matter in names,
//! paths and JSON filters).

use std::fmt::Write as _;

/// `?a=1&b=x` built pair by pair.
#[derive(Debug, Default, Clone)]
pub struct Query(String);

impl Query {
    pub fn new() -> Query {
        Query::default()
    }

    pub fn add(mut self, key: &str, value: impl AsRef<str>) -> Query {
        self.0.push(if self.0.is_empty() { '?' } else { '&' });
        self.0.push_str(&encode(key));
        self.0.push('=');
        self.0.push_str(&encode(value.as_ref()));
        self
    }

    pub fn opt(self, key: &str, value: Option<impl AsRef<str>>) -> Query {
        match value {
            Some(v) => self.add(key, v),
            None => self,
        }
    }

    /// Adds `key=1` only when `on`.
    pub fn flag(self, key: &str, on: bool) -> Query {
        if on {
            self.add(key, "1")
        } else {
            self
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 3986 unreserved characters pass, everything else is `%XX`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/' | b':') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_encodes() {
        let q = Query::new()
            .add("name", "a b")
            .flag("all", true)
            .flag("size", false)
            .add("filters", r#"{"status":["exited"]}"#);
        assert_eq!(
            q.as_str(),
            "?name=a%20b&all=1&filters=%7B%22status%22:%5B%22exited%22%5D%7D"
        );
        assert_eq!(Query::new().as_str(), "");
    }
}
