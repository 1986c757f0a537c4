//! `-f key=value` filters as the Engine API takes them: a JSON object of lists
//! (`{"status":["exited"]}`), each key checked against those the command knows.

use std::collections::BTreeMap;

/// The `filters` query value, `None` when no filter was given.
pub fn to_json(filters: &[String], known: &[&str]) -> Result<Option<String>, String> {
    if filters.is_empty() {
        return Ok(None);
    }
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| format!("bad format of filter (expected name=value): {f}"))?;
        let k = k.trim().to_ascii_lowercase();
        if !known.is_empty() && !known.contains(&k.as_str()) {
            return Err(format!("invalid filter '{k}'"));
        }
        map.entry(k).or_default().push(v.trim().to_owned());
    }
    Ok(Some(serde_json::to_string(&map).expect("a map serializes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(to_json(&[], &[]).unwrap(), None);
        let f = vec![
            "status=exited".to_owned(),
            "status=created".into(),
            "label=a=b".into(),
        ];
        assert_eq!(
            to_json(&f, &["status", "label"]).unwrap().unwrap(),
            r#"{"label":["a=b"],"status":["exited","created"]}"#
        );
        assert!(to_json(&["nope=1".into()], &["status"])
            .unwrap_err()
            .contains("invalid filter 'nope'"));
        assert!(to_json(&["status".into()], &[])
            .unwrap_err()
            .contains("bad format"));
    }
}
