//! `--user name|uid[:group|gid]` (a Dockerfile's `USER`) and `--group-add` resolved
//! against the container's own /etc/passwd and /etc/group, as Docker does, into the numeric
//! ids an OCI config needs. Here rather than in the engine because the builder resolves a
//! RUN step's user the same way.

use std::path::Path;

/// A user or group the container's files do not name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    User(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    Group(String),
}

type Result<T> = std::result::Result<T, UserError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn passwd(text: &str) -> Vec<Passwd> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 6 {
                return None;
            }
            Some(Passwd {
                name: f[0].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_owned(),
            })
        })
        .collect()
}

/// (name, gid, members)
fn groups(text: &str) -> Vec<(String, u32, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3).then(|| {
                let members = f.get(3).map_or_else(Vec::new, |m| {
                    m.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
                });
                Some((f[0].to_owned(), f[2].parse().ok()?, members))
            })?
        })
        .collect()
}

/// Resolves `spec` against the files of the root filesystem at `root`; a missing passwd or
/// group file is empty (numeric ids still resolve, as in Docker).
pub fn resolve(root: &Path, spec: &str, group_add: &[String]) -> Result<User> {
    let pw = passwd(&crate::in_root::read(root, "/etc/passwd").unwrap_or_default());
    let gr = groups(&crate::in_root::read(root, "/etc/group").unwrap_or_default());
    resolve_with(&pw, &gr, spec, group_add)
}

fn resolve_with(
    pw: &[Passwd],
    gr: &[(String, u32, Vec<String>)],
    spec: &str,
    group_add: &[String],
) -> Result<User> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let entry = pw.iter().find(|p| p.name == user);
    let (uid, mut gid, home, name) = match (user.parse::<u32>(), entry) {
        (Ok(uid), _) => {
            let e = pw.iter().find(|p| p.uid == uid);
            (uid, e.map_or(0, |e| e.gid), e.map_or("/".to_owned(), |e| e.home.clone()), e.map(|e| e.name.clone()))
        }
        (Err(_), Some(e)) => (e.uid, e.gid, e.home.clone(), Some(e.name.clone())),
        (Err(_), None) => return Err(UserError::User(user.to_owned())),
    };
    let find_group = |g: &str| -> Result<u32> {
        if let Ok(n) = g.parse() {
            return Ok(n);
        }
        gr.iter()
            .find(|(n, _, _)| n == g)
            .map(|(_, id, _)| *id)
            .ok_or_else(|| UserError::Group(g.to_owned()))
    };
    if let Some(g) = group {
        gid = find_group(g)?;
    }
    let mut additional: Vec<u32> = Vec::new();
    if let Some(name) = &name {
        for (_, id, members) in gr {
            if members.iter().any(|m| m == name) && *id != gid && !additional.contains(id) {
                additional.push(*id);
            }
        }
    }
    for g in group_add {
        let id = find_group(g)?;
        if !additional.contains(&id) {
            additional.push(id);
        }
    }
    Ok(User { uid, gid, additional_gids: additional, home })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups() {
        let pw = passwd("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n");
        let gr = groups("root:x:0:\nwww:x:33:\naudio:x:29:www\n");
        let u = resolve_with(&pw, &gr, "www", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids.clone(), u.home.as_str()), (33, 33, vec![29], "/var/www"));
        let u = resolve_with(&pw, &gr, "1000:audio", &["7".into()]).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids), (1000, 29, vec![7]));
        assert!(resolve_with(&pw, &gr, "nobody", &[]).unwrap_err().to_string().contains("unable to find user nobody"));
        assert_eq!(resolve_with(&pw, &gr, "", &[]).unwrap().uid, 0);
    }
}
