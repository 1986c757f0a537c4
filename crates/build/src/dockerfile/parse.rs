//! Dockerfile text into [`Dockerfile`], following Docker's parser (the classic builder and
//! BuildKit's frontend syntax, heredocs included).
//!
//! Three passes over the text: the parser directives at its top (`# syntax=`,
//! `# escape=`), then logical lines (comments dropped, continuations joined), each split
//! into keyword, `--flags` and arguments; heredoc bodies are read raw from the lines that
//! follow the instruction naming them. Words are kept as written: expansion is the
//! executor's, see [`super::expand`].

use super::ast::{
    ArgDecl, Command, CopyArgs, Dockerfile, Healthcheck, Heredoc, Instruction, Kind, Location,
    RunMount, Stage,
};
use super::error::ParseError;

/// Parses a Dockerfile; `file` names it in errors (`Dockerfile:3:1: unknown instruction:
/// FORM`).
pub fn parse(text: &str, file: &str) -> Result<Dockerfile, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let mut parser = Parser {
        file,
        lines,
        next: 0,
        escape: '\\',
    };
    parser.run()
}

/// An instruction's text once its continuation lines are joined.
struct Logical {
    location: Location,
    text: String,
}

struct Parser<'a> {
    file: &'a str,
    /// Physical lines, line endings removed.
    lines: Vec<&'a str>,
    /// Index of the first line not consumed yet.
    next: usize,
    escape: char,
}

impl Parser<'_> {
    fn error(&self, location: Location, message: impl Into<String>) -> ParseError {
        ParseError {
            file: self.file.to_string(),
            location,
            message: message.into(),
        }
    }

    fn run(&mut self) -> Result<Dockerfile, ParseError> {
        let syntax = self.directives()?;
        let mut global_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        while let Some(Logical { location, text }) = self.next_logical() {
            let (keyword, rest) = split_keyword(&text);
            let lower = keyword.to_ascii_lowercase();
            let (flags, args) =
                extract_flags(rest, self.escape).map_err(|m| self.error(location, m))?;
            let heredocs =
                if matches!(lower.as_str(), "run" | "copy" | "add") && json_array(args).is_none() {
                    self.heredocs(args, location)?
                } else {
                    Vec::new()
                };
            if lower == "from" {
                let (base, name, platform) =
                    parse_from(args, flags, self.escape).map_err(|m| self.error(location, m))?;
                if let Some(name) = &name {
                    if stages.iter().any(|s| s.name.as_ref() == Some(name)) {
                        return Err(self.error(location, format!("duplicate stage name {name:?}")));
                    }
                }
                stages.push(Stage {
                    base,
                    name,
                    platform,
                    location,
                    original: text,
                    instructions: Vec::new(),
                });
                continue;
            }
            let kind = parse_kind(&lower, keyword, args, flags, heredocs, self.escape)
                .map_err(|m| self.error(location, m))?;
            match (stages.last_mut(), kind) {
                (Some(stage), kind) => stage.instructions.push(Instruction {
                    location,
                    original: text,
                    kind,
                }),
                (None, Kind::Arg(decls)) => global_args.extend(decls),
                (None, _) => {
                    return Err(self.error(location, "no build stage in current context"));
                }
            }
        }
        if stages.is_empty() {
            return Err(self.error(Location { line: 1, column: 1 }, "file with no instructions"));
        }
        Ok(Dockerfile {
            escape: self.escape,
            syntax,
            global_args,
            stages,
        })
    }

    /// Reads the parser directives, which are only recognised on the first lines, before
    /// any blank line, other comment or instruction; returns `# syntax=`.
    fn directives(&mut self) -> Result<Option<String>, ParseError> {
        let mut syntax = None;
        let mut seen: Vec<String> = Vec::new();
        for (index, line) in self.lines.iter().enumerate() {
            let Some((key, value)) = directive(line) else {
                break;
            };
            let key = key.to_ascii_lowercase();
            if !matches!(key.as_str(), "syntax" | "escape" | "check") {
                break;
            }
            let location = Location {
                line: index + 1,
                column: line.len() - line.trim_start().len() + 1,
            };
            if seen.contains(&key) {
                return Err(self.error(
                    location,
                    format!("only one {key} parser directive can be used"),
                ));
            }
            match key.as_str() {
                "escape" => {
                    self.escape = match value {
                        "\\" => '\\',
                        "`" => '`',
                        _ => {
                            return Err(self.error(
                                location,
                                format!("invalid escape token '{value}' does not match ` or \\"),
                            ))
                        }
                    }
                }
                "syntax" => syntax = Some(value.to_string()),
                // `# check=` configures BuildKit's linter, which berth does not have.
                _ => {}
            }
            seen.push(key);
        }
        Ok(syntax)
    }

    /// The next instruction's text, its continuation lines joined (the escape character
    /// and line break removed, the rest kept as is, as Docker does); comment lines and
    /// blank lines inside a continuation are skipped.
    fn next_logical(&mut self) -> Option<Logical> {
        while self.next < self.lines.len() {
            let index = self.next;
            let raw = self.lines[index];
            self.next += 1;
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let column = raw[..raw.len() - trimmed.len()].chars().count() + 1;
            let (first, mut more) = continuation(trimmed, self.escape);
            let mut text = first.to_string();
            while more && self.next < self.lines.len() {
                let line = self.lines[self.next];
                self.next += 1;
                let t = line.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let (part, again) = continuation(line, self.escape);
                text.push_str(part);
                more = again;
            }
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            return Some(Logical {
                location: Location {
                    line: index + 1,
                    column,
                },
                text: text.to_string(),
            });
        }
        None
    }

    /// Reads the bodies of the heredocs that the words of `args` open, in order, from the
    /// lines after the instruction.
    fn heredocs(&mut self, args: &str, location: Location) -> Result<Vec<Heredoc>, ParseError> {
        let mut docs = Vec::new();
        for word in raw_words(args, self.escape) {
            let Some((name, expand, strip_tabs)) = heredoc_word(&word, self.escape) else {
                continue;
            };
            let mut content = String::new();
            let mut terminated = false;
            while self.next < self.lines.len() {
                let line = self.lines[self.next];
                self.next += 1;
                let line = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if line == name {
                    terminated = true;
                    break;
                }
                content.push_str(line);
                content.push('\n');
            }
            if !terminated {
                return Err(self.error(location, format!("unterminated heredoc {name}")));
            }
            docs.push(Heredoc {
                name,
                content,
                expand,
                strip_tabs,
            });
        }
        Ok(docs)
    }
}

/// `# key=value` as a directive would be written: key and value, or `None`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (key, value) = rest.split_once('=')?;
    let (key, value) = (key.trim(), value.trim());
    let mut chars = key.chars();
    let valid_key = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric());
    (valid_key && !value.is_empty()).then_some((key, value))
}

/// The line without its continuation escape (trailing blanks after it allowed), and whether
/// it had one.
fn continuation(line: &str, escape: char) -> (&str, bool) {
    match line.trim_end_matches([' ', '\t']).strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (line, false),
    }
}

/// The first word and the rest, trimmed.
fn split_keyword(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim()),
        None => (text, ""),
    }
}

/// The `--name[=value]` flags of an instruction, as given.
struct Flags {
    given: Vec<(String, Option<String>)>,
    used: Vec<bool>,
}

impl Flags {
    fn values(&mut self, name: &str) -> Vec<Option<String>> {
        let mut values = Vec::new();
        for (i, (given, value)) in self.given.iter().enumerate() {
            if given == name {
                self.used[i] = true;
                values.push(value.clone());
            }
        }
        values
    }

    fn string(&mut self, name: &str) -> Result<Option<String>, String> {
        let mut values = self.values(name);
        if values.len() > 1 {
            return Err(format!("duplicate flag specified: --{name}"));
        }
        match values.pop() {
            None => Ok(None),
            Some(Some(value)) => Ok(Some(value)),
            Some(None) => Err(format!("missing a value on flag: --{name}")),
        }
    }

    fn strings(&mut self, name: &str) -> Result<Vec<String>, String> {
        self.values(name)
            .into_iter()
            .map(|v| v.ok_or_else(|| format!("missing a value on flag: --{name}")))
            .collect()
    }

    fn bool(&mut self, name: &str) -> Result<bool, String> {
        let mut values = self.values(name);
        if values.len() > 1 {
            return Err(format!("duplicate flag specified: --{name}"));
        }
        match values.pop() {
            None => Ok(false),
            Some(None) => Ok(true),
            Some(Some(v)) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(Some(v)) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(Some(v)) => Err(format!("expecting boolean value for flag {name}, not: {v}")),
        }
    }

    /// Fails on the first flag the instruction did not ask for.
    fn finish(&self) -> Result<(), String> {
        match self.used.iter().position(|used| !used) {
            Some(i) => Err(format!("unknown flag: --{}", self.given[i].0)),
            None => Ok(()),
        }
    }
}

/// Splits the leading `--flag` words off an instruction's arguments (quotes in them removed,
/// as Docker does); a lone `--` ends the flags.
fn extract_flags(text: &str, escape: char) -> Result<(Flags, &str), String> {
    let mut given = Vec::new();
    let mut rest = text.trim_start();
    while rest.starts_with("--") {
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut end = rest.len();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match quote {
                Some(q) if c == q => quote = None,
                None if c.is_whitespace() => {
                    end = i;
                    break;
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                _ if c == escape && quote != Some('\'') => {
                    if let Some((_, n)) = chars.next() {
                        word.push(n);
                    }
                }
                _ => word.push(c),
            }
        }
        if quote.is_some() {
            return Err(format!("unterminated quote in flag {rest:?}"));
        }
        rest = rest[end..].trim_start();
        if word == "--" {
            break;
        }
        let flag = &word[2..];
        given.push(match flag.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (flag.to_string(), None),
        });
    }
    let used = vec![false; given.len()];
    Ok((Flags { given, used }, rest))
}

/// Whitespace-separated words with their quotes and escapes kept (a quoted or escaped blank
/// does not split).
fn raw_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
            continue;
        }
        in_word = true;
        word.push(c);
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ if c == escape && quote != Some('\'') => word.extend(chars.next()),
            _ => {}
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The arguments as a JSON array of strings (the exec form), if they are one.
fn json_array(args: &str) -> Option<Vec<String>> {
    if !args.starts_with('[') {
        return None;
    }
    serde_json::from_str(args).ok()
}

fn command(args: &str) -> Command {
    match json_array(args) {
        Some(argv) => Command::Exec(argv),
        None => Command::Shell(args.to_string()),
    }
}

/// A word opening a heredoc (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`): its delimiter,
/// whether the body is expanded (no quoting in the delimiter) and whether tabs are stripped.
fn heredoc_word(word: &str, escape: char) -> Option<(String, bool, bool)> {
    let rest = word
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix("<<")?;
    let (strip_tabs, raw) = match rest.strip_prefix('-') {
        Some(raw) => (true, raw),
        None => (false, rest),
    };
    if raw.contains('<') {
        return None;
    }
    let name = unquote(raw, escape);
    if name.is_empty() {
        return None;
    }
    let expand = name == raw;
    Some((name, expand, strip_tabs))
}

/// Quote and escape removal without expansion.
fn unquote(word: &str, escape: char) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ if c == escape && quote != Some('\'') => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

/// `FROM [--platform=…] image [AS name]`: base, lower-cased name, platform.
fn parse_from(
    args: &str,
    mut flags: Flags,
    escape: char,
) -> Result<(String, Option<String>, Option<String>), String> {
    let platform = flags.string("platform")?;
    flags.finish()?;
    let mut words = raw_words(args, escape);
    let name = match words.len() {
        1 => None,
        3 if words[1].eq_ignore_ascii_case("as") => Some(words.remove(2).to_lowercase()),
        3 => {
            return Err(
                "when using FROM with three arguments, the second argument must be AS".into(),
            )
        }
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    if let Some(name) = &name {
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !valid {
            return Err(format!(
                "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
            ));
        }
    }
    Ok((words.swap_remove(0), name, platform))
}

/// Every instruction but FROM, from its lower-cased keyword.
fn parse_kind(
    lower: &str,
    keyword: &str,
    args: &str,
    mut flags: Flags,
    heredocs: Vec<Heredoc>,
    escape: char,
) -> Result<Kind, String> {
    let upper = keyword.to_ascii_uppercase();
    let at_least_one = || format!("{upper} requires at least one argument");
    let exactly_one = || format!("{upper} requires exactly one argument");
    Ok(match lower {
        "run" => {
            let mounts = flags
                .strings("mount")?
                .iter()
                .map(|m| parse_mount(m))
                .collect::<Result<Vec<_>, _>>()?;
            let network = flags.string("network")?;
            if let Some(n) = &network {
                if !matches!(n.as_str(), "default" | "none" | "host") {
                    return Err(format!("unsupported network mode {n:?}"));
                }
            }
            let security = flags.string("security")?;
            if let Some(s) = &security {
                if !matches!(s.as_str(), "insecure" | "sandbox") {
                    return Err(format!("unsupported security mode {s:?}"));
                }
            }
            flags.finish()?;
            if args.is_empty() {
                return Err(at_least_one());
            }
            Kind::Run {
                command: command(args),
                mounts,
                network,
                security,
                heredocs,
            }
        }
        "cmd" => {
            flags.finish()?;
            Kind::Cmd(command(args))
        }
        "entrypoint" => {
            flags.finish()?;
            Kind::Entrypoint(command(args))
        }
        "shell" => {
            flags.finish()?;
            let argv = json_array(args)
                .ok_or_else(|| "SHELL requires the arguments to be in JSON form".to_string())?;
            if argv.is_empty() {
                return Err(at_least_one());
            }
            Kind::Shell(argv)
        }
        "env" => {
            flags.finish()?;
            Kind::Env(name_values(&upper, args, escape)?)
        }
        "label" => {
            flags.finish()?;
            Kind::Label(name_values(&upper, args, escape)?)
        }
        "expose" => {
            flags.finish()?;
            let words = raw_words(args, escape);
            if words.is_empty() {
                return Err(at_least_one());
            }
            Kind::Expose(words)
        }
        "volume" => {
            flags.finish()?;
            let paths = match json_array(args) {
                Some(paths) => {
                    if paths.iter().any(|p| p.trim().is_empty()) {
                        return Err("VOLUME specified can not be an empty string".into());
                    }
                    paths
                }
                None => raw_words(args, escape),
            };
            if paths.is_empty() {
                return Err(at_least_one());
            }
            Kind::Volume(paths)
        }
        "user" | "workdir" => {
            flags.finish()?;
            if args.is_empty() {
                return Err(exactly_one());
            }
            if lower == "user" {
                Kind::User(args.to_string())
            } else {
                Kind::Workdir(args.to_string())
            }
        }
        "arg" => {
            flags.finish()?;
            let words = raw_words(args, escape);
            if words.is_empty() {
                return Err(at_least_one());
            }
            let decls = words
                .into_iter()
                .map(|word| {
                    let decl = match word.split_once('=') {
                        Some((name, default)) => ArgDecl {
                            name: name.to_string(),
                            default: Some(default.to_string()),
                        },
                        None => ArgDecl {
                            name: word,
                            default: None,
                        },
                    };
                    if decl.name.is_empty() {
                        return Err("ARG names can not be blank".to_string());
                    }
                    Ok(decl)
                })
                .collect::<Result<_, _>>()?;
            Kind::Arg(decls)
        }
        "stopsignal" => {
            flags.finish()?;
            let mut words = raw_words(args, escape);
            if words.len() != 1 {
                return Err(exactly_one());
            }
            Kind::StopSignal(words.remove(0))
        }
        "maintainer" => {
            flags.finish()?;
            if args.is_empty() {
                return Err(exactly_one());
            }
            Kind::Maintainer(args.to_string())
        }
        "healthcheck" => Kind::Healthcheck(parse_healthcheck(args, flags)?),
        "onbuild" => {
            flags.finish()?;
            if args.is_empty() {
                return Err(at_least_one());
            }
            let (trigger, rest) = split_keyword(args);
            let trigger_lower = trigger.to_ascii_lowercase();
            match trigger_lower.as_str() {
                "onbuild" => {
                    return Err("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into())
                }
                "from" | "maintainer" => {
                    return Err(format!(
                        "{} isn't allowed as an ONBUILD trigger",
                        trigger.to_ascii_uppercase()
                    ))
                }
                _ => {}
            }
            // Checked now so that a broken trigger fails this build, not a child's.
            let (trigger_flags, trigger_args) = extract_flags(rest, escape)?;
            // The trigger is kept as one line of text, with nowhere for a body: rather
            // than read the body lines as instructions, refuse.
            if matches!(trigger_lower.as_str(), "run" | "copy" | "add")
                && json_array(trigger_args).is_none()
                && raw_words(trigger_args, escape)
                    .iter()
                    .any(|w| heredoc_word(w, escape).is_some())
            {
                return Err("heredocs are not supported in ONBUILD triggers".into());
            }
            parse_kind(
                &trigger_lower,
                trigger,
                trigger_args,
                trigger_flags,
                Vec::new(),
                escape,
            )?;
            Kind::Onbuild(args.to_string())
        }
        "copy" => Kind::Copy(parse_copy(&upper, args, flags, heredocs, false, escape)?),
        "add" => Kind::Add(parse_copy(&upper, args, flags, heredocs, true, escape)?),
        _ => return Err(format!("unknown instruction: {upper}")),
    })
}

/// ENV and LABEL: `k=v k2="v 2"`, or the old `KEY value with spaces`.
fn name_values(upper: &str, args: &str, escape: char) -> Result<Vec<(String, String)>, String> {
    let words = raw_words(args, escape);
    let Some(first) = words.first() else {
        return Err(format!("{upper} requires at least one argument"));
    };
    if !first.contains('=') {
        return match args.split_once(char::is_whitespace) {
            Some((key, value)) if !value.trim().is_empty() => {
                Ok(vec![(key.to_string(), value.trim_start().to_string())])
            }
            _ => Err(format!("{upper} must have two arguments")),
        };
    }
    words
        .iter()
        .map(|word| match word.split_once('=') {
            Some(("", _)) => Err(format!("{upper} names can not be blank")),
            Some((key, value)) => Ok((key.to_string(), value.to_string())),
            None => Err(format!(
                "syntax error - can't find = in {word:?}. must be of the form: name=value"
            )),
        })
        .collect()
}

/// RUN `--mount=` options: comma-separated (CSV quoting) `key=value` or bare keys.
fn parse_mount(value: &str) -> Result<RunMount, String> {
    const KEYS: &[&str] = &[
        "target",
        "dst",
        "destination",
        "source",
        "src",
        "from",
        "id",
        "readonly",
        "ro",
        "rw",
        "readwrite",
        "size",
        "sharing",
        "mode",
        "uid",
        "gid",
        "required",
        "env",
    ];
    let mut mount = RunMount {
        kind: "bind".to_string(),
        options: Vec::new(),
    };
    for field in csv_fields(value)? {
        if field.trim().is_empty() {
            continue;
        }
        let (key, value) = match field.split_once('=') {
            Some((key, value)) => (key.trim().to_ascii_lowercase(), value.to_string()),
            None => (field.trim().to_ascii_lowercase(), String::new()),
        };
        if key == "type" {
            mount.kind = value.to_ascii_lowercase();
        } else if KEYS.contains(&key.as_str()) {
            mount.options.push((key, value));
        } else {
            return Err(format!("unexpected key '{key}' in '{field}'"));
        }
    }
    if !matches!(
        mount.kind.as_str(),
        "bind" | "cache" | "tmpfs" | "secret" | "ssh"
    ) {
        return Err(format!("unsupported mount type {:?}", mount.kind));
    }
    Ok(mount)
}

fn csv_fields(value: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    if quoted {
        return Err(format!("unterminated quote in --mount={value}"));
    }
    fields.push(field);
    Ok(fields)
}

fn parse_copy(
    upper: &str,
    args: &str,
    mut flags: Flags,
    heredocs: Vec<Heredoc>,
    add: bool,
    escape: char,
) -> Result<CopyArgs, String> {
    let mut copy = CopyArgs {
        from: flags.string("from")?,
        chown: flags.string("chown")?,
        chmod: flags.string("chmod")?,
        link: flags.bool("link")?,
        parents: flags.bool("parents")?,
        exclude: flags.strings("exclude")?,
        ..CopyArgs::default()
    };
    if add {
        copy.checksum = flags.string("checksum")?;
        copy.keep_git_dir = flags.bool("keep-git-dir")?;
    }
    flags.finish()?;
    let json = json_array(args);
    let shell = json.is_none();
    let mut words = json.unwrap_or_else(|| raw_words(args, escape));
    if words.len() < 2 {
        return Err(format!(
            "{upper} requires at least two arguments, but only one was provided. Destination could not be determined"
        ));
    }
    copy.dest = words.pop().unwrap_or_default();
    if shell && heredoc_word(&copy.dest, escape).is_some() {
        return Err(format!("{upper} cannot accept a heredoc as a destination"));
    }
    copy.sources = words
        .into_iter()
        .map(|word| match heredoc_word(&word, escape) {
            Some((name, _, _)) if shell => name,
            _ => word,
        })
        .collect();
    copy.heredocs = heredocs;
    Ok(copy)
}

fn parse_healthcheck(args: &str, mut flags: Flags) -> Result<Healthcheck, String> {
    let mut duration = |name: &str| -> Result<Option<String>, String> {
        let value = flags.string(name)?;
        if let Some(v) = &value {
            check_duration(name, v)?;
        }
        Ok(value)
    };
    let interval = duration("interval")?;
    let timeout = duration("timeout")?;
    let start_period = duration("start-period")?;
    let start_interval = duration("start-interval")?;
    let retries = match flags.string("retries")? {
        Some(v) => Some(
            v.parse::<u32>()
                .map_err(|_| format!("invalid value for --retries: {v:?}"))?,
        ),
        None => None,
    };
    flags.finish()?;
    let (kind, rest) = split_keyword(args);
    match kind.to_ascii_uppercase().as_str() {
        "" => Err("HEALTHCHECK requires at least one argument".into()),
        "NONE" if rest.is_empty() => Ok(Healthcheck::None),
        "NONE" => Err("HEALTHCHECK NONE takes no arguments".into()),
        "CMD" if rest.is_empty() => Err("missing command after HEALTHCHECK CMD".into()),
        "CMD" => Ok(Healthcheck::Check {
            test: command(rest),
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        }),
        _ => Err(format!("unknown type {kind:?} in HEALTHCHECK (try CMD)")),
    }
}

/// A HEALTHCHECK duration as Docker takes it: Go's `time.ParseDuration` syntax, not
/// negative, and zero (the default) or at least a millisecond.
fn check_duration(flag: &str, value: &str) -> Result<(), String> {
    let nanos =
        go_duration(value).ok_or_else(|| format!("invalid duration for --{flag}: {value:?}"))?;
    if nanos < 0.0 {
        return Err(format!("--{flag} cannot be negative"));
    }
    if nanos > 0.0 && nanos < 1e6 {
        return Err(format!("--{flag} cannot be less than 1ms"));
    }
    Ok(())
}

/// Nanoseconds of a Go duration (`300ms`, `-1.5h`, `2h45m`), or `None` if malformed.
pub(crate) fn go_duration(value: &str) -> Option<f64> {
    let (negative, mut rest) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let int = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let mut end = int;
        let mut frac = 0;
        if rest[end..].starts_with('.') {
            end += 1;
            frac = rest[end..].len()
                - rest[end..]
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            end += frac;
        }
        if int == 0 && frac == 0 {
            return None;
        }
        let number: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Dockerfile {
        match parse(text, "Dockerfile") {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(text: &str) -> String {
        parse(text, "Dockerfile").unwrap_err().to_string()
    }

    /// The instructions of the only stage of `FROM scratch` followed by `body`.
    fn body(body: &str) -> Vec<Instruction> {
        let mut d = ok(&format!("FROM scratch\n{body}"));
        assert_eq!(d.stages.len(), 1);
        d.stages.remove(0).instructions
    }

    fn kinds(text: &str) -> Vec<Kind> {
        body(text).into_iter().map(|i| i.kind).collect()
    }

    fn one(text: &str) -> Kind {
        let mut k = kinds(text);
        assert_eq!(k.len(), 1, "{k:?}");
        k.remove(0)
    }

    fn shell(s: &str) -> Command {
        Command::Shell(s.to_string())
    }

    fn exec(argv: &[&str]) -> Command {
        Command::Exec(argv.iter().map(|s| s.to_string()).collect())
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run_parts(kind: Kind) -> (Command, Vec<RunMount>, Vec<Heredoc>) {
        match kind {
            Kind::Run {
                command,
                mounts,
                heredocs,
                ..
            } => (command, mounts, heredocs),
            other => panic!("not RUN: {other:?}"),
        }
    }

    fn copy_args(kind: Kind) -> CopyArgs {
        match kind {
            Kind::Copy(c) | Kind::Add(c) => c,
            other => panic!("not COPY/ADD: {other:?}"),
        }
    }

    fn heredoc(name: &str, content: &str, expand: bool, strip_tabs: bool) -> Heredoc {
        Heredoc {
            name: name.into(),
            content: content.into(),
            expand,
            strip_tabs,
        }
    }

    #[test]
    fn minimal() {
        let d = ok("FROM alpine\n");
        assert_eq!(d.escape, '\\');
        assert_eq!(d.syntax, None);
        assert!(d.global_args.is_empty());
        assert_eq!(d.stages.len(), 1);
        let s = &d.stages[0];
        assert_eq!(s.base, "alpine");
        assert_eq!(s.name, None);
        assert_eq!(s.platform, None);
        assert_eq!(s.location, Location { line: 1, column: 1 });
        assert_eq!(s.original, "FROM alpine");
        assert!(s.instructions.is_empty());
    }

    #[test]
    fn stages_names_and_platform() {
        let d = ok("ARG BASE=alpine\nFROM --platform=$BUILDPLATFORM ${BASE}:3 AS Build\nRUN make\n\nfrom build as Final\nCOPY --from=build /out /out\n");
        assert_eq!(
            d.global_args,
            vec![ArgDecl {
                name: "BASE".into(),
                default: Some("alpine".into())
            }]
        );
        assert_eq!(d.stages.len(), 2);
        assert_eq!(d.stages[0].base, "${BASE}:3");
        assert_eq!(d.stages[0].name.as_deref(), Some("build"));
        assert_eq!(d.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
        assert_eq!(d.stages[0].location, Location { line: 2, column: 1 });
        assert_eq!(d.stages[0].instructions.len(), 1);
        assert_eq!(d.stages[1].base, "build");
        assert_eq!(d.stages[1].name.as_deref(), Some("final"));
        assert_eq!(d.stages[1].location.line, 5);
        assert_eq!(d.stages[1].original, "from build as Final");
        assert_eq!(d.stages[1].instructions[0].location.line, 6);
    }

    #[test]
    fn stage_errors() {
        assert_eq!(err("FROM a AS 1x\n"), "Dockerfile:1:1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols");
        assert!(err("FROM a AS b$c\n").contains("invalid name for build stage"));
        assert_eq!(
            err("FROM a AS b\nFROM c AS B\n"),
            "Dockerfile:2:1: duplicate stage name \"b\""
        );
        assert_eq!(
            err("FROM\n"),
            "Dockerfile:1:1: FROM requires either one or three arguments"
        );
        assert_eq!(
            err("FROM a b\n"),
            "Dockerfile:1:1: FROM requires either one or three arguments"
        );
        assert_eq!(
            err("FROM a b c d\n"),
            "Dockerfile:1:1: FROM requires either one or three arguments"
        );
        assert!(err("FROM a IS b\n").contains("second argument must be AS"));
        assert_eq!(
            err("FROM --foo=bar a\n"),
            "Dockerfile:1:1: unknown flag: --foo"
        );
        assert_eq!(
            err("FROM --platform a\n"),
            "Dockerfile:1:1: missing a value on flag: --platform"
        );
        assert!(ok("FROM a AS my-stage_1.x\n").stages[0].name.as_deref() == Some("my-stage_1.x"));
    }

    #[test]
    fn no_instructions() {
        assert_eq!(err(""), "Dockerfile:1:1: file with no instructions");
        assert_eq!(
            err("\n\n# just a comment\n"),
            "Dockerfile:1:1: file with no instructions"
        );
        assert_eq!(
            err("ARG A=1\n"),
            "Dockerfile:1:1: file with no instructions"
        );
    }

    #[test]
    fn instruction_before_from() {
        assert_eq!(
            err("\nRUN true\nFROM a\n"),
            "Dockerfile:2:1: no build stage in current context"
        );
        assert_eq!(
            err("# c\n  ENV A=1\n"),
            "Dockerfile:2:3: no build stage in current context"
        );
    }

    #[test]
    fn unknown_instruction() {
        assert_eq!(
            err("FROM a\nRUN x\nFORM b\n"),
            "Dockerfile:3:1: unknown instruction: FORM"
        );
        assert_eq!(
            err("FROM a\n\t  copyy a b\n"),
            "Dockerfile:2:4: unknown instruction: COPYY"
        );
        assert_eq!(err("form a\n"), "Dockerfile:1:1: unknown instruction: FORM");
        let e = parse("FROM a\nBOGUS\n", "sub/Containerfile").unwrap_err();
        assert_eq!(e.file, "sub/Containerfile");
        assert_eq!(e.location, Location { line: 2, column: 1 });
        assert_eq!(e.message, "unknown instruction: BOGUS");
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let k = kinds("run a\nRuN b\ncmd c\n");
        assert_eq!(k.len(), 3);
        assert!(matches!(&k[0], Kind::Run { command, .. } if *command == shell("a")));
        assert_eq!(k[2], Kind::Cmd(shell("c")));
    }

    #[test]
    fn comments_and_blank_lines() {
        let i = body("# comment\n   # indented comment\n\n   \nRUN a # not a comment\n");
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].kind.keyword(), "RUN");
        assert_eq!(i[0].original, "RUN a # not a comment");
        assert_eq!(i[0].location, Location { line: 6, column: 1 });
    }

    #[test]
    fn continuations() {
        let i = body("RUN echo a && \\\n    echo b\n");
        assert_eq!(i[0].original, "RUN echo a &&     echo b");
        assert_eq!(
            run_parts(i[0].kind.clone()).0,
            shell("echo a &&     echo b")
        );
        // Trailing blanks after the escape, comment lines and empty lines inside.
        let i = body("RUN a \\  \n# comment \\\n\n  \\\n  b \\\t\n c\nRUN d\n");
        assert_eq!(i.len(), 2);
        assert_eq!(i[0].original, "RUN a     b  c");
        assert_eq!(i[1].location.line, 8);
        // A continuation at the end of the file.
        let i = body("RUN a \\");
        assert_eq!(i[0].original, "RUN a");
        // Keyword alone on the first line.
        let i = body("RUN \\\n  make");
        assert_eq!(i[0].original, "RUN   make");
        assert_eq!(run_parts(i[0].kind.clone()).0, shell("make"));
    }

    #[test]
    fn crlf_line_endings() {
        let d = ok("# escape=`\r\nFROM a\r\nRUN a `\r\n  b\r\nENV A=1\r\n");
        assert_eq!(d.escape, '`');
        let i = &d.stages[0].instructions;
        assert_eq!(i[0].original, "RUN a   b");
        assert_eq!(i[1].kind, Kind::Env(pairs(&[("A", "1")])));
    }

    #[test]
    fn byte_order_mark() {
        assert_eq!(ok("\u{feff}FROM a\n").stages[0].base, "a");
    }

    #[test]
    fn directives() {
        let d = ok("# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=all\nFROM a\n");
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(d.escape, '`');
        let d = ok("#  SYNTAX = x/y \n#Escape=\\\nFROM a\n");
        assert_eq!(d.syntax.as_deref(), Some("x/y"));
        assert_eq!(d.escape, '\\');
    }

    #[test]
    fn directives_only_at_the_top() {
        // After a blank line, a comment or an instruction, they are comments.
        assert_eq!(ok("\n# escape=`\nFROM a\n").escape, '\\');
        assert_eq!(ok("# hello\n# escape=`\nFROM a\n").escape, '\\');
        assert_eq!(ok("FROM a\n# escape=`\n").escape, '\\');
        // An unknown directive is a comment and ends them.
        let d = ok("# foo=bar\n# escape=`\nFROM a\n");
        assert_eq!(d.escape, '\\');
        assert_eq!(d.syntax, None);
    }

    #[test]
    fn directive_errors() {
        assert_eq!(
            err("# escape=x\nFROM a\n"),
            "Dockerfile:1:1: invalid escape token 'x' does not match ` or \\"
        );
        assert_eq!(
            err("# escape=`\n# escape=\\\nFROM a\n"),
            "Dockerfile:2:1: only one escape parser directive can be used"
        );
    }

    #[test]
    fn backtick_escape_windows_style() {
        let d = ok("# escape=`\nFROM mcr.microsoft.com/windows/servercore\nWORKDIR C:\\\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n    && echo done\nENV A=C:\\x`\n B=2\n");
        let i = &d.stages[0].instructions;
        assert_eq!(i[0].kind, Kind::Workdir("C:\\".into()));
        let c = copy_args(i[1].kind.clone());
        assert_eq!(c.sources, strings(&["testfile.txt"]));
        assert_eq!(c.dest, "c:\\");
        assert_eq!(i[2].original, "RUN dir c:\\     && echo done");
        assert_eq!(i[3].kind, Kind::Env(pairs(&[("A", "C:\\x"), ("B", "2")])));
    }

    #[test]
    fn run_forms() {
        assert_eq!(run_parts(one("RUN echo hi")).0, shell("echo hi"));
        assert_eq!(
            run_parts(one("RUN [\"echo\", \"hi\"]")).0,
            exec(&["echo", "hi"])
        );
        assert_eq!(run_parts(one("RUN [\"a\\\"b\"]")).0, exec(&["a\"b"]));
        // Not valid JSON (single quotes, not strings): shell form.
        assert_eq!(
            run_parts(one("RUN ['echo', 'hi']")).0,
            shell("['echo', 'hi']")
        );
        assert_eq!(run_parts(one("RUN [1, 2]")).0, shell("[1, 2]"));
        assert_eq!(
            run_parts(one("RUN [ -f x ] && echo y")).0,
            shell("[ -f x ] && echo y")
        );
        assert_eq!(
            err("FROM a\nRUN\n"),
            "Dockerfile:2:1: RUN requires at least one argument"
        );
    }

    #[test]
    fn run_flags() {
        let k = one("RUN --mount=type=cache,target=/root/.cache,Sharing=locked --mount=target=/src,ro --network=none --security=insecure make");
        let Kind::Run {
            command,
            mounts,
            network,
            security,
            heredocs,
        } = k
        else {
            panic!()
        };
        assert_eq!(command, shell("make"));
        assert_eq!(network.as_deref(), Some("none"));
        assert_eq!(security.as_deref(), Some("insecure"));
        assert!(heredocs.is_empty());
        assert_eq!(
            mounts,
            vec![
                RunMount {
                    kind: "cache".into(),
                    options: pairs(&[("target", "/root/.cache"), ("sharing", "locked")])
                },
                RunMount {
                    kind: "bind".into(),
                    options: pairs(&[("target", "/src"), ("ro", "")])
                },
            ]
        );
        let (_, mounts, _) = run_parts(one("RUN --mount=\"type=secret,id=npm,target=/x\" -- ls"));
        assert_eq!(mounts[0].kind, "secret");
        assert_eq!(mounts[0].options, pairs(&[("id", "npm"), ("target", "/x")]));
        assert_eq!(run_parts(one("RUN -- --weird")).0, shell("--weird"));
        assert_eq!(
            run_parts(one("RUN make --mount=x")).0,
            shell("make --mount=x")
        );
    }

    #[test]
    fn run_flag_errors() {
        assert_eq!(
            err("FROM a\nRUN --foo make\n"),
            "Dockerfile:2:1: unknown flag: --foo"
        );
        assert_eq!(
            err("FROM a\nRUN --mount=type=nfs make\n"),
            "Dockerfile:2:1: unsupported mount type \"nfs\""
        );
        assert_eq!(
            err("FROM a\nRUN --mount=type=bind,bogus=1 make\n"),
            "Dockerfile:2:1: unexpected key 'bogus' in 'bogus=1'"
        );
        assert_eq!(
            err("FROM a\nRUN --network=bridge make\n"),
            "Dockerfile:2:1: unsupported network mode \"bridge\""
        );
        assert_eq!(
            err("FROM a\nRUN --network make\n"),
            "Dockerfile:2:1: missing a value on flag: --network"
        );
        assert_eq!(
            err("FROM a\nRUN --network=none --network=host make\n"),
            "Dockerfile:2:1: duplicate flag specified: --network"
        );
        assert_eq!(
            err("FROM a\nENV --x=1 A=1\n"),
            "Dockerfile:2:1: unknown flag: --x"
        );
    }

    #[test]
    fn cmd_entrypoint_shell() {
        assert_eq!(
            one("CMD [\"nginx\", \"-g\", \"daemon off;\"]"),
            Kind::Cmd(exec(&["nginx", "-g", "daemon off;"]))
        );
        assert_eq!(one("CMD []"), Kind::Cmd(exec(&[])));
        assert_eq!(one("ENTRYPOINT []"), Kind::Entrypoint(exec(&[])));
        assert_eq!(one("ENTRYPOINT top -b"), Kind::Entrypoint(shell("top -b")));
        assert_eq!(
            one("SHELL [\"powershell\", \"-command\"]"),
            Kind::Shell(strings(&["powershell", "-command"]))
        );
        assert_eq!(
            err("FROM a\nSHELL /bin/bash -c\n"),
            "Dockerfile:2:1: SHELL requires the arguments to be in JSON form"
        );
        assert_eq!(
            err("FROM a\nSHELL []\n"),
            "Dockerfile:2:1: SHELL requires at least one argument"
        );
    }

    #[test]
    fn env_forms() {
        assert_eq!(
            one("ENV A=1 B=2"),
            Kind::Env(pairs(&[("A", "1"), ("B", "2")]))
        );
        assert_eq!(
            one("ENV A=\"a b\" B=c"),
            Kind::Env(pairs(&[("A", "\"a b\""), ("B", "c")]))
        );
        assert_eq!(
            one("ENV A='x y'\"z\" B=a\\ b"),
            Kind::Env(pairs(&[("A", "'x y'\"z\""), ("B", "a\\ b")]))
        );
        assert_eq!(
            one("ENV \"my key\"=v"),
            Kind::Env(pairs(&[("\"my key\"", "v")]))
        );
        assert_eq!(
            one("ENV A= B=1"),
            Kind::Env(pairs(&[("A", ""), ("B", "1")]))
        );
        assert_eq!(one("ENV A=b=c"), Kind::Env(pairs(&[("A", "b=c")])));
        assert_eq!(one("ENV A=$B:${C}"), Kind::Env(pairs(&[("A", "$B:${C}")])));
        // Legacy form: one pair, the value being the rest of the line.
        assert_eq!(
            one("ENV MY_VAR my value  here"),
            Kind::Env(pairs(&[("MY_VAR", "my value  here")]))
        );
        assert_eq!(
            one("ENV A \"q\" x=1"),
            Kind::Env(pairs(&[("A", "\"q\" x=1")]))
        );
        // Continued over lines.
        assert_eq!(
            one("ENV A=1 \\\n    B=2"),
            Kind::Env(pairs(&[("A", "1"), ("B", "2")]))
        );
    }

    #[test]
    fn env_errors() {
        assert_eq!(
            err("FROM a\nENV A\n"),
            "Dockerfile:2:1: ENV must have two arguments"
        );
        assert_eq!(
            err("FROM a\nENV\n"),
            "Dockerfile:2:1: ENV requires at least one argument"
        );
        assert!(err("FROM a\nENV A=1 B\n").contains("can't find = in \"B\""));
        assert_eq!(
            err("FROM a\nENV =1\n"),
            "Dockerfile:2:1: ENV names can not be blank"
        );
        assert_eq!(
            err("FROM a\nLABEL foo\n"),
            "Dockerfile:2:1: LABEL must have two arguments"
        );
    }

    #[test]
    fn labels() {
        assert_eq!(
            one(
                "LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0 description=\"a \\\"b\\\"\""
            ),
            Kind::Label(pairs(&[
                ("\"com.example.vendor\"", "\"ACME Inc\""),
                ("version", "1.0"),
                ("description", "\"a \\\"b\\\"\"")
            ]))
        );
        assert_eq!(
            one("LABEL maintainer me too"),
            Kind::Label(pairs(&[("maintainer", "me too")]))
        );
    }

    #[test]
    fn args() {
        assert_eq!(
            one("ARG A B=1 C=\"x y\""),
            Kind::Arg(vec![
                ArgDecl {
                    name: "A".into(),
                    default: None
                },
                ArgDecl {
                    name: "B".into(),
                    default: Some("1".into())
                },
                ArgDecl {
                    name: "C".into(),
                    default: Some("\"x y\"".into())
                },
            ])
        );
        assert_eq!(
            one("ARG E="),
            Kind::Arg(vec![ArgDecl {
                name: "E".into(),
                default: Some(String::new())
            }])
        );
        assert_eq!(
            err("FROM a\nARG\n"),
            "Dockerfile:2:1: ARG requires at least one argument"
        );
        assert_eq!(
            err("FROM a\nARG =x\n"),
            "Dockerfile:2:1: ARG names can not be blank"
        );
        let d = ok("ARG A\nARG B=2 C\nFROM x\nARG A\n");
        assert_eq!(d.global_args.len(), 3);
        assert_eq!(d.stages[0].instructions.len(), 1);
    }

    #[test]
    fn simple_instructions() {
        assert_eq!(
            one("EXPOSE 80/tcp 443 $PORT"),
            Kind::Expose(strings(&["80/tcp", "443", "$PORT"]))
        );
        assert_eq!(
            one("VOLUME [\"/data\", \"/var/log\"]"),
            Kind::Volume(strings(&["/data", "/var/log"]))
        );
        assert_eq!(
            one("VOLUME /data /var/log"),
            Kind::Volume(strings(&["/data", "/var/log"]))
        );
        assert_eq!(one("USER app:app"), Kind::User("app:app".into()));
        assert_eq!(one("WORKDIR /my dir"), Kind::Workdir("/my dir".into()));
        assert_eq!(
            one("STOPSIGNAL SIGTERM"),
            Kind::StopSignal("SIGTERM".into())
        );
        assert_eq!(
            one("MAINTAINER Jane Doe <jane@example.com>"),
            Kind::Maintainer("Jane Doe <jane@example.com>".into())
        );
        assert_eq!(
            err("FROM a\nEXPOSE\n"),
            "Dockerfile:2:1: EXPOSE requires at least one argument"
        );
        assert_eq!(
            err("FROM a\nVOLUME\n"),
            "Dockerfile:2:1: VOLUME requires at least one argument"
        );
        assert_eq!(
            err("FROM a\nVOLUME [\"\"]\n"),
            "Dockerfile:2:1: VOLUME specified can not be an empty string"
        );
        assert_eq!(
            err("FROM a\nUSER\n"),
            "Dockerfile:2:1: USER requires exactly one argument"
        );
        assert_eq!(
            err("FROM a\nWORKDIR\n"),
            "Dockerfile:2:1: WORKDIR requires exactly one argument"
        );
        assert_eq!(
            err("FROM a\nSTOPSIGNAL\n"),
            "Dockerfile:2:1: STOPSIGNAL requires exactly one argument"
        );
        assert_eq!(
            err("FROM a\nSTOPSIGNAL SIGTERM SIGKILL\n"),
            "Dockerfile:2:1: STOPSIGNAL requires exactly one argument"
        );
        assert_eq!(
            err("FROM a\nMAINTAINER\n"),
            "Dockerfile:2:1: MAINTAINER requires exactly one argument"
        );
    }

    #[test]
    fn healthchecks() {
        assert_eq!(
            one("HEALTHCHECK NONE"),
            Kind::Healthcheck(Healthcheck::None)
        );
        assert_eq!(
            one("healthcheck none"),
            Kind::Healthcheck(Healthcheck::None)
        );
        assert_eq!(
            one("HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0 --start-interval=1.5s --retries=3 CMD curl -f http://localhost/ || exit 1"),
            Kind::Healthcheck(Healthcheck::Check {
                test: shell("curl -f http://localhost/ || exit 1"),
                interval: Some("1m30s".into()),
                timeout: Some("500ms".into()),
                start_period: Some("0".into()),
                start_interval: Some("1.5s".into()),
                retries: Some(3),
            })
        );
        assert_eq!(
            one("HEALTHCHECK cmd [\"/bin/check\", \"-q\"]"),
            Kind::Healthcheck(Healthcheck::Check {
                test: exec(&["/bin/check", "-q"]),
                interval: None,
                timeout: None,
                start_period: None,
                start_interval: None,
                retries: None,
            })
        );
    }

    #[test]
    fn healthcheck_errors() {
        assert_eq!(
            err("FROM a\nHEALTHCHECK --interval=30 CMD x\n"),
            "Dockerfile:2:1: invalid duration for --interval: \"30\""
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK --timeout=1x CMD x\n"),
            "Dockerfile:2:1: invalid duration for --timeout: \"1x\""
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK --timeout=-1s CMD x\n"),
            "Dockerfile:2:1: --timeout cannot be negative"
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK --interval=10us CMD x\n"),
            "Dockerfile:2:1: --interval cannot be less than 1ms"
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK --retries=-1 CMD x\n"),
            "Dockerfile:2:1: invalid value for --retries: \"-1\""
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK --foo=1 CMD x\n"),
            "Dockerfile:2:1: unknown flag: --foo"
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK NONE x\n"),
            "Dockerfile:2:1: HEALTHCHECK NONE takes no arguments"
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK CMD\n"),
            "Dockerfile:2:1: missing command after HEALTHCHECK CMD"
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK RUN x\n"),
            "Dockerfile:2:1: unknown type \"RUN\" in HEALTHCHECK (try CMD)"
        );
        assert_eq!(
            err("FROM a\nHEALTHCHECK\n"),
            "Dockerfile:2:1: HEALTHCHECK requires at least one argument"
        );
    }

    #[test]
    fn go_durations() {
        let ns = |s| go_duration(s);
        assert_eq!(ns("0"), Some(0.0));
        assert_eq!(ns("30s"), Some(30e9));
        assert_eq!(ns("1m30s"), Some(90e9));
        assert_eq!(ns("500ms"), Some(5e8));
        assert_eq!(ns("1h"), Some(3600e9));
        assert_eq!(ns("1.5s"), Some(1.5e9));
        assert_eq!(ns(".5s"), Some(0.5e9));
        assert_eq!(ns("5.s"), Some(5e9));
        assert_eq!(ns("2us"), Some(2e3));
        assert_eq!(ns("2µs"), Some(2e3));
        assert_eq!(ns("3ns"), Some(3.0));
        assert_eq!(ns("-1s"), Some(-1e9));
        assert_eq!(ns("+1s"), Some(1e9));
        assert_eq!(ns("1h2m3s4ms"), Some(3723.004e9));
        for bad in ["", "s", "30", ".s", "1d", "1s2", "1 s", "-", "1.2.3s", "ms"] {
            assert_eq!(ns(bad), None, "{bad}");
        }
    }

    #[test]
    fn onbuild() {
        assert_eq!(
            one("ONBUILD RUN make install"),
            Kind::Onbuild("RUN make install".into())
        );
        assert_eq!(
            one("onbuild copy --from=x a b"),
            Kind::Onbuild("copy --from=x a b".into())
        );
        assert_eq!(
            err("FROM a\nONBUILD ONBUILD RUN x\n"),
            "Dockerfile:2:1: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        );
        assert_eq!(
            err("FROM a\nONBUILD from b\n"),
            "Dockerfile:2:1: FROM isn't allowed as an ONBUILD trigger"
        );
        assert_eq!(
            err("FROM a\nONBUILD MAINTAINER me\n"),
            "Dockerfile:2:1: MAINTAINER isn't allowed as an ONBUILD trigger"
        );
        assert_eq!(
            err("FROM a\nONBUILD\n"),
            "Dockerfile:2:1: ONBUILD requires at least one argument"
        );
        assert_eq!(
            err("FROM a\nONBUILD FORM x\n"),
            "Dockerfile:2:1: unknown instruction: FORM"
        );
        assert_eq!(
            err("FROM a\nONBUILD RUN <<EOF\nx\nEOF\n"),
            "Dockerfile:2:1: heredocs are not supported in ONBUILD triggers"
        );
        assert_eq!(
            err("FROM a\nONBUILD RUN --bad x\n"),
            "Dockerfile:2:1: unknown flag: --bad"
        );
    }

    #[test]
    fn copy_and_add() {
        let c = copy_args(one("COPY --from=build --chown=1000:1000 --chmod=755 --link --parents --exclude=*.md --exclude=tmp a b /dest/"));
        assert_eq!(c.sources, strings(&["a", "b"]));
        assert_eq!(c.dest, "/dest/");
        assert_eq!(c.from.as_deref(), Some("build"));
        assert_eq!(c.chown.as_deref(), Some("1000:1000"));
        assert_eq!(c.chmod.as_deref(), Some("755"));
        assert!(c.link);
        assert!(c.parents);
        assert_eq!(c.exclude, strings(&["*.md", "tmp"]));
        assert!(c.heredocs.is_empty());
        assert!(!copy_args(one("COPY --link=false a b")).link);
        assert!(copy_args(one("COPY --link=true a b")).link);
        let c = copy_args(one("COPY [\"a b\", \"c\", \"/d e/\"]"));
        assert_eq!(c.sources, strings(&["a b", "c"]));
        assert_eq!(c.dest, "/d e/");
        let c = copy_args(one("COPY \"a b\" $DEST"));
        assert_eq!(c.sources, strings(&["\"a b\""]));
        assert_eq!(c.dest, "$DEST");
        let k = one("ADD --checksum=sha256:abc --keep-git-dir https://x/y.git /src");
        assert!(matches!(k, Kind::Add(_)));
        let c = copy_args(k);
        assert_eq!(c.checksum.as_deref(), Some("sha256:abc"));
        assert!(c.keep_git_dir);
        assert_eq!(c.sources, strings(&["https://x/y.git"]));
    }

    #[test]
    fn copy_errors() {
        assert_eq!(err("FROM a\nCOPY a\n"), "Dockerfile:2:1: COPY requires at least two arguments, but only one was provided. Destination could not be determined");
        assert!(
            err("FROM a\nADD\n").starts_with("Dockerfile:2:1: ADD requires at least two arguments")
        );
        assert_eq!(
            err("FROM a\nCOPY --checksum=sha256:x a b\n"),
            "Dockerfile:2:1: unknown flag: --checksum"
        );
        assert_eq!(
            err("FROM a\nCOPY --keep-git-dir a b\n"),
            "Dockerfile:2:1: unknown flag: --keep-git-dir"
        );
        assert_eq!(
            err("FROM a\nCOPY --link=maybe a b\n"),
            "Dockerfile:2:1: expecting boolean value for flag link, not: maybe"
        );
        assert_eq!(
            err("FROM a\nCOPY --from a b\n"),
            "Dockerfile:2:1: missing a value on flag: --from"
        );
        assert_eq!(
            err("FROM a\nCOPY a <<EOF\nx\nEOF\n"),
            "Dockerfile:2:1: COPY cannot accept a heredoc as a destination"
        );
    }

    #[test]
    fn run_heredoc() {
        let i = body("RUN <<EOF\napt-get update\n# not a comment \\\n  apt-get install -y curl\nEOF\nRUN next\n");
        assert_eq!(i.len(), 2);
        assert_eq!(i[0].original, "RUN <<EOF");
        let (command, _, heredocs) = run_parts(i[0].kind.clone());
        assert_eq!(command, shell("<<EOF"));
        assert_eq!(
            heredocs,
            vec![heredoc(
                "EOF",
                "apt-get update\n# not a comment \\\n  apt-get install -y curl\n",
                true,
                false
            )]
        );
        assert_eq!(i[1].location.line, 7);
    }

    #[test]
    fn run_heredoc_as_stdin() {
        let (command, mounts, heredocs) = run_parts(one(
            "RUN --mount=type=cache,target=/c python3 <<EOF > /out\nprint('hi')\nEOF\n",
        ));
        assert_eq!(command, shell("python3 <<EOF > /out"));
        assert_eq!(mounts.len(), 1);
        assert_eq!(heredocs, vec![heredoc("EOF", "print('hi')\n", true, false)]);
    }

    #[test]
    fn heredoc_variants() {
        let (_, _, h) = run_parts(one("RUN <<-EOT\n\t\techo a\n\t  b\n\tEOT\n"));
        assert_eq!(h, vec![heredoc("EOT", "echo a\n  b\n", true, true)]);
        let (_, _, h) = run_parts(one("RUN <<\"EOF\"\necho $HOME\nEOF\n"));
        assert_eq!(h, vec![heredoc("EOF", "echo $HOME\n", false, false)]);
        let (_, _, h) = run_parts(one("RUN <<'EOF'\nx\nEOF\n"));
        assert_eq!(h, vec![heredoc("EOF", "x\n", false, false)]);
        let (_, _, h) = run_parts(one("RUN <<-'E'O\"F\"\n\tx\n\tEOF\n"));
        assert_eq!(h, vec![heredoc("EOF", "x\n", false, true)]);
        // Empty body, and a terminator that is not at column 1 is a body line.
        let (_, _, h) = run_parts(one("RUN <<EOF\nEOF\n"));
        assert_eq!(h, vec![heredoc("EOF", "", true, false)]);
        let (_, _, h) = run_parts(one("RUN <<EOF\n EOF\nEOF"));
        assert_eq!(h, vec![heredoc("EOF", " EOF\n", true, false)]);
        // CRLF bodies.
        let (_, _, h) = run_parts(one("RUN <<EOF\r\na\r\nEOF\r\n"));
        assert_eq!(h, vec![heredoc("EOF", "a\n", true, false)]);
    }

    #[test]
    fn several_heredocs() {
        let (command, _, h) = run_parts(one("RUN <<A bash && <<B sh\necho a\nA\necho b\nB\n"));
        assert_eq!(command, shell("<<A bash && <<B sh"));
        assert_eq!(
            h,
            vec![
                heredoc("A", "echo a\n", true, false),
                heredoc("B", "echo b\n", true, false)
            ]
        );
        let (_, _, h) = run_parts(one("RUN cat <<A 3<<-B\n1\nA\n\t2\n\tB\n"));
        assert_eq!(
            h,
            vec![
                heredoc("A", "1\n", true, false),
                heredoc("B", "2\n", true, true)
            ]
        );
    }

    #[test]
    fn not_heredocs() {
        let (command, _, h) = run_parts(one("RUN echo \"<<EOF\" '<<X' \\<<Y && cat <<<here"));
        assert!(h.is_empty());
        assert_eq!(command, shell("echo \"<<EOF\" '<<X' \\<<Y && cat <<<here"));
        let (_, _, h) = run_parts(one("RUN [\"cat\", \"<<EOF\"]"));
        assert!(h.is_empty());
        // Only RUN, COPY and ADD take heredocs.
        assert_eq!(kinds("CMD cat <<EOF\nRUN x\n").len(), 2);
        let (_, _, h) = run_parts(one("RUN echo <<"));
        assert!(h.is_empty());
    }

    #[test]
    fn copy_heredocs() {
        let c = copy_args(one("COPY <<EOF /etc/motd\nHello $USER\nEOF\n"));
        assert_eq!(c.sources, strings(&["EOF"]));
        assert_eq!(c.dest, "/etc/motd");
        assert_eq!(
            c.heredocs,
            vec![heredoc("EOF", "Hello $USER\n", true, false)]
        );
        let c = copy_args(one(
            "COPY --chmod=755 <<one.sh <<'two.sh' file /app/\necho 1\none.sh\necho $2\ntwo.sh\n",
        ));
        assert_eq!(c.sources, strings(&["one.sh", "two.sh", "file"]));
        assert_eq!(c.dest, "/app/");
        assert_eq!(
            c.heredocs,
            vec![
                heredoc("one.sh", "echo 1\n", true, false),
                heredoc("two.sh", "echo $2\n", false, false)
            ]
        );
        let c = copy_args(one("ADD <<EOF /x\ny\nEOF\n"));
        assert_eq!(c.sources, strings(&["EOF"]));
    }

    #[test]
    fn heredoc_errors_and_locations() {
        assert_eq!(
            err("FROM a\n\nRUN <<EOF\necho\n"),
            "Dockerfile:3:1: unterminated heredoc EOF"
        );
        assert_eq!(
            err("FROM a\nRUN <<A <<B\nx\nA\n"),
            "Dockerfile:2:1: unterminated heredoc B"
        );
        // An instruction after a heredoc is located by its real line.
        assert_eq!(
            err("FROM a\nRUN <<EOF\nx\nEOF\n  BAD\n"),
            "Dockerfile:5:3: unknown instruction: BAD"
        );
    }

    #[test]
    fn heredoc_after_continuation() {
        let i = body("RUN --network=none \\\n  cat <<EOF\nbody \\\nEOF\n");
        assert_eq!(i[0].original, "RUN --network=none   cat <<EOF");
        let (command, _, h) = run_parts(i[0].kind.clone());
        assert_eq!(command, shell("cat <<EOF"));
        assert_eq!(h, vec![heredoc("EOF", "body \\\n", true, false)]);
    }

    #[test]
    fn error_column_is_the_instruction_start() {
        assert_eq!(
            err("FROM a\n    RUN --x y\n"),
            "Dockerfile:2:5: unknown flag: --x"
        );
        assert_eq!(err("FROM a\n\tCOPY a\n"), "Dockerfile:2:2: COPY requires at least two arguments, but only one was provided. Destination could not be determined");
    }

    #[test]
    fn raw_word_splitting() {
        assert_eq!(
            raw_words("a \"b c\" 'd e'f g\\ h", '\\'),
            strings(&["a", "\"b c\"", "'d e'f", "g\\ h"])
        );
        assert_eq!(
            raw_words("\"a\\\" b\" c", '\\'),
            strings(&["\"a\\\" b\"", "c"])
        );
        assert_eq!(raw_words("'a\\' b", '\\'), strings(&["'a\\'", "b"]));
        assert_eq!(raw_words("  ", '\\'), Vec::<String>::new());
        assert_eq!(raw_words("a` b c", '`'), strings(&["a` b", "c"]));
    }

    #[test]
    fn realistic_dockerfile() {
        let text = r#"# syntax=docker/dockerfile:1.7
ARG GO_VERSION=1.22

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# download modules first for caching
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -o /out/app ./cmd/app

FROM alpine:3.19
RUN apk add --no-cache ca-certificates && \
    adduser -D app
COPY --from=build --chown=app:app /out/app /usr/local/bin/app
USER app
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD wget -qO- http://localhost:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["--port", "8080"]
"#;
        let d = ok(text);
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1.7"));
        assert_eq!(d.global_args.len(), 1);
        assert_eq!(d.stages.len(), 2);
        assert_eq!(d.stages[0].instructions.len(), 5);
        assert_eq!(d.stages[1].instructions.len(), 7);
        let run = &d.stages[0].instructions[2];
        assert_eq!(run.location, Location { line: 8, column: 1 });
        assert_eq!(
            run.original,
            "RUN --mount=type=cache,target=/go/pkg/mod     go mod download"
        );
        let keywords: Vec<_> = d.stages[1]
            .instructions
            .iter()
            .map(|i| i.kind.keyword())
            .collect();
        assert_eq!(
            keywords,
            [
                "RUN",
                "COPY",
                "USER",
                "EXPOSE",
                "HEALTHCHECK",
                "ENTRYPOINT",
                "CMD"
            ]
        );
        assert_eq!(d.stages[1].location.line, 14);
    }

    #[test]
    fn parsed_words_expand() {
        use crate::dockerfile::expand::{expand_word, expand_words};
        let lookup = |name: &str| (name == "X").then(|| "ex".to_string());
        let Kind::Env(env) = one("ENV \"my key\"=\"a b\" B='$X' C=\"$X\"\\ d D=${Y:-$X}") else {
            panic!()
        };
        let expanded: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| {
                (
                    expand_word(k, '\\', &lookup).unwrap(),
                    expand_word(v, '\\', &lookup).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            expanded,
            pairs(&[("my key", "a b"), ("B", "$X"), ("C", "ex d"), ("D", "ex")])
        );
        let Kind::Expose(words) = one("EXPOSE 80 \"$X 1\"") else {
            panic!()
        };
        let all: Vec<String> = words
            .iter()
            .flat_map(|w| expand_words(w, '\\', &lookup).unwrap())
            .collect();
        assert_eq!(all, strings(&["80", "ex 1"]));
    }

    #[test]
    fn backtick_escape_heredoc_and_flags() {
        let d = ok("# escape=`\nFROM a\nCOPY --chown=a` b <<EOF C:\\dest\\\nx\nEOF\nRUN <<EOF `\n  && echo\nbody\nEOF\n");
        let i = &d.stages[0].instructions;
        let c = copy_args(i[0].kind.clone());
        assert_eq!(c.chown.as_deref(), Some("a b"));
        assert_eq!(c.sources, strings(&["EOF"]));
        assert_eq!(c.dest, "C:\\dest\\");
        assert_eq!(c.heredocs, vec![heredoc("EOF", "x\n", true, false)]);
        let (command, _, h) = run_parts(i[1].kind.clone());
        assert_eq!(command, shell("<<EOF   && echo"));
        assert_eq!(h, vec![heredoc("EOF", "body\n", true, false)]);
    }

    #[test]
    fn error_display() {
        let e = ParseError {
            file: "Dockerfile".into(),
            location: Location { line: 3, column: 1 },
            message: "unknown instruction: FORM".into(),
        };
        assert_eq!(e.to_string(), "Dockerfile:3:1: unknown instruction: FORM");
    }
}
