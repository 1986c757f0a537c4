//! `berth volume …`: named volumes over the Engine API (`/volumes/...`), one file per
//! command, with docker's flags and output.

pub mod create;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;

use std::cmp::Ordering;

/// Docker's order for volume names (`sortorder.NaturalLess`): runs of digits compare as
/// numbers, so `v2` sorts before `v10` and a hash starting `9e…` before one starting
/// `443…`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (da, ra) = split_digits(a);
                let (db, rb) = split_digits(b);
                // Compare as numbers without overflow: leading zeros off, then length,
                // then digits; equal values with more zeros come later, as in Go's.
                let (ta, tb) = (trim_zeros(da), trim_zeros(db));
                let ord = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| da.len().cmp(&db.len()));
                if ord != Ordering::Equal {
                    return ord;
                }
                (a, b) = (ra, rb);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("v2", "v10"), Less);
        assert_eq!(natural_cmp("9e9a", "44334"), Less);
        assert_eq!(natural_cmp("e50", "v2"), Less);
        assert_eq!(natural_cmp("a", "a"), Equal);
        assert_eq!(natural_cmp("a", "ab"), Less);
        assert_eq!(natural_cmp("a01", "a1"), Greater);
        let mut v = vec!["zz10", "v2", "44334", "9e9a", "e507"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["9e9a", "44334", "e507", "v2", "zz10"]);
    }
}
