#!/bin/bash
# bench/start.sh [RUNS]: start-up latency of `RUNTIME run` with /bin/true, husk vs crun vs runc,
# in the same bundle, alternating, RUNS times each; prints each one's median and the ratios.
# HUSK_BASELINE=/path/to/an/older/husk adds it to the same run (a regression check).
# Runs in a private mount namespace with the empty cgroup2 mount hidden: crun refuses hybrid
# cgroup hosts otherwise (see ../shared/peers/ns.sh); husk and runc run in the same place.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-100}
husk=$here/build/husk
[ -x "$husk" ] || { echo "bench: build husk first (make)" >&2; exit 1; }
for dep in crun runc jq; do
	command -v $dep >/dev/null || apt-get install -y -qq $dep >/dev/null
done

if [ -z "${HUSK_BENCH_INNER:-}" ]; then
	exec unshare --mount --propagation private env HUSK_BENCH_INNER=1 "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi

work=$(mktemp -d /tmp/bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/tests/make-rootfs.sh" "$work/bundle/rootfs"
"$husk" oci spec --bundle "$work/bundle"
# one config for all three: the default namespaces (pid, net, ipc, uts, mount, cgroup),
# masked and read-only paths, capabilities, no seccomp filter
jq '.process.args = ["/bin/true"] | .ociVersion = "1.0.2"' "$work/bundle/config.json" > "$work/c" && mv "$work/c" "$work/bundle/config.json"

declare -A cmd times
cmd[husk]="$husk oci --root $work/state-husk"
cmd[crun]="crun --root $work/state-crun"
cmd[runc]="runc --root $work/state-runc"
order=(husk crun runc)
if [ -n "${HUSK_BASELINE:-}" ]; then
	cmd[baseline]="$HUSK_BASELINE oci --root $work/state-baseline"
	order+=(baseline)
fi

cd "$work/bundle"
for r in "${order[@]}"; do   # warm-up, and a check that each one works here
	${cmd[$r]} run warm-$r >/dev/null || { echo "bench: $r cannot run here" >&2; exit 1; }
done
for i in $(seq "$runs"); do
	for r in "${order[@]}"; do
		t0=$EPOCHREALTIME
		${cmd[$r]} run "b$i-$r" >/dev/null
		t1=$EPOCHREALTIME
		times[$r]+="$(( (${t1/./} - ${t0/./}) )) "
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "runtime   median (ms)   runs: $runs, /bin/true, same bundle, alternating"
for r in "${order[@]}"; do
	m=$(echo "${times[$r]}" | median)
	declare "med_$r=$m"
	printf '%-9s %8.2f\n' "$r" "$(echo "$m / 1000" | bc -l)"
done
printf 'husk/crun ratio: %.2f\nhusk/runc ratio: %.2f\n' "$(echo "$med_husk / $med_crun" | bc -l)" "$(echo "$med_husk / $med_runc" | bc -l)"
if [ -n "${HUSK_BASELINE:-}" ]; then
	printf 'husk/baseline ratio: %.2f\n' "$(echo "$med_husk / $med_baseline" | bc -l)"
fi
