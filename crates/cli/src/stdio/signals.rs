//! Signals while attached: with `--sig-proxy` (docker's default without a TTY) the
//! signals a user sends to the CLI go to the container (`POST /containers/{id}/kill`);
//! SIGWINCH resizes the container's (or exec's) TTY.

use std::time::Duration;

use berth_api_client::Client;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;

/// The signals forwarded (docker forwards all but SIGCHLD, SIGPIPE, SIGURG and SIGWINCH;
/// these are the ones a terminal user sends).
const PROXIED: &[(i32, &str)] = &[
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGALRM, "SIGALRM"),
];

/// Forwards signals to container `id` until the tasks are aborted.
pub fn proxy(client: Client, id: String) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for &(num, name) in PROXIED {
        let Ok(mut sig) = signal(SignalKind::from_raw(num)) else {
            continue;
        };
        let client = client.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            while sig.recv().await.is_some() {
                let _ = client.container_kill(&id, Some(name)).await;
            }
        }));
    }
    tasks
}

/// What a resize applies to.
#[derive(Debug, Clone)]
pub enum ResizeTarget {
    Container(String),
    Exec(String),
}

async fn resize_once(client: &Client, target: &ResizeTarget) -> bool {
    let Some((h, w)) = super::terminal::size() else {
        return true;
    };
    let r = match target {
        ResizeTarget::Container(id) => client.container_resize(id, h, w).await,
        ResizeTarget::Exec(id) => client.exec_resize(id, h, w).await,
    };
    r.is_ok()
}

/// Sends the first resize, retried a few times (the process may not have its TTY yet, as
/// docker also finds), then one per SIGWINCH.
pub fn resize(client: Client, target: ResizeTarget) -> JoinHandle<()> {
    tokio::spawn(async move {
        for attempt in 0..10u64 {
            if resize_once(&client, &target).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10 * (attempt + 1))).await;
        }
        let Ok(mut winch) = signal(SignalKind::window_change()) else {
            return;
        };
        while winch.recv().await.is_some() {
            resize_once(&client, &target).await;
        }
    })
}
