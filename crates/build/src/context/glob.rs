//! Go `filepath.Match` patterns (`*`, `?`, `[a-z]`, `[^a]`, `\` escapes), compiled once and
//! matched without regexes. `.dockerignore` patterns add `**` on top; `COPY` sources do not,
//! so the extension is chosen when compiling.

use super::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`: exactly one character other than `/`.
    AnyChar,
    /// `*`: any run of characters without `/`.
    Star,
    /// `**/`: zero or more whole directories.
    AnyDirs,
    /// `**` not followed by `/`: anything, `/` included.
    AnyPath,
    /// `[...]`. Unlike `*` and `?` a class may match `/`, as in Go.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled pattern, matched against a whole `/`-separated path.
#[derive(Debug, Clone)]
pub struct Pattern {
    tokens: Vec<Token>,
    /// Set when the pattern has no metacharacters: matching is then a string comparison
    /// and a lookup can go straight to the entry.
    literal: Option<String>,
    /// Star-like tokens; with more than one, backtracking needs a memo to stay polynomial.
    stars: usize,
}

impl Pattern {
    /// Compiles a Go `filepath.Match` pattern, in which `**` is just two `*`.
    pub fn new(pattern: &str) -> Result<Pattern> {
        Pattern::compile(pattern, false)
    }

    /// Compiles a `.dockerignore` pattern: `**` also crosses `/`, and a trailing `\` is a
    /// literal backslash rather than an error, as moby's patternmatcher treats it.
    pub fn with_double_star(pattern: &str) -> Result<Pattern> {
        Pattern::compile(pattern, true)
    }

    fn compile(pattern: &str, double_star: bool) -> Result<Pattern> {
        let bad = |reason| Error::BadPattern {
            pattern: pattern.to_string(),
            reason,
        };
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if double_star && chars.peek() == Some(&'*') => {
                    // As patternmatcher reads it: `**` with its `/`, if any, is `(.*/)?`,
                    // except at the end, where it takes everything left.
                    chars.next();
                    if chars.peek() == Some(&'/') {
                        chars.next();
                    }
                    tokens.push(if chars.peek().is_none() {
                        Token::AnyPath
                    } else {
                        Token::AnyDirs
                    });
                }
                '*' => {
                    // `**` without the extension means the same as `*`; one token is enough.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::AnyChar),
                '\\' => match chars.next() {
                    Some(e) => tokens.push(Token::Literal(e)),
                    None if double_star => tokens.push(Token::Literal('\\')),
                    None => return Err(bad("trailing backslash")),
                },
                '[' => {
                    let negated = matches!(chars.peek(), Some('^') | Some('!'));
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    loop {
                        if chars.peek() == Some(&']') && !ranges.is_empty() {
                            chars.next();
                            break;
                        }
                        let lo = class_char(&mut chars)
                            .ok_or_else(|| bad("malformed character class"))?;
                        let hi = if chars.peek() == Some(&'-') {
                            chars.next();
                            class_char(&mut chars)
                                .ok_or_else(|| bad("malformed character range"))?
                        } else {
                            lo
                        };
                        ranges.push((lo, hi));
                    }
                    tokens.push(Token::Class { negated, ranges });
                }
                c => tokens.push(Token::Literal(c)),
            }
        }
        // patternmatcher matches a leading `**` followed by plain text as a suffix, so
        // `**.go` is every `.go` file at any depth, not only one named `.go`.
        if double_star
            && pattern.starts_with("**")
            && !pattern[2..].starts_with('/')
            && !pattern.contains('\\')
            && tokens[1..].iter().all(|t| matches!(t, Token::Literal(_)))
        {
            tokens[0] = Token::AnyPath;
        }
        let literal = tokens
            .iter()
            .map(|t| match t {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect::<Option<String>>();
        let stars = tokens
            .iter()
            .filter(|t| matches!(t, Token::Star | Token::AnyDirs | Token::AnyPath))
            .count();
        Ok(Pattern {
            tokens,
            literal,
            stars,
        })
    }

    /// The pattern's text when it has no metacharacters (escapes resolved).
    pub fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }

    pub fn matches(&self, text: &str) -> bool {
        if let Some(lit) = &self.literal {
            return lit == text;
        }
        if self.stars > 1 {
            let mut failed = vec![false; self.tokens.len() * (text.len() + 1)];
            self.match_at(0, 0, text, Some(&mut failed))
        } else {
            self.match_at(0, 0, text, None)
        }
    }

    fn match_at(
        &self,
        mut ti: usize,
        mut pos: usize,
        text: &str,
        mut failed: Option<&mut Vec<bool>>,
    ) -> bool {
        loop {
            let Some(token) = self.tokens.get(ti) else {
                return pos == text.len();
            };
            let rest = &text[pos..];
            match token {
                Token::Literal(c) => {
                    if !rest.starts_with(*c) {
                        return false;
                    }
                    pos += c.len_utf8();
                }
                Token::AnyChar => match rest.chars().next() {
                    Some(c) if c != '/' => pos += c.len_utf8(),
                    _ => return false,
                },
                Token::Class { negated, ranges } => match rest.chars().next() {
                    Some(c) if ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated => {
                        pos += c.len_utf8()
                    }
                    _ => return false,
                },
                Token::Star | Token::AnyDirs | Token::AnyPath => {
                    let slot = ti * (text.len() + 1) + pos;
                    if let Some(f) = failed.as_deref() {
                        if f[slot] {
                            return false;
                        }
                    }
                    let found = match token {
                        Token::Star => {
                            let end = rest.find('/').unwrap_or(rest.len());
                            rest[..end]
                                .char_indices()
                                .map(|(i, _)| i)
                                .chain(std::iter::once(end))
                                .any(|i| {
                                    self.match_at(ti + 1, pos + i, text, failed.as_deref_mut())
                                })
                        }
                        Token::AnyPath => rest
                            .char_indices()
                            .map(|(i, _)| i)
                            .chain(std::iter::once(rest.len()))
                            .any(|i| self.match_at(ti + 1, pos + i, text, failed.as_deref_mut())),
                        _ => std::iter::once(0)
                            .chain(rest.match_indices('/').map(|(i, _)| i + 1))
                            .any(|i| self.match_at(ti + 1, pos + i, text, failed.as_deref_mut())),
                    };
                    if !found {
                        if let Some(f) = failed.as_deref_mut() {
                            f[slot] = true;
                        }
                    }
                    return found;
                }
            }
            ti += 1;
        }
    }
}

/// One character of a class, `\` escaping the next. `-` and `]` must be escaped where they
/// would be ambiguous, as Go requires.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    match chars.next()? {
        '-' | ']' => None,
        '\\' => chars.next(),
        c => Some(c),
    }
}

/// Lexical path cleaning as Go's `filepath.Clean` does it: repeated `/` collapse, `.` goes,
/// `..` removes the component before it (or stays, leading a relative path). Empty is `.`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p).unwrap().matches(t)
    }

    #[test]
    fn go_match_syntax() {
        assert!(m("abc", "abc"));
        assert!(m("*", "abc"));
        assert!(!m("*", "a/b"));
        assert!(m("a*/b", "abc/b"));
        assert!(!m("a*b", "a/b"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "a/c"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[a-c]x", "dx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(!m("[!a-c]x", "ax"));
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(m(r"[\]]", "]"));
        assert!(m("*.md", "README.md"));
        assert!(m("a*b*c*d", "axxbyyczzd"));
        assert!(!m("a*b*c*d", "axxbyyczz"));
        assert!(m("héllo?", "héllo€"));
        // Without the extension `**` is two stars: still never crosses `/`.
        assert!(!m("**", "a/b"));
    }

    #[test]
    fn bad_patterns() {
        for p in ["[", "[a", "[a-", "[]", "a\\", "[-a]"] {
            assert!(Pattern::new(p).is_err(), "{p}");
        }
        assert!(Pattern::with_double_star("a\\").unwrap().matches("a\\"));
    }

    #[test]
    fn double_star() {
        let m = |p: &str, t: &str| Pattern::with_double_star(p).unwrap().matches(t);
        assert!(m("**", "a/b/c"));
        assert!(m("**/foo", "foo"));
        assert!(m("**/foo", "a/b/foo"));
        assert!(!m("**/foo", "a/xfoo"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/**/b", "a/xb"));
        assert!(m("a/**", "a/x/y"));
        assert!(m("**/*.go", "x/y/z.go"));
        assert!(m("**.go", "x/y/z.go"));
        assert!(m("**.go", "z.go"));
        assert!(m("a**b", "ab"));
        assert!(m("a**b", "a/x/b"));
        assert!(m("a**b", "ax/b"));
        assert!(!m("a**b", "axb"));
        assert!(m("**/**", "a/b"));
        assert!(m("a/**", "a/"));
        assert!(!m("a/**", "a"));
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("a//b/./c/"), "a/b/c");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("./"), ".");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("/"), "/");
    }
}
