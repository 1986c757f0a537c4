//! The subset of Go's text/template that docker's `--format` flags are used with:
//! text, `{{.Field}}` and `{{.A.B}}` paths, `{{.}}`, `{{json .X}}`, `{{upper .X}}`,
//! `{{lower .X}}`, `{{index .X 0}}` / `{{index .X "key"}}`, `{{.Label "key"}}` (a
//! field holding a map, looked up by key, as docker's `Label` method), a `table` prefix (a header row
//! and aligned columns, see [`super::table`]) and the escapes `\t` and `\n`, which docker
//! turns into a tab and a newline before parsing.
//!
//! Templates are rendered against `serde_json::Value`s: the command builds the value with
//! the field names docker documents, so the same template gives the same output.

use std::fmt::Write as _;

use serde_json::Value;

/// A parsed `--format` template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    table: bool,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Action(Action),
}

#[derive(Debug, Clone, PartialEq)]
struct Action {
    func: Func,
    path: Vec<String>,
    /// The argument of `index`.
    key: Option<Key>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Value,
    Json,
    Upper,
    Lower,
    Index,
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Position(usize),
    Name(String),
}

impl Template {
    /// Parses `src`; an error says which action is not understood.
    pub fn parse(src: &str) -> Result<Template, String> {
        let (table, body) = match src.strip_prefix("table") {
            Some(rest) => (true, rest.trim_start_matches(' ')),
            None => (false, src),
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let mut parts = Vec::new();
        let mut rest = body.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("template: unclosed action in {src:?}"))?;
            parts.push(Part::Action(parse_action(&after[..end])?));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { table, parts })
    }

    /// Whether the template began with `table`: print a header and align the columns.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Renders the template for one value.
    pub fn render(&self, value: &Value) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Action(a) => out.push_str(&a.eval(value)?),
            }
        }
        Ok(out)
    }

    /// The header row of a table: each field action replaced by `header(field name)`.
    pub fn header(&self, header: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Action(a) => {
                    if let Some(last) = a.path.last() {
                        out.push_str(&header(last));
                    }
                }
            }
        }
        out
    }
}

fn parse_action(src: &str) -> Result<Action, String> {
    let src = src.trim();
    let bad = || format!("template: unsupported action {{{{{src}}}}}");
    let mut words = src.split_whitespace();
    let first = words.next().ok_or_else(bad)?;
    let (func, path_word) = match first {
        "json" => (Func::Json, words.next().ok_or_else(bad)?),
        "upper" => (Func::Upper, words.next().ok_or_else(bad)?),
        "lower" => (Func::Lower, words.next().ok_or_else(bad)?),
        "index" => (Func::Index, words.next().ok_or_else(bad)?),
        w if w.starts_with('.') => (Func::Value, w),
        _ => return Err(bad()),
    };
    let path = parse_path(path_word).ok_or_else(bad)?;
    // `{{.Label "k"}}`: docker's method taking a key, here a lookup in the map the
    // field holds.
    let (func, key) = match (func, words.clone().next()) {
        (Func::Value, Some(k)) if k.starts_with('"') && k.ends_with('"') && k.len() >= 2 => {
            words.next();
            (Func::Index, Some(Key::Name(k[1..k.len() - 1].to_owned())))
        }
        _ => (func, None),
    };
    let key = if key.is_some() {
        key
    } else if func == Func::Index {
        let k = words.next().ok_or_else(bad)?;
        Some(
            match k.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
                Some(name) => Key::Name(name.to_owned()),
                None => Key::Position(k.parse().map_err(|_| bad())?),
            },
        )
    } else {
        None
    };
    if words.next().is_some() {
        return Err(bad());
    }
    Ok(Action { func, path, key })
}

/// `.` is the value itself, `.A.B` a path into it.
fn parse_path(word: &str) -> Option<Vec<String>> {
    if word == "." {
        return Some(Vec::new());
    }
    let rest = word.strip_prefix('.')?;
    let path: Vec<String> = rest.split('.').map(str::to_owned).collect();
    path.iter()
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then_some(path)
}

impl Action {
    fn eval(&self, root: &Value) -> Result<String, String> {
        let mut v = root;
        for name in &self.path {
            v = match v {
                Value::Object(map) => map
                    .get(name)
                    .ok_or_else(|| format!("template: can't evaluate field {name}"))?,
                _ => return Err(format!("template: can't evaluate field {name}")),
            };
        }
        Ok(match self.func {
            Func::Value => go_string(v),
            Func::Json => json(v),
            Func::Upper => go_string(v).to_uppercase(),
            Func::Lower => go_string(v).to_lowercase(),
            Func::Index => {
                let item = match (v, self.key.as_ref()) {
                    (Value::Array(a), Some(Key::Position(i))) => a.get(*i),
                    // A missing map key is the zero value in Go, not an error.
                    (Value::Object(m), Some(Key::Name(k))) => {
                        return Ok(m.get(k).map(go_string).unwrap_or_default())
                    }
                    _ => None,
                };
                go_string(item.ok_or("template: error calling index: index out of range")?)
            }
        })
    }
}

/// A value as Go's template prints it: `[a b]` for a list, `map[k:v]` for a map.
fn go_string(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_string).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let mut out = String::from("map[");
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{k}:{}", go_string(v));
            }
            out.push(']');
            out
        }
    }
}

/// Compact JSON as Go's encoder writes it: `<`, `>` and `&` escaped.
pub fn json(v: &Value) -> String {
    go_escape(&v.to_string())
}

/// Go's encoding/json escapes `<`, `>` and `&`; they only occur inside strings, so a
/// textual replacement is exact.
pub fn go_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &str, v: &Value) -> String {
        Template::parse(t).unwrap().render(v).unwrap()
    }

    #[test]
    fn fields_text_and_escapes() {
        let v = json!({"Repository": "busybox", "Tag": "latest", "N": 3});
        assert_eq!(render("{{.Repository}}:{{.Tag}}", &v), "busybox:latest");
        assert_eq!(render("{{ .Repository }}\\t{{.N}}\\n", &v), "busybox\t3\n");
        assert_eq!(render("plain", &v), "plain");
    }

    #[test]
    fn nested_paths_json_and_functions() {
        let v = json!({"RootFS": {"Type": "layers", "Layers": ["a", "b"]}, "Name": "Box"});
        assert_eq!(render("{{.RootFS.Type}}", &v), "layers");
        assert_eq!(render("{{.RootFS.Layers}}", &v), "[a b]");
        assert_eq!(render("{{json .RootFS.Layers}}", &v), r#"["a","b"]"#);
        assert_eq!(render("{{index .RootFS.Layers 1}}", &v), "b");
        assert_eq!(render(r#"{{index .RootFS "Type"}}"#, &v), "layers");
        assert_eq!(render("{{upper .Name}} {{lower .Name}}", &v), "BOX box");
        assert_eq!(render("{{.RootFS}}", &v), "map[Layers:[a b] Type:layers]");
    }

    #[test]
    fn field_with_key_argument() {
        let v = json!({"Label": {"com.x": "1"}});
        assert_eq!(render(r#"{{.Label "com.x"}}"#, &v), "1");
        assert_eq!(
            Template::parse(r#"table {{.Label "com.x"}}"#)
                .unwrap()
                .header(|f| f.to_uppercase()),
            "LABEL"
        );
    }

    #[test]
    fn json_escapes_like_go() {
        let v = json!({"Tag": "<none>"});
        assert_eq!(render("{{json .}}", &v), r#"{"Tag":"\u003cnone\u003e"}"#);
    }

    #[test]
    fn table_prefix_and_header() {
        let t = Template::parse("table {{.ID}}\\t{{.Tag}}").unwrap();
        assert!(t.is_table());
        assert_eq!(t.header(|f| f.to_uppercase()), "ID\tTAG");
        assert!(!Template::parse("{{.ID}}").unwrap().is_table());
    }

    #[test]
    fn errors_name_the_problem() {
        let e = Template::parse("{{.ID").unwrap_err();
        assert!(e.contains("unclosed"), "{e}");
        let e = Template::parse("{{range .X}}").unwrap_err();
        assert!(e.contains("unsupported action"), "{e}");
        let e = Template::parse("{{.Nope}}")
            .unwrap()
            .render(&json!({"ID": "x"}))
            .unwrap_err();
        assert!(e.contains("can't evaluate field Nope"), "{e}");
    }
}
