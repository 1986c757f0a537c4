//! `POST /containers/create`: a record from the request and the image's config, merged
//! as Docker merges them, written before the id is returned.

use std::collections::HashMap;
use std::sync::Arc;

use bollard_stubs::models::{ContainerConfig, ContainerCreateBody, HostConfig};

use crate::clock;
use crate::container::names;
use crate::container::record::{Record, State};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// The image's defaults for a container, from its config's `config` object (Docker's
/// field names, which the API's ContainerConfig shares).
pub fn image_config(daemon: &Daemon, image: &berth_image::Image) -> Result<ContainerConfig> {
    let raw = daemon.images.blobs().read(&image.id.0)?;
    #[derive(serde::Deserialize)]
    struct Wrapper {
        #[serde(default)]
        config: Option<ContainerConfig>,
    }
    let w: Wrapper = serde_json::from_slice(&raw)
        .map_err(|e| Error::internal(format!("parse image config {}", image.id), e))?;
    Ok(w.config.unwrap_or_default())
}

/// Docker's merge: the user's value wins, env and labels are merged key by key, and an
/// entrypoint given by the user drops the image's cmd.
pub fn merge(user: &ContainerConfig, image: &ContainerConfig) -> ContainerConfig {
    let mut out = user.clone();
    let mut env: Vec<String> = image.env.clone().unwrap_or_default();
    for e in user.env.iter().flatten() {
        let key = e.split('=').next().unwrap_or(e);
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    out.env = Some(env);
    let user_ep = user.entrypoint.clone().filter(|e| !e.is_empty());
    match (&user.entrypoint, &user.cmd) {
        (Some(ep), cmd) => {
            // `--entrypoint ""` clears the image's entrypoint.
            out.entrypoint = if ep.iter().all(String::is_empty) { None } else { user_ep };
            out.cmd = cmd.clone().filter(|c| !c.is_empty());
        }
        (None, cmd) => {
            out.entrypoint = image.entrypoint.clone();
            out.cmd = cmd.clone().filter(|c| !c.is_empty()).or_else(|| image.cmd.clone());
        }
    }
    if out.working_dir.as_deref().unwrap_or("").is_empty() {
        out.working_dir = image.working_dir.clone();
    }
    if out.user.as_deref().unwrap_or("").is_empty() {
        out.user = image.user.clone();
    }
    let mut labels: HashMap<String, String> = image.labels.clone().unwrap_or_default();
    labels.extend(user.labels.clone().unwrap_or_default());
    out.labels = Some(labels);
    if out.stop_signal.as_deref().unwrap_or("").is_empty() {
        out.stop_signal = image.stop_signal.clone();
    }
    if out.healthcheck.is_none() {
        out.healthcheck = image.healthcheck.clone();
    }
    let mut ports = image.exposed_ports.clone().unwrap_or_default();
    for p in user.exposed_ports.iter().flatten() {
        if !ports.contains(p) {
            ports.push(p.clone());
        }
    }
    out.exposed_ports = (!ports.is_empty()).then_some(ports);
    let mut volumes = image.volumes.clone().unwrap_or_default();
    for v in user.volumes.iter().flatten() {
        if !volumes.contains(v) {
            volumes.push(v.clone());
        }
    }
    out.volumes = (!volumes.is_empty()).then_some(volumes);
    if out.shell.is_none() {
        out.shell = image.shell.clone();
    }
    out
}

/// The part of the create body that is the container's config.
fn config_of(b: &ContainerCreateBody) -> ContainerConfig {
    ContainerConfig {
        hostname: b.hostname.clone(),
        domainname: b.domainname.clone(),
        user: b.user.clone(),
        attach_stdin: b.attach_stdin,
        attach_stdout: b.attach_stdout,
        attach_stderr: b.attach_stderr,
        exposed_ports: b.exposed_ports.clone(),
        tty: b.tty,
        open_stdin: b.open_stdin,
        stdin_once: b.stdin_once,
        env: b.env.clone(),
        cmd: b.cmd.clone(),
        healthcheck: b.healthcheck.clone(),
        args_escaped: b.args_escaped,
        image: b.image.clone(),
        volumes: b.volumes.clone(),
        working_dir: b.working_dir.clone(),
        entrypoint: b.entrypoint.clone(),
        network_disabled: b.network_disabled,
        on_build: None,
        labels: b.labels.clone(),
        stop_signal: b.stop_signal.clone(),
        stop_timeout: b.stop_timeout,
        shell: b.shell.clone(),
    }
}

/// `networks`: the container's networks as [`crate::network::plan`] resolved them.
pub fn create(
    daemon: &Arc<Daemon>,
    name: Option<&str>,
    body: ContainerCreateBody,
    networks: std::collections::BTreeMap<String, bollard_stubs::models::EndpointSettings>,
) -> Result<(String, Vec<String>)> {
    let image_name = body
        .image
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Invalid("config error: no image specified".into()))?;
    let image = daemon.images.resolve(&image_name).map_err(|e| match e {
        berth_image::Error::ImageNotFound { .. } => {
            Error::NotFound(format!("No such image: {image_name}"))
        }
        e => e.into(),
    })?;
    let mut host_config: HostConfig = body.host_config.clone().unwrap_or_default();
    validate_host_config(&host_config)?;
    host_config.network_mode = Some(crate::network::mode_name(host_config.network_mode.as_deref()));
    let mut config = merge(&config_of(&body), &image_config(daemon, &image)?);
    config.image = Some(image_name.clone());
    let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    argv.extend(config.cmd.clone().unwrap_or_default());
    if argv.is_empty() {
        return Err(Error::Invalid("no command specified".into()));
    }
    let id = super::new_id();
    let name = match name.filter(|n| !n.is_empty()) {
        Some(n) => names::validate(n)?,
        None => names::generate(|n| daemon.name_taken(n), &id),
    };
    if config.hostname.as_deref().unwrap_or("").is_empty() {
        config.hostname = Some(id[..12].to_owned());
    }
    daemon.reserve_name(&name, &id)?;
    let record = Record {
        id: id.clone(),
        name: name.clone(),
        created: clock::now_rfc3339(),
        image: image_name.clone(),
        image_id: image.id.to_string(),
        path: argv[0].clone(),
        args: argv[1..].to_vec(),
        config,
        host_config,
        state: State::default(),
        layers: image.chain()?,
        anonymous_volumes: Vec::new(),
        volume_mounts: Vec::new(),
        remove_volumes: false,
        networks,
        net: Default::default(),
    };
    let mut record = record;
    // Until the record is in the daemon, no volume it mounts may be removed.
    let volume_ops = daemon.volumes.ops.lock().expect("volume ops lock");
    let result = (|| {
        let (mounts, anon) = crate::volume::resolve::resolve(daemon, &record.host_config, &record.config)?;
        record.volume_mounts = mounts;
        record.anonymous_volumes = anon;
        let dir = Record::dir(&daemon.config.data_root, &id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::internal(format!("create {}", dir.display()), e))?;
        daemon.images.hold_layers(&id, &record.layers)?;
        record.save(&dir)?;
        Ok::<_, Error>(())
    })();
    if let Err(e) = result {
        for v in &record.anonymous_volumes {
            let _ = crate::volume::remove::remove_locked(daemon, v, true);
        }
        daemon.release_name(&name, &id);
        let _ = daemon.images.release(&id);
        super::remove::remove_dir(&Record::dir(&daemon.config.data_root, &id));
        return Err(e);
    }
    let c = daemon.container_handle(record);
    daemon.insert(c);
    drop(volume_ops);
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), name);
    daemon.events.container("create", &id, &image_name, attrs);
    Ok((id, Vec::new()))
}

/// What the runtime could not honour is refused now, not at start.
fn validate_host_config(h: &HostConfig) -> Result<()> {
    if let (Some(m), Some(s)) = (h.memory, h.memory_swap) {
        if m > 0 && s > 0 && s < m {
            return Err(Error::Invalid(
                "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
            ));
        }
    }
    if h.memory.is_some_and(|m| m > 0 && m < 6 * 1024 * 1024) {
        return Err(Error::Invalid("Minimum memory limit allowed is 6MB".into()));
    }
    if let Some(p) = &h.restart_policy {
        use bollard_stubs::models::RestartPolicyNameEnum as R;
        if h.auto_remove == Some(true) && !matches!(p.name, None | Some(R::NO) | Some(R::EMPTY)) {
            return Err(Error::Invalid(
                "can't create 'AutoRemove' container with restart policy".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Option<Vec<String>> {
        Some(s.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn merge_as_docker() {
        let image = ContainerConfig {
            env: v(&["PATH=/bin", "A=1"]),
            cmd: v(&["sh"]),
            entrypoint: v(&["/init"]),
            working_dir: Some("/srv".into()),
            ..Default::default()
        };
        let user = ContainerConfig { env: v(&["A=2", "B=3"]), ..Default::default() };
        let m = merge(&user, &image);
        assert_eq!(m.env, v(&["PATH=/bin", "A=2", "B=3"]));
        assert_eq!(m.entrypoint, v(&["/init"]));
        assert_eq!(m.cmd, v(&["sh"]));
        assert_eq!(m.working_dir.as_deref(), Some("/srv"));

        let user = ContainerConfig { entrypoint: v(&["/bin/echo"]), ..Default::default() };
        let m = merge(&user, &image);
        assert_eq!(m.entrypoint, v(&["/bin/echo"]));
        assert_eq!(m.cmd, None, "a user entrypoint drops the image's cmd");

        let user = ContainerConfig { entrypoint: v(&[""]), cmd: v(&["ls"]), ..Default::default() };
        let m = merge(&user, &image);
        assert_eq!(m.entrypoint, None);
        assert_eq!(m.cmd, v(&["ls"]));
    }
}
