//! Registries that want credentials: htpasswd basic auth and token auth (the fixture's
//! token server). Wrong credentials are refused with a clear error; `login` stores them in
//! docker's config.json, which both CLIs read (and send with a build, for its FROM pulls);
//! `logout` forgets them.

use berth_test_support::registry::{Auth, Registry};
use berth_test_support::{Client, Daemon};

use crate::{both, image_id, two_layer_image};

fn scenario(c: Client, auth: Auth) {
    let d = Daemon::start();
    let reg = Registry::start(&d.netns, auth);
    let host = reg.host();
    let img = format!("{host}/private/app:1");
    two_layer_image(&d, c, &img, "secret");
    let id = image_id(&d, c, &img);

    let anon = d.run(c, &["push", &img]);
    assert_ne!(anon.code, 0, "anonymous push accepted: {anon:?}");
    let text = format!("{}{}", anon.stdout, anon.stderr);
    eprintln!("anonymous: {text}");
    assert!(text.contains("unauthorized"), "{text}");

    let wrong = d.run(c, &["login", "-u", "alice", "-p", "wrong", &host]);
    assert_ne!(wrong.code, 0, "{wrong:?}");
    let text = format!("{}{}", wrong.stdout, wrong.stderr);
    eprintln!("wrong credentials: {text}");
    assert!(text.contains("unauthorized"), "{text}");
    let config = d.root().join("docker-config/config.json");
    assert!(!std::fs::read_to_string(&config).unwrap_or_default().contains(&host), "a refused login was stored");

    let mut login = d.command(c, &["login", "-u", "alice", "--password-stdin", &host]);
    login.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = login.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "login: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Login Succeeded"));
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(stored["auths"][&host]["auth"], "YWxpY2U6czNjcmV0", "base64 alice:s3cret, as docker writes it");

    d.run(c, &["push", &img]).ok();
    d.run(c, &["rmi", &img]).ok();
    // The other CLI reads the same login: docker and berth share config.json.
    let other = if c == Client::Berth { Client::Docker } else { Client::Berth };
    d.run(other, &["pull", &img]).ok();
    assert_eq!(image_id(&d, c, &img), id);

    // A build FROM the private image pulls it with the logins the CLI sends along
    // (`X-Registry-Config`, as `docker build` sends them).
    d.run(c, &["rmi", &img]).ok();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), format!("FROM {img}\nRUN true\n")).unwrap();
    let out = d
        .command(c, &["build", "-q", "-t", "from-private:1", ctx.path().to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "build FROM a private image: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(image_id(&d, c, &img), id, "the build pulled the base image");

    d.run(c, &["logout", &host]).ok();
    d.run(c, &["rmi", &img]).ok();
    let after = d.run(c, &["pull", &img]);
    assert_ne!(after.code, 0, "pulled after logout: {after:?}");
}

fn basic_auth(c: Client) {
    scenario(c, Auth::Basic { user: "alice".into(), password: "s3cret".into() });
}

fn token_auth(c: Client) {
    scenario(c, Auth::Token { user: "alice".into(), password: "s3cret".into() });
}

both!(basic_auth, token_auth);
