//! `--env-file` and `-e`: `KEY=value` lines kept as written (no quote processing, as
//! docker); `#` comments and blank lines skipped; a bare `KEY` takes the value from
//! this process's environment, and is dropped from a file (kept by name from `-e`) when
//! unset.

/// The variables of an env file's text.
pub fn parse(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = if n == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        if key.is_empty() {
            return Err(format!("no variable name on line '{line}'"));
        }
        if key.contains(char::is_whitespace) {
            return Err(format!("variable '{key}' contains whitespaces"));
        }
        match value {
            Some(v) => out.push(format!("{key}={v}")),
            None => {
                if let Some(v) = lookup(key) {
                    out.push(format!("{key}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// One `-e` value.
pub fn env_flag(s: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    if s.contains('=') {
        return s.to_owned();
    }
    match lookup(s) {
        Some(v) => format!("{s}={v}"),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "HOME").then(|| "/root".to_owned())
    }

    #[test]
    fn files() {
        let text = "\u{feff}# comment\nA=1\n\n  B=\"quoted\" \nHOME\nUNSET\nC=x=y\n";
        assert_eq!(
            parse(text, env).unwrap(),
            vec!["A=1", "B=\"quoted\" ", "HOME=/root", "C=x=y"]
        );
        assert!(parse("BAD KEY=1", env).unwrap_err().contains("whitespaces"));
        assert!(parse("=1", env).is_err());
    }

    #[test]
    fn flags() {
        assert_eq!(env_flag("A=1", env), "A=1");
        assert_eq!(env_flag("HOME", env), "HOME=/root");
        assert_eq!(env_flag("UNSET", env), "UNSET");
    }
}
