#!/usr/bin/env bash
# Write throughput in a berth container: to its writable layer (overlay, copy-on-write),
# to a named volume, and on the host directly, in one run.
#
#   bench/volume.sh [ROUNDS=5] [MB=256]
#
# Cases, in interleaved rounds (the order rotates each round, so they share the machine's
# noise; compare the medians and ratios of one run, not figures across runs):
#   layer   /layer in the container (the overlay's upper directory, in berthd's data root)
#   volume  /vol in the same container, a named volume (`volume create`, `run -v NAME:/vol`)
#   host    a directory next to berthd's data root (same filesystem, checked), written by
#           the host's own busybox, the one the container image is made of
# Tests, each the same busybox shell script in all three places:
#   big     dd if=/dev/zero of=FILE bs=1M count=MB conv=fsync
#   small   NFILES (default 2000) files of 4 kB written by the shell's builtin printf (no
#           fork per file: the filesystem is measured, not process creation), then sync
# The script runs by `berth exec C sh -c` (host: `busybox sh -c`) and prints `start` before
# the work and `end` after it; the time is between those lines' arrival here (busybox has
# no sub-second clock, and the exec's own cost, 10-40 ms and noisy, is not what is
# compared). Files are deleted between runs, outside the timed part.
#
# berthd is started here in its own network namespace and temp dir (/tmp/bv.XXXXXX), with
# busybox imported, and everything is removed on exit. Without volumes in the daemon
# (`POST /volumes/create` answers "page not found") the volume case is skipped, said so, and the run still
# passes; any other failing berth command makes the exit code 1.
# env: NFILES     files in the small test (default 2000)
#      BENCH_OUT  directory for the raw samples (default target/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
source scripts/lib.sh
set -euo pipefail

[ "$(id -u)" -eq 0 ] || die "run as root"
ROUNDS=${1:-5}
MB=${2:-256}
NFILES=${NFILES:-2000}
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $MB =~ ^[1-9][0-9]*$ && $NFILES =~ ^[1-9][0-9]*$ ]] ||
  die "usage: $0 [ROUNDS=5] [MB=256] (NFILES=2000)"

BIN=$REPO/target/release
for b in berthd berth berth-shim berth-runtime; do
  [ -x "$BIN/$b" ] || die "no $BIN/$b: cargo build --release -p berth-engine -p berth-cli -p berth-shim -p berth-runtime-cli"
done

# Ours: a short temp dir (the shim sockets below the exec root must fit in sun_path), a
# network namespace, one container and one volume named after our PID.
W=$(mktemp -d /tmp/bv.XXXXXX)
NETNS=berthvol-$$
NAME=bv$$
VOL=bv$$-vol
BSOCK=$W/berth.sock
BERTHD_PID=
HAVE_VOLUMES=
B=("$BIN/berth" -H "unix://$BSOCK")


# shellcheck disable=SC2317  # (a trap: shellcheck 0.9 thinks it unreachable)
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "$BERTHD_PID" ] && alive "$BERTHD_PID"; then
    "${B[@]}" rm -f "$NAME" >/dev/null 2>&1
    [ -n "$HAVE_VOLUMES" ] && "${B[@]}" volume rm -f "$VOL" >/dev/null 2>&1
  fi
  stop_berthd "$BIN" "$W" "$NETNS"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "${BENCH_OUT:=target/bench}"
TSV=$(realpath "$BENCH_OUT")/volume-$(date +%Y%m%d-%H%M%S)-$$.tsv
: >"$TSV"
# record FIGURE CASE VALUE: one raw sample (µs)
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$TSV"; }

# ---- berthd, in its own network namespace ----
make_busybox_rootfs "$W/rootfs"
start_berthd "$BIN" "$NETNS" "$W" "$BSOCK" "$W/rootfs"

# berth ARG...: a berth command whose failure ends the run (exit 1) with its last line
berth() {
  "${B[@]}" "$@" 2>"$W/berth.err" || die "berth $1 failed: $(tail -n 1 "$W/berth.err")"
}

# ---- the container (and the volume, when the daemon has them) ----
RUN_ARGS=()
if "${B[@]}" volume create "$VOL" >/dev/null 2>"$W/berth.err"; then
  HAVE_VOLUMES=1
  RUN_ARGS=(-v "$VOL:/vol")
elif grep -q 'page not found' "$W/berth.err"; then
  log "berthd has no volumes ($(tail -n 1 "$W/berth.err")): the volume case is skipped"
else
  die "berth volume create failed: $(tail -n 1 "$W/berth.err")"
fi
berth run -d --name "$NAME" --network none "${RUN_ARGS[@]}" busybox sleep 3600 >/dev/null
berth exec "$NAME" mkdir -p /layer
mkdir -p "$W/host"
# the host directory must be on the filesystem that holds the layer (and the volume)
dev() { stat -c %d "$1"; }
[ "$(dev "$W/host")" = "$(dev "$W/data")" ] || die "$W/host and $W/data are on different filesystems"
CASES=(layer host)
declare -A DIR=([layer]=/layer [host]=$W/host)
if [ -n "$HAVE_VOLUMES" ]; then
  mp=$(berth volume inspect -f '{{.Mountpoint}}' "$VOL")
  [ -d "$mp" ] || die "volume mountpoint $mp is not a directory"
  [ "$(dev "$mp")" = "$(dev "$W/data")" ] || log "note: the volume ($mp) is on another filesystem than $W/data"
  # /vol must be a mount of its own, else the "volume" would be the layer again
  berth exec "$NAME" grep -q ' /vol ' /proc/mounts
  CASES=(layer volume host)
  DIR[volume]=/vol
fi
log "berthd $BERTHD_PID in netns $NETNS; container $NAME; cases: ${CASES[*]}; $ROUNDS rounds, $MB MB, $NFILES files"

# at CASE SCRIPT: runs the shell script where CASE writes, stdout to /dev/null
at() {
  if [ "$1" = host ]; then
    /bin/busybox sh -c "$2" >/dev/null 2>"$W/host.err" || die "host: $2: $(tail -n 1 "$W/host.err")"
  else
    berth exec "$NAME" sh -c "$2" >/dev/null
  fi
}
# stamp: reads the script's `start` and `end` lines, prints the µs between them
stamp() {
  local line t0='' t1=''
  while read -r line; do
    case $line in
      start) t0=${EPOCHREALTIME/./} ;;
      end) t1=${EPOCHREALTIME/./} ;;
    esac
  done
  [ -n "$t0" ] && [ -n "$t1" ] && echo $((t1 - t0))
}
# timed CASE SCRIPT: µs from the script's start to its end, on stdout. The script says
# `start` and `end` on its stdout, and we take the time when those lines arrive: that
# leaves out starting (and ending) the exec, and costs the same in every case.
timed() {
  if [ "$1" = host ]; then
    /bin/busybox sh -c "echo start; $2; echo end" 2>"$W/host.err" | stamp ||
      die "host: $2: $(tail -n 1 "$W/host.err")"
  else
    "${B[@]}" exec "$NAME" sh -c "echo start; $2; echo end" 2>"$W/berth.err" | stamp ||
      die "berth exec failed: $(tail -n 1 "$W/berth.err")"
  fi
}
big() { echo "dd if=/dev/zero of=$1/big bs=1M count=$MB conv=fsync 2>/dev/null"; }
small() {
  # a 4096-byte string by doubling, builtins only
  echo "mkdir $1/small && cd $1/small && b=xxxxxxxx && for _ in 1 2 3 4 5 6 7 8 9; do b=\$b\$b; done &&
    i=0 && while [ \$i -lt $NFILES ]; do printf %s \"\$b\" >f\$i; i=\$((i + 1)); done && sync"
}
clean() { echo "rm -rf $1/big $1/small"; }

# warm-up: one of each, not recorded
for c in "${CASES[@]}"; do
  at "$c" "$(big "${DIR[$c]}")"; at "$c" "$(small "${DIR[$c]}")"; at "$c" "$(clean "${DIR[$c]}")"
done
for ((r = 0; r < ROUNDS; r++)); do
  for ((j = 0; j < ${#CASES[@]}; j++)); do
    c=${CASES[(r + j) % ${#CASES[@]}]}
    d=${DIR[$c]}
    # (assigned first: a failure inside $(…) then ends the run)
    t=$(timed "$c" "$(big "$d")"); record big "$c" "$t"
    t=$(timed "$c" "$(small "$d")"); record small "$c" "$t"
    at "$c" "$(clean "$d")"
  done
  log "round $((r + 1))/$ROUNDS done"
done

# ---- summary ----
# median FIGURE CASE: median of the samples (µs), NA without any
median() {
  awk -F'\t' -v f="$1" -v s="$2" '$1 == f && $2 == s { print $3 }' "$TSV" | sort -n |
    awk '{ a[NR] = $1 } END { if (NR == 0) { print "NA"; exit }
           print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# fastest FIGURE CASE: the smallest sample in seconds (noise only ever adds time)
fastest() {
  awk -F'\t' -v f="$1" -v s="$2" '$1 == f && $2 == s { if (m == "" || $3 < m) m = $3 }
    END { if (m == "") print "NA"; else printf "%.4f", m / 1e6 }' "$TSV"
}
# secs FIGURE CASE: the median in seconds
secs() { awk -v a="$(median "$1" "$2")" 'BEGIN { if (a == "NA") print "NA"; else printf "%.4f", a / 1e6 }'; }
div() { awk -v a="$1" -v b="$2" -v p="${3:-2}" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.*f", p, a / b }'; }

echo
echo "write throughput, berthd $BERTHD_PID, $ROUNDS rounds, medians; raw samples: $TSV"
printf '%-8s %10s %10s %10s %10s %10s %14s\n' case big_s big_MB/s big_min_s small_s small_min_s small_files/s
declare -A BIG_S SMALL_S BIG_TP SMALL_TP
for c in "${CASES[@]}"; do
  BIG_S[$c]=$(secs big "$c")
  SMALL_S[$c]=$(secs small "$c")
  BIG_TP[$c]=$(div "$MB" "${BIG_S[$c]}" 1)
  SMALL_TP[$c]=$(div "$NFILES" "${SMALL_S[$c]}" 0)
  printf '%-8s %10s %10s %10s %10s %10s %14s\n' "$c" "${BIG_S[$c]}" "${BIG_TP[$c]}" "$(fastest big "$c")" \
    "${SMALL_S[$c]}" "$(fastest small "$c")" "${SMALL_TP[$c]}"
done
echo
echo "ratios of throughput to host (1.00 = as fast as the host):"
for c in "${CASES[@]}"; do
  [ "$c" = host ] && continue
  printf '  %s/host   big %s   small %s\n' "$c" "$(div "${BIG_TP[$c]}" "${BIG_TP[host]}")" \
    "$(div "${SMALL_TP[$c]}" "${SMALL_TP[host]}")"
done
if [ -n "$HAVE_VOLUMES" ]; then
  for t in big small; do
    if [ $t = big ]; then v=${BIG_TP[volume]} h=${BIG_TP[host]}; else v=${SMALL_TP[volume]} h=${SMALL_TP[host]}; fi
    if awk -v v="$v" -v h="$h" 'BEGIN { exit !(v != "NA" && h != "NA" && v >= 0.95 * h) }'; then
      echo "goal ($t): volume within 5% of host: met"
    else
      echo "goal ($t): volume within 5% of host: MISSED"
    fi
  done
else
  echo "volume: skipped (the daemon has no volumes)"
fi
