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
pub fn rows(format: &str, rows: &[Value], header: impl Fn(&str) -> String) -> Result<String, String> {
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

/// JSON indented by four spaces, as `docker inspect` prints it.
pub fn pretty_json(value: &Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    value.serialize(&mut ser).expect("a JSON value serializes");
    template::go_escape(&String::from_utf8(buf).expect("JSON is UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_json_and_plain_formats() {
        let data = [json!({"A": "x", "B": "<none>"}), json!({"A": "longer-value", "B": "y"})];
        let t = rows("table {{.A}}\t{{.B}}", &data, |f| f.to_uppercase()).unwrap();
        assert_eq!(t, "A              B\nx              <none>\nlonger-value   y\n");
        let j = rows("json", &data[..1], |f| f.to_owned()).unwrap();
        assert_eq!(j, "{\"A\":\"x\",\"B\":\"\\u003cnone\\u003e\"}\n");
        assert_eq!(rows("{{.A}}", &data, |f| f.to_owned()).unwrap(), "x\nlonger-value\n");
    }

    #[test]
    fn pretty_json_uses_four_spaces() {
        assert_eq!(pretty_json(&json!([{"Id": 1}])), "[\n    {\n        \"Id\": 1\n    }\n]");
    }
}
