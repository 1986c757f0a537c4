//! Builds (issue 8): `berth build` / `DOCKER_BUILDKIT=0 docker build` against berthd, each
//! result observed as a user would, through `run`, `inspect` and `history`: every
//! Dockerfile instruction, multi-stage builds and `--target`, `.dockerignore`, heredocs,
//! build args and their scoping, the step cache (and across a daemon restart), parse
//! errors with their position, a failing RUN's exit code, and the CLI's flags (`-q`,
//! `--iidfile`, several `-t`, `--label`, `-f`, a context on stdin).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use berth_test_support::{Client, Daemon, Run};
use serde_json::Value;

use crate::both;

// ---------------------------------------------------------------- helpers

fn to_run(o: std::process::Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The client's `build` command (the docker CLI with the classic builder: berthd speaks
/// its protocol, not BuildKit's).
fn build_cmd(d: &Daemon, c: Client, args: &[&str]) -> Command {
    let mut full = vec!["build"];
    full.extend_from_slice(args);
    let mut cmd = d.command(c, &full);
    cmd.env("DOCKER_BUILDKIT", "0");
    cmd
}

fn build(d: &Daemon, c: Client, args: &[&str]) -> Run {
    to_run(build_cmd(d, c, args).output().expect("run build"))
}

/// `build` with `input` on its standard input.
fn build_stdin(d: &Daemon, c: Client, args: &[&str], input: &[u8]) -> Run {
    let mut cmd = build_cmd(d, c, args);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn build");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait build");
    writer.join().unwrap();
    to_run(out)
}

/// A build context: `files` as (path, content), parents created.
fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("berth-e2e-ctx.").tempdir_in("/tmp").unwrap();
    write_files(dir.path(), files);
    dir
}

fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (p, content) in files {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

fn p(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().unwrap()
}

/// Everything the build printed, both streams.
fn all(r: &Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

/// The build log cut into steps: each entry starts with `Step i/n : INSTRUCTION`.
fn steps(out: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for line in out.lines() {
        if line.starts_with("Step ") {
            v.push(String::new());
        }
        if let Some(last) = v.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    v
}

fn cached(step: &str) -> bool {
    step.contains("Using cache")
}

/// The step whose header contains `needle`.
fn step<'a>(steps: &'a [String], needle: &str) -> &'a str {
    steps
        .iter()
        .find(|s| s.lines().next().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("no step {needle:?} in {steps:#?}"))
}

fn config(d: &Daemon, c: Client, image: &str) -> Value {
    let r = d.run(c, &["inspect", "--format", "{{json .Config}}", image]).ok();
    serde_json::from_str(r.out()).unwrap_or_else(|e| panic!("inspect output {:?}: {e}", r.stdout))
}

fn image_id(d: &Daemon, c: Client, image: &str) -> String {
    d.run(c, &["inspect", "--format", "{{.Id}}", image]).ok().out().to_owned()
}

/// `sh -c script` in a container of `image`, whatever its entrypoint: stdout.
fn sh(d: &Daemon, c: Client, image: &str, script: &str) -> String {
    d.run(c, &["run", "--rm", "--entrypoint", "sh", image, "-c", script]).ok().stdout
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    k.sort();
    k
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap_or("?").to_owned()).collect()).unwrap_or_default()
}

fn is_image_id(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

// ---------------------------------------------------------------- 1. instructions

const ALL_INSTRUCTIONS: &str = r#"FROM busybox
ARG V=argdefault
LABEL a=b "c d"="e f"
EXPOSE 80 53/udp
ENV A=1 B="two words"
ENV C $A-x
RUN echo "v=$V a=$A c=$C" > /shellform
RUN ["/bin/sh", "-c", "echo exec-form > /execform"]
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group
ADD f.txt /added/f.txt
ADD dir /added/dir
ADD arch.tar.gz /extracted/
ADD --chown=1000:1000 --chmod=640 f.txt /added/owned.txt
COPY --chown=app:app --chmod=600 own.txt /copied/own.txt
COPY *.txt /glob/
COPY dir /copied/dir
WORKDIR /w
WORKDIR rel
RUN pwd > /pwd
VOLUME /data
SHELL ["/bin/sh", "-ec"]
RUN echo "flags=$-"
USER app
RUN echo "uid=$(id -u)"
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD true
ONBUILD RUN echo never-run-here > /tmp/o
ENTRYPOINT ["echo", "ep"]
CMD ["cmd"]
"#;

fn every_instruction(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[
        ("Dockerfile", ALL_INSTRUCTIONS),
        ("f.txt", "file\n"),
        ("own.txt", "own\n"),
        ("g1.txt", "g1\n"),
        ("g2.txt", "g2\n"),
        ("g.md", "not a txt\n"),
        ("dir/a", "a\n"),
        ("dir/sub/b", "b\n"),
    ]);
    // A .tar.gz in the context: ADD extracts it.
    let src = tempfile::tempdir().unwrap();
    write_files(src.path(), &[("x/inner.txt", "inner\n")]);
    let st = Command::new("tar")
        .arg("-C")
        .arg(src.path())
        .arg("-czf")
        .arg(ctx.path().join("arch.tar.gz"))
        .arg("x")
        .status()
        .unwrap();
    assert!(st.success());

    let r = build(&d, c, &["-t", "every:1", p(&ctx)]).ok();
    let out = all(&r);
    assert!(out.contains("Step 1/29 : FROM busybox"), "{out}");
    assert!(out.contains("Successfully built "), "{out}");
    assert!(out.contains("Successfully tagged every:1"), "{out}");
    // SHELL ["/bin/sh","-ec"] is the shell of the RUN after it; USER runs it as app.
    let flags = out.lines().find_map(|l| l.strip_prefix("flags=")).unwrap_or_else(|| panic!("no flags= in {out}"));
    assert!(flags.contains('e'), "SHELL -ec not in effect: $- = {flags:?}");
    assert!(out.lines().any(|l| l == "uid=1000"), "RUN after USER app not uid 1000: {out}");

    // The files, as a container sees them.
    let got = sh(
        &d,
        c,
        "every:1",
        "cat /shellform /execform /added/f.txt /added/dir/a /added/dir/sub/b /extracted/x/inner.txt; \
         stat -c '%u:%g %a' /added/owned.txt /copied/own.txt; \
         ls /glob | tr '\\n' ' '; echo; \
         cat /copied/dir/a /copied/dir/sub/b /pwd; \
         pwd; id -u; test -d /w/rel && echo workdir-created; \
         test -e /extracted/arch.tar.gz || echo no-archive-left",
    );
    assert_eq!(
        got,
        "v=argdefault a=1 c=1-x\nexec-form\nfile\na\nb\ninner\n\
         1000:1000 640\n1000:1000 600\n\
         f.txt g1.txt g2.txt own.txt \n\
         a\nb\n/w/rel\n\
         /w/rel\n1000\nworkdir-created\nno-archive-left\n"
    );
    // ENTRYPOINT and CMD.
    assert_eq!(d.run(c, &["run", "--rm", "every:1"]).ok().stdout, "ep cmd\n");
    assert_eq!(d.run(c, &["run", "--rm", "every:1", "other"]).ok().stdout, "ep other\n");

    // The image config.
    let cfg = config(&d, c, "every:1");
    let env = strs(&cfg["Env"]);
    for e in ["A=1", "B=two words", "C=1-x"] {
        assert!(env.iter().any(|x| x == e), "{e} not in Env {env:?}");
    }
    assert!(!env.iter().any(|x| x.starts_with("V=")), "an ARG leaked into Env: {env:?}");
    assert_eq!(strs(&cfg["Cmd"]), ["cmd"]);
    assert_eq!(strs(&cfg["Entrypoint"]), ["echo", "ep"]);
    assert_eq!(cfg["WorkingDir"], "/w/rel");
    assert_eq!(cfg["User"], "app");
    assert_eq!(keys(&cfg["ExposedPorts"]), ["53/udp", "80/tcp"]);
    assert_eq!(keys(&cfg["Volumes"]), ["/data"]);
    assert_eq!(cfg["Labels"]["a"], "b");
    assert_eq!(cfg["Labels"]["c d"], "e f");
    assert_eq!(cfg["StopSignal"], "SIGUSR1");

    // history shows the RUN commands.
    let h = d.run(c, &["history", "--no-trunc", "--format", "{{.CreatedBy}}", "every:1"]).ok().stdout;
    assert!(h.contains(r#"echo "v=$V a=$A c=$C" > /shellform"#), "{h}");
    assert!(h.contains("echo exec-form > /execform"), "{h}");
    assert!(h.contains("pwd > /pwd"), "{h}");
    assert!(h.contains("ENV A=1"), "{h}");
    // One entry per instruction after FROM (28, ARG included as the classic builder
    // does), on top of the base's one.
    assert_eq!(h.lines().count(), 29, "{h}");

    // ONBUILD: a child FROM the parent runs the trigger; the trigger is not inherited.
    let parent = context(&[("Dockerfile", "FROM busybox\nONBUILD RUN echo trigger > /t\n")]);
    build(&d, c, &["-t", "parent:1", p(&parent)]).ok();
    assert_eq!(sh(&d, c, "parent:1", "test -e /t || echo absent"), "absent\n", "the trigger ran in the parent");
    let child = context(&[("Dockerfile", "FROM parent:1\nRUN cat /t\n")]);
    let r = build(&d, c, &["-t", "child:1", p(&child)]).ok();
    assert!(all(&r).contains("trigger"), "{r:?}");
    assert_eq!(sh(&d, c, "child:1", "cat /t"), "trigger\n");
    let cfg = config(&d, c, "child:1");
    assert!(strs(&cfg["OnBuild"]).is_empty(), "triggers inherited by the child: {cfg}");

    // The HEALTHCHECK is the image's: a container of it becomes healthy.
    let hc = context(&[("Dockerfile", "FROM busybox\nHEALTHCHECK --interval=1s CMD true\n")]);
    build(&d, c, &["-t", "hc:1", p(&hc)]).ok();
    d.run(c, &["run", "-d", "--name", "hc1", "hc:1", "sleep", "30"]).ok();
    assert!(
        crate::eventually(10, || d.run(c, &["inspect", "--format", "{{.State.Health.Status}}", "hc1"]).out() == "healthy"),
        "a container of an image with a HEALTHCHECK never became healthy"
    );

    // Docker's own config keys in `inspect`, which the OCI config model lacks (regression:
    // inspect used to drop Healthcheck, OnBuild and Shell).
    let cfg = config(&d, c, "every:1");
    assert_eq!(strs(&cfg["Healthcheck"]["Test"]), ["CMD-SHELL", "true"], "{cfg}");
    assert_eq!(cfg["Healthcheck"]["Interval"], 5_000_000_000u64);
    assert_eq!(cfg["Healthcheck"]["Timeout"], 3_000_000_000u64);
    assert_eq!(cfg["Healthcheck"]["Retries"], 2);
    assert_eq!(strs(&cfg["OnBuild"]), ["RUN echo never-run-here > /tmp/o"], "{cfg}");
    assert_eq!(strs(&cfg["Shell"]), ["/bin/sh", "-ec"], "{cfg}");
}

// ---------------------------------------------------------------- 2. multi-stage

const MULTI_STAGE: &str = "FROM busybox AS first
RUN echo one > /one
FROM busybox AS unused
RUN exit 1
FROM busybox AS second
COPY --from=first /one /from-name
COPY --from=0 /one /from-index
RUN echo two > /two
FROM second AS final
RUN echo final > /final
FROM busybox AS after
RUN exit 1
";

fn multi_stage_and_target(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", MULTI_STAGE)]);
    // --target final: the stage after it and the stage it does not need are not built.
    // (BuildKit's behaviour, and berth's: dockerd's classic builder would run every stage
    // before the target, so `unused` would fail there.)
    let r = build(&d, c, &["--target", "final", "-t", "ms:final", p(&ctx)]).ok();
    let out = all(&r);
    assert!(!out.contains("exit 1"), "a stage not needed was built: {out}");
    assert_eq!(sh(&d, c, "ms:final", "cat /from-name /from-index /two /final"), "one\none\ntwo\nfinal\n");
    // --target first: only that stage.
    let r = build(&d, c, &["--target", "first", "-t", "ms:first", p(&ctx)]).ok();
    let out = all(&r);
    assert!(!out.contains("echo two"), "built past the target: {out}");
    assert_eq!(sh(&d, c, "ms:first", "cat /one; test -e /two || echo no-two"), "one\nno-two\n");
    // Without --target the last stage is built: its RUN fails.
    let r = build(&d, c, &["-t", "ms:last", p(&ctx)]);
    assert_eq!(r.code, 1, "{r:?}");
    // An unknown target is an error.
    let r = build(&d, c, &["--target", "nosuch", p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(all(&r).contains("nosuch"), "{r:?}");
}

// ---------------------------------------------------------------- 3. .dockerignore

fn dockerignore(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[
        ("Dockerfile", "FROM busybox\nCOPY . /ctx\n"),
        (
            ".dockerignore",
            "# a comment\n/secret.txt\n**/*.log\n!important.log\nnode_modules\n*/temp*\nexcluded-dir\n!excluded-dir/keep\n",
        ),
        ("sub/tempfile", "t\n"),
        ("sub/deep/tempx", "t\n"),
        ("tempfile-root", "t\n"),
        ("excluded-dir/keep", "k\n"),
        ("excluded-dir/drop", "d\n"),
        ("keep.txt", "k\n"),
        ("secret.txt", "s\n"),
        ("a.log", "l\n"),
        ("important.log", "i\n"),
        ("sub/b.log", "l\n"),
        ("sub/deep/c.log", "l\n"),
        ("sub/keep.md", "m\n"),
        ("node_modules/x/y.js", "j\n"),
    ]);
    build(&d, c, &["-t", "ign:1", p(&ctx)]).ok();
    let got = sh(&d, c, "ign:1", "cd /ctx && find . -type f | sort; test -e node_modules || echo no-node-modules");
    assert_eq!(
        got,
        "./.dockerignore\n./Dockerfile\n./excluded-dir/keep\n./important.log\n./keep.txt\n./sub/deep/tempx\n./sub/keep.md\n./tempfile-root\nno-node-modules\n"
    );
}

// ---------------------------------------------------------------- 4. heredocs

const HEREDOCS: &str = "FROM busybox
ARG NAME=world
RUN <<EOF
echo line1 > /h
echo line2 >> /h
EOF
COPY <<EOF /file
hello ${NAME}
EOF
RUN cat <<EOF > /f
from cat
EOF
RUN <<EOF
set -e
echo script-ran
EOF
";

fn heredocs(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", HEREDOCS)]);
    let r = build(&d, c, &["-t", "here:1", p(&ctx)]).ok();
    assert!(r.stdout.lines().any(|l| l == "script-ran"), "{r:?}");
    assert_eq!(sh(&d, c, "here:1", "cat /h /file /f"), "line1\nline2\nhello world\nfrom cat\n");
    // --build-arg reaches the COPY heredoc too.
    build(&d, c, &["-t", "here:2", "--build-arg", "NAME=there", p(&ctx)]).ok();
    assert_eq!(sh(&d, c, "here:2", "cat /file"), "hello there\n");
}

// ---------------------------------------------------------------- 5. build args

const ARGS: &str = "ARG BASE=busybox
ARG GLOBAL=g
FROM $BASE AS one
ARG GLOBAL
ARG LOCAL=l1
RUN echo \"global=$GLOBAL local=$LOCAL\" > /one
FROM ${BASE}
ARG OVER=default
COPY --from=one /one /one
RUN echo \"global=$GLOBAL local=$LOCAL over=$OVER\" > /two
";

fn build_args(c: Client) {
    let d = Daemon::start();
    let base = context(&[("Dockerfile", "FROM busybox\nRUN echo mybase > /base\n")]);
    build(&d, c, &["-t", "mybase:latest", p(&base)]).ok();
    let ctx = context(&[("Dockerfile", ARGS)]);

    let r = build(&d, c, &["-t", "args:1", p(&ctx)]).ok();
    // A global ARG is seen in a stage only when re-declared; a stage's ARG not in the next.
    assert_eq!(sh(&d, c, "args:1", "cat /one /two"), "global=g local=l1\nglobal= local= over=default\n", "{r:?}");
    assert_eq!(sh(&d, c, "args:1", "test -e /base || echo busybox-base"), "busybox-base\n");

    // --build-arg overrides defaults, also the ARG used in FROM.
    let r = build(&d, c, &["-t", "args:2", "--build-arg", "OVER=x", "--build-arg", "GLOBAL=G", "--build-arg", "BASE=mybase", p(&ctx)]).ok();
    assert_eq!(sh(&d, c, "args:2", "cat /base /one /two"), "mybase\nglobal=G local=l1\nglobal= local= over=x\n", "{r:?}");

    // A changed value invalidates the RUN that sees it, not those that do not.
    let r = build(&d, c, &["-t", "args:3", "--build-arg", "OVER=x", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert!(cached(step(&s, "> /one")), "RUN with unchanged args not cached: {s:#?}");
    assert!(!cached(step(&s, "> /two")), "RUN with a changed arg (OVER=default -> x) was cached: {s:#?}");
    let r = build(&d, c, &["-t", "args:4", "--build-arg", "OVER=y", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert!(!cached(step(&s, "> /two")), "RUN with a changed arg (x -> y) was cached: {s:#?}");
    assert_eq!(sh(&d, c, "args:4", "cat /two"), "global= local= over=y\n");
    // The same value again: cached.
    let r = build(&d, c, &["-t", "args:5", "--build-arg", "OVER=y", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert!(cached(step(&s, "> /two")), "same args, not cached: {s:#?}");
    assert_eq!(image_id(&d, c, "args:4"), image_id(&d, c, "args:5"));
}

// ---------------------------------------------------------------- 6. cache

const CACHED: &str = "FROM busybox
RUN echo one > /one
COPY a.txt /a.txt
RUN echo two > /two
COPY b.txt /b.txt
ENV X=1
RUN cat /a.txt /b.txt > /ab
";

fn cache(c: Client) {
    let mut d = Daemon::start();
    let ctx = context(&[("Dockerfile", CACHED), ("a.txt", "a1\n"), ("b.txt", "b1\n")]);
    let r = build(&d, c, &["-t", "cache:1", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert_eq!(s.len(), 7, "{s:#?}");
    assert!(s.iter().all(|x| !cached(x)), "first build used a cache: {s:#?}");
    let id1 = image_id(&d, c, "cache:1");

    // Unchanged: every step after FROM from the cache, the same image.
    let r = build(&d, c, &["-t", "cache:2", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert_eq!(s.len(), 7, "{s:#?}");
    for x in &s[1..] {
        assert!(cached(x), "unchanged step not cached: {x}");
    }
    assert_eq!(image_id(&d, c, "cache:2"), id1);

    // b.txt changed: steps before its COPY cached, from it on not.
    std::fs::write(ctx.path().join("b.txt"), "b2\n").unwrap();
    let r = build(&d, c, &["-t", "cache:3", p(&ctx)]).ok();
    let s = steps(&all(&r));
    for x in &s[1..4] {
        assert!(cached(x), "step before the changed COPY not cached: {x}");
    }
    for x in &s[4..] {
        assert!(!cached(x), "step from the changed COPY on cached: {x}");
    }
    assert_eq!(sh(&d, c, "cache:3", "cat /ab"), "a1\nb2\n");
    let id3 = image_id(&d, c, "cache:3");
    assert_ne!(id3, id1);

    // The cache key is the content, not the mtime: touching a file keeps the cache.
    let st = Command::new("touch").arg(ctx.path().join("a.txt")).status().unwrap();
    assert!(st.success());
    let r = build(&d, c, &["-t", "cache:4", p(&ctx)]).ok();
    let s = steps(&all(&r));
    for x in &s[1..] {
        assert!(cached(x), "touched (same content) file broke the cache: {x}");
    }
    assert_eq!(image_id(&d, c, "cache:4"), id3);

    // --no-cache: nothing from the cache.
    let r = build(&d, c, &["--no-cache", "-t", "cache:5", p(&ctx)]).ok();
    let out = all(&r);
    assert!(!out.contains("Using cache"), "{out}");
    assert_eq!(sh(&d, c, "cache:5", "cat /ab"), "a1\nb2\n");

    // The cache survives a daemon restart.
    d.restart_after_kill();
    let r = build(&d, c, &["-t", "cache:6", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert_eq!(s.len(), 7, "{s:#?}");
    for x in &s[1..] {
        assert!(cached(x), "not cached after a daemon restart: {x}");
    }
    let id6 = image_id(&d, c, "cache:6");
    assert!(id6 == id3 || id6 == image_id(&d, c, "cache:5"), "after restart: {id6}, before: {id3}");
}

// ---------------------------------------------------------------- 7. errors

fn malformed_dockerfile(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", "FROM busybox\nFORM busybox\n")]);
    let r = build(&d, c, &["-t", "bad:1", p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    let out = all(&r);
    assert!(out.contains("Dockerfile:2:1: unknown instruction: FORM"), "{out:?}");
    assert!(!out.contains("Step 1/"), "a malformed Dockerfile started building: {out:?}");

    let ctx = context(&[("Dockerfile", "FROM busybox\nCOPY --bogus=1 a /a\n"), ("a", "a\n")]);
    let r = build(&d, c, &["-t", "bad:2", p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    let out = all(&r);
    assert!(out.contains("Dockerfile:2:1: unknown flag: --bogus"), "{out:?}");

    // An empty Dockerfile, and one with no FROM first.
    let ctx = context(&[("Dockerfile", "# nothing\n")]);
    let r = build(&d, c, &[p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(all(&r).contains("no instructions"), "{r:?}");
    let ctx = context(&[("Dockerfile", "RUN true\nFROM busybox\n")]);
    let r = build(&d, c, &[p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(all(&r).contains("Dockerfile:1:1: no build stage"), "{r:?}");

    // A missing base image (none in the store, no registry reachable here).
    let ctx = context(&[("Dockerfile", "FROM localhost:1/no-such-image:1\nRUN true\n")]);
    let t0 = std::time::Instant::now();
    let r = build(&d, c, &["-t", "bad:3", p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("no-such-image"), "the error does not name the image: {r:?}");
    assert!(t0.elapsed().as_secs() < 30, "took {:?}", t0.elapsed());
    for t in ["bad:1", "bad:2", "bad:3"] {
        assert_ne!(d.run(c, &["inspect", t]).code, 0, "{t} exists");
    }
}

// ---------------------------------------------------------------- 8. failing RUN

fn failing_run(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", "FROM busybox\nRUN echo before-fail; exit 7\nRUN echo never\n")]);
    let r = build(&d, c, &["-t", "fails:1", p(&ctx)]);
    // docker 28 exits with errorDetail.code of the stream's error.
    assert_eq!(r.code, 7, "{r:?}");
    let out = all(&r);
    assert!(out.contains("before-fail"), "{out}");
    assert!(out.contains("returned a non-zero code: 7"), "{out}");
    assert!(!out.lines().any(|l| l == "never"), "{out}");
    assert_ne!(d.run(c, &["inspect", "fails:1"]).code, 0, "the tag of a failed build exists");
}

// ---------------------------------------------------------------- 9. CLI flags

fn cli_flags(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[
        ("Dockerfile", "FROM busybox\nRUN echo default > /which\n"),
        ("Other.dockerfile", "FROM busybox\nCOPY f /f\nRUN echo other > /which\n"),
        ("sub/Dockerfile.sub", "FROM busybox\nRUN echo sub > /which\n"),
        ("f", "ctx-file\n"),
    ]);

    // -q: only the id.
    let r = build(&d, c, &["-q", "-t", "q:1", p(&ctx)]).ok();
    assert!(is_image_id(r.out()), "-q printed {:?}", r.stdout);
    assert_eq!(r.stdout.trim_end().lines().count(), 1, "{r:?}");
    assert_eq!(r.out(), image_id(&d, c, "q:1"));

    // --iidfile.
    let tmp = tempfile::tempdir().unwrap();
    let iid = tmp.path().join("iid");
    let r = build(&d, c, &["--iidfile", iid.to_str().unwrap(), "-t", "iid:1", p(&ctx)]).ok();
    let written = std::fs::read_to_string(&iid).unwrap();
    assert!(is_image_id(written.trim()), "iidfile has {written:?}");
    assert_eq!(written.trim(), image_id(&d, c, "iid:1"), "{r:?}");

    // Several -t, --label.
    build(&d, c, &["-t", "m:1", "-t", "m:2", "-t", "some/name:x", "--label", "from=cli", "--label", "other=two", p(&ctx)]).ok();
    let id = image_id(&d, c, "m:1");
    assert_eq!(image_id(&d, c, "m:2"), id);
    assert_eq!(image_id(&d, c, "some/name:x"), id);
    let cfg = config(&d, c, "m:1");
    assert_eq!(cfg["Labels"]["from"], "cli", "{cfg}");
    assert_eq!(cfg["Labels"]["other"], "two", "{cfg}");
    // Unchanged, --label included: the same image again.
    build(&d, c, &["-t", "m:3", "--label", "from=cli", "--label", "other=two", p(&ctx)]).ok();
    assert_eq!(image_id(&d, c, "m:3"), id, "a no-op rebuild with --label made a new image");

    // -f: another name in the context, and one in a subdirectory.
    build(&d, c, &["-f", &format!("{}/Other.dockerfile", p(&ctx)), "-t", "f:1", p(&ctx)]).ok();
    assert_eq!(sh(&d, c, "f:1", "cat /which /f"), "other\nctx-file\n");
    build(&d, c, &["-f", &format!("{}/sub/Dockerfile.sub", p(&ctx)), "-t", "f:2", p(&ctx)]).ok();
    assert_eq!(sh(&d, c, "f:2", "cat /which"), "sub\n");
    // A missing -f file is an error.
    let r = build(&d, c, &["-f", &format!("{}/Nope", p(&ctx)), p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");

    // A context tar on stdin.
    let tar = Command::new("tar").arg("-C").arg(ctx.path()).args(["-cf", "-", "."]).output().unwrap();
    assert!(tar.status.success());
    let r = build_stdin(&d, c, &["-t", "stdin:1", "-f", "Other.dockerfile", "-"], &tar.stdout).ok();
    assert_eq!(sh(&d, c, "stdin:1", "cat /which /f"), "other\nctx-file\n", "{r:?}");
    let r = build_stdin(&d, c, &["-t", "stdin:2", "-"], &tar.stdout).ok();
    assert_eq!(sh(&d, c, "stdin:2", "cat /which"), "default\n", "{r:?}");

    // The Dockerfile from stdin (`-f -`), and one outside the context (regression: the
    // berth CLI added such a file to the context tar without owner fields).
    let dash = build_stdin(&d, c, &["-t", "stdin:4", "-f", "-", p(&ctx)], b"FROM busybox\nCOPY f /f\nRUN echo dash-f > /which\n");
    let outside = context(&[("Dockerfile.out", "FROM busybox\nCOPY f /f\nRUN echo outside > /which\n")]);
    let out = build(&d, c, &["-f", &format!("{}/Dockerfile.out", p(&outside)), "-t", "f:3", p(&ctx)]);
    // A lone Dockerfile on stdin.
    let lone = build_stdin(&d, c, &["-t", "stdin:3", "-"], b"FROM busybox\nRUN echo lone > /which\n");
    assert_eq!(dash.code, 0, "build -f - {dash:?}");
    assert_eq!(sh(&d, c, "stdin:4", "cat /which /f"), "dash-f\nctx-file\n");
    assert_eq!(out.code, 0, "build -f outside the context {out:?}");
    assert_eq!(sh(&d, c, "f:3", "cat /which /f"), "outside\nctx-file\n");
    assert_eq!(lone.code, 0, "build - < Dockerfile {lone:?}");
    assert_eq!(sh(&d, c, "stdin:3", "cat /which"), "lone\n");
}

// ---------------------------------------------------------------- 10. details

const DETAILS_BASE: &str = "FROM busybox
LABEL a=1 b=1
CMD [\"base-cmd\"]
RUN echo mybase > /base
";

const DETAILS: &str = "FROM base:1
LABEL b=2 from=file
ENV D=/dest
ENV E=${UNSET:-def} F=${D:+alt}
WORKDIR $D
COPY f ${D}/
COPY f /newdir/
COPY f /newname
COPY --from=base:1 /base /from-image
COPY arch.tar.gz /notextracted/
COPY exe.sh /exe.sh
RUN echo a \\
    b > /cont
ARG X=arg
ENV X=env
RUN echo \"x=$X\" > /x
EXPOSE 8000-8001
WORKDIR /made
USER 1234:4321
RUN echo \"ids=$(id -u):$(id -g)\"
SHELL [\"/bin/sh\", \"-ec\"]
CMD echo shell-form
ENTRYPOINT [\"/bin/sh\", \"-c\", \"exec $0 \\\"$@\\\"\"]
";

fn instruction_details(c: Client) {
    let d = Daemon::start();
    let base = context(&[("Dockerfile", DETAILS_BASE)]);
    build(&d, c, &["-t", "base:1", p(&base)]).ok();
    let ctx = context(&[("Dockerfile", DETAILS), ("f", "f\n"), ("exe.sh", "#!/bin/sh\necho executable\n")]);
    let st = Command::new("tar").arg("-C").arg(ctx.path()).args(["-czf", "arch.tar.gz", "f"]).current_dir(ctx.path()).status().unwrap();
    assert!(st.success());
    std::fs::set_permissions(ctx.path().join("exe.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // A context file owned by someone else: COPY makes it root's.
    std::os::unix::fs::chown(ctx.path().join("f"), Some(1234), Some(1234)).unwrap();

    let r = build(&d, c, &["-t", "det:1", "--build-arg", "X=cli", "--label", "from=cli", p(&ctx)]).ok();
    let out = all(&r);
    assert!(out.lines().any(|l| l == "ids=1234:4321"), "USER uid:gid: {out}");
    let got = sh(
        &d,
        c,
        "det:1",
        "cat /dest/f /newdir/f /newname /from-image /cont /x; ls /notextracted; \
         stat -c '%u:%g' /dest/f; stat -c '%a' /exe.sh; /exe.sh; test -d /made && pwd; \
         echo \"$E $F\"",
    );
    assert_eq!(
        got,
        "f\nf\nf\nmybase\na b\nx=env\narch.tar.gz\n0:0\n755\nexecutable\n/made\ndef alt\n"
    );

    let cfg = config(&d, c, "det:1");
    // Labels: the base's, overridden by the Dockerfile's, overridden by --label.
    assert_eq!(cfg["Labels"]["a"], "1", "{cfg}");
    assert_eq!(cfg["Labels"]["b"], "2", "{cfg}");
    assert_eq!(cfg["Labels"]["from"], "cli", "{cfg}");
    let exposed = keys(&cfg["ExposedPorts"]);
    assert_eq!(cfg["User"], "1234:4321");
    assert_eq!(cfg["WorkingDir"], "/made");
    // CMD in shell form runs with the SHELL of its time.
    assert_eq!(strs(&cfg["Cmd"]), ["/bin/sh", "-ec", "echo shell-form"], "{cfg}");
    let env = strs(&cfg["Env"]);
    for e in ["D=/dest", "E=def", "F=alt", "X=env"] {
        assert!(env.iter().any(|x| x == e), "{e} not in Env {env:?}");
    }
    assert_eq!(d.run(c, &["run", "--rm", "det:1"]).ok().stdout, "shell-form\n");

    // ENTRYPOINT resets the CMD inherited from the base image.
    let ep = context(&[("Dockerfile", "FROM base:1\nENTRYPOINT [\"echo\", \"ep\"]\n")]);
    build(&d, c, &["-t", "ep:1", p(&ep)]).ok();
    let cfg = config(&d, c, "ep:1");
    assert!(cfg["Cmd"].is_null() || strs(&cfg["Cmd"]).is_empty(), "inherited CMD kept: {cfg}");
    assert_eq!(d.run(c, &["run", "--rm", "ep:1"]).ok().stdout, "ep\n");
    // ENTRYPOINT in shell form.
    let ep = context(&[("Dockerfile", "FROM busybox\nENTRYPOINT echo shell-ep\n")]);
    build(&d, c, &["-t", "ep:2", p(&ep)]).ok();
    assert_eq!(strs(&config(&d, c, "ep:2")["Entrypoint"]), ["/bin/sh", "-c", "echo shell-ep"]);

    // The escape directive.
    let esc = context(&[("Dockerfile", "# escape=`\nFROM busybox\nRUN echo one `\n    two > /esc\n")]);
    build(&d, c, &["-t", "esc:1", p(&esc)]).ok();
    assert_eq!(sh(&d, c, "esc:1", "cat /esc"), "one two\n");

    // Stage names are case-insensitive; a quoted heredoc delimiter does not expand.
    let ms = context(&[(
        "Dockerfile",
        "FROM busybox AS Build\nARG V=val\nCOPY <<\"EOF\" /raw\n$V ${V}\nEOF\nCOPY <<EOF /cooked\n$V\nEOF\nFROM busybox\nCOPY --from=build /raw /cooked /\n",
    )]);
    build(&d, c, &["-t", "ms:1", p(&ms)]).ok();
    assert_eq!(sh(&d, c, "ms:1", "cat /raw /cooked"), "$V ${V}\nval\n");

    // --build-arg NAME takes the value from the client's environment; an unused one warns.
    let ba = context(&[("Dockerfile", "FROM busybox\nARG FROMENV\nRUN echo \"fromenv=$FROMENV\" > /e\n")]);
    let mut cmd = build_cmd(&d, c, &["-t", "ba:1", "--build-arg", "FROMENV", "--build-arg", "UNUSED=1", p(&ba)]);
    cmd.env("FROMENV", "envval");
    let r = to_run(cmd.output().unwrap()).ok();
    assert!(all(&r).contains("[UNUSED] were not consumed"), "{r:?}");
    assert_eq!(sh(&d, c, "ba:1", "cat /e"), "fromenv=envval\n");

    // No container is left behind by successful builds.
    assert_eq!(d.run(c, &["ps", "-aq"]).ok().out(), "");

    // A range is one key per port, as docker records it (regression: it was one key).
    assert_eq!(exposed, ["8000/tcp", "8001/tcp"], "EXPOSE 8000-8001");
}

// ---------------------------------------------------------------- 11. context errors

fn context_edge_cases(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("f", "f\n"), ("g", "g\n"), ("dir/a", "a\n"), (".dockerignore", "Dockerfile\n.dockerignore\n")]);
    std::os::unix::fs::symlink("a", ctx.path().join("dir/l")).unwrap();
    let df = |text: &str| std::fs::write(ctx.path().join("Dockerfile"), text).unwrap();

    // Excluding the Dockerfile and .dockerignore themselves: the build still reads the
    // Dockerfile, COPY . does not see either; a symlink in a directory stays a symlink.
    df("FROM busybox\nCOPY . /ctx\n");
    build(&d, c, &["-t", "edge:1", p(&ctx)]).ok();
    assert_eq!(sh(&d, c, "edge:1", "cd /ctx && find . | sort; readlink dir/l"), ".\n./dir\n./dir/a\n./dir/l\n./f\n./g\na\n");

    // Several sources need a directory destination ending in /.
    df("FROM busybox\nCOPY f g /notdir\n");
    let r = build(&d, c, &[p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(all(&r).contains("must be a directory"), "{r:?}");
    // A missing source.
    df("FROM busybox\nCOPY nonexistent /x\n");
    let r = build(&d, c, &[p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("nonexistent"), "{r:?}");
    // A glob matching nothing.
    df("FROM busybox\nCOPY *.nothing /x/\n");
    let r = build(&d, c, &[p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    // Nothing outside the context: .. and an absolute path are the context's.
    df("FROM busybox\nCOPY ../../../../etc/hostname /h\n");
    let r = build(&d, c, &[p(&ctx)]);
    assert_ne!(r.code, 0, "COPY ../ outside the context succeeded: {r:?}");
    df("FROM busybox\nCOPY /f /abs\n");
    build(&d, c, &["-t", "edge:2", p(&ctx)]).ok();
    assert_eq!(sh(&d, c, "edge:2", "cat /abs"), "f\n");
    // A symlink pointing outside the context is not followed out of it.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "secret-outside\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), ctx.path().join("escape")).unwrap();
    df("FROM busybox\nCOPY escape /escape\n");
    let r = build(&d, c, &["-t", "edge:3", p(&ctx)]);
    if r.code == 0 {
        let got = sh(&d, c, "edge:3", "cat /escape 2>&1; true");
        assert!(!got.contains("secret-outside"), "a file outside the context was copied through a symlink");
    }
    std::fs::remove_file(ctx.path().join("escape")).unwrap();
}

// ---------------------------------------------------------------- 12. cache details

fn cache_details(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[
        ("Dockerfile", "FROM busybox\nCOPY dir /dir\nRUN ls /dir > /list\n"),
        (".dockerignore", "dir/*.tmp\n"),
        ("dir/a", "a\n"),
    ]);
    build(&d, c, &["-t", "cd:1", p(&ctx)]).ok();
    // An ignored file added: still cached.
    write_files(ctx.path(), &[("dir/x.tmp", "t\n")]);
    let r = build(&d, c, &["-t", "cd:2", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert!(s[1..].iter().all(|x| cached(x)), "an ignored file broke the cache: {s:#?}");
    // A file added to the copied directory: not cached.
    write_files(ctx.path(), &[("dir/b", "b\n")]);
    let r = build(&d, c, &["-t", "cd:3", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert!(!cached(&s[1]), "a new file in a COPY'd directory kept the cache: {s:#?}");
    assert_eq!(sh(&d, c, "cd:3", "cat /list"), "a\nb\n");
    // A mode change: not cached (docker's checksum covers the mode).
    std::fs::set_permissions(ctx.path().join("dir/b"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let r = build(&d, c, &["-t", "cd:4", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert!(!cached(&s[1]), "a mode change kept the cache: {s:#?}");
    assert_eq!(sh(&d, c, "cd:4", "stat -c %a /dir/b"), "600\n");
    // A changed instruction: the steps before it cached, it and after not.
    std::fs::write(ctx.path().join("Dockerfile"), "FROM busybox\nCOPY dir /dir\nRUN ls /dir > /list2\nRUN true\n").unwrap();
    let r = build(&d, c, &["-t", "cd:5", p(&ctx)]).ok();
    let s = steps(&all(&r));
    assert!(cached(&s[1]) && !cached(&s[2]) && !cached(&s[3]), "{s:#?}");
    // A different tag or client flags other than args do not matter for the cache.
    let r = build(&d, c, &["-t", "other:1", "-q", p(&ctx)]).ok();
    assert_eq!(r.out(), image_id(&d, c, "cd:5"), "same build, other tag: not the same image");
}

// ---------------------------------------------------------------- 13. concurrency, cancel

/// Processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    processes_where(|c| c == want)
}

fn processes_where(f: impl Fn(&[u8]) -> bool) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| f(&c)))
        .collect()
}

fn kill_all(pids: &[i32]) {
    for pid in pids {
        // SAFETY: kill(2) of a build step this test started, so that it does not outlive it.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
}

fn concurrent_builds_and_cancel(c: Client) {
    let d = Daemon::start();
    // Four builds at once: two the same (racing for the cache), two different.
    let same = context(&[("Dockerfile", "FROM busybox\nRUN echo same > /s\nRUN sleep 0.3\n")]);
    let other: Vec<tempfile::TempDir> = (0..2)
        .map(|i| context(&[("Dockerfile", &format!("FROM busybox\nRUN echo other{i} > /o\nRUN sleep 0.3\n")), ("f", "f\n")]))
        .collect();
    std::thread::scope(|s| {
        let mut hs = Vec::new();
        for (tag, dir) in [("par:s1", same.path()), ("par:s2", same.path()), ("par:o0", other[0].path()), ("par:o1", other[1].path())] {
            let d = &d;
            hs.push(s.spawn(move || build(d, c, &["-t", tag, dir.to_str().unwrap()])));
        }
        for h in hs {
            let r = h.join().unwrap();
            assert_eq!(r.code, 0, "a concurrent build failed: {r:?}");
        }
    });
    assert_eq!(sh(&d, c, "par:s1", "cat /s"), "same\n");
    assert_eq!(sh(&d, c, "par:s2", "cat /s"), "same\n");
    assert_eq!(sh(&d, c, "par:o0", "cat /o"), "other0\n");
    assert_eq!(sh(&d, c, "par:o1", "cat /o"), "other1\n");

    // The client goes away during a RUN that prints: the step is stopped.
    let token = format!("tick-{}", crate::name(c));
    let ctx = context(&[("Dockerfile", &format!("FROM busybox\nRUN while true; do echo {token}; sleep 0.2; done\n"))]);
    let has_token = |c: &[u8]| String::from_utf8_lossy(c).contains(&token);
    let mut child = build_cmd(&d, c, &["-t", "cancelled:0", p(&ctx)]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    assert!(crate::eventually(20, || !processes_where(has_token).is_empty()), "the RUN step never started");
    child.kill().unwrap();
    let _ = child.wait();
    let stopped = crate::eventually(15, || processes_where(has_token).is_empty());
    let left = processes_where(has_token);
    kill_all(&left);
    assert!(stopped, "the printing RUN of a cancelled build still runs after 15 s: {left:?}");
    assert_ne!(d.run(c, &["inspect", "cancelled:0"]).code, 0, "a cancelled build was tagged");

    // The client goes away during a RUN: the step's process is stopped, no tag appears.
    // (A duration of its own per client: the two variants run in parallel.)
    let secs = match c {
        Client::Berth => "987",
        Client::Docker => "988",
    };
    let ctx = context(&[("Dockerfile", &format!("FROM busybox\nRUN echo started; sleep {secs}\n"))]);
    let mut child = build_cmd(&d, c, &["-t", "cancelled:1", p(&ctx)]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    assert!(crate::eventually(20, || !processes(&["sleep", secs]).is_empty()), "the RUN step never started");
    child.kill().unwrap();
    let _ = child.wait();
    let stopped = crate::eventually(15, || processes(&["sleep", secs]).is_empty());
    let left = processes(&["sleep", secs]);
    kill_all(&left);
    // Regression: the RUN of a build whose client went away ran on (and outlived the
    // daemon); a silent step now notices the response body dropped.
    assert!(stopped, "the RUN of a cancelled build still runs after 15 s: {left:?}");
    assert_ne!(d.run(c, &["inspect", "cancelled:1"]).code, 0, "a cancelled build was tagged");
    // And the daemon still builds.
    let r = build(&d, c, &["-q", p(&same)]).ok();
    assert!(is_image_id(r.out()), "{r:?}");
}

// ---------------------------------------------------------------- 14. paths, scratch

const PATHS: &str = "FROM scratch AS s
COPY f /f
FROM busybox
MAINTAINER someone <someone@example.com>
WORKDIR /app
COPY f .
COPY f rel/
COPY [\"a b.txt\", \"/dst dir/\"]
ADD --chown=1000:1000 tree /tree
COPY --from=s /f /from-scratch
";

fn paths_and_scratch(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", PATHS), ("f", "f\n"), ("a b.txt", "spaces\n"), ("tree/x/y", "y\n")]);
    build(&d, c, &["-t", "paths:1", p(&ctx)]).ok();
    let got = sh(
        &d,
        c,
        "paths:1",
        "cat /app/f /app/rel/f '/dst dir/a b.txt' /from-scratch; stat -c '%u:%g %n' /tree /tree/x /tree/x/y",
    );
    assert_eq!(got, "f\nf\nspaces\nf\n1000:1000 /tree\n1000:1000 /tree/x\n1000:1000 /tree/x/y\n");
    assert_eq!(d.run(c, &["inspect", "--format", "{{.Author}}", "paths:1"]).ok().out(), "someone <someone@example.com>");
    // An image FROM scratch: one layer, the file.
    build(&d, c, &["--target", "s", "-t", "scratch:1", p(&ctx)]).ok();
    assert_eq!(d.run(c, &["inspect", "--format", "{{len .RootFS.Layers}}", "scratch:1"]).ok().out(), "1");
}

// ---------------------------------------------------------------- 15. layer content

const LAYERS: &str = "FROM busybox
RUN mkdir -p /d/sub && echo x > /d/sub/f && echo y > /d/keep && echo m > /mode && echo h > /hard
RUN rm -rf /d/sub && rm /bin/vi && chmod 600 /mode && chown 1000:1000 /mode
RUN rm -rf /d && mkdir /d && echo new > /d/new && ln -s /etc/passwd /link && ln /hard /hard2 && mkfifo /fifo
";

fn layer_content(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", LAYERS)]);
    build(&d, c, &["-t", "layers:1", p(&ctx)]).ok();
    let script = "ls -A /d; test -e /bin/vi || echo no-vi; stat -c '%a %u:%g' /mode; readlink /link; \
                  stat -c '%h' /hard2; test -p /fifo && echo fifo";
    let want = "new\nno-vi\n600 1000:1000\n/etc/passwd\n2\nfifo\n";
    assert_eq!(sh(&d, c, "layers:1", script), want);
    // Four layers: the base's and one per RUN.
    assert_eq!(d.run(c, &["inspect", "--format", "{{len .RootFS.Layers}}", "layers:1"]).ok().out(), "4");
    // The same through an image built FROM it, and after a save | load round trip.
    let child = context(&[("Dockerfile", "FROM layers:1\nRUN test ! -e /d/sub && test ! -e /bin/vi && echo child-ok\n")]);
    let r = build(&d, c, &["-t", "layers:2", p(&child)]).ok();
    assert!(r.stdout.lines().any(|l| l == "child-ok"), "{r:?}");
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("l.tar");
    d.run(c, &["save", "-o", tar.to_str().unwrap(), "layers:1"]).ok();
    d.run(c, &["rmi", "-f", "layers:2", "layers:1"]).ok();
    d.run(c, &["load", "-i", tar.to_str().unwrap()]).ok();
    assert_eq!(sh(&d, c, "layers:1", script), want);
}

// ---------------------------------------------------------------- 16. RUN's network

fn run_network(c: Client) {
    let d = Daemon::start();
    let df = "FROM busybox\nRUN echo \"ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ,)\"\n";
    let ctx = context(&[("Dockerfile", df)]);
    let ifaces = |r: &Run| r.stdout.lines().find_map(|l| l.strip_prefix("ifaces=")).map(str::to_owned).unwrap_or_else(|| panic!("{r:?}"));
    let r = build(&d, c, &["--no-cache", p(&ctx)]).ok();
    assert_eq!(ifaces(&r), "eth0,lo,", "the default network of RUN: {r:?}");
    let r = build(&d, c, &["--no-cache", "--network", "none", p(&ctx)]).ok();
    assert_eq!(ifaces(&r), "lo,", "--network none: {r:?}");
}

/// An HTTP server on 127.0.0.1 inside the daemon's network namespace (where the daemon
/// downloads ADD's URLs), serving `dir`; stopped by PID when dropped.
struct HttpServer(std::process::Child);

impl HttpServer {
    fn start(d: &Daemon, dir: &Path, port: u16) -> HttpServer {
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", d.netns))
            .args(["--", "python3", "-m", "http.server", "-b", "127.0.0.1", "-d"])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let s = HttpServer(child);
        let up = crate::eventually(10, || {
            Command::new("nsenter")
                .arg(format!("--net=/run/netns/{}", d.netns))
                .args(["--", "curl", "-sf", "-o", "/dev/null", &format!("http://127.0.0.1:{port}/")])
                .status()
                .is_ok_and(|st| st.success())
        });
        assert!(up, "the test's HTTP server did not come up");
        s
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn add_url(c: Client) {
    let d = Daemon::start();
    let www = context(&[("f.txt", "served\n")]);
    let port = match c {
        Client::Berth => 18081,
        Client::Docker => 18082,
    };
    let _server = HttpServer::start(&d, www.path(), port);
    let sum = "sha256:4f9d35c1ed1a1ac0e5f2b19e8bcfbcdd8f79302bd1f1dcd1b47d55a0b5dd1f0a";
    let df = format!("FROM busybox\nADD http://127.0.0.1:{port}/f.txt /dl/\nADD http://127.0.0.1:{port}/f.txt /named\n");
    let ctx = context(&[("Dockerfile", &df)]);
    build(&d, c, &["-t", "url:1", p(&ctx)]).ok();
    // Docker's rules: named after the URL into a directory, mode 0600, not unpacked.
    assert_eq!(sh(&d, c, "url:1", "cat /dl/f.txt /named; stat -c '%a' /dl/f.txt /named"), "served\nserved\n600\n600\n");
    // A wrong --checksum stops the build, naming both digests.
    let bad = format!("FROM busybox\nADD --checksum={sum} http://127.0.0.1:{port}/f.txt /x\n");
    let ctx = context(&[("Dockerfile", &bad)]);
    let r = build(&d, c, &["-t", "url:2", p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(all(&r).contains("digest mismatch"), "{r:?}");
    assert_ne!(d.run(c, &["inspect", "url:2"]).code, 0, "a failed build was tagged");
    // COPY takes no URL.
    let ctx = context(&[("Dockerfile", &format!("FROM busybox\nCOPY http://127.0.0.1:{port}/f.txt /x\n"))]);
    let r = build(&d, c, &[p(&ctx)]);
    assert_ne!(r.code, 0, "{r:?}");
}

// ---------------------------------------------------------------- 17. a larger context

fn large_context(c: Client) {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", "FROM busybox\nCOPY . /big\nRUN du -s /big >/dev/null\n")]);
    for i in 0..1000 {
        write_files(ctx.path(), &[(&format!("many/{}/{i}.txt", i % 10), &format!("{i}\n"))]);
    }
    let big: Vec<u8> = (0..32u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    std::fs::write(ctx.path().join("big.bin"), &big).unwrap();
    let t0 = std::time::Instant::now();
    build(&d, c, &["-t", "large:1", p(&ctx)]).ok();
    let first = t0.elapsed();
    let got = sh(&d, c, "large:1", "find /big/many -type f | wc -l; cat /big/many/7/517.txt; wc -c < /big/big.bin");
    assert_eq!(got, "1000\n517\n33554432\n");
    let t1 = std::time::Instant::now();
    let r = build(&d, c, &["-t", "large:2", p(&ctx)]).ok();
    let cached_build = t1.elapsed();
    assert!(steps(&all(&r))[1..].iter().all(|s| cached(s)), "{r:?}");
    assert!(first.as_secs() < 20, "1000 files and 32 MB took {first:?}");
    assert!(cached_build.as_secs() < 10, "the cached rebuild took {cached_build:?}");
    println!("large context: first {first:?}, cached {cached_build:?}");
}

both!(
    every_instruction,
    multi_stage_and_target,
    dockerignore,
    heredocs,
    build_args,
    cache,
    malformed_dockerfile,
    failing_run,
    cli_flags,
    instruction_details,
    context_edge_cases,
    cache_details,
    concurrent_builds_and_cancel,
    paths_and_scratch,
    layer_content,
    run_network,
    add_url,
    large_context,
);

/// The docker CLI with no DOCKER_BUILDKIT in its environment: berthd's `/_ping` says
/// `Builder-Version: 1`, so docker 28 uses its classic builder without being told.
#[test]
fn docker_build_picks_the_classic_builder_itself() {
    let d = Daemon::start();
    let ctx = context(&[("Dockerfile", "FROM busybox\nRUN echo plain > /p\n")]);
    let out = d.command(Client::Docker, &["build", "-t", "plain:1", p(&ctx)]).env_remove("DOCKER_BUILDKIT").output().unwrap();
    let r = to_run(out);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Step 2/2 : RUN echo plain"), "{r:?}");
    assert_eq!(sh(&d, Client::Docker, "plain:1", "cat /p"), "plain\n");
}
