#!/usr/bin/env bash
# Image pull: berth (berthd through the berth CLI, unpacking included) vs `podman pull`
# (private overlay store) vs `skopeo copy docker://… oci:DIR` (download only, no unpack),
# from one local docker-registry (distribution 2.8), interleaved in one run.
#
#   bench/pull.sh [ROUNDS=3]
#
# The image, 127.0.0.1:5000/pb/big:1, has 4 gzip layers: busybox plus a copy of
# /usr/lib/python3 and /usr/lib/python3.11 (~100 MB of real, compressible files), then three
# layers of 50 MiB of random bytes each (as ../shared/peers/50-pull.sh builds its image).
# It is built with berth (run + commit) in a second berthd of its own, saved, and pushed by
# skopeo (which gzips the layers); one such image per round (pb/big:1, :2, ...: other random
# bytes, and a marker file in the first layer), so every pull is of content the system has
# never seen, and nothing is deleted until the end. Why not rmi + prune between rounds: this
# VM's ext4 has no journal, and without one ext4 will not reuse an inode freed in the last
# 30-60 s (find_inode_bit -> recently_deleted reads each candidate's inode block), so after
# a delete of thousands of files every file creation scans past them: the same unpack of
# the 4,759-file layer took 0.73 s on a quiet file system and 2.1-4.7 s right after such a
# delete, for every system that unpacks. The registry's blobs are in the page cache for
# everyone.
#
# env: BENCH_OUT  directory for the raw samples (default target/bench)
#      BERTH_TRACE=1  berth pulls print progress, timestamped, to BENCH_OUT/pull-trace.txt
#      SYSTEMS    default "berth podman skopeo"
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
set -euo pipefail
[ "$(id -u)" -eq 0 ] || die "run as root"
ROUNDS=${1:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [ROUNDS=3]"
SYSTEMS=${SYSTEMS:-berth podman skopeo}
BIN=$REPO/target/release
for b in berth berthd berth-shim berth-runtime; do [ -x "$BIN/$b" ] || die "no $BIN/$b: cargo build --release"; done
command -v docker-registry >/dev/null || die "no docker-registry (apt-get install docker-registry)"
OUT=${BENCH_OUT:-$REPO/target/bench}
mkdir -p "$OUT"
RAW=$OUT/pull-$(date +%Y%m%d-%H%M%S).tsv
: >"$RAW"

NS=berth-bench-pull-$$
W=$(mktemp -d /tmp/berth-bench-pull.XXXXXX)
SOCK=$W/berth.sock
BSOCK=$W/build/berth.sock
REPO_NAME=127.0.0.1:5000/pb/big
REG_PID=
BERTHD_PID=
BUILD_PID=
stop_pid() { [ -n "$1" ] && { kill "$1"; for _ in $(seq 100); do alive "$1" || break; sleep 0.05; done; }; }
cleanup() {
  set +e
  stop_pid "$BERTHD_PID"
  stop_pid "$BUILD_PID"
  [ -n "$REG_PID" ] && kill "$REG_PID"
  ip netns delete "$NS" 2>/dev/null
  ip netns delete "$NS-build" 2>/dev/null
  remove_tree "$W"
}
trap cleanup EXIT

nsx() { nsenter --net="/run/netns/$NS" -- "$@"; }
bz() { "$BIN/berth" -H "unix://$SOCK" "$@"; }
bb() { "$BIN/berth" -H "unix://$BSOCK" "$@"; }
pm() {
  nsx podman --root "$W/podman/root" --runroot "$W/podman/run" --storage-driver overlay \
    --cgroup-manager cgroupfs --events-backend none "$@"
}
now_us() { echo "${EPOCHREALTIME/./}"; }
record() { printf '%s\t%s\n' "$1" "$2" >>"$RAW"; }
# cpu_ticks PID: user + system time of the process (all its threads) so far, in clock ticks
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

make_busybox_rootfs "$W/rootfs"
mkdir -p "$W/build"
start_berthd "$BIN" "$NS-build" "$W/build" "$BSOCK" "$W/rootfs"
BUILD_PID=$BERTHD_PID
start_berthd "$BIN" "$NS" "$W" "$SOCK" "$W/rootfs"

mkdir -p "$W/registry/data"
cat >"$W/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/registry/data
http:
  addr: 127.0.0.1:5000
EOF
setsid nsenter --net="/run/netns/$NS" -- docker-registry serve "$W/registry/config.yml" \
  >"$W/registry/log" 2>&1 </dev/null &
REG_PID=$!
for _ in $(seq 100); do nsx curl -s -o /dev/null http://127.0.0.1:5000/v2/ && break; sleep 0.05; done

log "building $ROUNDS images $REPO_NAME:1.. (4 layers each)"
# layer 1: busybox and ~100 MB of real files, imported as one layer (plus a marker per round)
cp -a "$W/rootfs" "$W/base"
mkdir -p "$W/base/usr/lib"
cp -a /usr/lib/python3 /usr/lib/python3.11 "$W/base/usr/lib/"
for ((r = 1; r <= ROUNDS; r++)); do
  echo "$r" >"$W/base/round"
  tar -C "$W/base" -cf "$W/base.tar" .
  bb import "$W/base.tar" "pb/r$r-l1" >/dev/null
  prev=pb/r$r-l1
  for n in 2 3 4; do
    bb run --name "r$r-l$n" "$prev" sh -c "head -c 52428800 /dev/urandom > /r$n" >/dev/null
    bb commit "r$r-l$n" "pb/r$r-l$n" >/dev/null
    prev=pb/r$r-l$n
  done
  bb save -o "$W/big.tar" "$prev"
  nsx skopeo copy -q --dest-tls-verify=false "docker-archive:$W/big.tar" "docker://$REPO_NAME:$r"
  rm -f "$W/big.tar" "$W/base.tar"
done
MANIFEST=$(nsx skopeo inspect --raw --tls-verify=false "docker://$REPO_NAME:1")
CMB=$(echo "$MANIFEST" | jq '[.layers[].size] | add / 1048576')
NL=$(echo "$MANIFEST" | jq '.layers | length')
log "image: $NL layers, $(printf %.1f "$CMB") MiB compressed"
# What the builds deleted (the runs' temp files) is older than ext4's recency window
# (30 s, 60 s while the inode block is dirty) before the first pull.
sleep "${PULL_BENCH_SETTLE:-61}"

run_one() {
  local s=$1 r=$2 t0 t
  local IMG=$REPO_NAME:$r
  case $s in
    berth)
      c0=$(cpu_ticks "$BERTHD_PID")
      t0=$(now_us)
      if [ -n "${BERTH_TRACE:-}" ]; then
        # every progress message (JSON) with its time since the start, in µs
        curl -sN --unix-socket "$SOCK" -X POST "http://x/images/create?fromImage=${IMG%:*}&tag=${IMG##*:}" |
          while IFS= read -r l; do echo "$(($(now_us) - t0)) $l"; done >>"$OUT/pull-trace.txt"
      else
        bz pull -q "$IMG" >/dev/null || die "berth pull failed: $(tail -5 "$W/berthd.log")"
      fi
      t=$(($(now_us) - t0))
      record berth-cpu "$(awk -v t="$(($(cpu_ticks "$BERTHD_PID") - c0))" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t/hz}')"
      ;;
    podman)
      t0=$(now_us)
      pm pull -q --tls-verify=false "$IMG" >/dev/null || die "podman pull failed"
      t=$(($(now_us) - t0))
      ;;
    skopeo)
      t0=$(now_us)
      nsx skopeo copy -q --src-tls-verify=false "docker://$IMG" "oci:$W/skopeo-oci-$r:big" || die "skopeo failed"
      t=$(($(now_us) - t0))
      ;;
  esac
  record "$s" "$(awk -v us="$t" 'BEGIN{printf "%.3f", us/1e6}')"
}

read -ra SYS <<<"$SYSTEMS"
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < ${#SYS[@]}; k++)); do
    run_one "${SYS[$(((k + r) % ${#SYS[@]}))]}" $((r + 1))
  done
done

median() { grep "^$1	" "$RAW" | cut -f2 | sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
echo "== pull of $REPO_NAME:N (one per round): $NL layers, $(printf %.1f "$CMB") MiB compressed; $ROUNDS rounds, medians =="
printf '%-8s %10s %10s\n' system seconds 'MiB/s'
for s in "${SYS[@]}"; do
  m=$(median "$s")
  printf '%-8s %10s %10s\n' "$s" "$m" "$(awk -v m="$m" -v c="$CMB" 'BEGIN{printf "%.1f", c/m}')"
done
if [[ " $SYSTEMS " == *" berth "* ]]; then
  echo "berthd CPU per pull (user+system, median): $(median berth-cpu) s on $(nproc) cores"
fi
b=$(median berth)
for s in podman skopeo; do
  [[ " $SYSTEMS " == *" $s "* && " $SYSTEMS " == *" berth "* ]] || continue
  echo "berth/$s (time): $(awk -v a="$b" -v c="$(median "$s")" 'BEGIN{printf "%.2f", a/c}')"
done
echo "raw samples: $RAW"
