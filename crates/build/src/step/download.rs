//! ADD of a URL: the file fetched by the daemon (redirects followed), named after the
//! URL's last path segment, mode 0600 and the `Last-Modified` time as Docker sets them,
//! checked against `--checksum` when given. Downloaded again on every build, as Docker
//! does: the content, not the URL, is the cache key.

use sha2::{Digest as _, Sha256};

use crate::step::copy::Inline;

/// Downloads bigger than this are refused rather than held in memory.
const MAX: u64 = 1 << 30;

pub fn fetch(url: &str, checksum: Option<&str>) -> Result<Inline, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .map_err(|e| format!("download {url}: {e}"))?;
    let resp = client.get(url).send().map_err(|e| format!("download {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("download {url}: the server answered {}", resp.status()));
    }
    if resp.content_length().is_some_and(|n| n > MAX) {
        return Err(format!("download {url}: larger than {MAX} bytes"));
    }
    let mtime = resp
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(httpdate_secs)
        .unwrap_or(0);
    let content = resp.bytes().map_err(|e| format!("download {url}: {e}"))?.to_vec();
    if let Some(want) = checksum {
        let got = format!("sha256:{}", hex::encode(Sha256::digest(&content)));
        if got != want {
            return Err(format!("digest mismatch for {url}: expected {want}, got {got}"));
        }
    }
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.trim_end_matches('/').rsplit('/').next().filter(|n| !n.is_empty() && !n.contains(':')).unwrap_or("download").to_owned();
    Ok(Inline { name, content, mode: 0o600, mtime })
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 7231's preferred form) in seconds since 1970.
fn httpdate_secs(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().position(|m| m == month)? as u64 + 1;
    let (day, year): (u64, u64) = (day.parse().ok()?, year.parse().ok()?);
    let t: Vec<u64> = time.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = t.as_slice() else { return None };
    // Days since 1970 from the civil date, with March as the first month so that the leap
    // day falls at the end of the year.
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(super::httpdate_secs("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(super::httpdate_secs("garbage"), None);
    }
}
