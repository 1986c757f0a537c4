#!/usr/bin/env bash
# Image builds: `berth build` vs docker's classic builder, docker BuildKit, `podman build`
# and `buildah bud`, in one run (issue 8).
#
#   bench/build.sh [ROUNDS=3]
#
# The Dockerfile and context of ../shared/peers/60-build.sh, generated here into a temp dir
# of our own: FROM busybox and 8 more instructions (ENV, WORKDIR, COPY files/ of 5,000 x
# 10 KiB random files = ~50 MB, two RUNs, COPY late/ of 20 small files, RUN, CMD). Every
# round, each system in turn (the order rotates from round to round, so all see the same
# noise; compare the medians and ratios of one run, not figures across runs):
#   cold   build after removing the image and all build cache
#   noop   the same build again at once (a full cache hit)
#   touch  build after changing the content of late/l00 (cache miss from COPY late/ on)
# Each one is the client command, timed in bash: `berth build -q -t TAG CTX`,
# `DOCKER_BUILDKIT=0|1 docker build -q -t TAG CTX` (docker 20.10 client), `podman build -q
# --layers -t TAG CTX`, `buildah bud -q --layers --isolation oci -t TAG CTX`. The image IDs
# printed are checked: the no-op rebuild must give the cold build's image, the touch
# rebuild another one; berth's image must run and print 20 (the files of late/).
# Cleaning (untimed): berth `rmi -f TAG`, POST /build/prune (forgets the step cache) and
# `image prune -f` (the intermediate step images, dangling once the tag is gone; busybox
# stays); docker `rmi -f`, `image prune -f`, `builder prune -af`; podman/buildah `rmi -f`,
# `image prune -f` twice, as 60-build.sh does.
#
# docker, podman and buildah are the peers of ../shared/peers (20-up.sh, called here;
# idempotent; left running: stop them with ../shared/peers/99-down.sh). berth gets a berthd
# of its own in its own network namespace and temp dir, removed on exit with everything,
# run from a copy of target/release's binaries taken at the start (a cargo build beside the
# run cannot swap them midway). A peer that does not come up is left out, and said so.
#
# env: SYSTEMS    which systems (default "berth legacy buildkit podman buildah"; legacy and
#                 buildkit are dockerd's two builders; SYSTEMS=berth needs no peers)
#      PEERS_DIR  the peers' scripts (default ../shared/peers)
#      BENCH_OUT  directory for the raw samples (default target/bench)
# Exit code 1 if any berth build failed or gave a wrong image.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PEERS_DIR=${PEERS_DIR:-$REPO/../shared/peers}
SYSTEMS=${SYSTEMS:-berth legacy buildkit podman buildah}
PEERS=(legacy buildkit podman buildah)
if [[ " $SYSTEMS " =~ \ (legacy|buildkit|podman|buildah)\  ]]; then
  [ -f "$PEERS_DIR/lib.sh" ] || { echo "no $PEERS_DIR/lib.sh (the peers): set SYSTEMS=berth" >&2; exit 1; }
  # $DOCKER (20.10 client) with DOCKER_HOST exported, $PBPODMAN, $DK, $PM, the peers' netns
  # $NS and dir $W (saved as PNS and PW; ours are set below)
  # shellcheck source=/dev/null
  source "$PEERS_DIR/lib.sh"
  PW=$W PNS=$NS
fi
source scripts/lib.sh
source bench/report.sh
set -euo pipefail
[ "$(id -u)" -eq 0 ] || die "run as root"
ROUNDS=${1:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [ROUNDS=3]"
read -ra SYS <<<"$SYSTEMS"
has() { [[ " ${SYS[*]} " == *" $1 "* ]]; }
for s in "${SYS[@]}"; do
  [[ " berth ${PEERS[*]} " == *" $s "* ]] || die "unknown system $s (berth ${PEERS[*]})"
done

BIN=$REPO/target/release
if [ ! -x "$BIN/berthd" ] || [ ! -x "$BIN/berth-shim" ] || [ ! -x "$BIN/berth-runtime" ] || [ ! -x "$BIN/berth" ]; then
  ensure_cargo_on_path
  log "cargo build --release --bins"
  cargo build --release --bins
fi

W=$(mktemp -d /tmp/bb.XXXXXX)
NETNS=berthbuild-$$
BSOCK=$W/berth.sock
BERTHD_PID=
PEERS_STARTED=
CTX=$W/ctx
TAG=bb$$-build:latest
declare -A LABEL=([berth]="berth" [legacy]="docker classic builder" [buildkit]="docker BuildKit"
  [podman]="podman build" [buildah]="buildah bud")

# build SYSTEM: one build of CTX tagged TAG; prints the image ID
build() {
  case $1 in
    berth) "${BERTH[@]}" build -q -t "$TAG" "$CTX" ;;
    legacy) DOCKER_BUILDKIT=0 "$DOCKER" build -q -t "$TAG" "$CTX" ;;
    buildkit) DOCKER_BUILDKIT=1 "$DOCKER" build -q -t "$TAG" "$CTX" ;;
    podman) "$PBPODMAN" build -q --layers -t "$TAG" "$CTX" ;;
    buildah) nsenter "--net=/run/netns/$PNS" -- buildah --root "$PM/root" --runroot "$PM/runroot" \
      --storage-driver overlay bud -q --layers --isolation oci -t "$TAG" "$CTX" ;;
  esac 2>>"$W/$1.err" </dev/null | tail -n 1
}
# clean SYSTEM: remove the image and the build cache (untimed)
clean() {
  case $1 in
    berth)
      "${BERTH[@]}" rmi -f "$TAG" >/dev/null 2>&1 || true
      curl -sf --unix-socket "$BSOCK" -X POST http://x/build/prune >/dev/null || log "berth: POST /build/prune failed"
      "${BERTH[@]}" image prune -f >/dev/null 2>>"$W/berth.err" || log "berth: image prune -f failed"
      ;;
    legacy | buildkit)
      "$DOCKER" rmi -f "$TAG" >/dev/null 2>&1 || true
      "$DOCKER" image prune -f >/dev/null 2>&1 || true
      "$DOCKER" builder prune -af >/dev/null 2>&1 || true
      ;;
    podman | buildah)
      "$PBPODMAN" rmi -f "$TAG" "localhost/$TAG" >/dev/null 2>&1 || true
      "$PBPODMAN" image prune -f >/dev/null 2>&1 || true
      "$PBPODMAN" image prune -f >/dev/null 2>&1 || true
      ;;
  esac
}

# shellcheck disable=SC2317  # (a trap: shellcheck 0.9 thinks it unreachable)
cleanup() {
  local rc=$? s
  set +e
  trap - EXIT INT TERM
  for s in "${SYS[@]}"; do
    [ "$s" = berth ] && continue   # its whole daemon goes
    [ "$s" = buildkit ] && has legacy && continue
    [ "$s" = buildah ] && has podman && continue
    clean "$s"
  done
  stop_berthd "$BIN" "$W" "$NETNS"
  [ -n "$PEERS_STARTED" ] && log "note: this run started the peers (20-up.sh); they are left running, stop them with $PEERS_DIR/99-down.sh"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Our own copy of the binaries: a cargo build in the same target dir during the run must
# not swap the CLI (or berthd's shim and runtime, found next to it) under the figures.
mkdir "$W/bin"
cp -p "$BIN/berthd" "$BIN/berth" "$BIN/berth-shim" "$BIN/berth-runtime" "$W/bin/"
BIN=$W/bin
BERTH=("$BIN/berth" -H "unix://$BSOCK")

T_START=${EPOCHREALTIME/./}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "${BENCH_OUT:=target/bench}"
TSV=$(realpath "$BENCH_OUT")/build-$(date +%Y%m%d-%H%M%S)-$$.tsv
: >"$TSV"
BERTH_FAILED=0
failed() { record "$1.failed" "$2" 1; log "$2: $1 failed${3:+: $3}"; [ "$2" != berth ] || BERTH_FAILED=1; }

# ---- the context (60-build.sh's, byte for byte in shape) ----
mkdir -p "$CTX/files" "$CTX/late"
python3 - "$CTX" <<'EOF'
import os, sys
ctx = sys.argv[1]
for d in range(50):
    p = os.path.join(ctx, "files", "d%02d" % d); os.makedirs(p)
    for f in range(100):
        with open(os.path.join(p, "f%03d.txt" % f), "wb") as fh: fh.write(os.urandom(10240))
for f in range(20):
    with open(os.path.join(ctx, "late", "l%02d" % f), "w") as fh: fh.write("late %d\n" % f)
EOF
cat >"$CTX/Dockerfile" <<'EOF'
FROM busybox
ENV APP=/app LANG=C.UTF-8
WORKDIR /app
COPY files/ /app/files/
RUN mkdir -p /data && for i in $(seq 1 200); do echo $i > /data/f$i; done
RUN dd if=/dev/zero of=/data/blob bs=1M count=10 2>/dev/null && sync
COPY late/ /app/late/
RUN ls /app/late | wc -l > /app/late.count
CMD ["/bin/sh", "-c", "cat /app/late.count"]
EOF
CTX_DESC="$(find "$CTX" -type f | wc -l) files, $(du -sm "$CTX" | cut -f1) MiB"
log "context: $CTX_DESC"

# ---- the peers ----
# drop SYSTEM WHY: leave a peer out of this run (one that cannot run here), and say so
drop() {
  local s keep=()
  has "$1" || return 0
  log "$1: left out: $2"
  DROPPED+="${LABEL[$1]} ($2); "
  for s in "${SYS[@]}"; do [ "$s" = "$1" ] || keep+=("$s"); done
  SYS=("${keep[@]}")
}
DROPPED=
if [ -n "${PW:-}" ]; then
  pa() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
  up_before=1
  if ! pa "$DK/containerd.pid" || ! pa "$DK/docker.pid"; then up_before=; fi
  log "peers: $PEERS_DIR/20-up.sh"
  # A peer that does not come up is left out; the others (and berth) carry on.
  "$PEERS_DIR/20-up.sh" >"$W/20-up.log" 2>&1 || log "20-up.sh failed: $(tail -n 1 "$W/20-up.log") (all of it: $W/20-up.log, kept only while this runs)"
  if [ -z "$up_before" ] && pa "$DK/docker.pid"; then PEERS_STARTED=1; fi
  if ! "$DOCKER" image inspect busybox:latest >/dev/null 2>&1; then
    drop legacy "no dockerd with busybox on $DOCKER_HOST"; drop buildkit "no dockerd with busybox on $DOCKER_HOST"
  fi
  # podman and buildah resolve "busybox" to docker.io/library/busybox:latest locally
  if ! "$PBPODMAN" image exists localhost/busybox:latest >/dev/null 2>&1; then
    drop podman "no podman with localhost/busybox"; drop buildah "no podman storage with localhost/busybox"
  elif ! "$PBPODMAN" image exists docker.io/library/busybox:latest; then
    "$PBPODMAN" tag localhost/busybox:latest docker.io/library/busybox:latest
  fi
  command -v buildah >/dev/null || drop buildah "no buildah binary"
  [ ${#SYS[@]} -gt 0 ] || die "no system left to run"
  dv=$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
  LABEL[legacy]="docker $dv classic"
  LABEL[buildkit]="docker $dv BuildKit"
  LABEL[podman]="podman $("$PBPODMAN" version --format '{{.Client.Version}}' 2>/dev/null || echo '?') build"
  LABEL[buildah]="buildah $(buildah --version 2>/dev/null | awk '{ print $3 }') bud"
fi
if [ -n "${PW:-}" ] && [ -x "$PW/rootfs/bin/busybox" ]; then
  ROOTFS=$PW/rootfs
else
  ROOTFS=$W/rootfs
  make_busybox_rootfs "$ROOTFS"
fi

# ---- berthd, in its own network namespace ----
if has berth; then
  start_berthd "$BIN" "$NETNS" "$W" "$BSOCK" "$ROOTFS"
  log "berthd $BERTHD_PID in netns $NETNS"
fi

for s in "${SYS[@]}"; do clean "$s"; done
# one_build FIGURE SYSTEM: a timed build; sets ID (empty when it failed)
one_build() {
  local f=$1 s=$2 t0 t1
  t0=${EPOCHREALTIME/./}
  ID=$(build "$s") || ID=
  t1=${EPOCHREALTIME/./}
  if [ -n "$ID" ]; then record "$f" "$s" $((t1 - t0)); else failed "$f" "$s" "$(tail -n 1 "$W/$s.err" 2>/dev/null)"; fi
}
n=${#SYS[@]}
for ((r = 0; r < ROUNDS; r++)); do
  order=()
  for ((k = 0; k < n; k++)); do order+=("${SYS[(k + r) % n]}"); done
  log "round $((r + 1))/$ROUNDS: ${order[*]}"
  for s in "${order[@]}"; do
    clean "$s"
    one_build build_cold "$s"; cold=$ID
    one_build build_noop "$s"; noop=$ID
    if [ -n "$cold" ] && [ -n "$noop" ] && [ "$cold" != "$noop" ]; then
      failed build_noop_same_image "$s" "the no-op rebuild gave $noop, the cold build $cold"
    fi
    date +%s%N >"$CTX/late/l00"
    one_build build_touch "$s"; touch=$ID
    if [ -n "$touch" ] && [ "$touch" = "$noop" ]; then
      failed build_touch_new_image "$s" "the rebuild after changing late/l00 gave the same image $touch"
    fi
    if [ "$s" = berth ] && [ -n "$touch" ]; then
      out=$("${BERTH[@]}" run --rm --network none "$TAG" 2>>"$W/berth.err" </dev/null) || out="run failed: $(tail -n 1 "$W/berth.err")"
      [ "$out" = 20 ] || failed build_image_runs berth "$TAG printed ${out:-nothing}, not 20"
    fi
    clean "$s"
  done
done

# ---- summary ----
# ratios FIGURE: berth's median over each peer's
ratios() {
  local line='' s
  for s in "${PEERS[@]}"; do
    has "$s" && line+="berth/$s $(ratio "$(median "$1" berth)" "$(median "$1" "$s")")   "
  done
  [ -z "$line" ] || echo "ratios of medians: $line"
}
echo
echo "== bench/build.sh: ROUNDS=$ROUNDS, context $CTX_DESC, Dockerfile of 60-build.sh (FROM busybox + 8) =="
echo "systems: $(for s in "${SYS[@]}"; do printf '%s; ' "${LABEL[$s]}"; done)"
[ -z "$DROPPED" ] || echo "left out: $DROPPED"
echo "load average: $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(nproc) CPUs"
for f in build_cold build_noop build_touch; do
  case $f in
    build_cold) title="cold build (no image, no build cache)" ;;
    build_noop) title="no-op rebuild (full cache hit)" ;;
    build_touch) title="rebuild after changing late/l00 (miss from COPY late/)" ;;
  esac
  table "$f" "$title" 1000 "ms per build" noratio
  if has berth; then
    ratios "$f"
    fp=$(faster_peer "$f")
    [ "$fp" = NA ] || goal "berth faster than every peer (fastest peer $(scale "$fp" 1000) ms)" "$(median "$f" berth)" "$fp"
  fi
done
if has berth; then
  echo
  goal "no-op rebuild under 150 ms ($(scale "$(median build_noop berth)" 1000) ms)" "$(median build_noop berth)" 150000
  goal "one-file rebuild under 500 ms ($(scale "$(median build_touch berth)" 1000) ms)" "$(median build_touch berth)" 500000
fi
for fl in build_noop_same_image build_touch_new_image build_image_runs; do
  for s in "${SYS[@]}"; do
    k=$(values "$fl.failed" "$s" | wc -l)
    [ "$k" -eq 0 ] || echo "check failed: $fl, $s, $k times"
  done
done
echo "raw samples: $TSV (figure, system, µs); run took $(scale $((${EPOCHREALTIME/./} - T_START)) 1000000) s"
for s in "${SYS[@]}"; do
  [ -s "$W/$s.err" ] && log "$s errors (last): $(tail -n 1 "$W/$s.err")"
done
exit "$BERTH_FAILED"
