//! Quote removal and `$VAR` substitution in the words of an instruction, with the rules of
//! Docker's builder (a subset of POSIX shell word expansion): the executor calls these at
//! each step with the ARG and ENV values in effect there.
//!
//! - `'…'` is literal; `"…"` expands `$` and lets the escape character escape only `"`,
//!   `$` and itself (any other escape stays in the word); outside quotes the escape
//!   character makes the next character literal and is dropped at the end of the word.
//! - `$NAME`, `${NAME}` and the modifiers `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%`
//!   `/` `//` (patterns are globs with `*`, `?` and `[…]`). Unset names expand to nothing;
//!   a `$` not followed by a name stays as it is.

use super::error::ExpandError;

/// Quote removal and expansion of one word (ENV values, WORKDIR, USER, …): the result is a
/// single string however many spaces it holds.
pub fn expand_word(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut lexer = Lexer::new(word, escape, lookup);
    let (out, _) = lexer.process(&[], false)?;
    Ok(out.text)
}

/// Like [`expand_word`], then split on whitespace that was neither quoted nor escaped (for
/// EXPOSE, VOLUME, FROM, ARG lists). Whitespace coming out of an unquoted `$VAR` splits too,
/// as in Docker; a quoted empty string (`""`) is kept as an empty word.
pub fn expand_words(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ExpandError> {
    let mut lexer = Lexer::new(word, escape, lookup);
    let (out, _) = lexer.process(&[], false)?;
    Ok(out.words.finish())
}

/// `$` expansion of an unquoted heredoc's body (`COPY <<EOF`), as a shell expands a here
/// document: quotes are ordinary characters and the escape character escapes only `$` and
/// itself, so a script or config file keeps its quoting.
pub fn expand_heredoc(
    content: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut lexer = Lexer::new(content, escape, lookup);
    let mut out = String::new();
    while let Some(c) = lexer.next() {
        match c {
            '$' => out.push_str(&lexer.dollar()?),
            c if c == escape => match lexer.peek() {
                Some(n) if n == '$' || n == escape => {
                    lexer.pos += 1;
                    out.push(n);
                }
                _ => out.push(c),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The words being built alongside the plain text, so one pass serves both entry points.
#[derive(Default)]
struct Words {
    done: Vec<String>,
    current: String,
    in_word: bool,
}

impl Words {
    fn raw(&mut self, c: char) {
        self.current.push(c);
        self.in_word = true;
    }

    fn raw_str(&mut self, s: &str) {
        self.current.push_str(s);
        self.in_word = true;
    }

    /// Quotes start a word even when what they hold is empty.
    fn mark(&mut self) {
        self.in_word = true;
    }

    fn split_char(&mut self, c: char) {
        if c.is_whitespace() {
            self.end();
        } else {
            self.raw(c);
        }
    }

    fn split_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.split_char(c));
    }

    fn end(&mut self) {
        if self.in_word {
            self.done.push(std::mem::take(&mut self.current));
            self.in_word = false;
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.end();
        self.done
    }
}

#[derive(Default)]
struct Out {
    text: String,
    words: Words,
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Lexer<'a> {
    fn new(word: &str, escape: char, lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Lexer {
            chars: word.chars().collect(),
            pos: 0,
            escape,
            lookup,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A character that must match itself: in a pattern, glob characters from quotes or
    /// escapes are escaped again so the matcher does not take them as wildcards.
    fn literal(&self, out: &mut Out, c: char, pattern: bool) {
        if pattern && (matches!(c, '*' | '?' | '[' | ']') || c == self.escape) {
            out.text.push(self.escape);
        }
        out.text.push(c);
        out.words.raw(c);
    }

    /// Processes up to the first unquoted, unescaped character of `stops` (consumed and
    /// returned) or to the end (`None`).
    fn process(
        &mut self,
        stops: &[char],
        pattern: bool,
    ) -> Result<(Out, Option<char>), ExpandError> {
        let mut out = Out::default();
        while let Some(c) = self.next() {
            if stops.contains(&c) {
                return Ok((out, Some(c)));
            }
            match c {
                '\'' => {
                    out.words.mark();
                    loop {
                        match self.next() {
                            None => return Err(ExpandError::UnterminatedSingleQuote),
                            Some('\'') => break,
                            Some(c) => self.literal(&mut out, c, pattern),
                        }
                    }
                }
                '"' => {
                    out.words.mark();
                    self.double_quoted(&mut out, pattern)?;
                }
                '$' => {
                    let value = self.dollar()?;
                    out.text.push_str(&value);
                    out.words.split_str(&value);
                }
                c if c == self.escape => {
                    // An escape at the very end escapes nothing and is dropped.
                    if let Some(c) = self.next() {
                        self.literal(&mut out, c, pattern);
                    }
                }
                c => {
                    out.text.push(c);
                    out.words.split_char(c);
                }
            }
        }
        Ok((out, None))
    }

    /// After an opening `"`, up to and including the closing one.
    fn double_quoted(&mut self, out: &mut Out, pattern: bool) -> Result<(), ExpandError> {
        loop {
            match self.next() {
                None => return Err(ExpandError::UnterminatedDoubleQuote),
                Some('"') => return Ok(()),
                Some('$') => {
                    let value = self.dollar()?;
                    for c in value.chars() {
                        self.literal(out, c, pattern);
                    }
                    // An expansion to nothing still leaves the word started by the quote.
                    out.words.raw_str("");
                }
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        self.literal(out, n, pattern);
                    }
                    // Other escapes are kept as written (`"C:\dir"`); an escape right
                    // before the end leads to the unterminated-quote error.
                    _ => self.literal(out, c, pattern),
                },
                Some(c) => self.literal(out, c, pattern),
            }
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// A parameter name: letters, digits and `_` not starting with a digit; or all the
    /// digits of a positional parameter; or one special parameter character.
    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                    name.push(c);
                    self.pos += 1;
                }
            }
            Some(c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!')) => {
                self.pos += 1;
                name.push(c);
            }
            _ => {
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    name.push(c);
                    self.pos += 1;
                }
            }
        }
        name
    }

    /// After a `$`: its value, or `$` itself when no name follows.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        if self.eat('{') {
            return self.braced();
        }
        let name = self.name();
        if name.is_empty() {
            return Ok("$".to_string());
        }
        Ok(self.get(&name).unwrap_or_default())
    }

    /// After `${`.
    fn braced(&mut self) -> Result<String, ExpandError> {
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            _ => {}
        }
        let name = self.name();
        if name.is_empty() {
            return Err(match self.peek() {
                None => ExpandError::MissingBrace,
                Some(_) => ExpandError::BadSubstitution,
            });
        }
        match self.next() {
            None => Err(ExpandError::MissingBrace),
            Some('}') => Ok(self.get(&name).unwrap_or_default()),
            Some(':') => match self.next() {
                Some(op @ ('-' | '+' | '?')) => self.modifier(&name, op, true),
                Some(c) => Err(ExpandError::UnsupportedModifier(format!(":{c}"))),
                None => Err(ExpandError::MissingBrace),
            },
            Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.modifier(&name, op, false),
            Some('/') => self.replace(&name),
            Some(c) => Err(ExpandError::UnsupportedModifier(c.to_string())),
        }
    }

    /// `${NAME<op>word}` with the operator read; `colon` for `:-`, `:+`, `:?` where an
    /// empty value counts as unset.
    fn modifier(&mut self, name: &str, op: char, colon: bool) -> Result<String, ExpandError> {
        let pattern = op == '#' || op == '%';
        let longest = pattern && self.eat(op);
        let (word, stop) = self.process(&['}'], pattern)?;
        if stop.is_none() {
            return Err(ExpandError::MissingBrace);
        }
        let word = word.text;
        let value = self.get(name);
        let unset = match &value {
            None => true,
            Some(v) => colon && v.is_empty(),
        };
        Ok(match op {
            '-' if unset => word,
            '-' => value.unwrap_or_default(),
            '+' if unset => String::new(),
            '+' => word,
            '?' if unset => {
                let message = if !word.is_empty() {
                    word
                } else if value.is_none() {
                    "is not allowed to be unset".to_string()
                } else {
                    "is not allowed to be empty".to_string()
                };
                return Err(ExpandError::Required {
                    name: name.to_string(),
                    message,
                });
            }
            '?' => value.unwrap_or_default(),
            '#' => {
                let glob = Glob::new(&word, self.escape);
                trim_prefix(&value.unwrap_or_default(), &glob, longest)
            }
            _ => {
                let glob = Glob::new(&word, self.escape);
                trim_suffix(&value.unwrap_or_default(), &glob, longest)
            }
        })
    }

    /// `${NAME/pattern/replacement}` and `${NAME//…}` after the first `/`. The replacement
    /// may be left out (`${NAME/pattern}`) to delete the match.
    fn replace(&mut self, name: &str) -> Result<String, ExpandError> {
        let all = self.eat('/');
        let (pattern, stop) = self.process(&['/', '}'], true)?;
        let replacement = match stop {
            None => return Err(ExpandError::MissingBrace),
            Some('/') => {
                let (replacement, stop) = self.process(&['}'], false)?;
                if stop.is_none() {
                    return Err(ExpandError::MissingBrace);
                }
                replacement.text
            }
            Some(_) => String::new(),
        };
        let value = self.get(name).unwrap_or_default();
        let glob = Glob::new(&pattern.text, self.escape);
        Ok(replace(&value, &glob, &replacement, all))
    }
}

/// One element of a shell pattern.
#[derive(Debug, PartialEq)]
enum Token {
    Char(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Char(p) => *p == c,
            Token::Any => true,
            Token::Star => true,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

/// A shell pattern (`*`, `?`, `[a-z]`, `[!…]`), the escape character making the next
/// character literal.
#[derive(Debug)]
struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    fn new(pattern: &str, escape: char) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Any),
                '[' => match class(&chars[i..], escape) {
                    Some((token, used)) => {
                        tokens.push(token);
                        i += used;
                    }
                    // No closing `]`: the `[` is an ordinary character.
                    None => tokens.push(Token::Char('[')),
                },
                c if c == escape && i < chars.len() => {
                    tokens.push(Token::Char(chars[i]));
                    i += 1;
                }
                c => tokens.push(Token::Char(c)),
            }
        }
        Glob { tokens }
    }

    fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether the whole of `text` matches, backtracking only to the last `*` (enough
    /// when every other token matches exactly one character).
    fn matches(&self, text: &[char]) -> bool {
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(token) if token.matches(text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|token| *token == Token::Star)
    }
}

/// A bracket expression after its `[`: the token and how many characters it used.
fn class(chars: &[char], escape: char) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut c = *chars.get(i)?;
        i += 1;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i));
        }
        first = false;
        if c == escape {
            c = *chars.get(i)?;
            i += 1;
        }
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&n| n != ']') {
            let mut hi = chars[i + 1];
            i += 2;
            if hi == escape {
                hi = *chars.get(i)?;
                i += 1;
            }
            ranges.push((c, hi));
        } else {
            ranges.push((c, c));
        }
    }
}

fn trim_prefix(value: &str, glob: &Glob, longest: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut ends: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new((0..=chars.len()).rev())
    } else {
        Box::new(0..=chars.len())
    };
    match ends.find(|&end| glob.matches(&chars[..end])) {
        Some(end) => chars[end..].iter().collect(),
        None => value.to_string(),
    }
}

fn trim_suffix(value: &str, glob: &Glob, longest: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut starts: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new(0..=chars.len())
    } else {
        Box::new((0..=chars.len()).rev())
    };
    match starts.find(|&start| glob.matches(&chars[start..])) {
        Some(start) => chars[..start].iter().collect(),
        None => value.to_string(),
    }
}

/// Replaces the leftmost longest match (or every such match, left to right).
fn replace(value: &str, glob: &Glob, replacement: &str, all: bool) -> String {
    if glob.is_empty() {
        return value.to_string();
    }
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut start = 0;
    let mut replaced = false;
    while start <= chars.len() {
        let found = if replaced && !all {
            None
        } else {
            (start..=chars.len())
                .rev()
                .find(|&end| glob.matches(&chars[start..end]))
        };
        match found {
            Some(end) => {
                out.push_str(replacement);
                replaced = true;
                if end > start {
                    start = end;
                    continue;
                }
            }
            None if replaced && !all => {
                out.extend(&chars[start..]);
                break;
            }
            None => {}
        }
        if let Some(c) = chars.get(start) {
            out.push(*c);
        }
        start += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("apple".into()),
            "B" => Some("banana".into()),
            "EMPTY" => Some(String::new()),
            "SPACED" => Some("a  b c".into()),
            "PATH_" => Some("/usr/local/bin/tool.tar.gz".into()),
            "STAR" => Some("a*b".into()),
            _ => None,
        }
    }

    fn w(word: &str) -> String {
        expand_word(word, '\\', &env).unwrap()
    }

    fn ws(word: &str) -> Vec<String> {
        expand_words(word, '\\', &env).unwrap()
    }

    fn err(word: &str) -> ExpandError {
        expand_word(word, '\\', &env).unwrap_err()
    }

    #[test]
    fn plain_words_are_unchanged() {
        assert_eq!(w("hello"), "hello");
        assert_eq!(w(""), "");
        assert_eq!(w("/usr/local/bin"), "/usr/local/bin");
        assert_eq!(w("a b  c"), "a b  c");
    }

    #[test]
    fn simple_variables() {
        assert_eq!(w("$A"), "apple");
        assert_eq!(w("${A}"), "apple");
        assert_eq!(w("x$A-y"), "xapple-y");
        assert_eq!(w("${A}s"), "apples");
        assert_eq!(w("$As"), "");
        assert_eq!(w("$UNSET"), "");
        assert_eq!(w("a${UNSET}b"), "ab");
        assert_eq!(w("$A$B"), "applebanana");
        assert_eq!(w("$A_B"), "");
        assert_eq!(w("$A.B"), "apple.B");
    }

    #[test]
    fn dollar_without_name_stays() {
        assert_eq!(w("$"), "$");
        assert_eq!(w("a$"), "a$");
        assert_eq!(w("$/x"), "$/x");
        assert_eq!(w("$ a"), "$ a");
        assert_eq!(w("cost: 5$."), "cost: 5$.");
        assert_eq!(w("\"$\""), "$");
    }

    #[test]
    fn special_parameters_are_empty() {
        assert_eq!(w("$1"), "");
        assert_eq!(w("$12x"), "x");
        assert_eq!(w("$@"), "");
        assert_eq!(w("a$*b"), "ab");
        assert_eq!(w("$$"), "");
        assert_eq!(w("${1}"), "");
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(w("'$A'"), "$A");
        assert_eq!(w("'a b'"), "a b");
        assert_eq!(w("'\\n'"), "\\n");
        assert_eq!(w("'\"'"), "\"");
        assert_eq!(w("x'y'z"), "xyz");
        assert_eq!(w("''"), "");
    }

    #[test]
    fn double_quotes_expand() {
        assert_eq!(w("\"$A\""), "apple");
        assert_eq!(w("\"a $A b\""), "a apple b");
        assert_eq!(w("\"'$A'\""), "'apple'");
        assert_eq!(w("\"${A}\"s"), "apples");
        assert_eq!(w("\"\""), "");
    }

    #[test]
    fn escapes_in_double_quotes() {
        assert_eq!(w(r#""\"""#), "\"");
        assert_eq!(w(r#""\$A""#), "$A");
        assert_eq!(w(r#""\\""#), "\\");
        // Other escapes are kept.
        assert_eq!(w(r#""\n""#), "\\n");
        assert_eq!(w(r#""C:\dir""#), "C:\\dir");
        assert_eq!(w(r#""\'""#), "\\'");
    }

    #[test]
    fn escapes_outside_quotes() {
        assert_eq!(w(r"\$A"), "$A");
        assert_eq!(w(r"\\"), "\\");
        assert_eq!(w(r"a\ b"), "a b");
        assert_eq!(w(r#"\""#), "\"");
        assert_eq!(w(r"\'"), "'");
        assert_eq!(w(r"\n"), "n");
        assert_eq!(w(r"abc\"), "abc");
        assert_eq!(w(r"\${A}"), "${A}");
    }

    #[test]
    fn backtick_escape() {
        let e = |s: &str| expand_word(s, '`', &env).unwrap();
        assert_eq!(e(r"C:\Program Files\x"), r"C:\Program Files\x");
        assert_eq!(e("`$A"), "$A");
        assert_eq!(e("``"), "`");
        assert_eq!(e("a` b"), "a b");
        assert_eq!(e("\"`\"\""), "\"");
        assert_eq!(e(r#""c:\a\$A""#), r"c:\a\apple");
        assert_eq!(e("\"``\""), "`");
        assert_eq!(
            expand_words(r"C:\a` b C:\c", '`', &env).unwrap(),
            vec![r"C:\a b", r"C:\c"]
        );
    }

    #[test]
    fn default_values() {
        assert_eq!(w("${UNSET:-def}"), "def");
        assert_eq!(w("${UNSET-def}"), "def");
        assert_eq!(w("${EMPTY:-def}"), "def");
        assert_eq!(w("${EMPTY-def}"), "");
        assert_eq!(w("${A:-def}"), "apple");
        assert_eq!(w("${A-def}"), "apple");
        assert_eq!(w("${UNSET:-}"), "");
        assert_eq!(w("${UNSET:-a b}"), "a b");
    }

    #[test]
    fn alternative_values() {
        assert_eq!(w("${A:+alt}"), "alt");
        assert_eq!(w("${A+alt}"), "alt");
        assert_eq!(w("${EMPTY:+alt}"), "");
        assert_eq!(w("${EMPTY+alt}"), "alt");
        assert_eq!(w("${UNSET:+alt}"), "");
        assert_eq!(w("${UNSET+alt}"), "");
    }

    #[test]
    fn nested_words() {
        assert_eq!(w("${UNSET:-$A}"), "apple");
        assert_eq!(w("${UNSET:-${B}}"), "banana");
        assert_eq!(w("${UNSET:-${ALSO:-$A-x}}"), "apple-x");
        assert_eq!(w("${A:+[$B]}"), "[banana]");
        assert_eq!(w("${UNSET:-\"a}b\"}"), "a}b");
        assert_eq!(w("${UNSET:-'$A'}"), "$A");
        assert_eq!(w(r"${UNSET:-a\}b}"), "a}b");
        assert_eq!(w("\"${UNSET:-\"q\"}\""), "q");
        assert_eq!(w("pre${UNSET:-mid}post"), "premidpost");
    }

    #[test]
    fn required_values() {
        assert_eq!(w("${A:?boom}"), "apple");
        assert_eq!(w("${EMPTY?boom}"), "");
        assert_eq!(
            err("${UNSET:?must be set}"),
            ExpandError::Required {
                name: "UNSET".into(),
                message: "must be set".into()
            }
        );
        assert_eq!(
            err("${UNSET?}").to_string(),
            "UNSET: is not allowed to be unset"
        );
        assert_eq!(
            err("${EMPTY:?}").to_string(),
            "EMPTY: is not allowed to be empty"
        );
        assert_eq!(
            err("${UNSET:?$A is missing}").to_string(),
            "UNSET: apple is missing"
        );
    }

    #[test]
    fn prefix_and_suffix_removal() {
        assert_eq!(w("${PATH_#*/}"), "usr/local/bin/tool.tar.gz");
        assert_eq!(w("${PATH_##*/}"), "tool.tar.gz");
        assert_eq!(w("${PATH_%.*}"), "/usr/local/bin/tool.tar");
        assert_eq!(w("${PATH_%%.*}"), "/usr/local/bin/tool");
        assert_eq!(w("${A#a}"), "pple");
        assert_eq!(w("${A#x}"), "apple");
        assert_eq!(w("${A%e}"), "appl");
        assert_eq!(w("${A%?}"), "appl");
        assert_eq!(w("${A#??}"), "ple");
        assert_eq!(w("${A##*}"), "");
        assert_eq!(w("${A#*}"), "apple");
        assert_eq!(w("${B%a*}"), "banan");
        assert_eq!(w("${B%%a*}"), "b");
        assert_eq!(w("${UNSET#a}"), "");
        assert_eq!(w("${A#[ab]}"), "pple");
        assert_eq!(w("${A#[!a]}"), "apple");
        assert_eq!(w("${A%[a-f]}"), "appl");
    }

    #[test]
    fn quoted_pattern_characters_are_literal() {
        assert_eq!(w("${STAR#a*}"), "*b");
        assert_eq!(w("${STAR#a\"*\"}"), "b");
        assert_eq!(w("${STAR#a\\*}"), "b");
        assert_eq!(w("${STAR%'*'b}"), "a");
        assert_eq!(w("${A#\"*\"}"), "apple");
    }

    #[test]
    fn replacement() {
        assert_eq!(w("${A/p/P}"), "aPple");
        assert_eq!(w("${A//p/P}"), "aPPle");
        assert_eq!(w("${A/p*/X}"), "aX");
        assert_eq!(w("${A//[ae]/_}"), "_ppl_");
        assert_eq!(w("${A/x/y}"), "apple");
        assert_eq!(w("${A/p}"), "aple");
        assert_eq!(w("${A//p}"), "ale");
        assert_eq!(w("${A/p/}"), "aple");
        assert_eq!(w("${A/p/$B}"), "abananaple");
        assert_eq!(w("${UNSET/a/b}"), "");
        assert_eq!(w("${B//an/AN}"), "bANANa");
        assert_eq!(w("${A//}"), "apple");
        assert_eq!(w("${STAR/\\*/+}"), "a+b");
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(err("${A"), ExpandError::MissingBrace);
        assert_eq!(err("${"), ExpandError::MissingBrace);
        assert_eq!(err("${A:-x"), ExpandError::MissingBrace);
        assert_eq!(err("${A/x"), ExpandError::MissingBrace);
        assert_eq!(err("${A/x/y"), ExpandError::MissingBrace);
        assert_eq!(err("${}"), ExpandError::BadSubstitution);
        assert_eq!(err("${:-x}"), ExpandError::BadSubstitution);
        assert_eq!(err("${{A}}"), ExpandError::BadSubstitution);
        assert_eq!(err("${ A}"), ExpandError::BadSubstitution);
        assert_eq!(
            err("${A:#x}"),
            ExpandError::UnsupportedModifier(":#".into())
        );
        assert_eq!(err("${A^^}"), ExpandError::UnsupportedModifier("^".into()));
        assert_eq!(err("'abc"), ExpandError::UnterminatedSingleQuote);
        assert_eq!(err("\"abc"), ExpandError::UnterminatedDoubleQuote);
        assert_eq!(err("\"abc\\\""), ExpandError::UnterminatedDoubleQuote);
        assert_eq!(err("${UNSET:-'x}"), ExpandError::UnterminatedSingleQuote);
        assert_eq!(err("${A}x${B").to_string(), "syntax error: missing '}'");
    }

    #[test]
    fn words_split_on_unquoted_whitespace() {
        assert_eq!(ws("a b  c"), vec!["a", "b", "c"]);
        assert_eq!(ws("  lead trail  "), vec!["lead", "trail"]);
        assert_eq!(ws(""), Vec::<String>::new());
        assert_eq!(ws("   "), Vec::<String>::new());
        assert_eq!(ws("\"a b\" c"), vec!["a b", "c"]);
        assert_eq!(ws("'a b'c d"), vec!["a bc", "d"]);
        assert_eq!(ws(r"a\ b c"), vec!["a b", "c"]);
        assert_eq!(
            ws("80/tcp 443/udp\t8080"),
            vec!["80/tcp", "443/udp", "8080"]
        );
    }

    #[test]
    fn words_from_variables() {
        assert_eq!(ws("$A $B"), vec!["apple", "banana"]);
        assert_eq!(ws("$SPACED"), vec!["a", "b", "c"]);
        assert_eq!(ws("\"$SPACED\""), vec!["a  b c"]);
        assert_eq!(ws("x$SPACED"), vec!["xa", "b", "c"]);
        assert_eq!(ws("$UNSET"), Vec::<String>::new());
        assert_eq!(ws("$UNSET a"), vec!["a"]);
        assert_eq!(ws("${UNSET:-1 2}"), vec!["1", "2"]);
        assert_eq!(ws("\"${UNSET:-1 2}\""), vec!["1 2"]);
    }

    #[test]
    fn quoted_empty_words_are_kept() {
        assert_eq!(ws("\"\""), vec![""]);
        assert_eq!(ws("a '' b"), vec!["a", "", "b"]);
        assert_eq!(ws("\"$UNSET\""), vec![""]);
    }

    #[test]
    fn glob_matching() {
        let m = |p: &str, t: &str| Glob::new(p, '\\').matches(&t.chars().collect::<Vec<_>>());
        assert!(m("*", ""));
        assert!(m("*", "abc"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbb"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*.tar.gz", "x.tar.gz"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[]]", "]"));
        assert!(m("[", "["));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("**a", "bba"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(m("é?", "éa"));
    }

    #[test]
    fn heredoc_bodies() {
        let h = |s: &str| expand_heredoc(s, '\\', &env).unwrap();
        assert_eq!(h("echo \"$A\" '$B'\n"), "echo \"apple\" 'banana'\n");
        assert_eq!(
            h("cost \\$5 and \\\\ and \\n\n"),
            "cost $5 and \\ and \\n\n"
        );
        assert_eq!(h("${UNSET:-x y} $ $1\n"), "x y $ \n");
        assert_eq!(h("path=${PATH_%/*}\n"), "path=/usr/local/bin\n");
        assert_eq!(
            expand_heredoc("${A", '\\', &env),
            Err(ExpandError::MissingBrace)
        );
        assert_eq!(expand_heredoc("`$A \\$A", '`', &env).unwrap(), "$A \\apple");
    }
}
