//! Output formatting shared by the commands: docker's `--format` templates
//! ([`template`]), aligned tables ([`table`]), sizes and durations ([`units`]) and
//! timestamps ([`time`]).

pub mod table;
pub mod template;
pub mod time;
pub mod units;

use serde_json::Value;

pub use template::Template;

/// Renders `rows` with a `--format` value: `json` (one JSON object a line), a template
/// starting with `table` (a header from `header(field)`, then aligned rows), or any other
/// template (one rendering a line).
pub fn rows(
    format: &str,
    rows: &[Value],
    header: impl Fn(&str) -> String,
) -> Result<String, String> {
    let template = if format == "json" {
        Template::parse("{{json .}}")?
    } else {
        Template::parse(format)?
    };
    let mut out = String::new();
    if template.is_table() {
        out.push_str(&template.header(header));
        out.push('\n');
    }
    for row in rows {
        out.push_str(&template.render(row)?);
        out.push('\n');
    }
    Ok(if template.is_table() {
        table::align(&out)
    } else {
        out
    })
}

/// `--format json` of list rows: one compact object a line, without the `Label` map that
/// only serves the templates' `.Label "key"`.
pub fn json_lines(rows: &[Value]) -> String {
    rows.iter()
        .map(|r| {
            let mut m = r.as_object().cloned().unwrap_or_default();
            m.remove("Label");
            format!("{}\n", template::json(&Value::Object(m)))
        })
        .collect()
}

/// JSON indented by four spaces, as `docker inspect` prints it.
pub fn pretty_json(value: &Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    value.serialize(&mut ser).expect("a JSON value serializes");
    template::go_escape(&String::from_utf8(buf).expect("JSON is UTF-8"))
}

/// [`pretty_json`] of an array of objects whose keys come in `order` first (then the
/// others, sorted): `docker inspect` starts each object with `Id`, `RepoTags`, ….
pub fn pretty_json_ordered(items: &[Value], order: &[&str]) -> String {
    if items.is_empty() {
        return "[]".to_owned();
    }
    let indent = |s: String| s.replace('\n', "\n        ");
    let objects: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::Object(map) => {
                let mut keys: Vec<&String> = order
                    .iter()
                    .filter_map(|k| map.get_key_value(*k).map(|(k, _)| k))
                    .collect();
                keys.extend(map.keys().filter(|k| !order.contains(&k.as_str())));
                let fields: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        format!(
                            "        {}: {}",
                            template::json(&Value::String((*k).clone())),
                            indent(pretty_json(&map[*k]))
                        )
                    })
                    .collect();
                if fields.is_empty() {
                    "    {}".to_owned()
                } else {
                    format!("    {{\n{}\n    }}", fields.join(",\n"))
                }
            }
            other => format!("    {}", pretty_json(other).replace('\n', "\n    ")),
        })
        .collect();
    format!("[\n{}\n]", objects.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_json_and_plain_formats() {
        let data = [
            json!({"A": "x", "B": "<none>"}),
            json!({"A": "longer-value", "B": "y"}),
        ];
        let t = rows("table {{.A}}\t{{.B}}", &data, |f| f.to_uppercase()).unwrap();
        assert_eq!(
            t,
            "A              B\nx              <none>\nlonger-value   y\n"
        );
        let j = rows("json", &data[..1], |f| f.to_owned()).unwrap();
        assert_eq!(j, "{\"A\":\"x\",\"B\":\"\\u003cnone\\u003e\"}\n");
        assert_eq!(
            rows("{{.A}}", &data, |f| f.to_owned()).unwrap(),
            "x\nlonger-value\n"
        );
    }

    #[test]
    fn ordered_keys_come_first_and_nesting_is_indented() {
        let v = json!({"B": {"x": [1]}, "Id": "i", "A": 1});
        let out = pretty_json_ordered(std::slice::from_ref(&v), &["Id", "Nope"]);
        assert_eq!(
            out,
            "[\n    {\n        \"Id\": \"i\",\n        \"A\": 1,\n        \"B\": {\n            \"x\": [\n                1\n            ]\n        }\n    }\n]"
        );
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, json!([v]));
        assert_eq!(pretty_json_ordered(&[], &[]), "[]");
    }

    #[test]
    fn pretty_json_uses_four_spaces() {
        assert_eq!(
            pretty_json(&json!([{"Id": 1}])),
            "[\n    {\n        \"Id\": 1\n    }\n]"
        );
    }
}
