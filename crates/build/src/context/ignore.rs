//! `.dockerignore`: which context paths the client leaves out and the builder drops.
//!
//! The rules follow moby's patternmatcher, because users' ignore files are written against
//! Docker's behaviour: a pattern excludes the paths it matches and everything beneath them,
//! `!` re-includes, and the last pattern that matches a path (or any of its parents)
//! decides.

use super::error::{Error, Result};
use super::glob::{clean, Pattern};

#[derive(Debug, Clone)]
struct Rule {
    pattern: Pattern,
    exception: bool,
}

/// A parsed `.dockerignore`. The empty one excludes nothing.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    rules: Vec<Rule>,
}

impl Ignore {
    /// Parses the text of a `.dockerignore`: one pattern a line, `#` starting a comment
    /// line, blank lines skipped.
    pub fn parse(text: &str) -> Result<Ignore> {
        // Editors on some systems save with a byte-order mark; it is not part of a pattern.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Ignore::from_patterns(text.lines().filter(|l| !l.trim().starts_with('#')))
    }

    /// Builds from patterns already split into lines (the API's `excludes`, say). Blank
    /// entries are skipped; `#` has no special meaning here.
    pub fn from_patterns<I, S>(patterns: I) -> Result<Ignore>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut rules = Vec::new();
        for line in patterns {
            let line = line.as_ref().trim();
            if line.is_empty() {
                continue;
            }
            let (exception, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if body.is_empty() {
                return Err(Error::BadPattern {
                    pattern: line.to_string(),
                    reason: "exception without a pattern",
                });
            }
            // Paths are matched relative to the context root, so `/foo` means `foo`; cleaning
            // makes `./a/../b/` the same pattern as `b`, as for the paths it is matched with.
            let cleaned = clean(body);
            let cleaned = match cleaned.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => rest.to_string(),
                _ => cleaned,
            };
            rules.push(Rule {
                pattern: Pattern::with_double_star(&cleaned)?,
                exception,
            });
        }
        Ok(Ignore { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any `!` pattern exists. Without one an excluded directory can be skipped
    /// whole; with one, something beneath it may be re-included, so walkers must descend.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.exception)
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out.
    pub fn is_excluded(&self, path: &str) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let cleaned;
        let path = if is_clean(path) {
            path
        } else {
            cleaned = clean(path.trim_start_matches('/'));
            &cleaned
        };
        // The last matching rule decides, so the first match from the end is the answer.
        for rule in self.rules.iter().rev() {
            if rule.pattern.matches(path)
                || path
                    .match_indices('/')
                    .any(|(i, _)| rule.pattern.matches(&path[..i]))
            {
                return !rule.exception;
            }
        }
        false
    }
}

/// Whether cleaning would leave `path` as it is (the common case: walkers pass clean paths,
/// and checking is cheaper than building a new string).
fn is_clean(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.ends_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> Ignore {
        Ignore::parse(text).unwrap()
    }

    #[test]
    fn comments_blank_lines_and_trimming() {
        let i = ig("# comment\n\n   *.log  \n#*.txt\n");
        assert!(i.is_excluded("a.log"));
        assert!(!i.is_excluded("a.txt"));
        assert!(!i.is_excluded("#x"));
        assert!(!i.has_exceptions());
    }

    #[test]
    fn star_does_not_cross_directories() {
        let i = ig("*.md");
        assert!(i.is_excluded("README.md"));
        assert!(!i.is_excluded("docs/guide.md"));
        let i = ig("docs/*.md");
        assert!(i.is_excluded("docs/guide.md"));
        assert!(!i.is_excluded("README.md"));
        assert!(!i.is_excluded("docs/sub/guide.md"));
    }

    #[test]
    fn double_star_any_depth() {
        let i = ig("**/*.md");
        assert!(i.is_excluded("README.md"));
        assert!(i.is_excluded("docs/sub/guide.md"));
        assert!(!i.is_excluded("docs/sub/guide.txt"));
        let i = ig("a/**/z");
        assert!(i.is_excluded("a/z"));
        assert!(i.is_excluded("a/b/c/z"));
        assert!(i.is_excluded("a/b/z/inner"));
        assert!(!i.is_excluded("a/bz"));
        let i = ig("**");
        assert!(i.is_excluded("anything/at/all"));
    }

    #[test]
    fn directory_pattern_excludes_contents() {
        let i = ig("node_modules");
        assert!(i.is_excluded("node_modules"));
        assert!(i.is_excluded("node_modules/a/b.js"));
        assert!(!i.is_excluded("src/node_modules"));
        assert!(!i.is_excluded("node_modules2"));
    }

    #[test]
    fn exceptions_and_last_match_wins() {
        let i = ig("*.md\n!README.md");
        assert!(i.is_excluded("CHANGES.md"));
        assert!(!i.is_excluded("README.md"));
        assert!(i.has_exceptions());
        let i = ig("!README.md\n*.md");
        assert!(i.is_excluded("README.md"));

        // Re-inclusion inside an excluded directory.
        let i = ig("vendor\n!vendor/keep\n");
        assert!(i.is_excluded("vendor"));
        assert!(i.is_excluded("vendor/other/x"));
        assert!(!i.is_excluded("vendor/keep"));
        assert!(!i.is_excluded("vendor/keep/deep/file"));
        let i = ig("vendor\n!vendor/keep\nvendor/keep/secret");
        assert!(i.is_excluded("vendor/keep/secret"));
        assert!(!i.is_excluded("vendor/keep/public"));
    }

    #[test]
    fn patterns_are_cleaned() {
        let i = ig("/build\n./out/../dist/\n!  /dist/keep");
        assert!(i.is_excluded("build"));
        assert!(i.is_excluded("build/x"));
        assert!(i.is_excluded("dist/y"));
        assert!(!i.is_excluded("out"));
        assert!(!i.is_excluded("dist/keep"));
        // Paths given in unclean form are cleaned the same way.
        assert!(i.is_excluded("./build/"));
        assert!(i.is_excluded("x/../build"));
    }

    #[test]
    fn invalid_patterns_are_errors() {
        assert!(Ignore::parse("[").is_err());
        assert!(Ignore::parse("!").is_err());
        assert!(Ignore::parse("ok\n!  \n").is_err());
    }

    #[test]
    fn bom_is_stripped() {
        assert!(ig("\u{feff}secret").is_excluded("secret"));
    }
}
