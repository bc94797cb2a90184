#!/bin/bash
# bench/dns.sh [RUNS]: what name resolution on a user network costs. husk (husk-dns, started on
# demand) against podman (crun, netavark, aardvark-dns), alternating, in one private namespace
# from ../shared/peers; medians in ms.
#   1. start-up: `run --rm busybox true` on the default network (no names) and on a user network
#      whose responder must be started ("cold": no other container on it) or is already up
#      ("warm": a container sleeps on it);
#   2. a lookup from a container: N `nslookup web` in a loop inside a container of the network
#      (each a busybox process asking A and AAAA), per lookup, less a loop of /bin/true (the
#      process); names of the world are left out: nothing may leave the namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$here/../shared/peers
. "$here/bench/lib.sh"
runs=${1:-15}
lookups=${LOOKUPS:-200}
[ -x "$here/build/husk" ] && [ -x "$here/build/husk-dns" ] || { echo "bench: make first" >&2; exit 1; }
for tool in podman crun bc; do command -v $tool >/dev/null || apt-get install -y -qq $tool >/dev/null; done
work=$(mktemp -d /tmp/bench-dns.XXXXXX)
trap 'rm -rf "$work"' EXIT

podman_busybox "$work"
cat > "$work/inner.sh" <<INNER
set -e
export CONTAINERS_CONF=$work/pod/containers.conf CONTAINERS_STORAGE_CONF=$work/pod/storage.conf
H="$here/build/husk --storage $work/husk --root $work/run"
P="podman"
crun=\$(command -v crun)
\$H image load $work/bb.tar >/dev/null
\$H network create --subnet 10.90.0.0/24 hlab >/dev/null
\$P network create --subnet 10.91.0.0/24 plab >/dev/null
ms() { echo "\$1 \$(( \${3/./} - \${2/./} ))"; }
# warm-up: the default bridges made, both user networks once
for net in bridge; do
	\$H run --rm --network \$net localhost/busybox true
	\$P run --rm --runtime \$crun --network podman localhost/busybox true
done
\$H run --rm --network hlab localhost/busybox true
\$P run --rm --runtime \$crun --network plab localhost/busybox true
one() { # label, command...
	local l=\$1 t0 t1; shift
	t0=\$EPOCHREALTIME; "\$@" >/dev/null 2>&1; t1=\$EPOCHREALTIME; ms \$l \$t0 \$t1
}
# the responders exit between cold runs: wait until they are gone
gone() {
	for i in \$(seq 100); do
		flock -n $work/run-engine/dns/hlab.lock true 2>/dev/null && ! pgrep -f "aardvark-dns.*$work" >/dev/null && return 0
		sleep 0.05
	done
}
for i in \$(seq $runs); do
	one husk-default \$H run --rm localhost/busybox true
	one podman-default \$P run --rm --runtime \$crun --network podman localhost/busybox true
	gone; one husk-cold \$H run --rm --network hlab localhost/busybox true
	gone; one podman-cold \$P run --rm --runtime \$crun --network plab localhost/busybox true
done
\$H run -d --name web --network hlab localhost/busybox sleep 1000 >/dev/null
\$P run -d --runtime \$crun --name web --network plab localhost/busybox sleep 1000 >/dev/null
for i in \$(seq $runs); do
	one husk-warm \$H run --rm --network hlab localhost/busybox true
	one podman-warm \$P run --rm --runtime \$crun --network plab localhost/busybox true
done
\$H run -d --name client --network hlab localhost/busybox sleep 1000 >/dev/null
\$P run -d --runtime \$crun --name client --network plab localhost/busybox sleep 1000 >/dev/null
loop='i=0; while [ \$i -lt $lookups ]; do nslookup web >/dev/null || exit 1; i=\$((i+1)); done'
base='i=0; while [ \$i -lt $lookups ]; do /bin/true || exit 1; i=\$((i+1)); done'
for i in 1 2 3; do
	one husk-lookups \$H exec client sh -c "\$loop"
	one husk-noop \$H exec client sh -c "\$base"
	one podman-lookups \$P exec client sh -c "\$loop"
	one podman-noop \$P exec client sh -c "\$base"
done
ps -o rss= -p \$(cat $work/run-engine/dns/hlab.pid) | sed 's/^/husk-dns-rss /'
ps -o rss= -C aardvark-dns | head -1 | sed 's/^/aardvark-rss /'
\$H rm -f web client >/dev/null
\$P rm -f -t 0 web client >/dev/null
\$P network rm plab >/dev/null
INNER
"$peers/ns.sh" bash "$work/inner.sh" > "$work/times"
m() { awk -v k="$1" '$1 == k {print $2}' "$work/times" | median; }
f() { printf '%8.1f' "$(echo "$1 / 1000" | bc -l)"; }
echo "run --rm busybox true (runs: $runs, alternating, median ms)"
printf '                                   husk   podman\n'
for k in default cold warm; do
	printf '  %-30s %s %s\n' "$k" "$(f "$(m husk-$k)")" "$(f "$(m podman-$k)")"
done
printf '  names add, cold: husk %.1f ms, podman %.1f ms; warm: husk %.1f ms, podman %.1f ms\n' \
	"$(echo "($(m husk-cold) - $(m husk-default)) / 1000" | bc -l)" "$(echo "($(m podman-cold) - $(m podman-default)) / 1000" | bc -l)" \
	"$(echo "($(m husk-warm) - $(m husk-default)) / 1000" | bc -l)" "$(echo "($(m podman-warm) - $(m podman-default)) / 1000" | bc -l)"
echo "a lookup from a container ($lookups nslookup in a loop, A + AAAA each; minus the same loop of /bin/true; median of 3, ms per lookup)"
for t in husk podman; do
	printf '  %-8s %.3f ms (%.3f with the process)\n' $t "$(echo "($(m $t-lookups) - $(m $t-noop)) / 1000 / $lookups" | bc -l)" \
		"$(echo "$(m $t-lookups) / 1000 / $lookups" | bc -l)"
done
printf '  responder RSS: husk-dns %s KiB, aardvark-dns %s KiB\n' "$(awk '$1 == "husk-dns-rss" {print $2}' "$work/times")" \
	"$(awk '$1 == "aardvark-rss" {print $2}' "$work/times")"
remove_empty_cgroup_parents libpod_parent
