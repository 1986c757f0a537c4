//! Healthchecks: the image's HEALTHCHECK or `--health-*`, run in the container at its
//! interval through the runtime's exec; status starting → healthy / unhealthy after
//! `retries` consecutive failures, the last five results kept, as Docker does.

use std::sync::Arc;
use std::time::Duration;

use bollard_stubs::models::{ContainerConfig, HealthConfig, HealthcheckResult};

use crate::clock;
use crate::container::record::Health;
use crate::container::{exec, Container};
use crate::daemon::Daemon;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: i64 = 3;
const KEPT: usize = 5;
const OUTPUT_LIMIT: usize = 4096;

/// The healthcheck to run, if there is one (`NONE` disables an image's).
pub fn configured(c: &ContainerConfig) -> Option<HealthConfig> {
    let h = c.healthcheck.clone()?;
    let test = h.test.as_ref()?;
    match test.first().map(String::as_str) {
        Some("CMD") | Some("CMD-SHELL") if test.len() > 1 => Some(h),
        _ => None,
    }
}

fn nanos(v: Option<i64>, default: Duration) -> Duration {
    match v {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    }
}

pub fn spawn(d: Arc<Daemon>, c: Arc<Container>) {
    let Some(h) = configured(&c.record().config) else { return };
    let starts = c.lifecycle().starts;
    tokio::spawn(async move {
        let test = h.test.clone().unwrap_or_default();
        let args: Vec<String> = if test[0] == "CMD-SHELL" {
            vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")]
        } else {
            test[1..].to_vec()
        };
        let interval = nanos(h.interval, DEFAULT_INTERVAL);
        let timeout = nanos(h.timeout, DEFAULT_TIMEOUT);
        let start_period = nanos(h.start_period, Duration::ZERO);
        let retries = h.retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES);
        let began = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(interval).await;
            let life = c.lifecycle();
            if !life.running || life.starts != starts || life.removed {
                return;
            }
            let start = clock::now_rfc3339();
            let (code, output) = exec::run_capture(&d, &c, &args, timeout, OUTPUT_LIMIT)
                .await
                .unwrap_or_else(|e| (-1, e.to_string()));
            let result = HealthcheckResult {
                start: Some(start),
                end: Some(clock::now_rfc3339()),
                exit_code: Some(code),
                output: Some(output),
            };
            let in_start_period = began.elapsed() < start_period;
            let changed = c.update_in_memory(|r| {
                let h = r.state.health.get_or_insert_with(|| Health {
                    status: "starting".into(),
                    failing_streak: 0,
                    log: Vec::new(),
                });
                let before = h.status.clone();
                if code == 0 {
                    h.status = "healthy".into();
                    h.failing_streak = 0;
                } else if !in_start_period {
                    h.failing_streak += 1;
                    if h.failing_streak >= retries {
                        h.status = "unhealthy".into();
                    }
                }
                h.log.push(result);
                if h.log.len() > KEPT {
                    h.log.remove(0);
                }
                (before != h.status).then(|| h.status.clone())
            });
            if let Some(status) = changed {
                let r = c.record();
                let _ = c.update(|_| ());
                let mut attrs = std::collections::HashMap::new();
                attrs.insert("name".to_owned(), r.name.clone());
                d.events.container(&format!("health_status: {status}"), &c.id, &r.image, attrs);
            }
        }
    });
}
