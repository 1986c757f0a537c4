//! The flags `run` and `create` share, and the Engine API body they make: each flag
//! lands where the docker CLI puts it (`Config` or `HostConfig`), with values parsed by
//! [`crate::opts`], so berthd and dockerd see the same request from berth as from docker.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_api_client::models::{
    ContainerCreateBody, HealthConfig, HostConfig, HostConfigLogConfig, NetworkingConfig,
};

use crate::opts::{self, cpus, device, duration, envfile, memory, mounts, ports, restart, ulimit};

#[derive(Debug, Clone, clap::Args)]
pub struct CreateOptions {
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "LIST")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "LIST")]
    pub label: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Command to run to check health
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h)
    #[arg(long)]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h)
    #[arg(long)]
    pub health_timeout: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long)]
    pub health_retries: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)
    #[arg(long)]
    pub health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h)
    #[arg(long)]
    pub health_start_interval: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long)]
    pub no_healthcheck: bool,
    /// Memory limit
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Ulimit options
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Add a host device to the container
    #[arg(long)]
    pub device: Vec<String>,
    /// Add Linux capabilities
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Security Options
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Mount a tmpfs directory
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Add additional groups to join
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Size of /dev/shm
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long, allow_hyphen_values = true)]
    pub oom_score_adj: Option<i64>,
    /// Signal to stop the container
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Sysctl options
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Connect a container to a network
    #[arg(long, visible_alias = "net")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", visible_alias = "net-alias", alias = "alias")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long)]
    pub ip6: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Bind mount a volume
    #[arg(short = 'v', long)]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long, value_name = "CONTAINER[:ro|rw]")]
    pub volumes_from: Vec<String>,
    /// Logging driver for the container
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long)]
    pub attach: Vec<String>,
    /// Proxy received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Add link to another container
    #[arg(long)]
    pub link: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long, alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long)]
    pub expose: Vec<String>,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

fn ns(flag: &str, v: &Option<String>) -> Result<Option<i64>, String> {
    match v {
        None => Ok(None),
        Some(s) => {
            let d = duration::parse_go_duration(s)
                .map_err(|e| format!("invalid argument \"{s}\" for \"--{flag}\" flag: {e}"))?;
            if d < 0 {
                return Err(format!("--{flag} cannot be negative"));
            }
            Ok(Some(d))
        }
    }
}

impl CreateOptions {
    /// Which streams `-a` names (stdin, stdout, stderr), or docker's default: stdout and
    /// stderr; stdin whenever `-i` is given (also with `-a`, as docker does).
    pub fn attach_streams(&self) -> Result<(bool, bool, bool), String> {
        if self.attach.is_empty() {
            return Ok((self.interactive, true, true));
        }
        let (mut i, mut o, mut e) = (false, false, false);
        for a in &self.attach {
            match a.to_ascii_lowercase().as_str() {
                "stdin" => i = true,
                "stdout" => o = true,
                "stderr" => e = true,
                _ => return Err(format!("invalid argument \"{a}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR")),
            }
        }
        Ok((i || self.interactive, o, e))
    }

    /// The `POST /containers/create` body for `image` and `cmd`.
    pub fn body(
        &self,
        image: &str,
        cmd: &[String],
        cwd: &Path,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ContainerCreateBody, String> {
        let (attach_stdin, attach_stdout, attach_stderr) = self.attach_streams()?;

        let mut env = Vec::new();
        for file in &self.env_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("open {}: {e}", file.display()))?;
            env.extend(
                envfile::parse(&text, lookup).map_err(|e| format!("{}: {e}", file.display()))?,
            );
        }
        env.extend(self.env.iter().map(|e| envfile::env_flag(e, lookup)));

        let labels: HashMap<String, String> =
            self.label.iter().map(|l| opts::key_value(l)).collect();

        let mut exposed: Vec<String> = Vec::new();
        for e in &self.expose {
            exposed.extend(ports::parse_expose(e)?);
        }
        let mut published = Vec::new();
        for p in &self.publish {
            published.extend(ports::parse_publish(p)?);
        }
        for p in &published {
            if !exposed.contains(&p.key) {
                exposed.push(p.key.clone());
            }
        }

        let mut binds = Vec::new();
        let mut volumes = Vec::new();
        for v in &self.volume {
            match mounts::parse_volume(v, cwd)? {
                mounts::Volume::Bind(b) => binds.push(b),
                mounts::Volume::Anonymous(d) => volumes.push(d),
            }
        }
        let mount_list = self
            .mount
            .iter()
            .map(|m| mounts::parse_mount(m))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tmpfs = HashMap::new();
        for t in &self.tmpfs {
            let (d, o) = mounts::parse_tmpfs(t)?;
            tmpfs.insert(d, o);
        }

        let healthcheck = self.healthcheck()?;

        let entrypoint = self.entrypoint.as_ref().map(|e| vec![e.clone()]);

        let mut security_opt = Vec::new();
        for s in &self.security_opt {
            security_opt.push(security_option(s)?);
        }

        let restart = restart::parse(&self.restart)?;
        if self.rm
            && restart
                .name
                .is_some_and(|n| n != berth_api_client::models::RestartPolicyNameEnum::NO)
        {
            return Err("conflicting options: cannot specify both --restart and --rm".into());
        }

        let log_config = if self.log_driver.is_some() || !self.log_opt.is_empty() {
            Some(HostConfigLogConfig {
                typ: self.log_driver.clone(),
                config: Some(self.log_opt.iter().map(|o| opts::key_value(o)).collect()),
            })
        } else {
            None
        };

        let extra_hosts = self
            .add_host
            .iter()
            .map(|h| add_host(h))
            .collect::<Result<Vec<_>, _>>()?;

        let (network_mode, endpoints_config) = opts::networks::endpoints(
            &self.network,
            &opts::networks::Plain {
                aliases: &self.network_alias,
                ipv4: self.ip.as_deref(),
                ipv6: self.ip6.as_deref(),
            },
        )?;
        let networking_config = endpoints_config.map(|e| NetworkingConfig {
            endpoints_config: Some(e),
        });

        let host_config = HostConfig {
            binds: non_empty(binds),
            volumes_from: non_empty(self.volumes_from.clone()),
            mounts: non_empty(mount_list),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            port_bindings: Some(ports::bindings(&published)),
            publish_all_ports: self.publish_all.then_some(true),
            restart_policy: Some(restart),
            auto_remove: Some(self.rm),
            // The terminal's size at create, as docker 28 sends it: the process starts
            // with it instead of racing the first resize.
            console_size: self
                .tty
                .then(crate::stdio::terminal::size)
                .flatten()
                .map(|(rows, cols)| vec![usize::from(rows), usize::from(cols)]),
            init: self.init.then_some(true),
            privileged: Some(self.privileged),
            readonly_rootfs: Some(self.read_only),
            cap_add: non_empty(normalize_caps(&self.cap_add)),
            cap_drop: non_empty(normalize_caps(&self.cap_drop)),
            // docker sends these empty lists rather than leaving them out.
            blkio_weight_device: Some(Vec::new()),
            blkio_device_read_bps: Some(Vec::new()),
            blkio_device_write_bps: Some(Vec::new()),
            blkio_device_read_iops: Some(Vec::new()),
            blkio_device_write_iops: Some(Vec::new()),
            dns_options: Some(self.dns_option.clone()),
            dns_search: Some(self.dns_search.clone()),
            security_opt: non_empty(security_opt),
            group_add: non_empty(self.group_add.clone()),
            shm_size: self
                .shm_size
                .as_deref()
                .map(memory::ram_in_bytes)
                .transpose()?,
            oom_score_adj: self.oom_score_adj,
            sysctls: (!self.sysctl.is_empty())
                .then(|| self.sysctl.iter().map(|s| opts::key_value(s)).collect()),
            network_mode: Some(network_mode),
            log_config,
            extra_hosts: non_empty(extra_hosts),
            links: non_empty(self.link.clone()),
            dns: Some(self.dns.clone()),
            devices: Some(
                self.device
                    .iter()
                    .map(|d| device::parse(d))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            ulimits: Some(
                self.ulimit
                    .iter()
                    .map(|u| ulimit::parse(u))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            memory: self
                .memory
                .as_deref()
                .map(memory::ram_in_bytes)
                .transpose()?,
            memory_swap: self
                .memory_swap
                .as_deref()
                .map(memory::memory_swap)
                .transpose()?,
            memory_reservation: self
                .memory_reservation
                .as_deref()
                .map(memory::ram_in_bytes)
                .transpose()?,
            nano_cpus: self.cpus.as_deref().map(cpus::nano_cpus).transpose()?,
            cpu_shares: self.cpu_shares,
            cpuset_cpus: self.cpuset_cpus.clone(),
            pids_limit: self.pids_limit.filter(|p| *p != 0),
            ..Default::default()
        };

        Ok(ContainerCreateBody {
            hostname: self.hostname.clone(),
            user: self.user.clone(),
            attach_stdin: Some(attach_stdin),
            attach_stdout: Some(attach_stdout),
            attach_stderr: Some(attach_stderr),
            exposed_ports: non_empty(exposed),
            tty: Some(self.tty),
            open_stdin: Some(self.interactive),
            // The container's stdin closes when the attached client's does.
            stdin_once: Some(self.interactive && attach_stdin),
            env: Some(env),
            cmd: non_empty(cmd.to_vec()),
            healthcheck,
            image: Some(image.to_owned()),
            volumes: non_empty(volumes),
            working_dir: self.workdir.clone(),
            entrypoint,
            labels: Some(labels),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        })
    }

    fn healthcheck(&self) -> Result<Option<HealthConfig>, String> {
        let any = self.health_cmd.is_some()
            || self.health_interval.is_some()
            || self.health_timeout.is_some()
            || self.health_retries.is_some()
            || self.health_start_period.is_some()
            || self.health_start_interval.is_some();
        if self.no_healthcheck {
            if any {
                return Err("--no-healthcheck conflicts with --health-* options".into());
            }
            return Ok(Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            }));
        }
        if !any {
            return Ok(None);
        }
        if self.health_retries.is_some_and(|r| r < 0) {
            return Err("--health-retries cannot be negative".into());
        }
        Ok(Some(HealthConfig {
            test: self
                .health_cmd
                .as_ref()
                .map(|c| vec!["CMD-SHELL".to_owned(), c.clone()]),
            interval: ns("health-interval", &self.health_interval)?,
            timeout: ns("health-timeout", &self.health_timeout)?,
            retries: self.health_retries,
            start_period: ns("health-start-period", &self.health_start_period)?,
            start_interval: ns("health-start-interval", &self.health_start_interval)?,
        }))
    }
}

/// `net_admin` → `CAP_NET_ADMIN`, `ALL` as is: the names as docker's CLI sends them.
pub fn normalize_caps(caps: &[String]) -> Vec<String> {
    caps.iter()
        .map(|c| {
            let up = c.trim().to_ascii_uppercase();
            if up == "ALL" || up.starts_with("CAP_") {
                up
            } else {
                format!("CAP_{up}")
            }
        })
        .collect()
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// `--security-opt seccomp=FILE` is sent as the profile's content, as docker does (the
/// daemon may not see the client's files); `seccomp=unconfined`, other options as given.
fn security_option(s: &str) -> Result<String, String> {
    let Some(path) = s
        .strip_prefix("seccomp=")
        .or_else(|| s.strip_prefix("seccomp:"))
    else {
        return Ok(s.to_owned());
    };
    if path == "unconfined" || path == "builtin" {
        return Ok(format!("seccomp={path}"));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("opening seccomp profile ({path}) failed: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("parsing seccomp profile ({path}) failed: {e}"))?;
    Ok(format!("seccomp={v}"))
}

/// `--add-host host:ip` (or `host=ip`), as `ExtraHosts` wants it: `host:ip`.
fn add_host(s: &str) -> Result<String, String> {
    let (host, ip) = s
        .split_once('=')
        .or_else(|| s.split_once(':'))
        .ok_or_else(|| format!("bad format for add-host: \"{s}\""))?;
    if host.is_empty() || ip.is_empty() {
        return Err(format!("bad format for add-host: \"{s}\""));
    }
    let ip_plain = ip.trim_start_matches('[').trim_end_matches(']');
    if ip_plain != "host-gateway" && ip_plain.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address in add-host: \"{ip}\""));
    }
    Ok(format!("{host}:{ip_plain}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    #[command(disable_help_flag = true)]
    struct T {
        #[command(flatten)]
        o: CreateOptions,
    }

    fn body(args: &[&str]) -> Result<serde_json::Value, String> {
        let mut argv = vec!["t"];
        argv.extend(args);
        let t = T::try_parse_from(argv).map_err(|e| e.to_string())?;
        let b = t.o.body("busybox", &["sh".into()], Path::new("/w"), &|k| {
            (k == "HOME").then(|| "/root".into())
        })?;
        Ok(serde_json::to_value(b).unwrap())
    }

    #[test]
    fn resources_land_in_host_config() {
        let b = body(&[
            "-m",
            "512m",
            "--memory-swap",
            "-1",
            "--cpus",
            "1.5",
            "--cpu-shares",
            "512",
            "--pids-limit",
            "100",
            "--ulimit",
            "nofile=1024:2048",
            "--device",
            "/dev/fuse",
            "--shm-size",
            "64m",
            "--oom-score-adj",
            "-500",
            "--cpuset-cpus",
            "0-1",
        ])
        .unwrap();
        let h = &b["HostConfig"];
        assert_eq!(h["Memory"], 512 << 20);
        assert_eq!(h["MemorySwap"], -1);
        assert_eq!(h["NanoCpus"], 1_500_000_000i64);
        assert_eq!(h["CpuShares"], 512);
        assert_eq!(h["PidsLimit"], 100);
        assert_eq!(h["Ulimits"][0]["Name"], "nofile");
        assert_eq!(h["Ulimits"][0]["Hard"], 2048);
        assert_eq!(h["Devices"][0]["CgroupPermissions"], "rwm");
        assert_eq!(h["ShmSize"], 64 << 20);
        assert_eq!(h["OomScoreAdj"], -500);
        assert_eq!(h["CpusetCpus"], "0-1");
        assert_eq!(h["NetworkMode"], "default");
        assert_eq!(h["RestartPolicy"]["Name"], "no");
    }

    #[test]
    fn config_fields() {
        let b = body(&[
            "-e",
            "A=1",
            "-e",
            "HOME",
            "-l",
            "k=v",
            "-w",
            "/tmp",
            "-u",
            "1000:1000",
            "--entrypoint",
            "",
            "-h",
            "box",
            "-i",
            "-t",
            "-p",
            "8080:80",
            "--expose",
            "53/udp",
            "-v",
            "/data",
            "-v",
            "./x:/x:ro",
            "--restart",
            "on-failure:3",
            "--init",
            "--health-cmd",
            "true",
            "--health-interval",
            "5s",
            "--stop-timeout",
            "3",
            "--add-host",
            "db:10.0.0.1",
            "--tmpfs",
            "/run:size=1m",
            "--network",
            "mynet",
        ])
        .unwrap();
        assert_eq!(b["Env"], serde_json::json!(["A=1", "HOME=/root"]));
        assert_eq!(b["Labels"]["k"], "v");
        assert_eq!(b["WorkingDir"], "/tmp");
        assert_eq!(b["User"], "1000:1000");
        assert_eq!(b["Entrypoint"], serde_json::json!([""]));
        assert_eq!(b["Cmd"], serde_json::json!(["sh"]));
        assert_eq!(b["Hostname"], "box");
        assert_eq!(
            (
                b["Tty"].clone(),
                b["OpenStdin"].clone(),
                b["AttachStdin"].clone()
            ),
            (true.into(), true.into(), true.into())
        );
        assert!(b["ExposedPorts"].get("80/tcp").is_some());
        assert!(b["ExposedPorts"].get("53/udp").is_some());
        assert!(b["Volumes"].get("/data").is_some());
        let h = &b["HostConfig"];
        assert_eq!(h["Binds"], serde_json::json!(["/w/x:/x:ro"]));
        assert_eq!(h["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
        assert_eq!(h["RestartPolicy"]["Name"], "on-failure");
        assert_eq!(h["RestartPolicy"]["MaximumRetryCount"], 3);
        assert_eq!(h["Init"], true);
        assert_eq!(h["ExtraHosts"], serde_json::json!(["db:10.0.0.1"]));
        assert_eq!(h["Tmpfs"]["/run"], "size=1m");
        assert_eq!(h["NetworkMode"], "mynet");
        assert!(b["NetworkingConfig"]["EndpointsConfig"]
            .get("mynet")
            .is_some());
        assert_eq!(
            b["Healthcheck"]["Test"],
            serde_json::json!(["CMD-SHELL", "true"])
        );
        assert_eq!(b["Healthcheck"]["Interval"], 5_000_000_000i64);
        assert_eq!(b["StopTimeout"], 3);
    }

    #[test]
    fn networks_dns_and_hosts() {
        let b = body(&[
            "--network",
            "front",
            "--net",
            "back",
            "--network-alias",
            "web",
            "--alias",
            "www",
            "--ip",
            "10.9.0.9",
            "--dns",
            "1.1.1.1",
            "--dns-search",
            "example.com",
            "--dns-option",
            "ndots:2",
            "--dns-opt",
            "timeout:1",
            "--add-host",
            "db:10.0.0.1",
        ])
        .unwrap();
        let h = &b["HostConfig"];
        assert_eq!(h["NetworkMode"], "front");
        let eps = &b["NetworkingConfig"]["EndpointsConfig"];
        assert_eq!(eps["front"]["Aliases"], serde_json::json!(["web", "www"]));
        assert_eq!(eps["front"]["IPAMConfig"]["IPv4Address"], "10.9.0.9");
        assert!(eps["back"].is_object());
        assert!(eps["back"]["Aliases"].is_null());
        assert_eq!(h["Dns"], serde_json::json!(["1.1.1.1"]));
        assert_eq!(h["DnsSearch"], serde_json::json!(["example.com"]));
        assert_eq!(h["DnsOptions"], serde_json::json!(["ndots:2", "timeout:1"]));
        assert_eq!(h["ExtraHosts"], serde_json::json!(["db:10.0.0.1"]));

        let b = body(&[]).unwrap();
        assert_eq!(b["HostConfig"]["NetworkMode"], "default");
        assert!(b["NetworkingConfig"].is_null());
        assert_eq!(b["HostConfig"]["DnsSearch"], serde_json::json!([]));
        let b = body(&["--network", "host"]).unwrap();
        assert_eq!(b["HostConfig"]["NetworkMode"], "host");
        assert!(b["NetworkingConfig"].is_null());
        assert!(body(&["--network-alias", "web"])
            .unwrap_err()
            .contains("only supported for user-defined networks"));
        assert!(body(&["--network", "a", "--network", "a"])
            .unwrap_err()
            .contains("specified multiple times"));
    }

    #[test]
    fn capabilities_are_normalized() {
        let b = body(&[
            "--cap-add",
            "net_admin",
            "--cap-add",
            "ALL",
            "--cap-drop",
            "CAP_MKNOD",
        ])
        .unwrap();
        assert_eq!(
            b["HostConfig"]["CapAdd"],
            serde_json::json!(["CAP_NET_ADMIN", "ALL"])
        );
        assert_eq!(b["HostConfig"]["CapDrop"], serde_json::json!(["CAP_MKNOD"]));
    }

    #[test]
    fn refusals() {
        assert!(body(&["--no-healthcheck", "--health-cmd", "x"])
            .unwrap_err()
            .contains("conflicts"));
        assert!(body(&["--rm", "--restart", "always"])
            .unwrap_err()
            .contains("--rm"));
        assert!(body(&["-m", "lots"]).is_err());
        assert!(body(&["-a", "stdweird"]).is_err());
        assert!(body(&["--add-host", "nohost"]).is_err());
        let b = body(&["--no-healthcheck", "-a", "stdout"]).unwrap();
        assert_eq!(b["Healthcheck"]["Test"], serde_json::json!(["NONE"]));
        assert_eq!(b["AttachStdin"], false);
        assert_eq!(b["AttachStderr"], false);
    }
}
