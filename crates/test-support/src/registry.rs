//! A reference registry for one test: Debian's `docker-registry` (distribution 2.8) on
//! 127.0.0.1 inside a network namespace the test owns (a [`crate::Daemon`]'s), with
//! filesystem storage in a temp directory, anonymous or behind htpasswd basic auth or
//! token auth. For token auth the fixture runs the token server itself: a thread bound
//! inside the namespace that checks basic credentials and answers RS256 JWTs signed (by
//! `openssl`) with a throw-away key whose certificate the registry trusts.
//!
//! Processes are started with `nsenter --net=/run/netns/NAME` (never `ip netns exec`) and
//! killed by their pid on drop, also when the test failed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How clients must authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    /// htpasswd (bcrypt) basic auth with one user.
    Basic { user: String, password: String },
    /// Bearer tokens from the fixture's token server, which wants these credentials.
    Token { user: String, password: String },
}

#[derive(Debug)]
pub struct Registry {
    netns: String,
    /// The address it listens on (127.0.0.1, or the TLS variant's own address).
    ip: String,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    token: Option<TokenServer>,
    pub auth: Auth,
}

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

impl Registry {
    /// Starts a registry in the network namespace `netns` (which the caller owns).
    pub fn start(netns: &str, auth: Auth) -> Registry {
        Registry::start_on(netns, auth, "127.0.0.1", None)
    }

    /// An anonymous registry speaking HTTPS on 10.99.0.1 (added to the namespace's
    /// loopback device, so it is not a loopback address and the insecure rule does not
    /// apply), with a certificate signed by a throw-away CA: [`Registry::ca_cert`].
    pub fn start_tls(netns: &str) -> Registry {
        let ip = "10.99.0.1";
        let _ = Command::new("ip").args(["-n", netns, "addr", "add", &format!("{ip}/32"), "dev", "lo"]).status();
        let dir = tempfile::Builder::new().prefix("berth-e2e-tls.").tempdir_in("/tmp").expect("temp dir");
        let d = dir.path();
        let sh = format!(
            "set -e; cd {d}; \
             openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca -keyout ca.key -out ca.crt \
               -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign; \
             openssl req -newkey rsa:2048 -nodes -subj /CN={ip} -keyout server.key -out server.csr; \
             printf 'subjectAltName=IP:{ip}\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\nkeyUsage=digitalSignature,keyEncipherment\\n' > ext; \
             openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out server.crt",
            d = d.display()
        );
        let st = Command::new("sh").arg("-c").arg(&sh).stdout(Stdio::null()).stderr(Stdio::null()).status().expect("openssl");
        assert!(st.success(), "making the test CA and certificate");
        let tls = format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            d.join("server.crt").display(),
            d.join("server.key").display()
        );
        let mut r = Registry::start_on(netns, Auth::Anonymous, ip, Some(tls));
        std::fs::copy(d.join("ca.crt"), r.dir.path().join("ca.crt")).expect("copy ca.crt");
        drop(dir);
        r.ip = ip.to_owned();
        r
    }

    /// The CA certificate of a [`Registry::start_tls`] registry.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn start_on(netns: &str, auth: Auth, ip: &str, tls: Option<String>) -> Registry {
        let n = NEXT_PORT.fetch_add(2, Ordering::Relaxed);
        let port = 5000 + n;
        let dir = tempfile::Builder::new().prefix("berth-e2e-reg.").tempdir_in("/tmp").expect("temp dir");
        std::fs::create_dir_all(dir.path().join("data")).expect("registry storage");
        let mut auth_yaml = String::new();
        let mut token = None;
        match &auth {
            Auth::Anonymous => {}
            Auth::Basic { user, password } => {
                let hash = bcrypt(password);
                std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).expect("htpasswd");
                auth_yaml = format!(
                    "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                );
            }
            Auth::Token { user, password } => {
                let key = dir.path().join("token.key");
                let cert = dir.path().join("token.crt");
                let st = Command::new("openssl")
                    .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=berth-test-token"])
                    .arg("-keyout")
                    .arg(&key)
                    .arg("-out")
                    .arg(&cert)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("run openssl req");
                assert!(st.success(), "openssl req");
                let der = Command::new("openssl")
                    .args(["x509", "-outform", "DER", "-in"])
                    .arg(&cert)
                    .output()
                    .expect("openssl x509");
                assert!(der.status.success());
                let tport = port + 1;
                let server = TokenServer::start(netns, tport, user, password, key, base64(&der.stdout, false));
                auth_yaml = format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{tport}/token\n    service: berth-test-registry\n    issuer: berth-test-issuer\n    rootcertbundle: {}\n",
                    cert.display()
                );
                token = Some(server);
            }
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {ip}:{port}\n{}{auth_yaml}",
            dir.path().join("data").display(),
            tls.unwrap_or_default()
        );
        std::fs::write(dir.path().join("config.yml"), config).expect("registry config");
        let mut r = Registry { netns: netns.to_owned(), ip: ip.to_owned(), port, dir, child: None, token, auth };
        r.launch();
        r
    }

    /// `127.0.0.1:PORT` (`10.99.0.1:PORT` with TLS), what references name it by.
    pub fn host(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("registry.log"))
            .expect("registry log");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg("--")
            .arg("/usr/bin/docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if in_netns(&self.netns, || TcpStream::connect((self.ip.as_str(), self.port)).is_ok()) {
                return;
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                panic!("docker-registry exited with {st}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("docker-registry did not listen within 20 s: {}", self.log());
    }

    /// SIGKILL of the registry (its storage stays).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// A command run inside the registry's network namespace (skopeo, podman).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.netns)).arg("--").arg(program);
        c
    }

    /// Bytes stored in the registry's blobs (to wait for a push to have landed).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
        self.token.take();
    }
}

/// Runs `f` on a thread that joined the namespace (setns affects the calling thread only).
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{netns}");
    std::thread::scope(|s| {
        s.spawn(|| {
            let ns = std::fs::File::open(&path).expect("open netns");
            // SAFETY: setns(2) with a valid namespace fd; it changes only this thread.
            let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("netns thread")
    })
}

/// A bcrypt hash through the C library's crypt(3) (libxcrypt: `$2b$`), via Python.
fn bcrypt(password: &str) -> String {
    let out = Command::new("python3")
        .args(["-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"])
        .arg(password)
        .output()
        .expect("python3 crypt");
    let h = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(h.starts_with("$2"), "no bcrypt from crypt(3): {h:?} {}", String::from_utf8_lossy(&out.stderr));
    h
}

/// Base64, standard alphabet, or URL-safe without padding.
pub fn base64(data: &[u8], url: bool) -> String {
    let table: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if !url {
                out.push('=');
            }
        }
    }
    out
}

/// The token server: `GET /token?service=…&scope=…` with basic credentials.
#[derive(Debug)]
struct TokenServer {
    stop: Arc<AtomicBool>,
    netns: String,
    port: u16,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenServer {
    fn start(netns: &str, port: u16, user: &str, password: &str, key: PathBuf, cert_b64: String) -> TokenServer {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let path = format!("/run/netns/{netns}");
        let want = format!("Basic {}", base64(format!("{user}:{password}").as_bytes(), false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).expect("open netns");
            // SAFETY: setns(2) with a valid namespace fd; it changes only this thread.
            let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns");
            let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind token server");
            let _ = ready_tx.send(());
            for conn in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = serve_token(conn, &want, &key, &cert_b64);
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).expect("token server ready");
        TokenServer { stop, netns: netns.to_owned(), port, thread: Some(thread) }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let port = self.port;
        // Wake the accept up.
        let _ = in_netns(&self.netns, || TcpStream::connect(("127.0.0.1", port)).map(drop));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_token(conn: TcpStream, want_auth: &str, key: &Path, cert_b64: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut auth = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                auth = Some(v.trim().to_owned());
            }
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut scopes = Vec::new();
    let mut service = String::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "scope" => scopes.push(v),
            "service" => service = v,
            _ => {}
        }
    }
    let mut out = conn;
    if auth.as_deref() != Some(want_auth) {
        let body = r#"{"details":"wrong or missing credentials"}"#;
        write!(out, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
        return Ok(());
    }
    let access: Vec<String> = scopes
        .iter()
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (typ, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            let acts: Vec<String> = actions.split(',').map(|a| format!("\"{a}\"")).collect();
            Some(format!(r#"{{"type":"{typ}","name":"{name}","actions":[{}]}}"#, acts.join(",")))
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let header = format!(r#"{{"typ":"JWT","alg":"RS256","x5c":["{cert_b64}"]}}"#);
    let claims = format!(
        r#"{{"iss":"berth-test-issuer","sub":"tester","aud":"{service}","exp":{},"nbf":{},"iat":{now},"jti":"{now}-{}","access":[{}]}}"#,
        now + 300,
        now - 10,
        std::process::id(),
        access.join(",")
    );
    let signing_input = format!("{}.{}", base64(header.as_bytes(), true), base64(claims.as_bytes(), true));
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child.stdin.take().expect("stdin").write_all(signing_input.as_bytes())?;
    let mut sig = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut sig)?;
    child.wait()?;
    let token = format!("{signing_input}.{}", base64(&sig, true));
    let body = format!(r#"{{"token":"{token}","access_token":"{token}","expires_in":300}}"#);
    write!(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_both_ways() {
        assert_eq!(base64(b"alice:s3cret", false), "YWxpY2U6czNjcmV0");
        assert_eq!(base64(b"ab", false), "YWI=");
        assert_eq!(base64(b"ab", true), "YWI");
        assert_eq!(percent_decode("repository%3Aa%2Fb%3Apull%2Cpush"), "repository:a/b:pull,push");
    }
}
