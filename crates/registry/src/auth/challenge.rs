//! The `WWW-Authenticate` challenge of a 401 (RFC 7235): a scheme and its parameters.
//! Registries send `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`; a
//! header may carry several challenges, of which the first one berth speaks is used.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: Option<String>,
    },
    /// Token auth: get a token from `realm` for `service` and the scope, then send it as
    /// `Authorization: Bearer <token>`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// The first challenge of a header value berth can answer; `None` if there is none.
    pub fn parse(header: &str) -> Option<Challenge> {
        for (scheme, params) in parse_all(header) {
            match scheme.to_ascii_lowercase().as_str() {
                "basic" => {
                    return Some(Challenge::Basic {
                        realm: params.get("realm").cloned(),
                    })
                }
                "bearer" => {
                    if let Some(realm) = params.get("realm") {
                        return Some(Challenge::Bearer {
                            realm: realm.clone(),
                            service: params.get("service").cloned(),
                            scope: params.get("scope").cloned(),
                        });
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// Every challenge of the header: its scheme and parameters (names lower-cased).
fn parse_all(header: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    let b = header.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t' || b[*i] == b',') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            break;
        }
        // A token: a scheme, or a parameter name when '=' follows.
        let start = i;
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b',' | b'=') {
            i += 1;
        }
        let token = &header[start..i];
        let mut j = i;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j < b.len() && b[j] == b'=' && !out.is_empty() {
            // name=value of the current challenge
            i = j + 1;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let value = if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut v = String::new();
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    // Multi-byte characters are copied whole.
                    let ch = header[i..].chars().next().unwrap_or('\u{fffd}');
                    v.push(ch);
                    i += ch.len_utf8();
                }
                i += 1; // closing quote
                v
            } else {
                let s = i;
                while i < b.len() && b[i] != b',' && b[i] != b' ' {
                    i += 1;
                }
                header[s..i].to_owned()
            };
            if let Some((_, params)) = out.last_mut() {
                params.insert(token.to_ascii_lowercase(), value);
            }
        } else if !token.is_empty() {
            out.push((token.to_owned(), BTreeMap::new()));
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_quoted_params() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:samalba/my-app:pull,push".into()),
            }
        );
    }

    #[test]
    fn basic_and_odd_spacing() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic {
                realm: Some("Registry Realm".into())
            })
        );
        assert_eq!(
            Challenge::parse("basic"),
            Some(Challenge::Basic { realm: None })
        );
        let c = Challenge::parse(r#"Bearer  realm = "http://a/t" , service=reg"#).unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "http://a/t".into(),
                service: Some("reg".into()),
                scope: None
            }
        );
        let c = Challenge::parse(r#"Bearer realm="a\"b""#).unwrap();
        assert!(matches!(c, Challenge::Bearer { realm, .. } if realm == "a\"b"));
    }

    #[test]
    fn unknown_schemes_are_skipped() {
        let c = Challenge::parse(r#"Negotiate, Bearer realm="http://x/token""#).unwrap();
        assert!(matches!(c, Challenge::Bearer { .. }));
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse(""), None);
        // Bearer without a realm cannot be answered.
        assert_eq!(Challenge::parse(r#"Bearer service="x""#), None);
    }
}
