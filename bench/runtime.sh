#!/usr/bin/env bash
# OCI runtime cost per container: berth-runtime vs runc vs crun.
#
#   bench/runtime.sh [N=100]
#
# One sample = one `RUNTIME --root STATE run --bundle B ID` of a busybox bundle running
# /bin/true (create + start + wait + delete), timed in bash with $EPOCHREALTIME. The
# runtimes take turns in a rotating order, so they share the machine's noise. Two views:
#   hybrid      the host's layout (cgroup v1 + cgroup2 at /sys/fs/cgroup/unified): berth
#               and runc (crun 1.8 refuses hybrid mode)
#   no-cgroup2  a private mount namespace without the cgroup2 mount: all three
# A separate pass (RSS_N runs each) then takes the peak RSS with /usr/bin/time -f %M.
#
# env: BERTH_RUNTIME, RUNC, CRUN  binaries (default target/release/berth-runtime, runc, crun)
#      RSS_N      runs per runtime in the RSS pass (default 10)
#      BENCH_OUT  directory for the raw samples (default target/bench)
# Exit code 1 if any berth run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# record VIEW RUNTIME METRIC VALUE: one raw sample
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$TSV"; }

# runtime_cmd NAME VIEW ARG...: NAME's binary with its own --root for VIEW
runtime_cmd() {
  local name=$1 view=$2; shift 2
  "${BIN[$name]}" --root "$W/state/$view-$name" "$@"
}

# time_runs VIEW N NAME...: N rounds, each running every NAME once, in rotating order
time_runs() {
  local view=$1 n=$2; shift 2
  local names=("$@") i j name t0 t1
  for name in "${names[@]}"; do   # warm-up, not recorded
    runtime_cmd "$name" "$view" run --bundle "$W/bundle" "${ID}warm-up" >/dev/null 2>&1 </dev/null || true
  done
  for ((i = 0; i < n; i++)); do
    for ((j = 0; j < ${#names[@]}; j++)); do
      name=${names[(i + j) % ${#names[@]}]}
      t0=${EPOCHREALTIME/./}
      if runtime_cmd "$name" "$view" run --bundle "$W/bundle" "$ID$i" >/dev/null 2>>"$W/$name.err" </dev/null; then
        t1=${EPOCHREALTIME/./}
        record "$view" "$name" run_us $((t1 - t0))
      else
        record "$view" "$name" failed 1
      fi
    done
  done
}

# rss_runs VIEW NAME...: peak RSS (kB) of the runtime process and the children it reaps
rss_runs() {
  local view=$1; shift
  local i name
  for ((i = 0; i < RSS_N; i++)); do
    for name in "$@"; do
      if /usr/bin/time -f %M -o "$W/rss" "${BIN[$name]}" --root "$W/state/$view-$name" \
          run --bundle "$W/bundle" "${ID}rss-$i" >/dev/null 2>>"$W/$name.err" </dev/null; then
        record "$view" "$name" rss_kb "$(tail -n 1 "$W/rss")"
      fi
    done
  done
}

# Inside the private mount namespace: drop the cgroup2 mount, run all three.
inner() {
  trap inner_cleanup EXIT
  if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
  time_runs no-cgroup2 "$N" "${NAMES[@]}"
  rss_runs no-cgroup2 "${NAMES[@]}"
}

inner_cleanup() {
  local name d=/sys/fs/cgroup/unified
  for name in "${NAMES[@]}"; do delete_all_containers "${BIN[$name]}" "$W/state/no-cgroup2-$name"; done
  # With the cgroup2 mount gone, crun makes its "cgroup2" dirs in the tmpfs below it
  # (hidden behind the cgroup2 mount on the host, but left there): remove ours.
  if ! mountpoint -q "$d" && [ "$(stat -f -c %T "$d")" = tmpfs ]; then
    rm -rf --one-file-system "$d/${ID:?}"*
  fi
}

# stats: numbers on stdin -> "median min max n"
stats() {
  sort -n | awk '{ a[NR] = $1 }
    END { if (NR == 0) { print "NA NA NA 0"; exit }
          m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
          print m, a[1], a[NR], NR }'
}
values() { awk -F'\t' -v v="$1" -v r="$2" -v m="$3" '$1 == v && $2 == r && $3 == m { print $4 }' "$TSV"; }
median() { values "$@" | stats | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }'; }

summary() {
  local view name med min max n failed
  printf '== run --bundle (busybox, /bin/true), N=%s, ms per container; berth = %s ==\n' "$N" "${BIN[berth]}"
  printf '%-11s %-6s %9s %9s %9s %5s %7s %10s\n' view runtime median min max n failed 'peak RSS'
  for view in hybrid no-cgroup2; do
    for name in "${NAMES[@]}"; do
      [ "$view" = hybrid ] && [ "$name" = crun ] && continue
      read -r med min max n < <(values "$view" "$name" run_us | stats)
      failed=$(values "$view" "$name" failed | wc -l)
      printf '%-11s %-6s %9s %9s %9s %5s %7s %7s kB\n' "$view" "$name" \
        "$(ratio "$med" 1000)" "$(ratio "$min" 1000)" "$(ratio "$max" 1000)" "$n" "$failed" \
        "$(median "$view" "$name" rss_kb)"
    done
  done
  printf 'ratios of medians: berth/runc %s (hybrid), berth/runc %s and berth/crun %s (no-cgroup2)\n' \
    "$(ratio "$(median hybrid berth run_us)" "$(median hybrid runc run_us)")" \
    "$(ratio "$(median no-cgroup2 berth run_us)" "$(median no-cgroup2 runc run_us)")" \
    "$(ratio "$(median no-cgroup2 berth run_us)" "$(median no-cgroup2 crun run_us)")"
  echo "peak RSS: median of $RSS_N runs per runtime, /usr/bin/time -f %M (largest of the runtime and the children it reaped)"
  echo "raw samples: $TSV"
}

declare -A BIN
if [ "${1:-}" = --inner ]; then   # re-executed by ourselves, settings in the environment
  BIN=([berth]=$BENCH_BERTH [runc]=$BENCH_RUNC [crun]=$BENCH_CRUN)
  ID=$BENCH_ID
  read -ra NAMES <<<"$BENCH_NAMES"
  inner
  exit
fi

[ "$(id -u)" -eq 0 ] || die "run as root"
N=${1:-100}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [N]"
RSS_N=${RSS_N:-10}
BIN=([berth]=${BERTH_RUNTIME:-$PWD/target/release/berth-runtime}
     [runc]=${RUNC:-$(command -v runc || true)} [crun]=${CRUN:-$(command -v crun || true)})
[ -x "${BIN[berth]}" ] || die "${BIN[berth]} is not built (cargo build --release -p berth-runtime-cli)"
NAMES=(berth)
for name in runc crun; do
  if [ -x "${BIN[$name]}" ]; then NAMES+=("$name"); else log "no $name: skipped"; fi
done

W=$(mktemp -d /tmp/berth-bench.XXXXXX)
ID=brt-$$-   # container IDs: ${ID}N
cleanup() {
  local view name
  for view in hybrid no-cgroup2; do
    for name in "${NAMES[@]}"; do delete_all_containers "${BIN[$name]}" "$W/state/$view-$name"; done
  done
  remove_tree "$W"
}
trap cleanup EXIT
mkdir -p "${BENCH_OUT:=target/bench}"
TSV=$(realpath "$BENCH_OUT")/runtime-$(date +%Y%m%d-%H%M%S)-$$.tsv
make_busybox_rootfs "$W/bundle/rootfs"
write_config "$W/bundle" /bin/true

hybrid=(berth)
[ -n "${BIN[runc]}" ] && [ -x "${BIN[runc]}" ] && hybrid+=(runc)
log "hybrid view: ${hybrid[*]} x $N"
time_runs hybrid "$N" "${hybrid[@]}"
rss_runs hybrid "${hybrid[@]}"

log "no-cgroup2 view (private mount namespace): ${NAMES[*]} x $N"
W=$W N=$N RSS_N=$RSS_N TSV=$TSV BENCH_NAMES="${NAMES[*]}" BENCH_ID=$ID \
  BENCH_BERTH=${BIN[berth]} BENCH_RUNC=${BIN[runc]} BENCH_CRUN=${BIN[crun]} \
  unshare -m --propagation private bash "$0" --inner

summary
for name in "${NAMES[@]}"; do
  [ -s "$W/$name.err" ] && log "$name errors (last): $(tail -n 1 "$W/$name.err")"
done
if [ "$(values hybrid berth failed | wc -l)" -gt 0 ] || [ "$(values no-cgroup2 berth failed | wc -l)" -gt 0 ]; then
  die "some berth runs failed"
fi
