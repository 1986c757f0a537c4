//! `--ulimit name=soft[:hard]` (hard defaults to soft), names as docker knows them.

use berth_api_client::models::ResourcesUlimits;

const NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

pub fn parse(s: &str) -> Result<ResourcesUlimits, String> {
    let (name, limits) = s
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {s}"))?;
    if !NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let (soft, hard) = match limits.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (limits, None),
    };
    let num = |v: &str| {
        v.parse::<i64>()
            .map_err(|_| format!("invalid ulimit argument: {s}"))
    };
    let soft = num(soft)?;
    let hard = match hard {
        Some(h) => num(h)?,
        None => soft,
    };
    if soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok(ResourcesUlimits {
        name: Some(name.to_owned()),
        soft: Some(soft),
        hard: Some(hard),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits() {
        let u = parse("nofile=1024:2048").unwrap();
        assert_eq!(
            (u.name.as_deref(), u.soft, u.hard),
            (Some("nofile"), Some(1024), Some(2048))
        );
        let u = parse("nproc=100").unwrap();
        assert_eq!((u.soft, u.hard), (Some(100), Some(100)));
        assert!(parse("core=-1").is_ok());
        assert!(parse("nofile=2048:1024")
            .unwrap_err()
            .contains("soft limit"));
        assert!(parse("bogus=1")
            .unwrap_err()
            .contains("invalid ulimit type"));
        assert!(parse("nofile").is_err());
        assert!(parse("nofile=x").is_err());
    }
}
