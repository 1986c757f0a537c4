//! `--restart no|always|unless-stopped|on-failure[:max-retries]`.

use berth_api_client::models::{RestartPolicy, RestartPolicyNameEnum};

pub fn parse(s: &str) -> Result<RestartPolicy, String> {
    let (name, max) = match s.split_once(':') {
        Some((n, m)) => (n, Some(m)),
        None => (s, None),
    };
    let name_enum = match name {
        "" | "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => return Err(format!("invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")),
    };
    let maximum_retry_count = match max {
        None => None,
        Some(m) => {
            if name_enum != RestartPolicyNameEnum::ON_FAILURE {
                return Err(
                    "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                        .to_owned(),
                );
            }
            let n: i64 = m.parse().map_err(|_| {
                format!(
                    "invalid restart policy format: maximum retry count must be an integer: {m}"
                )
            })?;
            if n < 0 {
                return Err(
                    "invalid restart policy: maximum retry count cannot be negative".into(),
                );
            }
            Some(n)
        }
    };
    Ok(RestartPolicy {
        name: Some(name_enum),
        maximum_retry_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        assert_eq!(
            parse("always").unwrap().name,
            Some(RestartPolicyNameEnum::ALWAYS)
        );
        assert_eq!(parse("no").unwrap().name, Some(RestartPolicyNameEnum::NO));
        let p = parse("on-failure:5").unwrap();
        assert_eq!(
            (p.name, p.maximum_retry_count),
            (Some(RestartPolicyNameEnum::ON_FAILURE), Some(5))
        );
        assert_eq!(parse("on-failure").unwrap().maximum_retry_count, None);
        assert_eq!(
            parse("unless-stopped").unwrap().name,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );
        assert!(parse("always:3").is_err());
        assert!(parse("on-failure:x").is_err());
        assert!(parse("sometimes").unwrap_err().contains("unknown policy"));
    }
}
