#!/usr/bin/env bash
# Engine cost: berth (berthd + berth-shim + berth-runtime) vs docker vs podman, in one run.
#
#   bench/engine.sh [SEQ_N=20] [PAR=50]
#
# The three systems take turns in a rotating order inside every loop, so they share the
# machine's noise; compare the medians and ratios of one run, not figures across runs.
#   seq  `run --rm busybox true`, SEQ_N per system, with --network none and with the
#        default network (docker: bridge docker0 + NAT; podman: netavark bridge podman0;
#        berth: bridge berth0 + nftables)
#   par  PAR detached `run -d --name PFX-N busybox sleep 3600` via xargs -P 8 (total ms),
#        all checked running; then `ps` and `exec PFX-1 true` latency (SAMPLES each) with
#        them running; then one `rm -f` of all of them (total ms)
#   mem  daemon RSS/PSS idle and with NMEM idle containers; per-container helper RSS/PSS
#        (berth-shim / containerd-shim-runc-v2 / conmon) summed over NMEM `sleep 3600`
#        containers and divided by NMEM
#
# docker and podman are the peers of ../shared/peers, set up by its 20-up.sh (called here;
# idempotent) and left running. berth gets its own berthd, started here in its own network
# namespace and temp dir, and removed on exit.
#
# env: SECTIONS   which sections to run (default "seq par mem")
#      SYSTEMS    which systems (default "berth docker podman")
#      BERTH_CLIENT  berth (target/release/berth, default when `berth run --help` works)
#                 or docker (the docker CLI 28, /usr/local/bin/docker, against berthd)
#      SAMPLES    ps / exec samples per system (default 10, at most PAR)
#      NMEM       containers in the mem section (default 20, at most PAR)
#      PEERS_DIR  the peers' scripts (default ../shared/peers)
#      BENCH_OUT  directory for the raw samples (default target/bench)
# Exit code 1 if any berth command failed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PEERS_DIR=${PEERS_DIR:-$REPO/../shared/peers}

SYSTEMS=${SYSTEMS:-berth docker podman}
if [[ " $SYSTEMS " == *" docker "* || " $SYSTEMS " == *" podman "* ]]; then
  [ -f "$PEERS_DIR/lib.sh" ] || { echo "no $PEERS_DIR/lib.sh (the peers): set SYSTEMS=berth" >&2; exit 1; }
  # The peers' settings: $DOCKER (20.10 client) with DOCKER_HOST exported, $PBPODMAN (podman
  # in their netns with private storage), $DK, $PM, $CTRD_SOCK, rss_kb, pss_kb. Its W and
  # NS are the peers' (saved as PW); ours are set below. pm/nsx are not used (they read NS).
  # shellcheck source=/dev/null
  source "$PEERS_DIR/lib.sh"
  PW=$W
fi
source scripts/lib.sh
source bench/report.sh
set -euo pipefail
declare -F rss_kb >/dev/null || rss_kb() { awk '/^VmRSS/{print $2}' /proc/"$1"/status 2>/dev/null || echo 0; }
declare -F pss_kb >/dev/null || pss_kb() { awk '/^Pss:/{s+=$2} END{print s+0}' /proc/"$1"/smaps_rollup 2>/dev/null || echo 0; }

[ "$(id -u)" -eq 0 ] || die "run as root"
SEQ_N=${1:-20}
PAR=${2:-50}
[[ $SEQ_N =~ ^[1-9][0-9]*$ && $PAR =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [SEQ_N=20] [PAR=50]"
SECTIONS=${SECTIONS:-seq par mem}
SAMPLES=${SAMPLES:-10}
((SAMPLES <= PAR)) || SAMPLES=$PAR
NMEM=${NMEM:-20}
((NMEM <= PAR)) || NMEM=$PAR
on() { [[ " $SECTIONS " == *" $1 "* ]]; }
read -ra SYS <<<"$SYSTEMS"
has() { [[ " ${SYS[*]} " == *" $1 "* ]]; }

BIN=$REPO/target/release
if [ ! -x "$BIN/berthd" ] || [ ! -x "$BIN/berth-shim" ] || [ ! -x "$BIN/berth-runtime" ]; then
  ensure_cargo_on_path
  log "cargo build --release -p berth-engine -p berth-shim -p berth-runtime-cli"
  cargo build --release -p berth-engine -p berth-shim -p berth-runtime-cli
fi
DOCKER28=/usr/local/bin/docker
BERTH_CLIENT_AUTO=
case ${BERTH_CLIENT:-auto} in
  auto) BERTH_CLIENT_AUTO=1
        if "$BIN/berth" run --help >/dev/null 2>&1; then BERTH_CLIENT=berth; else BERTH_CLIENT=docker; fi ;;
  berth) "$BIN/berth" run --help >/dev/null 2>&1 || die "BERTH_CLIENT=berth, but $BIN/berth run --help fails" ;;
  docker) ;;
  *) die "BERTH_CLIENT is berth or docker" ;;
esac
[ "$BERTH_CLIENT" = berth ] || [ -x "$DOCKER28" ] || die "no $DOCKER28 for BERTH_CLIENT=docker"

# Everything of ours: a short temp dir (berthd's shim sockets live below the exec root and
# must fit in sun_path), a network namespace, container names beginning with $PFX.
W=$(mktemp -d /tmp/be.XXXXXX)
NETNS=berthbench-$$
PFX=be$$
BSOCK=$W/berth.sock
BERTHD_PID=
PEERS_STARTED=
declare -A IMG=([berth]=busybox [docker]=busybox [podman]=localhost/busybox)
declare -A LABEL=([berth]=berth [docker]=docker [podman]=podman)
# use_client berth|docker: BCLI=(berth's client command line), LABEL[berth]
use_client() {
  BERTH_CLIENT=$1
  if [ "$1" = berth ]; then BCLI=("$BIN/berth" -H "unix://$BSOCK"); LABEL[berth]="berth (berth CLI)"
  else BCLI=("$DOCKER28" -H "unix://$BSOCK"); LABEL[berth]="berth (docker CLI → berthd)"; fi
}
use_client "$BERTH_CLIENT"

# set_cli SYSTEM: CLI=(the client command line of SYSTEM), an executable (for xargs too)
set_cli() {
  case $1 in
    berth) CLI=("${BCLI[@]}") ;;
    docker) CLI=("$DOCKER") ;;
    podman) CLI=("$PBPODMAN") ;;
  esac
}
# rm_f SYSTEM ID...: remove containers at once (podman's rm -f waits 10 s for busybox sleep)
rm_f() {
  local s=$1; shift
  set_cli "$s"
  if [ "$s" = podman ]; then "${CLI[@]}" rm -f -t 0 "$@"; else "${CLI[@]}" rm -f "$@"; fi
}
# ours SYSTEM [PREFIX]: IDs of the containers of this run (all states)
ours() { set_cli "$1"; "${CLI[@]}" ps -aq --no-trunc --filter "name=${2:-$PFX-}" 2>/dev/null || true; }

# shellcheck disable=SC2317  # (a trap: shellcheck 0.9 thinks it unreachable)
cleanup() {
  local rc=$? s ids
  set +e
  trap - EXIT INT TERM
  for s in "${SYS[@]}"; do
    if [ "$s" = berth ]; then
      if [ -z "$BERTHD_PID" ] || ! alive "$BERTHD_PID"; then continue; fi
    fi
    mapfile -t ids < <(ours "$s")
    [ ${#ids[@]} -gt 0 ] && rm_f "$s" "${ids[@]}" >/dev/null 2>&1
  done
  stop_berthd "$BIN" "$W" "$NETNS"
  [ -n "$PEERS_STARTED" ] && log "note: this run started the peers (20-up.sh); they are left running, stop them with $PEERS_DIR/99-down.sh"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "${BENCH_OUT:=target/bench}"
TSV=$(realpath "$BENCH_OUT")/engine-$(date +%Y%m%d-%H%M%S)-$$.tsv
: >"$TSV"
# record FIGURE SYSTEM VALUE: one raw sample (times in µs, memory in kB)
failed() { record "$1.failed" "$2" 1; log "$2: $1 failed${3:+: $3}"; }

# ---- the peers ----
if has docker || has podman; then
  pa() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
  if ! pa "$DK/containerd.pid" || ! pa "$DK/docker.pid"; then PEERS_STARTED=1; fi
  log "peers: $PEERS_DIR/20-up.sh"
  "$PEERS_DIR/20-up.sh" >"$W/20-up.log" 2>&1 || { cat "$W/20-up.log" >&2; die "20-up.sh failed"; }
  ROOTFS=$PW/rootfs
  LABEL[docker]="docker $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"
  LABEL[podman]="podman $("$PBPODMAN" version --format '{{.Client.Version}}' 2>/dev/null)"
  if has docker; then
    record daemon_idle_rss docker $(($(rss_kb "$(cat "$DK/docker.pid")") + $(rss_kb "$(cat "$DK/containerd.pid")")))
  fi
  if has podman; then record daemon_idle_rss podman 0; fi
else
  ROOTFS=$W/rootfs
  make_busybox_rootfs "$ROOTFS"
fi

# ---- berthd, in its own network namespace ----
if has berth; then
  start_berthd "$BIN" "$NETNS" "$W" "$BSOCK" "$ROOTFS"
  record berthd_start_rss berth "$(rss_kb "$BERTHD_PID")"
  curl -sf --unix-socket "$BSOCK" http://x/images/busybox:latest/json >/dev/null || die "berthd has no busybox after the import"
  if ! "${BCLI[@]}" ps -q >/dev/null 2>"$W/client.err"; then
    if [ "$BERTH_CLIENT" = berth ] && [ -n "$BERTH_CLIENT_AUTO" ] && [ -x "$DOCKER28" ]; then
      log "the berth CLI fails ($(tail -n 1 "$W/client.err")): using the docker CLI"
      use_client docker
      "${BCLI[@]}" ps -q >/dev/null 2>"$W/client.err" || die "${LABEL[berth]}: ps fails: $(tail -n 1 "$W/client.err")"
    else
      die "${LABEL[berth]}: ps fails: $(tail -n 1 "$W/client.err")"
    fi
  fi
  sleep 1
  record daemon_idle_rss berth "$(rss_kb "$BERTHD_PID")"
  record daemon_idle_pss berth "$(pss_kb "$BERTHD_PID")"
  log "berthd $BERTHD_PID in netns $NETNS, client: ${LABEL[berth]}"
fi

# ---- seq: run --rm busybox true ----
# seq_run SYSTEM NET [record]: one `run --rm`, timed
seq_run() {
  local s=$1 net=$2 t0 t1 args=()
  [ "$net" = none ] && args=(--network none)
  set_cli "$s"
  t0=${EPOCHREALTIME/./}
  if "${CLI[@]}" run --rm "${args[@]}" "${IMG[$s]}" true >/dev/null 2>>"$W/$s.err" </dev/null; then
    t1=${EPOCHREALTIME/./}
    [ -z "${3:-}" ] || record "run_$net" "$s" $((t1 - t0))
  else
    failed "run_$net" "$s" "$(tail -n 1 "$W/$s.err")"
  fi
}
if on seq; then
  log "seq: ${SYS[*]} x $SEQ_N x {none, default}"
  for s in "${SYS[@]}"; do seq_run "$s" none; seq_run "$s" default; done   # warm-up
  for ((i = 0; i < SEQ_N; i++)); do
    nets=(none default); ((i % 2)) && nets=(default none)
    for net in "${nets[@]}"; do
      for ((j = 0; j < ${#SYS[@]}; j++)); do seq_run "${SYS[(i + j) % ${#SYS[@]}]}" "$net" record; done
    done
  done
fi

# ---- par: PAR parallel starts, ps, exec, rm -f ----
if on par; then
  log "par: $PAR x run -d (xargs -P 8) per system, ps and exec x $SAMPLES, rm -f"
  n=${#SYS[@]}
  for ((j = 0; j < n; j++)); do
    s=${SYS[j]}; set_cli "$s"; p=$PFX-${s:0:1}
    t0=${EPOCHREALTIME/./}
    seq 1 "$PAR" | xargs -P 8 -I{} "${CLI[@]}" run -d --name "$p-{}" "${IMG[$s]}" sleep 3600 \
      >/dev/null 2>>"$W/$s.err" || failed par_start "$s" "$(tail -n 1 "$W/$s.err")"
    t1=${EPOCHREALTIME/./}
    record par_start "$s" $((t1 - t0))
    running=$("${CLI[@]}" ps -q --filter "name=$p-" | wc -l)
    record par_running "$s" "$running"
    [ "$running" -eq "$PAR" ] || failed par_running "$s" "only $running of $PAR running"
  done
  for what in ps exec; do
    for ((k = 0; k < SAMPLES; k++)); do
      for ((j = 0; j < n; j++)); do
        s=${SYS[(k + j) % n]}; set_cli "$s"; p=$PFX-${s:0:1}
        if [ "$what" = ps ]; then cmd=(ps); else cmd=(exec "$p-1" true); fi
        t0=${EPOCHREALTIME/./}
        if "${CLI[@]}" "${cmd[@]}" >/dev/null 2>>"$W/$s.err" </dev/null; then
          t1=${EPOCHREALTIME/./}; record "$what" "$s" $((t1 - t0))
        else failed "$what" "$s" "$(tail -n 1 "$W/$s.err")"; fi
      done
    done
  done
  for ((j = 0; j < n; j++)); do
    s=${SYS[(j + 1) % n]}; p=$PFX-${s:0:1}
    mapfile -t ids < <(ours "$s" "$p-")
    if [ ${#ids[@]} -eq 0 ]; then failed par_rm "$s" "no containers to remove"; continue; fi
    t0=${EPOCHREALTIME/./}
    rm_f "$s" "${ids[@]}" >/dev/null 2>>"$W/$s.err" || failed par_rm "$s" "$(tail -n 1 "$W/$s.err")"
    t1=${EPOCHREALTIME/./}
    record par_rm "$s" $((t1 - t0))
    [ -z "$(ours "$s" "$p-")" ] || failed par_rm "$s" "containers left after rm -f"
  done
fi

# ---- mem: daemons idle and with NMEM containers, helpers per container ----
# daemon_rss / daemon_pss SYSTEM: kB of the system's daemons (podman has none)
daemon_kb() {
  local f=$1 s=$2
  case $s in
    berth) "$f" "$BERTHD_PID" ;;
    docker) echo $(($("$f" "$(cat "$DK/docker.pid")") + $("$f" "$(cat "$DK/containerd.pid")"))) ;;
    podman) echo 0 ;;
  esac
}
# helper_pids SYSTEM ID: the per-container helper of container ID
helper_pids() {
  case $1 in
    berth) pgrep -f "berth-shim --id $2 " || true ;;
    docker) pgrep -f "containerd-shim-runc-v2 .*-id $2 " || true ;;
    podman) pgrep -f "conmon .*-c $2 " || true ;;
  esac
}
if on mem; then
  log "mem: $NMEM idle containers per system"
  for s in "${SYS[@]}"; do
    record daemon_before_rss "$s" "$(daemon_kb rss_kb "$s")"
    record daemon_before_pss "$s" "$(daemon_kb pss_kb "$s")"
  done
  declare -A MIDS=()
  for ((k = 1; k <= NMEM; k++)); do
    for ((j = 0; j < ${#SYS[@]}; j++)); do
      s=${SYS[(k + j) % ${#SYS[@]}]}; set_cli "$s"
      if id=$("${CLI[@]}" run -d --name "$PFX-m${s:0:1}-$k" "${IMG[$s]}" sleep 3600 2>>"$W/$s.err" </dev/null); then
        MIDS[$s]+="$id "
      else failed mem_start "$s" "$(tail -n 1 "$W/$s.err")"; fi
    done
  done
  sleep 3
  for s in "${SYS[@]}"; do
    rss=0; pss=0; nh=0
    for id in ${MIDS[$s]:-}; do
      for p in $(helper_pids "$s" "$id"); do
        rss=$((rss + $(rss_kb "$p"))); pss=$((pss + $(pss_kb "$p"))); nh=$((nh + 1))
      done
    done
    [ "$nh" -eq "$NMEM" ] || log "$s: $nh helper processes for $NMEM containers"
    drss=$(daemon_kb rss_kb "$s"); dpss=$(daemon_kb pss_kb "$s")
    record helpers "$s" "$nh"
    record helper_rss_per_ctr "$s" $((rss / NMEM))
    record helper_pss_per_ctr "$s" $((pss / NMEM))
    record daemon_loaded_rss "$s" "$drss"
    record daemon_loaded_pss "$s" "$dpss"
    before=$(awk -F'\t' -v s="$s" '$1 == "daemon_before_rss" && $2 == s { print $3 }' "$TSV")
    record own_rss_per_ctr "$s" $(((rss + drss - before) / NMEM))
  done
  for s in "${SYS[@]}"; do
    mapfile -t ids < <(ours "$s" "$PFX-m")
    [ ${#ids[@]} -eq 0 ] || rm_f "$s" "${ids[@]}" >/dev/null 2>>"$W/$s.err" || failed mem_rm "$s"
  done
fi

# ---- summary ----
# stats: numbers on stdin -> "median min max n"
echo
echo "== bench/engine.sh: SEQ_N=$SEQ_N PAR=$PAR SAMPLES=$SAMPLES NMEM=$NMEM, sections: $SECTIONS =="
echo "systems: $(for s in "${SYS[@]}"; do printf '%s; ' "${LABEL[$s]}"; done)OCI runtime: berth-runtime for berth, runc for docker and podman"
echo "load average: $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(nproc) CPUs"
if on seq; then
  for net in none default; do
    if [ "$net" = none ]; then title="run --rm busybox true, --network none"
    else title="run --rm busybox true, default network"; fi
    table "run_$net" "$title" 1000 "ms per run"
    [ "$net" = default ] && echo "default network: docker = bridge docker0 + NAT (iptables); podman = netavark bridge podman0; berth = bridge berth0 + nftables (bench/network.sh has the details)"
    fp=$(faster_peer "run_$net")
    has berth && goal "at most 1/5 of the faster peer ($(scale "$fp" 1000) ms / 5 = $(scale "$fp" 5000) ms)" \
      "$(median "run_$net" berth)" "$(awk -v a="$fp" 'BEGIN { if (a == "NA") print "NA"; else print a / 5 }')" le
  done
fi
if on par; then
  table par_start "$PAR x run -d sleep 3600 in parallel (xargs -P 8), total" 1000 ms
  table par_running "of them running afterwards" 1 containers noratio
  if has berth; then
    if [ "$PAR" -eq 50 ]; then goal "50 parallel starts under 2.5 s" "$(median par_start berth)" 2500000
    else echo "goal: 50 parallel starts under 2.5 s: n/a (PAR=$PAR)"; fi
  fi
  table ps "ps with $PAR running" 1000 "ms per ps"
  table exec "exec PFX-1 true with $PAR running" 1000 "ms per exec"
  table par_rm "rm -f of the $PAR, one command (podman -t 0)" 1000 "ms total"
fi
if on mem; then
  table daemon_idle_rss "daemon RSS at the start (berth: berthd just started, busybox imported; docker: dockerd + containerd as they run, not fresh, maybe with others' containers; podman: no daemon)" 1024 MB
  has berth && echo "berthd right after start, empty store: $(scale "$(median berthd_start_rss berth)" 1024) MB"
  has berth && goal "daemon idle under 20 MB" "$(median daemon_idle_rss berth)" 20480
  table daemon_before_rss "daemon RSS before the mem section, none of ours running (docker: dockerd + containerd, up since before this run; podman: no daemon)" 1024 MB
  table daemon_before_pss "daemon PSS, same moment" 1024 MB
  table daemon_loaded_rss "daemon RSS with $NMEM idle containers" 1024 MB
  table helpers "helper processes found for the $NMEM containers (berth-shim / containerd-shim-runc-v2 / conmon)" 1 processes noratio
  table helper_rss_per_ctr "helper RSS per container (sum over $NMEM / $NMEM)" 1 kB
  table helper_pss_per_ctr "helper PSS per container (sum over $NMEM / $NMEM)" 1 kB
  table own_rss_per_ctr "the system's own processes per container: (helper RSS + daemon RSS growth) / $NMEM" 1 kB
  has berth && goal "under 1 MB RSS per running container (berth-shim + berthd growth)" "$(median own_rss_per_ctr berth)" 1024
fi
echo
echo "raw samples: $TSV (figure, system, value: times in µs, memory in kB)"
for s in "${SYS[@]}"; do
  [ -s "$W/$s.err" ] && log "$s errors (last): $(tail -n 1 "$W/$s.err")"
done
if grep -q $'\.failed\tberth\t' "$TSV"; then die "some berth commands failed"; fi
exit 0
