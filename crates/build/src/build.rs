//! The build: a parsed Dockerfile run stage by stage, step by step, each step looked up in
//! the cache first, committed as an image (a layer for RUN/COPY/ADD, config only for the
//! rest) when it is not, as Docker's classic builder does; the log in its words.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};

use berth_image::{Commit, CommitOptions, Image, Reference, Store};
use serde_json::{json, Value};

use crate::cache::{Cache, Key};
use crate::context::{Context, Ignore};
use crate::dockerfile::ast::{Command, CopyArgs, Dockerfile, Instruction, Kind, RunMount, Stage};
use crate::dockerfile::{expand_word, parse};
use crate::error::{Error, Result};
use crate::options::{BuildOptions, Output, Runner, Services};
use crate::state::StageState;
use crate::step::copy::{self, Inline, Plan, Source};
use crate::step::root::{random_id, StepRoot};
use crate::step::{meta, run};

/// ARGs every build knows without an `ARG` line (Docker's predefined proxy args).
const PREDEFINED_ARGS: [&str; 8] = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy"];

/// What a build runs on.
#[derive(Clone, Copy)]
pub struct Builder<'a> {
    pub store: &'a Store,
    pub cache: &'a Cache,
    pub runner: &'a Runner,
    pub services: &'a dyn Services,
}

impl std::fmt::Debug for Builder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder").field("runner", self.runner).finish_non_exhaustive()
    }
}

/// The id as Docker's log shows it: 12 hex digits.
pub fn short_id(image: &Image) -> String {
    let s = image.id.to_string();
    s.strip_prefix("sha256:").unwrap_or(&s)[..12].to_owned()
}

type Args = BTreeMap<String, Option<String>>;

struct Run<'a> {
    b: Builder<'a>,
    ctx: &'a Context,
    opts: &'a BuildOptions,
    out: &'a dyn Output,
    df: Dockerfile,
    file: String,
    globals: Args,
    total: usize,
    /// Each stage's final image, once built (`None` inside: scratch with no step).
    results: Mutex<Vec<Option<Option<Image>>>>,
    /// The ARG names some ARG line declared (the rest of --build-arg is warned about).
    consumed: Mutex<BTreeSet<String>>,
}

impl Builder<'_> {
    /// Builds the image `opts` describes from `ctx`; tags it; returns it.
    pub fn build(&self, ctx: &mut Context, opts: &BuildOptions, out: &dyn Output) -> Result<Image> {
        let file = if opts.dockerfile.is_empty() { "Dockerfile".to_owned() } else { opts.dockerfile.clone() };
        let text = match &opts.dockerfile_text {
            Some(t) => t.clone(),
            None => {
                let bytes = ctx
                    .read_file(&file)?
                    .ok_or_else(|| Error::Invalid(format!("Cannot locate specified Dockerfile: {file}")))?;
                String::from_utf8(bytes).map_err(|_| Error::Invalid(format!("{file}: not UTF-8 text")))?
            }
        };
        // The ignore file applies to the context as the builder sees it, whatever the
        // client sent (a tar from stdin is not filtered by any client).
        if let Some(ig) = ctx.read_file(".dockerignore")? {
            ctx.apply_ignore(&Ignore::parse(&String::from_utf8_lossy(&ig))?);
        }
        let df = parse(&text, &file)?;
        let mut r = Run { b: *self, ctx, opts, out, file, globals: Args::new(), results: Mutex::new(Vec::new()), consumed: Mutex::new(BTreeSet::new()), total: 0, df };
        r.build()
    }
}

impl Run<'_> {
    fn build(&mut self) -> Result<Image> {
        for a in self.df.global_args.clone() {
            lock(&self.consumed).insert(a.name.clone());
            let value = match self.opts.build_args.get(&a.name) {
                Some(Some(v)) => Some(v.clone()),
                _ => match &a.default {
                    Some(d) => Some(self.expand_global(d, self.df.stages.first().map(|s| s.location).unwrap_or_default())?),
                    None => None,
                },
            };
            self.globals.insert(a.name.clone(), value);
        }
        let target = match &self.opts.target {
            Some(t) if !t.is_empty() => {
                let t = t.to_ascii_lowercase();
                self.df.stages.iter().position(|s| s.name.as_deref() == Some(t.as_str())).ok_or_else(|| Error::Invalid(format!("failed to reach build target {t} in Dockerfile")))?
            }
            _ => self.df.stages.len() - 1,
        };
        let needed = self.needed(target)?;
        self.total = needed.iter().map(|&i| 1 + self.df.stages[i].instructions.len()).sum();
        *lock(&self.results) = vec![None; self.df.stages.len()];
        self.stages(&needed)?;
        let mut image = self.result(target);
        if !self.opts.labels.is_empty() {
            let mut st = StageState::from_image(self.b.store, image.clone(), self.df.escape)?;
            for (k, v) in &self.opts.labels {
                if !st.config["Labels"].is_object() {
                    st.config["Labels"] = json!({});
                }
                st.config["Labels"][k] = json!(v);
            }
            let desc = format!("LABEL {}", self.opts.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
            // Cached like a step, so an unchanged rebuild with --label gives the same image.
            let key = Key::new(image.as_ref()).part("labels").part(&desc);
            image = Some(match self.b.cache.get(self.b.store, &key).filter(|_| !self.opts.no_cache) {
                Some(hit) => hit,
                None => {
                    let img = self.meta_commit(&st, &desc)?;
                    self.b.cache.put(&key, &img)?;
                    img
                }
            });
        }
        let image = image.ok_or_else(|| Error::Invalid("No image was generated. Is your Dockerfile empty?".into()))?;
        let unused: Vec<&String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !lock(&self.consumed).contains(*k) && !PREDEFINED_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() {
            self.out.stream(&format!("[Warning] One or more build-args [{}] were not consumed\n", unused.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")));
        }
        self.out.image_id(&image.id.to_string());
        self.out.stream(&format!("Successfully built {}\n", short_id(&image)));
        for t in &self.opts.tags {
            self.b.store.images().set(t, &image.manifest_digest)?;
            self.out.stream(&format!("Successfully tagged {}\n", berth_image::familiar(t)));
        }
        Ok(image)
    }

    fn expand_global(&self, word: &str, at: crate::dockerfile::ast::Location) -> Result<String> {
        expand_word(word, self.df.escape, &|n| self.globals.get(n).cloned().flatten()).map_err(|e| self.err_at(at, e.to_string()))
    }

    fn err_at(&self, at: crate::dockerfile::ast::Location, message: String) -> Error {
        Error::Step { file: self.file.clone(), line: at.line, column: at.column, message }
    }

    /// The index of the stage `name` (a name or a number) refers to, if it is one before
    /// stage `before`.
    fn stage_ref(&self, name: &str, before: usize) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = self.df.stages[..before].iter().position(|s| s.name.as_deref() == Some(lower.as_str())) {
            return Some(i);
        }
        name.parse::<usize>().ok().filter(|&i| i < before)
    }

    /// The stages `target` needs, in Dockerfile order: only those are built.
    fn needed(&self, target: usize) -> Result<Vec<usize>> {
        let mut need = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if need.insert(i) {
                todo.extend(self.deps(i)?);
            }
        }
        Ok(need.into_iter().collect())
    }

    /// The earlier stages stage `i` uses: its FROM, COPY --from, RUN --mount from=.
    fn deps(&self, i: usize) -> Result<Vec<usize>> {
        let s = &self.df.stages[i];
        let mut out = Vec::new();
        let base = self.expand_global(&s.base, s.location)?;
        out.extend(self.stage_ref(&base, i));
        for ins in &s.instructions {
            let from = match &ins.kind {
                Kind::Copy(c) | Kind::Add(c) => c.from.clone(),
                Kind::Run { mounts, .. } => mounts.iter().flat_map(|m| m.options.iter()).find(|(k, _)| k == "from").map(|(_, v)| v.clone()),
                _ => None,
            };
            if let Some(f) = from {
                let f = self.expand_global(&f, ins.location)?;
                out.extend(self.stage_ref(&f, i));
            }
        }
        Ok(out)
    }

    fn announce(&self, step: &mut usize, original: &str) -> Result<()> {
        if self.opts.cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        *step += 1;
        self.out.stream(&format!("Step {step}/{} : {original}\n", self.total));
        Ok(())
    }

    /// A built stage's image.
    fn result(&self, stage: usize) -> Option<Image> {
        lock(&self.results).get(stage).cloned().flatten().flatten()
    }

    /// The stages of `needed` that depend on none of each other are built at once, on
    /// threads of their own; a stage starts when every stage it needs is built. Steps keep
    /// the numbers they would have in Dockerfile order.
    fn stages(&self, needed: &[usize]) -> Result<()> {
        let mut first_step = BTreeMap::new();
        let mut n = 0;
        for &i in needed {
            first_step.insert(i, n);
            n += 1 + self.df.stages[i].instructions.len();
        }
        let mut level: BTreeMap<usize, usize> = BTreeMap::new();
        for &i in needed {
            let l = self.deps(i)?.iter().filter_map(|d| level.get(d)).map(|l| l + 1).max().unwrap_or(0);
            level.insert(i, l);
        }
        let depth = level.values().copied().max().unwrap_or(0);
        for l in 0..=depth {
            let batch: Vec<usize> = needed.iter().copied().filter(|i| level[i] == l).collect();
            let outcomes: Vec<(usize, Result<Option<Image>>)> = if batch.len() == 1 {
                vec![(batch[0], self.stage(batch[0], first_step[&batch[0]]))]
            } else {
                std::thread::scope(|s| {
                    let handles: Vec<_> = batch
                        .iter()
                        .map(|&i| {
                            let first = first_step[&i];
                            (i, s.spawn(move || {
                                let r = self.stage(i, first);
                                if r.is_err() {
                                    // The build fails: the other stages stop at their next step.
                                    self.opts.cancel.store(true, Ordering::Relaxed);
                                }
                                r
                            }))
                        })
                        .collect();
                    handles.into_iter().map(|(i, h)| (i, h.join().expect("a stage does not panic"))).collect()
                })
            };
            let mut errors = Vec::new();
            for (i, r) in outcomes {
                match r {
                    Ok(img) => lock(&self.results)[i] = Some(img),
                    Err(e) => errors.push(e),
                }
            }
            // A real failure explains the build better than the stages it cancelled.
            if let Some(i) = errors.iter().position(|e| !matches!(e, Error::Cancelled)) {
                return Err(errors.swap_remove(i));
            }
            if let Some(e) = errors.pop() {
                return Err(e);
            }
        }
        Ok(())
    }

    /// An image for FROM or COPY --from that is not a stage.
    fn image(&self, name: &str, platform: Option<&str>) -> Result<Image> {
        let r = Reference::parse(name).map_err(|e| Error::Invalid(e.to_string()))?;
        self.b.services.image(&r, platform, self.opts.pull, self.out).map_err(Error::Service)
    }

    fn stage(&self, i: usize, mut step: usize) -> Result<Option<Image>> {
        let s: &Stage = &self.df.stages[i];
        self.announce(&mut step, &s.original)?;
        let base = self.expand_global(&s.base, s.location)?;
        let platform = match &s.platform {
            Some(p) => Some(self.expand_global(p, s.location)?),
            None => self.opts.platform.clone(),
        };
        let image = if let Some(j) = self.stage_ref(&base, i) {
            self.result(j)
        } else if base == "scratch" {
            None
        } else {
            Some(self.image(&base, platform.as_deref()).map_err(|e| self.err_at(s.location, e.to_string()))?)
        };
        if let Some(img) = &image {
            self.out.stream(&format!(" ---> {}\n", short_id(img)));
        }
        let mut st = StageState::from_image(self.b.store, image, self.df.escape)?;
        // A base image's ONBUILD triggers run first, once: they are not inherited further.
        let triggers = crate::state::strings(&st.config["OnBuild"]);
        if !triggers.is_empty() {
            st.config["OnBuild"] = Value::Null;
            self.out.stream(&format!("# Executing {} build trigger{}\n", triggers.len(), if triggers.len() == 1 { "" } else { "s" }));
            for t in triggers {
                let df = parse(&format!("FROM scratch\n{t}\n"), "ONBUILD").map_err(|e| self.err_at(s.location, format!("ONBUILD {t}: {}", e.message)))?;
                let Some(ins) = df.stages.into_iter().next().and_then(|s| s.instructions.into_iter().next()) else { continue };
                let ins = Instruction { location: s.location, ..ins };
                self.instruction(&mut st, &ins, i)?;
            }
        }
        for ins in &s.instructions {
            self.announce(&mut step, &ins.original)?;
            self.instruction(&mut st, ins, i)?;
        }
        Ok(st.image)
    }

    fn instruction(&self, st: &mut StageState, ins: &Instruction, stage: usize) -> Result<()> {
        match &ins.kind {
            Kind::Run { command, mounts, network, heredocs, .. } => self.run(st, ins, command, mounts, network.as_deref(), heredocs, stage),
            Kind::Copy(c) => self.copy(st, ins, c, false, stage),
            Kind::Add(c) => self.copy(st, ins, c, true, stage),
            kind => {
                if let Kind::Arg(decls) = kind {
                    lock(&self.consumed).extend(decls.iter().map(|d| d.name.clone()));
                }
                let mut next = st.clone();
                let desc = meta::apply(&mut next, kind, &self.opts.build_args, &self.globals).map_err(|m| self.err_at(ins.location, m))?;
                if let Kind::Maintainer(m) = kind {
                    next.author = Some(m.clone());
                }
                let key = Key::new(st.image.as_ref()).part("meta").part(&desc).part(next.config.to_string()).part(next.author.as_deref().unwrap_or(""));
                let image = match self.cached(&key) {
                    Some(img) => img,
                    None => {
                        let img = self.meta_commit(&next, &desc)?;
                        self.b.cache.put(&key, &img)?;
                        img
                    }
                };
                self.out.stream(&format!(" ---> {}\n", short_id(&image)));
                next.image = Some(image);
                *st = next;
                Ok(())
            }
        }
    }

    fn cached(&self, key: &Key) -> Option<Image> {
        if self.opts.no_cache {
            return None;
        }
        let hit = self.b.cache.get(self.b.store, key)?;
        self.out.stream(" ---> Using cache\n");
        Some(hit)
    }

    fn meta_commit(&self, st: &StageState, desc: &str) -> Result<Image> {
        self.commit(st, None, &format!("/bin/sh -c #(nop)  {desc}"))
    }

    fn commit(&self, st: &StageState, upper: Option<&std::path::Path>, created_by: &str) -> Result<Image> {
        let opts = CommitOptions {
            config: st.config.clone(),
            author: st.author.clone(),
            comment: None,
            created_by: created_by.to_owned(),
            reference: None,
            empty_layer: upper.is_none(),
            // The step's upper directory is done with: it becomes the layer as it is.
            adopt_upper: true,
        };
        let id = self.b.store.commit(st.image.as_ref(), upper.unwrap_or(std::path::Path::new("/nonexistent")), &opts)?;
        Ok(self.b.store.resolve(&id.to_string())?)
    }

    #[allow(clippy::too_many_arguments)]
    fn run(&self, st: &mut StageState, ins: &Instruction, command: &Command, mounts: &[RunMount], network: Option<&str>, heredocs: &[crate::dockerfile::ast::Heredoc], stage: usize) -> Result<()> {
        let args = match command {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => {
                let mut a = st.shell();
                a.push(script(s, heredocs));
                a
            }
        };
        if args.is_empty() {
            return Err(self.err_at(ins.location, "RUN needs a command".into()));
        }
        let run_args = st.run_args();
        let mut env = st.env();
        env.extend(run_args.iter().map(|(k, v)| format!("{k}={v}")));
        let network = network.map(str::to_owned).unwrap_or_else(|| if self.opts.network.is_empty() { "default".into() } else { self.opts.network.clone() });
        let mount_key = self.mount_key(ins, mounts, stage)?;
        let created_by = {
            let shown = args.join(" ");
            if run_args.is_empty() {
                shown
            } else {
                format!("|{} {} {shown}", run_args.len(), run_args.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
            }
        };
        let key = Key::new(st.image.as_ref()).part("run").part(serde_json::to_string(&args).expect("strings serialize")).part(&created_by).part(&network).part(&mount_key);
        let image = match self.cached(&key) {
            Some(img) => img,
            None => {
                let id = random_id();
                self.out.stream(&format!(" ---> Running in {id}\n"));
                let lease = self.b.services.network(&network).map_err(Error::Service)?;
                let mut root = StepRoot::mount(self.b.store, st.image.as_ref(), &self.b.runner.work_dir, &id)?;
                let (oci_mounts, _mounted, _dirs) = self.run_mounts(st, ins, mounts, stage, &id)?;
                let p = run::Process { args: args.clone(), env, cwd: st.workdir(), user: st.user(), mounts: oci_mounts };
                let code = run::run(self.b.runner, &mut root, &format!("berth-build-{id}"), &p, &lease, self.out, &self.opts.cancel)?;
                drop(lease);
                if code != 0 {
                    return Err(Error::RunFailed { command: args.join(" "), code });
                }
                let img = self.commit(st, Some(root.upper()), &created_by)?;
                drop(root);
                self.b.cache.put(&key, &img)?;
                self.out.stream(&format!("Removing intermediate container {id}\n"));
                img
            }
        };
        self.out.stream(&format!(" ---> {}\n", short_id(&image)));
        st.image = Some(image);
        Ok(())
    }

    /// What RUN --mount options add to the step's cache key: the options, and for a bind
    /// the content it shows (the context's checksum of its source, or the stage's image).
    fn mount_key(&self, ins: &Instruction, mounts: &[RunMount], stage: usize) -> Result<String> {
        let mut key = String::new();
        for m in mounts {
            key.push_str(&format!("{}:{:?};", m.kind, m.options));
            if m.kind == "bind" {
                let opt = |k: &str| m.options.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
                let source = opt("source").or_else(|| opt("src")).unwrap_or_default();
                match opt("from") {
                    Some(f) => {
                        let img = self.mount_image(ins, &f, stage)?;
                        key.push_str(&img.id.to_string());
                    }
                    None => {
                        let p = copy::matches(Source::Context(self.ctx), &source).map_err(|e| self.err_at(ins.location, e.to_string()))?;
                        for p in p {
                            key.push_str(&hex::encode(self.ctx.checksum(&p).map_err(|e| self.err_at(ins.location, e.to_string()))?));
                        }
                    }
                }
            }
        }
        Ok(key)
    }

    /// The image a `from=` names: an earlier stage's, or an image.
    fn mount_image(&self, ins: &Instruction, from: &str, stage: usize) -> Result<Image> {
        match self.stage_ref(from, stage) {
            Some(j) => self.result(j).ok_or_else(|| self.err_at(ins.location, format!("stage {from} has no files (FROM scratch with nothing in it)"))),
            None => self.image(from, self.opts.platform.as_deref()).map_err(|e| self.err_at(ins.location, e.to_string())),
        }
    }

    /// RUN --mount as OCI mounts: cache (a directory kept beside the steps, by id or
    /// target), tmpfs, and bind (of the context, or of a stage's or image's root, mounted
    /// for the step); what must live while the step runs is returned with them.
    fn run_mounts(&self, st: &StageState, ins: &Instruction, mounts: &[RunMount], stage: usize, id: &str) -> Result<(Vec<Value>, Vec<StepRoot>, Vec<tempfile::TempDir>)> {
        let (mut out, mut roots, mut dirs) = (Vec::new(), Vec::new(), Vec::new());
        for m in mounts {
            let opt = |k: &str| m.options.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            let target = opt("target").or_else(|| opt("dst")).or_else(|| opt("destination")).ok_or_else(|| self.err_at(ins.location, format!("mount type={} needs a target", m.kind)))?;
            let target = meta::join_workdir(&st.workdir(), &target);
            match m.kind.as_str() {
                "cache" => {
                    let cid = opt("id").unwrap_or_else(|| target.clone());
                    let dir = self.b.runner.work_dir.join("mounts").join(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cid.as_bytes())));
                    std::fs::create_dir_all(&dir).map_err(Error::io("create cache mount", &dir))?;
                    out.push(json!({"destination": target, "type": "bind", "source": dir, "options": ["rbind", "rw"]}));
                }
                "tmpfs" => {
                    let mut o = vec!["nosuid".to_owned(), "nodev".to_owned()];
                    if let Some(size) = opt("size") {
                        o.push(format!("size={size}"));
                    }
                    out.push(json!({"destination": target, "type": "tmpfs", "source": "tmpfs", "options": o}));
                }
                "bind" => {
                    let source = opt("source").or_else(|| opt("src")).unwrap_or_default();
                    // Writes to a bind are allowed with rw and thrown away with the step.
                    let mode = if opt("rw").is_some() || opt("readwrite").is_some() { "rw" } else { "ro" };
                    let host = match opt("from") {
                        Some(f) => {
                            let img = self.mount_image(ins, &f, stage)?;
                            let r = StepRoot::mount(self.b.store, Some(&img), &self.b.runner.work_dir, &format!("{id}-m{}", roots.len()))?;
                            let p = copy::real_path_in_root(r.merged(), &source)?;
                            roots.push(r);
                            p
                        }
                        None => {
                            let dir = tempfile::Builder::new().prefix(&format!("{id}-ctx")).tempdir_in(&self.b.runner.work_dir).map_err(Error::io("create bind mount source in", &self.b.runner.work_dir))?;
                            let plan = Plan { sources: vec![source.clone()], dest: "/".into(), ..Plan::default() };
                            apply(Source::Context(self.ctx), &plan, dir.path()).map_err(|e| self.err_at(ins.location, e.to_string()))?;
                            let single = self.ctx.get(&crate::context::glob::clean(source.trim_start_matches('/'))).is_some_and(|e| !e.is_dir());
                            let p = if single {
                                dir.path().join(source.rsplit('/').next().unwrap_or(&source))
                            } else {
                                dir.path().to_owned()
                            };
                            dirs.push(dir);
                            p
                        }
                    };
                    out.push(json!({"destination": target, "type": "bind", "source": host, "options": ["rbind", mode]}));
                }
                other => return Err(self.err_at(ins.location, format!("RUN --mount=type={other} is not supported by berth's builder (the classic API has no session to carry secrets or ssh agents)"))),
            }
        }
        Ok((out, roots, dirs))
    }

    fn copy(&self, st: &mut StageState, ins: &Instruction, c: &CopyArgs, add: bool, stage: usize) -> Result<()> {
        let at = ins.location;
        let keyword = if add { "ADD" } else { "COPY" };
        let ex = |w: &str| st.expand(w).map_err(|m| self.err_at(at, m));
        let mut sources = Vec::new();
        let mut inline = Vec::new();
        for s in &c.sources {
            if let Some(h) = c.heredocs.iter().find(|h| &h.name == s) {
                let content = if h.expand {
                    crate::dockerfile::expand::expand_heredoc(&h.content, st.escape, &|n| st.lookup(n)).map_err(|e| self.err_at(at, e.to_string()))?
                } else {
                    h.content.clone()
                };
                inline.push(Inline { name: h.name.clone(), content: content.into_bytes(), mode: 0o644, mtime: 0 });
                continue;
            }
            let s = ex(s)?;
            if s.starts_with("http://") || s.starts_with("https://") {
                if !add {
                    return Err(self.err_at(at, format!("source can't be a URL for COPY: {s}")));
                }
                inline.push(crate::step::download::fetch(&s, c.checksum.as_deref()).map_err(|m| self.err_at(at, m))?);
                continue;
            }
            sources.push(s);
        }
        let raw_dest = ex(&c.dest)?;
        let mut dest = if raw_dest.starts_with('/') { raw_dest.clone() } else { format!("{}/{}", st.workdir().trim_end_matches('/'), raw_dest) };
        if (raw_dest.ends_with('/') || raw_dest == "." || raw_dest.ends_with("/.")) && !dest.ends_with('/') {
            dest.push('/');
        }
        let keep_slash = dest.ends_with('/');
        dest = meta::join_workdir("/", &dest);
        if keep_slash && !dest.ends_with('/') {
            dest.push('/');
        }
        let chmod = match &c.chmod {
            Some(m) => Some(u32::from_str_radix(&ex(m)?, 8).map_err(|_| self.err_at(at, format!("invalid chmod {m:?}: expected octal")))?),
            None => None,
        };
        let chown = match &c.chown {
            Some(o) => Some(ex(o)?),
            None => None,
        };
        let excludes = c.exclude.iter().map(|p| crate::context::glob::Pattern::with_double_star(&ex(p)?).map_err(|e| self.err_at(at, e.to_string()))).collect::<Result<Vec<_>>>()?;

        // Where the files come from, and the part of the key that stands for their content.
        let from = match &c.from {
            Some(f) => Some(ex(f)?),
            None => None,
        };
        let from_image = match &from {
            None => None,
            Some(f) => {
                match self.stage_ref(f, stage) {
                    Some(j) => Some(self.result(j).ok_or_else(|| self.err_at(at, format!("stage {f} has no files (FROM scratch with nothing in it)")))?),
                    None => Some(self.image(f, self.opts.platform.as_deref()).map_err(|e| self.err_at(at, e.to_string()))?),
                }
            }
        };
        let mut key = Key::new(st.image.as_ref()).part(keyword).part(&dest).part(chown.as_deref().unwrap_or("")).part(format!("{chmod:?}")).part(c.exclude.join("\n"));
        let mut shown = Vec::new();
        match &from_image {
            Some(img) => {
                key = key.part(img.id.to_string());
                for s in &sources {
                    key = key.part(s);
                }
                shown.push(format!("from {}", short_id(img)));
            }
            None => {
                for s in &sources {
                    let matched = copy::matches(Source::Context(self.ctx), s).map_err(|e| self.err_at(at, e.to_string()))?;
                    if matched.is_empty() {
                        return Err(self.err_at(at, format!("no source files were specified: {s}")));
                    }
                    for m in matched {
                        let _ = self.ctx.prefetch_digests(&m);
                        let sum = self.ctx.checksum(&m).map_err(|_| self.err_at(at, format!("file not found in build context or excluded by .dockerignore: stat {s}: file does not exist")))?;
                        key = key.part(&m).part(sum);
                        let kind = if self.ctx.get(&m).is_some_and(|e| e.is_dir()) { "dir" } else { "file" };
                        shown.push(format!("{kind}:{}", hex::encode(sum)));
                    }
                }
            }
        }
        for f in &inline {
            key = key.part(&f.name).part(&f.content).part(f.mode.to_le_bytes());
            shown.push(format!("file:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&f.content))));
        }
        let created_by = format!("/bin/sh -c #(nop) {keyword} {} in {dest} ", shown.join(" "));
        let image = match self.cached(&key) {
            Some(img) => img,
            None => {
                let id = random_id();
                let mut root = StepRoot::mount(self.b.store, st.image.as_ref(), &self.b.runner.work_dir, &id)?;
                let owner = match &chown {
                    Some(o) => {
                        let u = berth_runtime::user::resolve(root.merged(), o, &[]).map_err(|e| self.err_at(at, e.to_string()))?;
                        // Docker: a user without a group gets the user's id as the gid.
                        Some((u.uid, if o.contains(':') { u.gid } else { u.uid }))
                    }
                    None => None,
                };
                let plan = Plan { sources, inline, dest: dest.clone(), owner, chmod, unpack_archives: add, excludes };
                let src_root = match &from_image {
                    Some(img) => Some(StepRoot::mount(self.b.store, Some(img), &self.b.runner.work_dir, &format!("{id}-from"))?),
                    None => None,
                };
                let src = match &src_root {
                    Some(r) => Source::Root(r.merged()),
                    None => Source::Context(self.ctx),
                };
                apply(src, &plan, root.merged())?;
                drop(src_root);
                root.unmount()?;
                let img = self.commit(st, Some(root.upper()), &created_by)?;
                drop(root);
                self.b.cache.put(&key, &img)?;
                img
            }
        };
        self.out.stream(&format!(" ---> {}\n", short_id(&image)));
        st.image = Some(image);
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes the tar of `plan` on one thread and unpacks it into `root` on this one, through
/// a pipe: the copy is never held in memory or on disk twice.
fn apply(src: Source<'_>, plan: &Plan, root: &std::path::Path) -> Result<()> {
    let (reader, writer) = std::io::pipe().map_err(Error::io("create pipe for", root))?;
    std::thread::scope(|s| {
        let w = s.spawn(move || copy::write_tar(src, plan, root, std::io::BufWriter::with_capacity(256 << 10, writer)));
        let applied = berth_image::apply_layer(reader, root);
        let written = w.join().expect("the tar writer does not panic");
        // The writer's error explains a reader's "unexpected end of archive".
        written?;
        applied.map(drop).map_err(Error::from)
    })
}

/// A shell-form RUN's script: the line, then each heredoc's body and delimiter, so the
/// shell reads them as here-documents. A RUN that is only a heredoc runs its body.
fn script(line: &str, heredocs: &[crate::dockerfile::ast::Heredoc]) -> String {
    if heredocs.is_empty() {
        return line.to_owned();
    }
    let t = line.trim();
    if heredocs.len() == 1 && t.starts_with("<<") && !t.contains(char::is_whitespace) {
        return heredocs[0].content.clone();
    }
    let mut s = line.to_owned();
    for h in heredocs {
        s.push('\n');
        s.push_str(&h.content);
        s.push_str(&h.name);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::script;
    use crate::dockerfile::ast::Heredoc;

    fn doc(name: &str, content: &str) -> Heredoc {
        Heredoc { name: name.into(), content: content.into(), expand: true, strip_tabs: false }
    }

    #[test]
    fn heredoc_scripts() {
        assert_eq!(script("echo hi", &[]), "echo hi");
        // A RUN that is only a heredoc runs its body.
        assert_eq!(script("<<EOF", &[doc("EOF", "echo a\necho b\n")]), "echo a\necho b\n");
        // A heredoc fed to a command stays a here-document for the shell.
        assert_eq!(script("cat <<EOF > /f", &[doc("EOF", "x\n")]), "cat <<EOF > /f\nx\nEOF");
        assert_eq!(script("cat <<A <<B", &[doc("A", "1\n"), doc("B", "2\n")]), "cat <<A <<B\n1\nA\n2\nB");
    }
}
