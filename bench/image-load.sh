#!/usr/bin/env bash
# Loading a docker-archive of ~300 MB in 4 gzip layers: berth vs podman vs the physical
# reference (gzip -dc | tar -x of the same layers, one after another and in parallel).
#
#   bench/image-load.sh [ROUNDS=3] [LAYER_MB=75]
#
# Every round loads into a fresh, empty store, each system in turn (rotating order), so the
# systems share the machine's noise; compare the ratios of one run. podman uses private
# storage (overlay driver) under the bench's temp dir; nothing touches the host's stores.
#
# env: BERTH (default target/release/berth), BENCH_OUT (default target/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-3}
LAYER_MB=${2:-75}
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || die "$BERTH is not built (cargo build --release -p berth-cli)"
command -v podman >/dev/null || die "podman is not installed (scripts/setup.sh installs it)"
W=$(mktemp -d /tmp/berth-bench-load.XXXXXX)
OUT=${BENCH_OUT:-$PWD/target/bench}
mkdir -p "$OUT"
TSV=$OUT/image-load-$(date +%Y%m%d-%H%M%S)-$$.tsv
cleanup() {
  # podman's overlay mounts of its private store, if any are left
  grep -o " ${W}[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

log "making 4 layers of ~$LAYER_MB MB (mixed text and random data), gzip"
python3 - "$W" "$LAYER_MB" <<'PY'
import hashlib, io, json, os, random, sys, tarfile, gzip
w, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
words = [("w%05d" % i).encode() for i in range(5000)]
layers, diff_ids = [], []
os.makedirs(f"{w}/archive", exist_ok=True)
for n in range(4):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        size, i = 0, 0
        while size < mb * 1024 * 1024:
            if i % 3 == 0:
                data = rnd.randbytes(rnd.randint(4096, 262144))        # incompressible
            else:
                data = b" ".join(rnd.choice(words) for _ in range(rnd.randint(500, 40000)))
            info = tarfile.TarInfo(f"layer{n}/d{i // 100}/f{i}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            t.addfile(info, io.BytesIO(data))
            size += len(data); i += 1
    tar = raw.getvalue()
    diff = hashlib.sha256(tar).hexdigest()
    gz = gzip.compress(tar, compresslevel=6, mtime=0)
    name = f"{diff}/layer.tar.gz"
    os.makedirs(f"{w}/archive/{diff}", exist_ok=True)
    open(f"{w}/archive/{name}", "wb").write(gz)
    open(f"{w}/layer{n}.tar.gz", "wb").write(gz)
    layers.append(name); diff_ids.append("sha256:" + diff)
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": diff_ids},
    "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"layer {i}"} for i in range(4)]}).encode()
cdig = hashlib.sha256(config).hexdigest()
open(f"{w}/archive/{cdig}.json", "wb").write(config)
json.dump([{"Config": f"{cdig}.json", "RepoTags": ["bench/big:1"], "Layers": layers}], open(f"{w}/archive/manifest.json", "w"))
PY
tar -C "$W/archive" -cf "$W/big.tar" .
log "archive: $(du -m "$W/big.tar" | cut -f1) MB"

# private podman configuration (cgroupfs, file events, no network needed for load)
mkdir -p "$W/podman"
cat >"$W/podman/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$W/podman/runroot"
graphroot = "$W/podman/root"
CONF
: >"$W/podman/containers.conf"
printf 'unqualified-search-registries = []\n' >"$W/podman/registries.conf"
pm() {
  CONTAINERS_STORAGE_CONF=$W/podman/storage.conf CONTAINERS_CONF=$W/podman/containers.conf \
  CONTAINERS_REGISTRIES_CONF=$W/podman/registries.conf \
    podman --root "$W/podman/root" --runroot "$W/podman/runroot" --tmpdir "$W/podman/tmp" \
      --cgroup-manager cgroupfs --events-backend file "$@"
}

record() { printf '%s\t%s\n' "$1" "$2" >>"$TSV"; }
run_one() {
  local sys=$1 t0 t1
  case $sys in
    berth)
      rm -rf "$W/berth"
      t0=${EPOCHREALTIME/./}; "$BERTH" --data-root "$W/berth" load -i "$W/big.tar" >/dev/null; t1=${EPOCHREALTIME/./} ;;
    podman)
      pm system reset -f >/dev/null 2>&1 || true
      rm -rf "$W/podman/root" "$W/podman/runroot" "$W/podman/tmp"; mkdir -p "$W/podman/tmp"
      t0=${EPOCHREALTIME/./}; pm load -q -i "$W/big.tar" >/dev/null; t1=${EPOCHREALTIME/./} ;;
    tar-sequential)
      rm -rf "$W/ref"; mkdir -p "$W/ref"
      t0=${EPOCHREALTIME/./}
      for n in 0 1 2 3; do gzip -dc "$W/layer$n.tar.gz" | tar -x -C "$W/ref"; done
      t1=${EPOCHREALTIME/./} ;;
    tar-parallel)
      rm -rf "$W/ref"; mkdir -p "$W/ref"
      t0=${EPOCHREALTIME/./}
      for n in 0 1 2 3; do (gzip -dc "$W/layer$n.tar.gz" | tar -x -C "$W/ref") & done; wait
      t1=${EPOCHREALTIME/./} ;;
  esac
  sync
  record "$sys" $((t1 - t0))
}

systems=(berth podman tar-sequential tar-parallel)
for ((r = 0; r < ROUNDS; r++)); do
  for ((j = 0; j < ${#systems[@]}; j++)); do
    run_one "${systems[(r + j) % ${#systems[@]}]}"
  done
  log "round $((r + 1))/$ROUNDS done"
done
pm system reset -f >/dev/null 2>&1 || true

median() { awk -F'\t' -v s="$1" '$1==s {print $2}' "$TSV" | sort -n | awk '{a[NR]=$1} END {if (NR==0) print "NA"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo "== load of a $(du -m "$W/big.tar" | cut -f1) MB docker-archive (4 gzip layers), $ROUNDS rounds, median seconds =="
for s in "${systems[@]}"; do printf '%-16s %8.2f s\n' "$s" "$(awk -v u="$(median "$s")" 'BEGIN {print u/1e6}')"; done
b=$(median berth)
printf 'ratios: berth/tar-parallel %.2f  berth/tar-sequential %.2f  berth/podman %.2f\n' \
  "$(awk -v a="$b" -v c="$(median tar-parallel)" 'BEGIN {print a/c}')" \
  "$(awk -v a="$b" -v c="$(median tar-sequential)" 'BEGIN {print a/c}')" \
  "$(awk -v a="$b" -v c="$(median podman)" 'BEGIN {print a/c}')"
echo "raw samples: $TSV"
