//! berthd: the berth daemon. Flags as dockerd's where they overlap.

use std::path::PathBuf;

use clap::Parser;

use berth_engine::config::{self, Config, FileConfig};

#[derive(Debug, Parser)]
#[command(name = "berthd", about = "The berth daemon: containers and images behind the Docker Engine API", version)]
struct Args {
    /// Where images, containers and logs are kept
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
    /// Where run-time state goes (sockets, the runtime's state)
    #[arg(long, value_name = "DIR")]
    exec_root: Option<PathBuf>,
    /// The socket to serve on (unix:// only)
    #[arg(short = 'H', long = "host", value_name = "unix://PATH")]
    host: Option<String>,
    /// A daemon.json-shaped configuration file
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// error, warn, info, debug
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Absolute cgroup under which containers' cgroups go (default: beneath berthd's own)
    #[arg(long, value_name = "PATH")]
    cgroup_parent: Option<String>,
    /// The OCI runtime binary (runc's command line)
    #[arg(long, value_name = "PATH")]
    runtime: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("berthd: error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let file = match &args.config {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    let level = args.log_level.clone().or(file.log_level.clone()).unwrap_or_else(|| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!("berth_engine={level},berthd={level}")))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let host = args
        .host
        .clone()
        .or_else(|| file.hosts.as_ref().and_then(|h| h.first().cloned()))
        .unwrap_or_else(|| "unix:///run/berth/berth.sock".into());
    let socket = config::socket_path(&host)?;
    let opts = file.log_opts.unwrap_or_default();
    let cfg = Config {
        data_root: args.data_root.or(file.data_root).unwrap_or_else(|| "/var/lib/berth".into()),
        exec_root: args.exec_root.or(file.exec_root).unwrap_or_else(|| "/run/berth".into()),
        socket,
        runtime_in_process: args.runtime.is_none() && file.default_runtime.is_none(),
        runtime: args.runtime.or(file.default_runtime).unwrap_or_else(|| config::sibling("berth-runtime")),
        shim: config::sibling("berth-shim"),
        init_path: file.init_path.unwrap_or_else(|| "/usr/bin/tini-static".into()),
        cgroup_parent: args.cgroup_parent.or(file.cgroup_parent),
        log_max_size: opts.max_size.as_deref().map(config::parse_size).transpose()?.unwrap_or(config::DEFAULT_LOG_MAX_SIZE),
        log_max_files: opts.max_file.as_deref().map(str::parse).transpose()?.unwrap_or(config::DEFAULT_LOG_MAX_FILES),
        insecure_registries: file.insecure_registries.unwrap_or_default(),
    };
    if let Some(p) = &cfg.cgroup_parent {
        if !p.starts_with('/') {
            return Err(format!("cgroup-parent {p:?} must be an absolute path").into());
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let cfg = berth_engine::placement::prepare(cfg)?;
        let socket = cfg.socket.clone();
        let daemon = berth_engine::daemon::Daemon::open(cfg).await?;
        daemon.recover().await;
        tracing::info!(socket = %socket.display(), "berthd listening");
        let shutdown = async {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            tracing::info!("shutting down; containers keep running under their shims");
        };
        let d = daemon.clone();
        berth_engine::api::serve(daemon, &socket, shutdown).await?;
        for e in d.networks.drain_pool() {
            tracing::warn!("remove a pre-made network namespace: {e}");
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
