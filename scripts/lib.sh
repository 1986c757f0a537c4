# shellcheck shell=bash
# Helpers shared by scripts/*.sh and bench/*.sh. Source it, don't run it.

# Debian bookworm packages the project needs, by purpose (used by setup.sh).
# shellcheck disable=SC2034
BERTH_PACKAGES=(
  # build
  gcc libc6-dev pkg-config libseccomp-dev
  # runtime and tests
  busybox-static jq iproute2 util-linux procps time shellcheck curl
  # the engine: tini-static is `--init`'s init (Docker's docker-init is tini too)
  tini
  # networking: nftables (`nft`, driven through its JSON interface) for DNAT, masquerade and
  # isolation rules
  nftables
  # peers berth is compared with (tests, bench)
  runc crun podman skopeo conmon containernetworking-plugins fuse-overlayfs
  # the reference registry server (tests/registry, bench/pull.sh)
  docker-registry
  # conformance suites (OCI runtime-tools is Go, crun's tests are Python, both report TAP)
  golang-go perl python3 xz-utils python3-pip
)

# PyPI packages the tests use (docker-py drives berthd in an e2e test).
BERTH_PIP_PACKAGES=(docker)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# missing_packages PKG...: prints the ones that are not installed.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# The rustup toolchain lives in ~/.cargo/bin, which a bare root environment may lack.
ensure_cargo_on_path() {
  if ! command -v cargo >/dev/null && [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
    PATH="${HOME:-/root}/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null || die "cargo not found (this machine kind ships a rustup toolchain)"
}

# make_busybox_rootfs DIR: Debian's static busybox with its applet links, root and
# nobody in /etc/passwd and /etc/group, /tmp with mode 1777.
make_busybox_rootfs() {
  local root=$1
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,var/tmp,root,mnt}
  install -m 0755 /bin/busybox "$root/bin/busybox"
  # in a chroot busybox can't read /proc/self/exe and links to argv[0]: keep it absolute
  chroot "$root" /bin/busybox --install -s
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0755 "$root"
}

# write_config BUNDLE ARG...: BUNDLE/config.json in the shape `runc spec` writes
# (terminal off, read-only root, the 14 default capabilities), running ARG...
write_config() {
  local bundle=$1; shift
  jq -n '
    ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
     "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
     "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"] as $caps
    | {
      ociVersion: "1.0.2",
      process: {
        terminal: false, user: {uid: 0, gid: 0}, args: $ARGS.positional,
        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
        cwd: "/",
        capabilities: {bounding: $caps, effective: $caps, permitted: $caps},
        rlimits: [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}],
        noNewPrivileges: true
      },
      root: {path: "rootfs", readonly: true},
      hostname: "berth",
      mounts: [
        {destination: "/proc", type: "proc", source: "proc"},
        {destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {destination: "/dev/pts", type: "devpts", source: "devpts",
         options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]},
        {destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]},
        {destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}
      ],
      linux: {
        resources: {devices: [{allow: false, access: "rwm"}]},
        namespaces: [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}, {type: "cgroup"}],
        maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
        readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
      }
    }' --args -- "$@" >"$bundle/config.json"
}

# unmount_under DIR: lazily unmount every mount point at or below DIR, deepest first.
unmount_under() {
  local dir m
  dir=$(readlink -f "$1" 2>/dev/null || echo "$1")
  awk -v d="$dir" '{ p = $5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print p }' /proc/self/mountinfo \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# remove_tree DIR: unmount leftovers below DIR, then delete it without crossing filesystems.
remove_tree() {
  [ -e "$1" ] || return 0
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}

# delete_all_containers RUNTIME ROOT: force-delete every container in that state dir.
delete_all_containers() {
  local rt=$1 root=$2 id
  [ -d "$root" ] || return 0
  # `list -q` as runc has it; the state dir's entries in case the runtime can't list
  for id in $({ "$rt" --root "$root" list -q 2>/dev/null; ls -1 "$root"; } | sort -u); do
    "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  done
}

# alive PID: the process exists and is not a zombie.
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }

# start_berthd BIN_DIR NETNS WORK SOCKET ROOTFS: a berthd of its own in network namespace
# NETNS (created here, loopback up), data and exec roots under WORK, serving SOCKET, with
# ROOTFS imported as busybox:latest; BERTHD_ARGS (words) are added to its command line.
# Sets BERTHD_PID; dies if any step fails.
start_berthd() {
  local bin=$1 netns=$2 work=$3 sock=$4 rootfs=$5 i extra
  read -ra extra <<<"${BERTHD_ARGS:-}"
  ip netns add "$netns"
  ip -n "$netns" link set lo up
  # setsid: not in our process group (a ^C reaches the caller, whose cleanup stops it);
  # setsid and nsenter (net only, no fork) exec, so $! is berthd's PID
  setsid nsenter --net="/run/netns/$netns" -- "$bin/berthd" "${extra[@]}" --data-root "$work/data" \
    --exec-root "$work/run" -H "unix://$sock" >"$work/berthd.log" 2>&1 </dev/null &
  BERTHD_PID=$!
  for ((i = 0; i < 200; i++)); do
    curl -sf --unix-socket "$sock" http://x/_ping >/dev/null 2>&1 && break
    alive "$BERTHD_PID" || { cat "$work/berthd.log" >&2; die "berthd exited"; }
    sleep 0.05
  done
  curl -sf --unix-socket "$sock" http://x/_ping >/dev/null || die "berthd does not answer on $sock"
  [ "$(readlink "/proc/$BERTHD_PID/exe")" = "$bin/berthd" ] || die "PID $BERTHD_PID is not berthd"
  tar -C "$rootfs" -c . | curl -sf --unix-socket "$sock" -X POST --data-binary @- \
    'http://x/images/create?fromSrc=-&repo=busybox&tag=latest' >"$work/import.out" ||
    die "importing busybox into berthd failed"
}

# stop_berthd BIN_DIR WORK NETNS: the other half of start_berthd, for cleanup traps: stop
# berthd (SIGTERM, SIGKILL after 5 s), kill the shims of this berthd only (their command
# lines name WORK) and delete the containers they ran, remove WORK and the namespace.
stop_berthd() {
  local bin=$1 work=$2 netns=$3 p i
  if [ -n "${BERTHD_PID:-}" ]; then
    kill -TERM "$BERTHD_PID" 2>/dev/null
    for ((i = 0; i < 50; i++)); do alive "$BERTHD_PID" || break; sleep 0.1; done
    alive "$BERTHD_PID" && { log "berthd $BERTHD_PID still there after 5 s: SIGKILL"; kill -KILL "$BERTHD_PID" 2>/dev/null; }
    wait "$BERTHD_PID" 2>/dev/null
  fi
  for p in $(pgrep -f "berth-shim .*$work/"); do kill -KILL "$p" 2>/dev/null; done
  delete_all_containers "$bin/berth-runtime" "$work/run/runtime"
  remove_tree "$work"
  if [ -e "/run/netns/$netns" ]; then ip netns delete "$netns"; fi
}
