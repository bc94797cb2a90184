#!/bin/bash
# bench/images.sh [RUNS]: the engine side by side with its peers, alternating, medians and ratios.
#  1. `husk run --rm busybox true` against `podman run --rm --runtime crun --network none
#     busybox true`, the same image (podman's own save, loaded into husk), both inside one
#     private namespace from ../shared/peers (see bench/README.md for podman's configuration);
#  2. unpacking a large multi-layer image (6 layers, 12 000 files, 120 MB): `husk image load`
#     of the OCI layout into an empty store against `umoci unpack` of the same layout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$here/../shared/peers
. "$here/bench/lib.sh"
runs=${1:-15}
[ -x "$here/build/husk" ] || { echo "bench: make first" >&2; exit 1; }
for tool in podman crun umoci bc; do command -v $tool >/dev/null || apt-get install -y -qq $tool >/dev/null; done
work=$(mktemp -d /tmp/bench-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

podman_busybox "$work"
cat > "$work/inner.sh" <<INNER
set -e
export CONTAINERS_CONF=$work/pod/containers.conf CONTAINERS_STORAGE_CONF=$work/pod/storage.conf
H="$here/build/husk --storage $work/husk --root $work/run"
\$H image load $work/bb.tar >/dev/null
crun=\$(command -v crun)
\$H run --rm localhost/busybox true; podman run --rm --runtime \$crun --network none localhost/busybox true  # warm-up
for i in \$(seq $runs); do
	t0=\$EPOCHREALTIME; \$H run --rm localhost/busybox true; t1=\$EPOCHREALTIME
	echo "husk \$(( \${t1/./} - \${t0/./} ))"
	t0=\$EPOCHREALTIME; podman run --rm --runtime \$crun --network none localhost/busybox true; t1=\$EPOCHREALTIME
	echo "podman \$(( \${t1/./} - \${t0/./} ))"
done
INNER
"$peers/ns.sh" bash "$work/inner.sh" > "$work/times"
h=$(awk '$1 == "husk" {print $2}' "$work/times" | median)
p=$(awk '$1 == "podman" {print $2}' "$work/times" | median)
echo "run --rm busybox true (runs: $runs, alternating, median ms)"
printf '  husk run                       %8.1f\n' "$(echo "$h / 1000" | bc -l)"
printf '  podman run --runtime crun      %8.1f\n' "$(echo "$p / 1000" | bc -l)"
printf '  husk/podman %.2f\n' "$(echo "$h / $p" | bc -l)"

# a large multi-layer image, made with umoci
(
	cd "$work"
	umoci init --layout big && umoci new --image big:t
	for layer in 1 2 3 4 5 6; do
		umoci unpack --image big:t b >/dev/null
		mkdir -p b/rootfs/l$layer
		for d in $(seq 20); do
			mkdir -p b/rootfs/l$layer/d$d
			for f in $(seq 100); do echo "layer $layer dir $d file $f" > b/rootfs/l$layer/d$d/f$f; done
		done
		head -c 20M /dev/urandom > b/rootfs/l$layer/blob
		[ $layer -gt 1 ] && rm -rf b/rootfs/l$((layer - 1))/d1
		umoci repack --image big:t b && rm -rf b
	done
) >/dev/null 2>&1
loads=$(( runs < 5 ? runs : 5 ))
for i in $(seq $loads); do
	rm -rf "$work/store" "$work/bundle"
	t0=$EPOCHREALTIME; "$here/build/husk" --storage "$work/store" image load "$work/big" >/dev/null; t1=$EPOCHREALTIME
	echo "husk $(( ${t1/./} - ${t0/./} ))"
	t0=$EPOCHREALTIME; umoci unpack --image "$work/big:t" "$work/bundle" >/dev/null 2>&1; t1=$EPOCHREALTIME
	echo "umoci $(( ${t1/./} - ${t0/./} ))"
done > "$work/unpack"
h=$(awk '$1 == "husk" {print $2}' "$work/unpack" | median)
u=$(awk '$1 == "umoci" {print $2}' "$work/unpack" | median)
echo "unpack 6 layers, 12 000 files, 120 MB (runs: $loads, median ms)"
printf '  husk image load                %8.1f\n' "$(echo "$h / 1000" | bc -l)"
printf '  umoci unpack                   %8.1f\n' "$(echo "$u / 1000" | bc -l)"
printf '  husk/umoci %.2f\n' "$(echo "$h / $u" | bc -l)"
remove_empty_cgroup_parents libpod_parent
