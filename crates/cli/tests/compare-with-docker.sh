#!/usr/bin/env bash
# Runs the same commands through berth and the docker CLI against one daemon (dockerd
# from ../shared/peers, or berthd) and shows where stdout, stderr or the exit code
# differ. Not part of the test suite: it needs a running daemon.
#   DOCKER_HOST=unix:///tmp/peers-bench/docker/docker.sock bash crates/cli/tests/compare-with-docker.sh
set -u
B=${BERTH:-$(dirname "$0")/../../../target/release/berth}
D=${DOCKER:-/usr/local/bin/docker}
: "${DOCKER_HOST:?set DOCKER_HOST to the socket of the daemon}"
fail=0
# Volatile parts (ids, times, names the daemon picks) are not compared.
norm() { sed -E 's/[0-9a-f]{64}/<ID>/g; s/[0-9a-f]{12}/<id>/g; s/[0-9]+ (seconds|minutes) ago/<t> ago/g; s/Up [^ ]+( seconds| minutes)?/Up <t>/g'; }
cmp_run() {
  local b d
  b=$("$B" "$@" 2>&1; echo "rc=$?"); d=$("$D" "$@" 2>&1; echo "rc=$?")
  # docker decorates run/create errors ("docker: …", "Run 'docker run --help'"); drop that.
  d=$(printf '%s\n' "$d" | sed -E 's/^docker: //; /^Run .docker .* --help/d; /^$/d')
  b=$(printf '%s\n' "$b" | sed -E '/^$/d')
  if [ "$(printf '%s' "$b" | norm)" != "$(printf '%s' "$d" | norm)" ]; then
    echo "DIFF: $*"; diff <(printf '%s\n' "$b" | norm) <(printf '%s\n' "$d" | norm) | head -20; fail=1
  else
    echo "same: $*"
  fi
}
"$D" rm -f cmp-web >/dev/null 2>&1
"$D" run -d --name cmp-web -p 18080:80 -l a=1 busybox sleep 1000 >/dev/null
cmp_run run --rm busybox sh -c 'echo out; echo err >&2; exit 3'
cmp_run run --rm busybox nope
cmp_run run --rm busybox /etc
cmp_run run --rm -e A=1 -w /tmp -u 1 busybox sh -c 'echo $A $(pwd) $(id -u)'
cmp_run ps --format '{{.Names}} {{.Image}} {{.Command}} {{.Ports}} {{.Label "a"}}'
cmp_run ps -a -f name=cmp-web
cmp_run exec cmp-web sh -c 'exit 4'
cmp_run inspect -f '{{.State.Status}} {{.Name}} {{json .Config.Labels}}' cmp-web
cmp_run port cmp-web
cmp_run port cmp-web 81
cmp_run top cmp-web
cmp_run logs cmp-web
cmp_run wait nosuch
cmp_run rm nosuch
cmp_run images
cmp_run history busybox
cmp_run system df
"$D" rm -f cmp-web >/dev/null
exit $fail
