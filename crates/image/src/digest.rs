//! Content digests (`sha256:<64 hex>`), the only algorithm the OCI image spec requires and
//! the only one Docker writes, plus a reader that hashes what flows through it so content
//! is verified while it is written, never in a second pass.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// A sha256 content digest. Always lower-case hex, so equal content gives equal strings.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    pub const ALGORITHM: &'static str = "sha256";

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hash(Sha256::digest(bytes).into())
    }

    fn from_hash(hash: [u8; 32]) -> Digest {
        Digest {
            hex: hex::encode(hash),
        }
    }

    /// Parses a bare 64-character hex string (the form used in paths and image ids).
    pub fn from_hex(hex: &str) -> Result<Digest> {
        let bad = |reason| Error::ParseDigest {
            input: hex.to_owned(),
            reason,
        };
        if hex.len() != 64 {
            return Err(bad("sha256 hex must be 64 characters"));
        }
        // Upper-case would make two spellings of one digest, and two paths for one blob.
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad("sha256 hex must be lower-case hexadecimal"));
        }
        Ok(Digest {
            hex: hex.to_owned(),
        })
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Whether `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        let actual = Digest::of(bytes);
        if &actual == self {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                expected: self.clone(),
                actual,
            })
        }
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Digest> {
        match s.split_once(':') {
            Some((Self::ALGORITHM, hex)) => Digest::from_hex(hex),
            Some(_) => Err(Error::ParseDigest {
                input: s.to_owned(),
                reason: "unsupported algorithm (only sha256)",
            }),
            None => Err(Error::ParseDigest {
                input: s.to_owned(),
                reason: "missing \"sha256:\" prefix",
            }),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", Self::ALGORITHM, self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes everything read through it and counts the bytes.
pub struct DigestingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> DigestingReader<R> {
    pub fn new(inner: R) -> Self {
        DigestingReader {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Bytes read so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of what was read, and its length. Callers drain the reader first when
    /// they want the digest of the whole stream.
    pub fn finish(self) -> (Digest, u64) {
        (Digest::from_hash(self.hasher.finalize().into()), self.len)
    }
}

impl<R: Read> Read for DigestingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Hashes everything written through it: a layer's DiffID while the layer is written.
pub struct DigestingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> DigestingWriter<W> {
    pub fn new(inner: W) -> Self {
        DigestingWriter {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The digest of what was written, and the writer back.
    pub fn finish(self) -> (Digest, W) {
        (Digest::from_hash(self.hasher.finalize().into()), self.inner)
    }
}

impl<W: Write> Write for DigestingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Hash only what the inner writer took, so a short write is not hashed twice.
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digest_of_empty_input() {
        assert_eq!(Digest::of(b"").to_string(), format!("sha256:{EMPTY}"));
    }

    #[test]
    fn parse_round_trips() {
        let d: Digest = format!("sha256:{EMPTY}").parse().unwrap();
        assert_eq!(d.hex(), EMPTY);
        assert_eq!(d, Digest::of(b""));
    }

    #[test]
    fn parse_rejects_bad_forms() {
        for bad in [
            EMPTY.to_owned(),
            format!("sha512:{EMPTY}"),
            format!("sha256:{}", EMPTY.to_uppercase()),
            format!("sha256:{}", &EMPTY[1..]),
            format!("sha256:{EMPTY}0"),
            "sha256:zz".to_owned(),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn verify_detects_mismatch() {
        let d = Digest::of(b"abc");
        d.verify(b"abc").unwrap();
        assert!(matches!(
            d.verify(b"abd"),
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[test]
    fn reader_hashes_the_stream() {
        let mut r = DigestingReader::new(&b"hello world"[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        let (d, n) = r.finish();
        assert_eq!(n, 11);
        assert_eq!(d, Digest::of(b"hello world"));
    }

    #[test]
    fn serde_uses_the_string_form() {
        let d = Digest::of(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
    }
}
