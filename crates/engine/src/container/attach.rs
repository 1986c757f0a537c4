//! Attaching to a container's stdio through its shim, also before it starts (`docker
//! run` attaches first), and the detach key sequence (ctrl-p ctrl-q by default).

use tokio::net::UnixStream;

use crate::container::record::Status;
use crate::container::Container;
use crate::error::{Error, Result};
use crate::shim;

pub async fn open(c: &Container, stdin: bool, stdout: bool, stderr: bool) -> Result<UnixStream> {
    match c.status() {
        Status::Removing | Status::Dead => {
            return Err(Error::Conflict(format!("container {} is marked for removal", c.id)))
        }
        _ => {}
    }
    if c.lifecycle().shim_up {
        return shim::attach(&c.state_dir, stdin, stdout, stderr).await;
    }
    *c.pending_attach.lock().expect("attach lock") += 1;
    let mut rx = c.subscribe();
    let up = rx.wait_for(|l| l.shim_up || l.removed).await.map(|l| l.shim_up).unwrap_or(false);
    let result = if up {
        shim::attach(&c.state_dir, stdin, stdout, stderr).await
    } else {
        Err(Error::Conflict(format!("container {} was removed", c.id)))
    };
    *c.pending_attach.lock().expect("attach lock") -= 1;
    c.attach_done.notify_waiters();
    result
}

/// `ctrl-p,ctrl-q`, `a,ctrl-b`: the bytes of a detach sequence.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for k in s.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c {
                "@" => 0,
                "[" => 27,
                "\\" => 28,
                "]" => 29,
                "^" => 30,
                "_" => 31,
                c if c.len() == 1 && c.as_bytes()[0].is_ascii_lowercase() => c.as_bytes()[0] - b'a' + 1,
                _ => return Err(Error::Invalid(format!("Invalid detach keys ({s}) provided"))),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(Error::Invalid(format!("Invalid detach keys ({s}) provided")));
        }
    }
    Ok(out)
}

/// Watches input for the detach sequence. Bytes that only looked like the start of it
/// are handed back when the match fails.
#[derive(Debug)]
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    pub fn new(keys: Vec<u8>) -> DetachMatcher {
        DetachMatcher { keys, matched: 0 }
    }

    /// Returns the bytes to forward, and whether the sequence completed.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return (out, false);
        }
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert!(parse_detach_keys("ctrl-pp").is_err());
        let mut m = DetachMatcher::new(vec![16, 17]);
        assert_eq!(m.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(m.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(m.feed(b"\x10\x11rest"), (Vec::new(), true));
    }
}
