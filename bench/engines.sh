#!/bin/bash
# bench/engines.sh [RUNS]: end to end through the engines, with husk, crun and runc as the runtime,
# alternating: `podman run --rm busybox true` and `ctr run --rm busybox true`. Prints medians and
# the husk/crun and husk/runc ratios. Everything runs inside one private namespace (../shared/peers).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$here/../shared/peers
. "$here/bench/lib.sh"
runs=${1:-20}
[ -x "$here/build/husk-oci" ] || { echo "bench: make first" >&2; exit 1; }
for tool in podman containerd crun runc jq bc; do command -v $tool >/dev/null || apt-get install -y -qq $tool >/dev/null; done
work=$(mktemp -d /tmp/bench-engines.XXXXXX)
trap 'rm -rf "$work"' EXIT
podman_busybox "$work"
cat > "$work/inner.sh" <<INNER
set -e
export CONTAINERS_CONF=$work/pod/containers.conf CONTAINERS_STORAGE_CONF=$work/pod/storage.conf
C="$peers/containerd.sh $work/cd"
\$C start
\$C ctr image import --base-name localhost/busybox $work/bb.tar >/dev/null
declare -A rt=([husk]=$here/build/husk-oci [crun]=\$(command -v crun) [runc]=\$(command -v runc))
for r in husk crun runc; do podman run --rm --runtime \${rt[\$r]} localhost/busybox true; done   # warm-up
for i in \$(seq $runs); do
	for r in husk crun runc; do
		t0=\$EPOCHREALTIME; podman run --rm --runtime \${rt[\$r]} localhost/busybox true; t1=\$EPOCHREALTIME
		echo "podman \$r \$(( \${t1/./} - \${t0/./} ))"
		t0=\$EPOCHREALTIME; \$C ctr run --rm --runc-binary \${rt[\$r]} localhost/busybox:latest b\$i-\$r true; t1=\$EPOCHREALTIME
		echo "ctr \$r \$(( \${t1/./} - \${t0/./} ))"
	done
done
\$C stop
INNER
"$peers/ns.sh" bash "$work/inner.sh" > "$work/times"
echo "engine  runtime  median (ms)   runs: $runs, busybox true, alternating"
for e in podman ctr; do
	for r in husk crun runc; do
		m=$(awk -v e=$e -v r=$r '$1 == e && $2 == r {print $3}' "$work/times" | median)
		declare "m_${e}_$r=$m"
		printf '%-7s %-8s %8.1f\n' "$e" "$r" "$(echo "$m / 1000" | bc -l)"
	done
	eval "h=\$m_${e}_husk c=\$m_${e}_crun u=\$m_${e}_runc"
	printf '%-7s husk/crun %.2f, husk/runc %.2f\n' "$e" "$(echo "$h / $c" | bc -l)" "$(echo "$h / $u" | bc -l)"
done
remove_empty_cgroup_parents libpod_parent default
