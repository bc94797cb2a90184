#!/bin/bash
# bench/network.sh [RUNS]: what a container's network costs at start-up. `husk run --rm busybox
# true` with --network none and with the default bridge (veth, address lease, routes), and
# podman (crun, netavark) the same two ways, alternating in one private namespace from
# ../shared/peers; medians, the network's share (bridge - none) and the ratio of the shares.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$here/../shared/peers
. "$here/bench/lib.sh"
runs=${1:-15}
[ -x "$here/build/husk" ] || { echo "bench: make first" >&2; exit 1; }
for tool in podman crun bc; do command -v $tool >/dev/null || apt-get install -y -qq $tool >/dev/null; done
work=$(mktemp -d /tmp/bench-network.XXXXXX)
trap 'rm -rf "$work"' EXIT

podman_busybox "$work"
cat > "$work/inner.sh" <<INNER
set -e
export CONTAINERS_CONF=$work/pod/containers.conf CONTAINERS_STORAGE_CONF=$work/pod/storage.conf
H="$here/build/husk --storage $work/husk --root $work/run"
\$H image load $work/bb.tar >/dev/null
crun=\$(command -v crun)
# warm-up: the first bridge run makes husk0 and husk's table, podman's its network
for net in none bridge; do
	\$H run --rm --network \$net localhost/busybox true
	podman run --rm --runtime \$crun --network \$net localhost/busybox true
done
for i in \$(seq $runs); do
	for net in none bridge; do
		t0=\$EPOCHREALTIME; \$H run --rm --network \$net localhost/busybox true; t1=\$EPOCHREALTIME
		echo "husk-\$net \$(( \${t1/./} - \${t0/./} ))"
		t0=\$EPOCHREALTIME; podman run --rm --runtime \$crun --network \$net localhost/busybox true; t1=\$EPOCHREALTIME
		echo "podman-\$net \$(( \${t1/./} - \${t0/./} ))"
	done
done
INNER
"$peers/ns.sh" bash "$work/inner.sh" > "$work/times"
m() { awk -v k="$1" '$1 == k {print $2}' "$work/times" | median; }
hn=$(m husk-none); hb=$(m husk-bridge); pn=$(m podman-none); pb=$(m podman-bridge)
echo "run --rm busybox true (runs: $runs, alternating, median ms)"
printf '  husk run --network none                     %8.1f\n' "$(echo "$hn / 1000" | bc -l)"
printf '  husk run --network bridge                   %8.1f\n' "$(echo "$hb / 1000" | bc -l)"
printf '  podman run --runtime crun --network none    %8.1f\n' "$(echo "$pn / 1000" | bc -l)"
printf '  podman run --runtime crun --network bridge  %8.1f\n' "$(echo "$pb / 1000" | bc -l)"
printf '  network share: husk %.2f ms, podman %.2f ms, husk/podman %.2f\n' "$(echo "($hb - $hn) / 1000" | bc -l)" \
	"$(echo "($pb - $pn) / 1000" | bc -l)" "$(echo "($hb - $hn) / ($pb - $pn)" | bc -l)"
remove_empty_cgroup_parents libpod_parent
