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

# The main job: what a user of this machine gets from berth. For now: one container
# from a busybox bundle under berth-runtime, printing `id` and `uname -a` from inside.
# (To be replaced by the daemon.) BERTH_RUNTIME=/path overrides the runtime binary.
main_job() {
  local runtime=${BERTH_RUNTIME:-$PWD/target/release/berth-runtime}
  [ -x "$runtime" ] || die "$runtime is not built"
  MAIN_WORK=$(mktemp -d /tmp/berth-main.XXXXXX)
  MAIN_ID=demo-$$
  MAIN_RUNTIME=$runtime
  trap main_job_cleanup EXIT

  make_busybox_rootfs "$MAIN_WORK/bundle/rootfs"
  # shellcheck disable=SC2016 # expanded by the container's shell
  write_config "$MAIN_WORK/bundle" sh -c 'echo "id: $(id)"; echo "uname -a: $(uname -a)"'
  log "berth-runtime run --bundle $MAIN_WORK/bundle $MAIN_ID"
  "$runtime" --root "$MAIN_WORK/state" run --bundle "$MAIN_WORK/bundle" "$MAIN_ID" </dev/null
}

main_job_cleanup() {
  delete_all_containers "$MAIN_RUNTIME" "$MAIN_WORK/state"
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
build
[ "$deps_only" -eq 1 ] || main_job
