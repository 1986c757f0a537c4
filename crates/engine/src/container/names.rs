//! Container names: what users may choose, and Docker-style generated ones
//! (`adjective_surname`) for those who do not.

use crate::error::{Error, Result};

/// Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; a leading `/` is accepted and dropped.
pub fn validate(name: &str) -> Result<String> {
    let n = name.strip_prefix('/').unwrap_or(name);
    let mut chars = n.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && n.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(n.to_owned())
    } else {
        Err(Error::Invalid(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

const LEFT: &[&str] = &[
    "admiring", "brave", "calm", "clever", "eager", "elated", "focused", "gallant", "happy",
    "jolly", "keen", "loving", "modest", "nifty", "peaceful", "quirky", "serene", "sharp",
    "stoic", "tender", "upbeat", "vibrant", "wizardly", "zealous",
];
const RIGHT: &[&str] = &[
    "archimedes", "babbage", "curie", "darwin", "einstein", "fermi", "galileo", "hopper",
    "hypatia", "kepler", "lovelace", "meitner", "newton", "noether", "pascal", "ritchie",
    "shannon", "tesla", "thompson", "turing", "wozniak", "yalow",
];

/// A name not in use, from `taken`.
pub fn generate(taken: impl Fn(&str) -> bool, seed: &str) -> String {
    let bytes = hex::decode(&seed[..16.min(seed.len())]).unwrap_or_default();
    let mut n: u64 = bytes.iter().fold(0, |a, b| (a << 8) | u64::from(*b));
    for attempt in 0.. {
        let l = LEFT[(n % LEFT.len() as u64) as usize];
        let r = RIGHT[((n / 31) % RIGHT.len() as u64) as usize];
        let name = if attempt < 10 {
            format!("{l}_{r}")
        } else {
            format!("{l}_{r}{attempt}")
        };
        if !taken(&name) {
            return name;
        }
        n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
    unreachable!()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(validate("/web-1").unwrap(), "web-1");
        assert!(validate("a").is_err());
        assert!(validate("-a").is_err());
        assert!(validate("a/b").is_err());
        let g = generate(|_| false, "0123456789abcdef");
        assert!(g.contains('_'));
        let first = g.clone();
        assert_ne!(generate(|n| n == first, "0123456789abcdef"), first);
    }
}
