#!/usr/bin/env bash
# Network cost: berth vs podman (and docker), in one run.
#
#   bench/network.sh [N=10] [ROUNDS=3] [MB=1024]
#
# The systems take turns in a rotating order inside every loop, so they share the
# machine's noise; compare the medians and ratios of one run, not figures across runs.
#   start  `run --rm busybox true` on --network none and on the default bridge, N each per
#          system: what network setup adds to a container start (bridge - none)
#   tput   MB MiB through a published port on 127.0.0.1 (`-p 127.0.0.1:18080:5000`):
#          a busybox `nc -l` in the container reads it to /dev/null, sent from the host
#          side of the system's network namespace by two clients: python3 writing 64 KiB
#          at a time (`tput`, timed inside python: what an application that writes big
#          buffers gets) and busybox nc (`tput_nc`, small writes: per-packet costs
#          dominate). ROUNDS per system and client, MiB/s. Each system's published-port
#          path as it comes: berth = nftables DNAT (route_localnet); podman = netavark's
#          DNAT; docker = its userland proxy (docker-proxy) for 127.0.0.1
#
# docker and podman are the peers of ../shared/peers (20-up.sh, called here; idempotent;
# left running); berth gets its own berthd in its own network namespace, removed on exit.
# Every bridge, rule and byte stays inside those namespaces.
#
# env: SECTIONS "start tput" (default), SYSTEMS "berth podman docker" (default),
#      PEERS_DIR (default ../shared/peers), BENCH_OUT (default target/bench)
# Exit code 1 if any berth command failed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PEERS_DIR=${PEERS_DIR:-$REPO/../shared/peers}
SYSTEMS=${SYSTEMS:-berth podman docker}
if [[ " $SYSTEMS " == *" docker "* || " $SYSTEMS " == *" podman "* ]]; then
  [ -f "$PEERS_DIR/lib.sh" ] || { echo "no $PEERS_DIR/lib.sh (the peers): set SYSTEMS=berth" >&2; exit 1; }
  # $DOCKER with DOCKER_HOST exported, $PBPODMAN, $DK, and the peers' netns $NS and dir $W
  # shellcheck source=/dev/null
  source "$PEERS_DIR/lib.sh"
  PW=$W PNS=$NS
fi
source scripts/lib.sh
source bench/report.sh
set -euo pipefail
[ "$(id -u)" -eq 0 ] || die "run as root"
N=${1:-10}
ROUNDS=${2:-3}
MB=${3:-1024}
[[ $N =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ && $MB =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [N=10] [ROUNDS=3] [MB=1024]"
SECTIONS=${SECTIONS:-start tput}
on() { [[ " $SECTIONS " == *" $1 "* ]]; }
read -ra SYS <<<"$SYSTEMS"
has() { [[ " ${SYS[*]} " == *" $1 "* ]]; }

BIN=$REPO/target/release
if [ ! -x "$BIN/berthd" ] || [ ! -x "$BIN/berth-shim" ] || [ ! -x "$BIN/berth-runtime" ] || [ ! -x "$BIN/berth" ]; then
  ensure_cargo_on_path
  log "cargo build --release -p berth-engine -p berth-shim -p berth-runtime-cli -p berth-cli"
  cargo build --release -p berth-engine -p berth-shim -p berth-runtime-cli -p berth-cli
fi

W=$(mktemp -d /tmp/bn.XXXXXX)
NETNS=berthnet-$$
PFX=bn$$
BSOCK=$W/berth.sock
BERTHD_PID=
HOSTPORT=18080
declare -A IMG=([berth]=busybox [docker]=busybox [podman]=localhost/busybox)
declare -A LABEL=([berth]="berth" [docker]=docker [podman]=podman)
declare -A BRIDGE=([berth]=bridge [docker]=bridge [podman]=bridge)
# set_cli SYSTEM: CLI=(its client), NSX=(the prefix that runs a command in its netns)
set_cli() {
  case $1 in
    berth) CLI=("$BIN/berth" -H "unix://$BSOCK"); NSX=(nsenter "--net=/run/netns/$NETNS" --) ;;
    docker) CLI=("$DOCKER"); NSX=(nsenter "--net=/run/netns/$PNS" --) ;;
    podman) CLI=("$PBPODMAN"); NSX=(nsenter "--net=/run/netns/$PNS" --) ;;
  esac
}
rm_f() {
  local s=$1; shift
  set_cli "$s"
  if [ "$s" = podman ]; then "${CLI[@]}" rm -f -t 0 "$@"; else "${CLI[@]}" rm -f "$@"; fi
}

# shellcheck disable=SC2317  # (a trap)
cleanup() {
  local rc=$? s ids
  set +e
  trap - EXIT INT TERM
  for s in "${SYS[@]}"; do
    if [ "$s" = berth ] && { [ -z "$BERTHD_PID" ] || ! alive "$BERTHD_PID"; }; then continue; fi
    set_cli "$s"
    mapfile -t ids < <("${CLI[@]}" ps -aq --filter "name=$PFX-" 2>/dev/null)
    [ ${#ids[@]} -gt 0 ] && rm_f "$s" "${ids[@]}" >/dev/null 2>&1
  done
  stop_berthd "$BIN" "$W" "$NETNS"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "${BENCH_OUT:=target/bench}"
TSV=$(realpath "$BENCH_OUT")/network-$(date +%Y%m%d-%H%M%S)-$$.tsv
: >"$TSV"
BERTH_FAILED=0
failed() { record "$1.failed" "$2" 1; log "$2: $1 failed${3:+: $3}"; [ "$2" != berth ] || BERTH_FAILED=1; }

if has docker || has podman; then
  log "peers: $PEERS_DIR/20-up.sh"
  "$PEERS_DIR/20-up.sh" >"$W/20-up.log" 2>&1 || { cat "$W/20-up.log" >&2; die "20-up.sh failed"; }
  ROOTFS=$PW/rootfs
  LABEL[docker]="docker $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"
  LABEL[podman]="podman $("$PBPODMAN" version --format '{{.Client.Version}}' 2>/dev/null)"
else
  ROOTFS=$W/rootfs
  make_busybox_rootfs "$ROOTFS"
fi
BUSYBOX=$ROOTFS/bin/busybox
if has berth; then
  # debug: berthd logs what each start spent on its network (network_ms, per container)
  BERTHD_ARGS="--log-level debug" start_berthd "$BIN" "$NETNS" "$W" "$BSOCK" "$ROOTFS"
  log "berthd $BERTHD_PID in netns $NETNS"
fi
# Warm-up: first runs fault in binaries and make the default networks.
for s in "${SYS[@]}"; do
  set_cli "$s"
  for net in none "${BRIDGE[$s]}"; do
    "${CLI[@]}" run --rm --network "$net" "${IMG[$s]}" true >/dev/null 2>>"$W/$s.err" || failed warmup "$s" "$(tail -n 1 "$W/$s.err")"
  done
done

# rotation I: the systems, starting at the I-th
rotation() {
  local i=$1 k n=${#SYS[@]}
  for ((k = 0; k < n; k++)); do echo "${SYS[$(((i + k) % n))]}"; done
}

if on start; then
  log "start: $N x run --rm on none and on the bridge per system"
  for ((i = 0; i < N; i++)); do
    for s in $(rotation "$i"); do
      set_cli "$s"
      for net in none "${BRIDGE[$s]}"; do
        t0=${EPOCHREALTIME/./}
        if "${CLI[@]}" run --rm --network "$net" "${IMG[$s]}" true >/dev/null 2>>"$W/$s.err" </dev/null; then
          t1=${EPOCHREALTIME/./}
          if [ "$net" = none ]; then record run_none "$s" $((t1 - t0)); else record run_bridge "$s" $((t1 - t0)); fi
        else
          failed "run_$net" "$s" "$(tail -n 1 "$W/$s.err")"
        fi
      done
    done
  done
fi

# The python client: MB MiB in 64 KiB writes, then half-close and wait for the server
# to close (it has read everything); prints the microseconds that took.
SEND_PY='import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = bytes(65536); n = int(sys.argv[3]) * 16
t = time.monotonic()
for _ in range(n): s.sendall(buf)
s.shutdown(socket.SHUT_WR); s.recv(1)
print(int((time.monotonic() - t) * 1e6))'

# tput_one SYSTEM CLIENT FIGURE: one transfer through a fresh server container
tput_one() {
  local s=$1 client=$2 f=$3 name=$PFX-tput t0 t1 us code
  set_cli "$s"
  if ! "${CLI[@]}" run -d --name "$name" -p "127.0.0.1:$HOSTPORT:5000" "${IMG[$s]}" \
    nc -l -p 5000 -e sh -c 'cat >/dev/null' >/dev/null 2>>"$W/$s.err"; then
    failed "$f" "$s" "$(tail -n 1 "$W/$s.err")"
    return
  fi
  sleep 1   # the listener is up well within this; busybox nc has no -z to poll with
  us=
  if [ "$client" = py ]; then
    us=$("${NSX[@]}" python3 -c "$SEND_PY" 127.0.0.1 "$HOSTPORT" "$MB" 2>>"$W/$s.err") || us=
  else
    t0=${EPOCHREALTIME/./}
    if head -c "${MB}M" /dev/zero | "${NSX[@]}" "$BUSYBOX" nc 127.0.0.1 "$HOSTPORT" >/dev/null 2>>"$W/$s.err"; then
      t1=${EPOCHREALTIME/./}
      us=$((t1 - t0))
    fi
  fi
  if [ -z "$us" ]; then
    failed "$f" "$s" "client: $(tail -n 1 "$W/$s.err")"
  else
    # All of it arrived: the server's cat saw EOF and the container exited 0.
    code=$(timeout 30 "${CLI[@]}" wait "$name" 2>>"$W/$s.err" || echo timeout)
    if [ "$code" = 0 ]; then record "$f" "$s" $((MB * 1024 * 1000000 / us)); else failed "$f" "$s" "server exit: $code"; fi
  fi
  rm_f "$s" "$name" >/dev/null 2>&1 || true
}

if on tput; then
  log "tput: $ROUNDS x $MB MiB through 127.0.0.1:$HOSTPORT per system and client"
  for ((i = 0; i < ROUNDS; i++)); do
    for s in $(rotation "$i"); do
      tput_one "$s" py tput
      tput_one "$s" nc tput_nc
    done
  done
fi

echo
echo "== bench/network.sh: N=$N ROUNDS=$ROUNDS MB=$MB, sections: $SECTIONS =="
echo "systems: $(for s in "${SYS[@]}"; do printf '%s; ' "${LABEL[$s]}"; done)clients: berth CLI for berth, docker 20.10 and podman for the peers"
echo "load average: $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(nproc) CPUs"
if on start; then
  table run_none "run --rm busybox true, --network none" 1000 "ms per run"
  table run_bridge "run --rm busybox true, default bridge" 1000 "ms per run"
  printf '\n== what the bridge adds to a start (median bridge - median none, ms) ==\n'
  for s in "${SYS[@]}"; do
    printf '%-30s %10s\n' "${LABEL[$s]}" "$(awk -v a="$(median run_bridge "$s")" -v b="$(median run_none "$s")" 'BEGIN { if (a == "NA" || b == "NA") print "NA"; else printf "%.1f", (a - b) / 1000 }')"
  done
  if has berth; then
    # berthd's own account of the same starts: the time between the root filesystem's
    # mount and the runtime's create, where the network is set up (none: a namespace from
    # the pool; bridge: that and a veth, an address, a route). Free of the clients' and
    # the machine's noise, which the difference of medians above is not.
    for net in none bridge; do
      awk -v n="network=$net " 'index($0, n) && match($0, /network_ms=[0-9.]+/) { print substr($0, RSTART + 11, RLENGTH - 11) * 1000 }' \
        "$W/berthd.log" >"$W/network_us.$net"
      printf '%-30s %10s   (median of %s starts, from berthd'"'"'s debug log)\n' "berth in-daemon setup, $net" \
        "$(scale "$(stats <"$W/network_us.$net" | cut -d' ' -f1)" 1000)" "$(wc -l <"$W/network_us.$net")"
    done
    add=$(awk -v a="$(median run_bridge berth)" -v b="$(median run_none berth)" 'BEGIN { if (a == "NA" || b == "NA") print "NA"; else print a - b }')
    goal "berth's network setup adds under 10 ms to a start ($(scale "$add" 1000) ms)" "$add" 10000
  fi
fi
if on tput; then
  table tput "$MB MiB through a published port on 127.0.0.1, 64 KiB writes (python3)" 1024 "MiB/s"
  table tput_nc "$MB MiB through a published port on 127.0.0.1, busybox nc" 1024 "MiB/s"
  if has berth; then
    for s in podman docker; do
      has "$s" && goal "published-port throughput (64 KiB writes) at least $s's" "$(median tput "$s")" "$(median tput berth)" le
    done
  fi
fi
echo "raw samples: $TSV"
exit "$BERTH_FAILED"
