#!/usr/bin/env bash
# Set up a Debian bookworm machine for berth, build it, and run the main job.
# Run as root; needs no stdin; safe to run again.
#
#   scripts/setup.sh              install missing packages, cargo build --release, main job
#   scripts/setup.sh --deps-only  install missing packages, cargo build --release (for CI)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "${BERTH_PACKAGES[@]}")
  if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#BERTH_PACKAGES[@]} Debian packages are installed"
    return
  fi
  log "apt-get install ${missing[*]}"
  # another apt may be running on this machine: wait for its lock
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" </dev/null
}

build() {
  ensure_cargo_on_path
  log "cargo build --release --workspace"
  cargo build --release --workspace
}

install_python_packages() {
  local p
  for p in "${BERTH_PIP_PACKAGES[@]}"; do
    if ! python3 -c "import $p" 2>/dev/null; then
      log "pip install $p"
      # Debian's own python3 refuses pip without --break-system-packages (PEP 668).
      python3 -m pip install --quiet "$p" </dev/null ||
        python3 -m pip install --quiet --break-system-packages "$p" </dev/null
    fi
  done
}

# The main job: berthd in a network namespace of its own, a busybox image made here
# and imported, one container run from it with the berth CLI, and an image built FROM it
# and run.
main_job() {
  local bin=$PWD/target/release
  if [ ! -x "$bin/berthd" ] || [ ! -x "$bin/berth" ]; then die "berthd and berth are not built"; fi
  MAIN_WORK=$(mktemp -d /tmp/berth-main.XXXXXX)
  MAIN_NS=berth-main-$$
  trap main_job_cleanup EXIT
  ip netns add "$MAIN_NS"
  ip -n "$MAIN_NS" link set lo up
  export BERTH_HOST=unix://$MAIN_WORK/berth.sock
  log "berthd --data-root $MAIN_WORK/data (network namespace $MAIN_NS)"
  nsenter --net=/run/netns/"$MAIN_NS" -- "$bin/berthd" --data-root "$MAIN_WORK/data" \
    --exec-root "$MAIN_WORK/run" -H "$BERTH_HOST" >"$MAIN_WORK/berthd.log" 2>&1 </dev/null &
  MAIN_PID=$!
  local _
  for _ in $(seq 100); do
    curl -sf --unix-socket "$MAIN_WORK/berth.sock" http://berth/_ping >/dev/null && break
    sleep 0.1
  done
  make_busybox_rootfs "$MAIN_WORK/rootfs"
  log "berth import busybox.tar busybox:latest"
  tar -C "$MAIN_WORK/rootfs" -c . | "$bin/berth" import - busybox:latest
  log "berth run --rm busybox ..."
  # shellcheck disable=SC2016 # expanded by the container's shell
  "$bin/berth" run --rm busybox sh -c 'echo "hello from a berth container: $(id)"; echo "uname -a: $(uname -a)"' </dev/null
  "$bin/berth" ps -a
  log "berth build -t hello:1 (a Dockerfile FROM busybox), then berth run --rm hello:1"
  mkdir -p "$MAIN_WORK/ctx"
  # shellcheck disable=SC2016 # expanded by the RUN step's shell
  printf 'FROM busybox\nRUN echo "built by berth on $(date -u)" > /built\nCMD ["cat", "/built"]\n' >"$MAIN_WORK/ctx/Dockerfile"
  "$bin/berth" build -t hello:1 "$MAIN_WORK/ctx" </dev/null
  "$bin/berth" run --rm hello:1 </dev/null
}

main_job_cleanup() {
  if [ -n "${MAIN_PID:-}" ]; then
    kill "$MAIN_PID" 2>/dev/null || true
    wait "$MAIN_PID" 2>/dev/null || true
  fi
  ip netns delete "$MAIN_NS" 2>/dev/null || true
  remove_tree "$MAIN_WORK"
}

[ "$(id -u)" -eq 0 ] || die "run as root"
deps_only=0
case "${1:-}" in
  --deps-only) deps_only=1 ;;
  "") ;;
  *) die "usage: $0 [--deps-only]" ;;
esac
install_packages
install_python_packages
build
[ "$deps_only" -eq 1 ] || main_job
