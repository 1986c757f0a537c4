//! A session with one repository of one registry: the HTTP client (TLS roots for that
//! host, plain HTTP where the insecure rule allows it), the scheme found to work, and the
//! `Authorization` it earned (basic, or a bearer token for the session's scope, fetched
//! again when the registry answers 401).

use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::auth::challenge::Challenge;
use crate::auth::credentials::Credentials;
use crate::config::{api_host, Options};
use crate::error::{Result, Scope};

/// What a session may do; the token scope `repository:<name>:<actions>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Pull,
    Push,
}

impl Access {
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

pub struct Session {
    pub(crate) scope: Scope,
    pub(crate) opts: Options,
    http: Client,
    /// `https://host` or `http://host`.
    base: String,
    repository: String,
    access: Access,
    creds: Option<Credentials>,
    auth: Mutex<Option<String>>,
    /// Extra repositories the token must cover (cross-repository mounts: `pull` on them).
    extra_scopes: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("base", &self.base)
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// An error and its causes on one line: reqwest's own message hides "connection refused".
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

fn build_client(opts: &Options, registry: &str, insecure: bool) -> Result<Client, String> {
    let mut b = Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .timeout(None::<Duration>)
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(10))
        .pool_max_idle_per_host(8);
    for f in opts.ca_files(registry) {
        let pem = std::fs::read(&f).map_err(|e| format!("read {}: {e}", f.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", f.display()))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| chain(&e))
}

impl Session {
    /// Opens a session: finds the scheme (`GET /v2/`) and authenticates as the registry
    /// asks, so every later request carries its credentials from the start.
    pub fn open(
        opts: &Options,
        op: &'static str,
        registry: &str,
        repository: &str,
        access: Access,
        creds: Option<Credentials>,
    ) -> Result<Session> {
        let scope = Scope::new(op, registry, repository);
        let host = api_host(registry);
        let insecure = opts.is_insecure(registry);
        let http = build_client(opts, registry, insecure).map_err(|e| scope.invalid(e))?;
        let mut session = Session {
            scope,
            opts: opts.clone(),
            http,
            base: format!("https://{host}"),
            repository: repository.to_owned(),
            access,
            creds,
            auth: Mutex::new(None),
            extra_scopes: Vec::new(),
        };
        // A registry that is restarting gets the same retries as any request.
        let mut attempt = 0;
        let ping = loop {
            session.base = format!("https://{host}");
            let err = match session.ping() {
                Ok(r) => break r,
                // An insecure host may speak plain HTTP only: HTTPS failing is expected.
                Err(_) if insecure => {
                    session.base = format!("http://{host}");
                    match session.ping() {
                        Ok(r) => break r,
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            attempt += 1;
            if attempt >= session.opts.attempts.max(1) {
                return Err(err);
            }
            std::thread::sleep(session.backoff(attempt));
        };
        match ping.status() {
            StatusCode::UNAUTHORIZED => {
                let c = challenge_of(&ping);
                session.authenticate(c.as_ref())?;
            }
            s if s.is_success() => {}
            s => {
                let body = ping.text().unwrap_or_default();
                return Err(session.scope.status("GET /v2/", s.as_u16(), short(&body)));
            }
        }
        Ok(session)
    }

    /// The token should also let us read `repos` (for blob mounts from them). Takes
    /// effect at the next authentication; call before [`Session::reauthenticate`].
    pub fn add_pull_scopes(&mut self, repos: &[String]) {
        self.extra_scopes = repos
            .iter()
            .filter(|r| **r != self.repository)
            .map(|r| format!("repository:{r}:pull"))
            .collect();
    }

    /// Fetches a new token now (after [`Session::add_pull_scopes`]).
    pub fn reauthenticate(&self) -> Result<()> {
        let ping = self.ping()?;
        if ping.status() == StatusCode::UNAUTHORIZED {
            self.authenticate(challenge_of(&ping).as_ref())?;
        }
        Ok(())
    }

    fn ping(&self) -> Result<Response> {
        let auth = self.auth_header();
        let mut rb = self.http.get(format!("{}/v2/", self.base));
        if let Some(a) = auth {
            rb = rb.header(AUTHORIZATION, a);
        }
        rb.send().map_err(|e| {
            self.scope
                .unreachable(format!("{}/v2/: {}", self.base, chain(&e)))
        })
    }

    fn auth_header(&self) -> Option<String> {
        self.auth.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Answers a challenge: basic credentials as they are, or a token from the realm.
    fn authenticate(&self, challenge: Option<&Challenge>) -> Result<()> {
        let header = match challenge {
            None => return Err(self.scope.unauthorized("the registry asks for credentials it does not say how to send (no usable WWW-Authenticate)")),
            Some(Challenge::Basic { .. }) => match &self.creds {
                Some(c) => c.basic_header(),
                None => return Err(self.scope.unauthorized(format!("authentication required (berth login {})", self.scope.registry))),
            },
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token = self.fetch_token(realm, service.as_deref())?;
                format!("Bearer {token}")
            }
        };
        *self.auth.lock().unwrap_or_else(|e| e.into_inner()) = Some(header);
        Ok(())
    }

    fn fetch_token(&self, realm: &str, service: Option<&str>) -> Result<String> {
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(s) = service {
            query.push(("service".into(), s.to_owned()));
        }
        if !self.repository.is_empty() {
            query.push((
                "scope".into(),
                format!("repository:{}:{}", self.repository, self.access.actions()),
            ));
        }
        for s in &self.extra_scopes {
            query.push(("scope".into(), s.clone()));
        }
        if let Some(c) = &self.creds {
            query.push(("account".into(), c.username.clone()));
        }
        let mut rb = self.http.get(realm).query(&query);
        if let Some(c) = &self.creds {
            rb = rb.header(AUTHORIZATION, c.basic_header());
        }
        let resp = rb.send().map_err(|e| {
            self.scope
                .unreachable(format!("token server {realm}: {}", chain(&e)))
        })?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let why = if self.creds.is_some() {
                "the token server refused the credentials (wrong username or password?)"
            } else {
                "the token server wants credentials (berth login first)"
            };
            return Err(self.scope.unauthorized(why));
        }
        if !status.is_success() {
            let body = resp.text().unwrap_or_default();
            return Err(self.scope.status(
                format!("token from {realm}"),
                status.as_u16(),
                short(&body),
            ));
        }
        let body = resp.bytes().map_err(|e| {
            self.scope
                .unreachable(format!("token server {realm}: {}", chain(&e)))
        })?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| self.scope.invalid(format!("token server {realm}: {e}")))?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                self.scope
                    .invalid(format!("token server {realm} answered no token"))
            })
    }

    /// `https://host/v2/<repository>/<rest>`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.base, self.repository)
    }

    /// Resolves a `Location` the registry answered (absolute, or relative to the host).
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            format!("{}/{location}", self.base)
        }
    }

    /// Sends the request `build` makes (called again for each attempt, so a body is
    /// made anew): with the session's authorization, retried with backoff when the
    /// connection fails, re-authenticated once on 401. `what` names the request in errors.
    pub fn send(&self, what: &str, build: impl Fn(&Client) -> RequestBuilder) -> Result<Response> {
        let mut reauthed = false;
        let mut attempt = 0;
        loop {
            let mut rb = build(&self.http);
            if let Some(a) = self.auth_header() {
                rb = rb.header(AUTHORIZATION, a);
            }
            match rb.send() {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !reauthed => {
                    reauthed = true;
                    let c = challenge_of(&resp);
                    self.authenticate(c.as_ref())?;
                }
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                    let body = resp.text().unwrap_or_default();
                    let why = if self.creds.is_some() {
                        "the registry refused the credentials (wrong username or password?)"
                            .to_owned()
                    } else {
                        format!(
                            "{what}: {} (berth login {} first)",
                            short(&body),
                            self.scope.registry
                        )
                    };
                    return Err(self.scope.unauthorized(why));
                }
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    attempt += 1;
                    if attempt >= self.opts.attempts.max(1) {
                        return Err(self.scope.unreachable(format!(
                            "{what}: {} (after {attempt} attempts)",
                            chain(&e)
                        )));
                    }
                    std::thread::sleep(self.backoff(attempt));
                }
            }
        }
    }

    /// The pause before attempt `n + 1`.
    pub fn backoff(&self, n: u32) -> Duration {
        self.opts.backoff * 2u32.saturating_pow(n.saturating_sub(1).min(6))
    }

    /// The answer as an error of this session, for a status the caller did not expect.
    pub fn unexpected(&self, what: &str, resp: Response) -> crate::Error {
        let status = resp.status();
        let body = resp.text().unwrap_or_default();
        if status == StatusCode::NOT_FOUND {
            return self.scope.not_found(what);
        }
        if status == StatusCode::FORBIDDEN {
            return self
                .scope
                .unauthorized(format!("{what}: denied: {}", short(&body)));
        }
        self.scope.status(what, status.as_u16(), short(&body))
    }
}

fn challenge_of(resp: &Response) -> Option<Challenge> {
    resp.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(Challenge::parse)
}

/// A registry's error body, trimmed to one line of reasonable length (distribution
/// answers `{"errors":[{"code":…,"message":…}]}`: the messages are what a user needs).
pub(crate) fn short(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(errs) = v.get("errors").and_then(|e| e.as_array()) {
            let msgs: Vec<String> = errs
                .iter()
                .map(|e| {
                    let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                    let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
                    format!("{} {}", code.to_lowercase(), msg).trim().to_owned()
                })
                .collect();
            if !msgs.is_empty() {
                return msgs.join("; ");
            }
        }
    }
    let one: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.len() > 300 {
        let mut cut = 300;
        while !one.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &one[..cut])
    } else if one.is_empty() {
        "(no body)".to_owned()
    } else {
        one
    }
}
