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
# It is built with berth (run + commit), saved, and pushed by skopeo (which gzips the
# layers). Before each pull the system's copy is removed (berth: rmi + image prune -a), so
# every pull is fresh; the registry's blobs are in the page cache for everyone.
#
# Everything runs in a network namespace of its own with its own berthd (data in a temp
# dir) and the registry on 127.0.0.1:5000 in it; all of it is removed on exit.
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
IMG=127.0.0.1:5000/pb/big:1
REG_PID=
BERTHD_PID=
cleanup() {
  set +e
  [ -n "$BERTHD_PID" ] && { kill "$BERTHD_PID"; for _ in $(seq 100); do alive "$BERTHD_PID" || break; sleep 0.05; done; }
  [ -n "$REG_PID" ] && kill "$REG_PID"
  ip netns delete "$NS" 2>/dev/null
  remove_tree "$W"
}
trap cleanup EXIT

nsx() { nsenter --net="/run/netns/$NS" -- "$@"; }
bz() { "$BIN/berth" -H "unix://$SOCK" "$@"; }
pm() {
  nsx podman --root "$W/podman/root" --runroot "$W/podman/run" --storage-driver overlay \
    --cgroup-manager cgroupfs --events-backend none "$@"
}
now_us() { echo "${EPOCHREALTIME/./}"; }
record() { printf '%s\t%s\n' "$1" "$2" >>"$RAW"; }

make_busybox_rootfs "$W/rootfs"
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

log "building $IMG (4 layers)"
# layer 1: busybox and ~100 MB of real files, imported as one layer
cp -a "$W/rootfs" "$W/base"
mkdir -p "$W/base/usr/lib"
cp -a /usr/lib/python3 /usr/lib/python3.11 "$W/base/usr/lib/"
tar -C "$W/base" -cf "$W/base.tar" .
bz import "$W/base.tar" pb/l1 >/dev/null
rm -rf "$W/base" "$W/base.tar"
prev=pb/l1
for n in 2 3 4; do
  bz run --name "l$n" "$prev" sh -c "head -c 52428800 /dev/urandom > /r$n" >/dev/null
  bz commit "l$n" "pb/l$n" >/dev/null
  prev=pb/l$n
done
bz save -o "$W/big.tar" pb/l4
nsx skopeo copy -q --dest-tls-verify=false "docker-archive:$W/big.tar" "docker://$IMG"
bz rm l2 l3 l4 >/dev/null
bz rmi pb/l1 pb/l2 pb/l3 pb/l4 >/dev/null
bz image prune -a -f >/dev/null || true
rm -f "$W/big.tar"
MANIFEST=$(nsx skopeo inspect --raw --tls-verify=false "docker://$IMG")
CMB=$(echo "$MANIFEST" | jq '[.layers[].size] | add / 1048576')
NL=$(echo "$MANIFEST" | jq '.layers | length')
log "image: $NL layers, $(printf %.1f "$CMB") MiB compressed"

run_one() {
  local s=$1 t0 t
  case $s in
    berth)
      t0=$(now_us)
      if [ -n "${BERTH_TRACE:-}" ]; then
        # every progress message (JSON) with its time since the start, in µs
        curl -sN --unix-socket "$SOCK" -X POST "http://x/images/create?fromImage=${IMG%:*}&tag=${IMG##*:}" |
          while IFS= read -r l; do echo "$(($(now_us) - t0)) $l"; done >>"$OUT/pull-trace.txt"
      else
        bz pull -q "$IMG" >/dev/null || die "berth pull failed: $(tail -5 "$W/berthd.log")"
      fi
      t=$(($(now_us) - t0))
      bz rmi "$IMG" >/dev/null
      bz image prune -a -f >/dev/null || true
      ;;
    podman)
      t0=$(now_us)
      pm pull -q --tls-verify=false "$IMG" >/dev/null || die "podman pull failed"
      t=$(($(now_us) - t0))
      pm rmi -af >/dev/null
      ;;
    skopeo)
      rm -rf "$W/skopeo-oci"
      t0=$(now_us)
      nsx skopeo copy -q --src-tls-verify=false "docker://$IMG" "oci:$W/skopeo-oci:big" || die "skopeo failed"
      t=$(($(now_us) - t0))
      rm -rf "$W/skopeo-oci"
      ;;
  esac
  record "$s" "$(awk -v us="$t" 'BEGIN{printf "%.3f", us/1e6}')"
}

read -ra SYS <<<"$SYSTEMS"
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < ${#SYS[@]}; k++)); do
    run_one "${SYS[$(((k + r) % ${#SYS[@]}))]}"
  done
done

median() { grep "^$1	" "$RAW" | cut -f2 | sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
echo "== pull of $IMG: $NL layers, $(printf %.1f "$CMB") MiB compressed; $ROUNDS rounds, medians =="
printf '%-8s %10s %10s\n' system seconds 'MiB/s'
for s in "${SYS[@]}"; do
  m=$(median "$s")
  printf '%-8s %10s %10s\n' "$s" "$m" "$(awk -v m="$m" -v c="$CMB" 'BEGIN{printf "%.1f", c/m}')"
done
b=$(median berth)
for s in podman skopeo; do
  [[ " $SYSTEMS " == *" $s "* && " $SYSTEMS " == *" berth "* ]] || continue
  echo "berth/$s (time): $(awk -v a="$b" -v c="$(median "$s")" 'BEGIN{printf "%.2f", a/c}')"
done
echo "raw samples: $RAW"
