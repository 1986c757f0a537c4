# shellcheck shell=bash
# Reporting for the benchmarks that compare systems side by side (engine.sh, network.sh).
# Source it after setting TSV (the raw samples: FIGURE<TAB>SYSTEM<TAB>VALUE per line), SYS
# (the systems of the run, berth first), LABEL (system -> display name) and has().

# record FIGURE SYSTEM VALUE: one raw sample
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$TSV"; }
stats() {
  sort -n | awk '{ a[NR] = $1 }
    END { if (NR == 0) { print "NA NA NA 0"; exit }
          m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
          print m, a[1], a[NR], NR }'
}
values() { awk -F'\t' -v f="$1" -v s="$2" '$1 == f && $2 == s { print $3 }' "$TSV"; }
median() { values "$1" "$2" | stats | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }'; }
# scale V D: V / D with 1 decimal (µs -> ms: D=1000; kB -> MB: D=1024), NA stays
scale() { awk -v a="$1" -v d="$2" 'BEGIN { if (a == "NA") print "NA"; else printf "%.1f", a / d }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "NA" && b != "NA" && a + 0 < b + 0) }'; }
# shellcheck disable=SC2317  # (called as goal's 4th argument)
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "NA" && b != "NA" && a + 0 <= b + 0) }'; }

# table FIGURE TITLE DIVISOR UNIT [noratio]: median/min/max/n/failed per system, ratios of medians
table() {
  local f=$1 title=$2 d=$3 unit=$4 s med min max n fl line=
  printf '\n== %s (%s) ==\n' "$title" "$unit"
  printf '%-30s %10s %10s %10s %4s %6s\n' system median min max n failed
  for s in "${SYS[@]}"; do
    read -r med min max n < <(values "$f" "$s" | stats)
    fl=$(values "$f.failed" "$s" | wc -l)
    printf '%-30s %10s %10s %10s %4s %6s\n' "${LABEL[$s]}" "$(scale "$med" "$d")" "$(scale "$min" "$d")" "$(scale "$max" "$d")" "$n" "$fl"
  done
  if has berth && [ -z "${5:-}" ]; then
    for s in docker podman; do
      has "$s" && line+="berth/$s $(ratio "$(median "$f" berth)" "$(median "$f" "$s")")   "
    done
    [ -z "$line" ] || echo "ratios of medians: $line"
  fi
}
# goal TEXT VALUE LIMIT [le]: "goal: TEXT: met/NOT met" (VALUE < LIMIT; with le, <=)
goal() {
  local verdict="NOT met"
  if [ "$2" = NA ] || [ "$3" = NA ]; then verdict="n/a"; elif "${4:-lt}" "$2" "$3"; then verdict=met; fi
  echo "goal: $1: $verdict"
}
faster_peer() {   # FIGURE: the smallest median of the peers in PEERS (default docker podman), NA without
  local f=$1 best=NA s m
  local -a peers=(docker podman)
  # shellcheck disable=SC2153  # PEERS is the caller's (build.sh sets it), if any
  if declare -p PEERS >/dev/null 2>&1; then peers=("${PEERS[@]}"); fi
  for s in "${peers[@]}"; do
    has "$s" || continue
    m=$(median "$f" "$s")
    [ "$m" = NA ] && continue
    if [ "$best" = NA ] || lt "$m" "$best"; then best=$m; fi
  done
  echo "$best"
}
