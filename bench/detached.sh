#!/bin/bash
# bench/detached.sh [RUNS]: husk's detached engine (a monitor per container, idle it is the
# static husk-monitor relay) side by side with podman (conmon, crun), in one private namespace
# from ../shared/peers, alternating; medians and ratios:
#  1. `run -d` + `stop -t 0` + `rm` of one busybox `sleep 1000`, RUNS rounds;
#  2. `ps -a` with 100 containers made with run -d, RUNS rounds;
#  3. host memory of each container's monitor (husk-monitor; podman's conmon): RSS, PSS and
#     Private (Private_Clean + Private_Dirty) from /proc/PID/smaps_rollup, for ONE idle
#     container alone and averaged over 100, with the single ones' largest mappings;
#  4. the foreground run: `husk run --rm --network none busybox true` against `husk-oci run`
#     of the same rootfs with husk's default spec and `podman run --rm --network none`.
# HUSK_BASELINE=/path/to/an/older/husk adds its `run --rm` and `oci run` to 4 (what the
# monitor costs the foreground run). podman runs with --runtime crun --network none, husk with
# --network none: nothing touches the host's network. Every container of both engines, the
# stores and podman's state go away at the end, also when interrupted.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$here/../shared/peers
. "$here/bench/lib.sh"
runs=${1:-20}
count=${HUSK_BENCH_COUNT:-100}
[ -x "$here/build/husk" ] && [ -x "$here/build/husk-monitor" ] || { echo "bench: make first" >&2; exit 1; }
for tool in podman crun jq bc; do command -v $tool >/dev/null || apt-get install -y -qq $tool >/dev/null; done
work=$(mktemp -d /tmp/bench-detached.XXXXXX)
# runtime state where it lives in use: on /run (tmpfs); the stores stay on disk
runwork=$(mktemp -d /run/bench-detached.XXXXXX)

# The monitors and conmons live in their own sessions: an interrupt does not reach them, and
# they keep the private namespace alive. inner.sh removes its containers on the way out; this
# is the net under it (inner.sh itself killed): the processes still running from this run's
# store (monitors, conmons, podman and husk commands: their command lines or environments name
# it) and their children (the containers' inits), by pid; then the cgroups their containers
# left (husk's <cgroup>/husk/ID, crun's libpod_parent/libpod-ID: only ever rmdir'd, so only
# when empty).
leftovers() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != $$ ] || continue
		grep -qaF "$work/" "$p/cmdline" "$p/environ" 2>/dev/null || continue
		echo "${p#/proc/}"; cat "$p"/task/*/children 2>/dev/null
	done
	true
}
cleanup() {
	trap - EXIT INT TERM
	local pids pass id d
	for pass in 1 2 3 4 5; do
		pids=$(leftovers)
		[ -n "$pids" ] || break
		echo "bench: killing what was left: $(echo $pids)" >&2
		kill -9 $pids 2>/dev/null || true
		sleep 0.5
	done
	for id in $(ls "$work/husk/containers" 2>/dev/null); do
		for d in /sys/fs/cgroup/*/husk/"$id" /sys/fs/cgroup/husk/"$id"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
	done
	rm -rf "$work" "$runwork"
	remove_empty_cgroup_parents libpod_parent
}
trap cleanup EXIT
trap 'exit 130' INT TERM

podman_busybox "$work"
rootfs=$work/pod/rootfs   # the rootfs podman imported: the husk-oci bundle's too
mkdir -p "$work/bundle"
"$here/build/husk" oci spec --bundle "$work/bundle"
jq --arg root "$rootfs" '.process.args = ["true"] | .process.terminal = false | .root.path = $root' "$work/bundle/config.json" > "$work/c" && mv "$work/c" "$work/bundle/config.json"

cat > "$work/inner.sh" <<'INNER'
set -euo pipefail
export CONTAINERS_CONF=$work/pod/containers.conf CONTAINERS_STORAGE_CONF=$work/pod/storage.conf
H="$here/build/husk --storage $work/husk --root $runwork/run"
B=${HUSK_BASELINE:+$HUSK_BASELINE --storage $work/base --root $runwork/base-run}
crun=$(command -v crun)
P="podman"
PR="podman run --runtime $crun --network none"
out=$work/results

gone() {
	trap - EXIT INT TERM
	local ids
	ids=$($H ps -aq 2>/dev/null) && [ -n "$ids" ] && $H rm -f $ids >/dev/null 2>&1
	$P rm -f -a -t 0 >/dev/null 2>&1
	true
}
trap gone EXIT
trap 'exit 130' INT TERM

us() { echo $(( ${2/./} - ${1/./} )); }
# RSS PSS PRIVATE (KiB) of PID
mem() { awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} /^Private_(Clean|Dirty):/ {v += $2} END {print r, p, v}' "/proc/$1/smaps_rollup"; }
ppid() { awk '/^PPid:/ {print $2}' "/proc/$1/status"; }
# the largest mappings of PID: KiB rss, pss, private, then perms and what is mapped
mappings() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / {k = $2 " " ($6 == "" ? "[anon]" : $6); if (!(k in r)) o[n++] = k; next}
	     /^Rss:/ {r[k] += $2} /^Pss:/ {p[k] += $2} /^Private_(Clean|Dirty):/ {v[k] += $2}
	     END {for (i = 0; i < n; i++) if (r[o[i]] > 0) printf "    %6d %6d %6d  %s\n", r[o[i]], p[o[i]], v[o[i]], o[i]}' "/proc/$1/smaps" |
		sort -k1,1nr | head -12
}
# the monitor of husk's container NAME, of podman's container NAME: pid
hmon() { local p; p=$(ppid "$($H inspect -f '{{.State.Pid}}' "$1")"); [ "$(cat /proc/$p/comm)" = husk-monitor ] || { echo "bench: $1's parent $p is $(cat /proc/$p/comm), not husk-monitor" >&2; exit 1; }; echo $p; }
pmon() { local p; p=$(ppid "$($P inspect -f '{{.State.Pid}}' "$1")"); [ "$(cat /proc/$p/comm)" = conmon ] || { echo "bench: $1's parent $p is $(cat /proc/$p/comm), not conmon" >&2; exit 1; }; echo $p; }

$H image load $work/bb.tar >/dev/null
[ -z "$B" ] || $B image load $work/bb.tar >/dev/null
# warm-up, and a check that each works here
$H run -d --name warm --network none localhost/busybox sleep 1000 >/dev/null; $H stop -t 0 warm >/dev/null; $H rm warm >/dev/null
$PR -d --name warm localhost/busybox sleep 1000 >/dev/null; $P stop -t 0 warm >/dev/null; $P rm warm >/dev/null

# 1. run -d, stop -t 0, rm
for i in $(seq $runs); do
	t0=$EPOCHREALTIME; $H run -d --name d$i --network none localhost/busybox sleep 1000 >/dev/null
	t1=$EPOCHREALTIME; $H stop -t 0 d$i >/dev/null
	t2=$EPOCHREALTIME; $H rm d$i >/dev/null
	t3=$EPOCHREALTIME
	echo "T husk-run $(us $t0 $t1)"; echo "T husk-stop $(us $t1 $t2)"; echo "T husk-rm $(us $t2 $t3)"; echo "T husk-all $(us $t0 $t3)"
	t0=$EPOCHREALTIME; $PR -d --name d$i localhost/busybox sleep 1000 >/dev/null
	t1=$EPOCHREALTIME; $P stop -t 0 d$i >/dev/null
	t2=$EPOCHREALTIME; $P rm d$i >/dev/null
	t3=$EPOCHREALTIME
	echo "T podman-run $(us $t0 $t1)"; echo "T podman-stop $(us $t1 $t2)"; echo "T podman-rm $(us $t2 $t3)"; echo "T podman-all $(us $t0 $t3)"
done >> $out

# 3a. one idle container alone
$H run -d --name m1 --network none localhost/busybox sleep 1000 >/dev/null
$PR -d --name m1 localhost/busybox sleep 1000 >/dev/null
sleep 2   # idle: let both settle after start
hm=$(hmon m1); pm=$(pmon m1)
{ echo "M1 husk $(mem $hm)"; echo "M1 podman $(mem $pm)"; } >> $out
{ echo "husk-monitor (pid $hm), one container: rss pss private (KiB), perms, mapping"; mappings $hm
  echo "conmon (pid $pm), one container: rss pss private (KiB), perms, mapping"; mappings $pm; } > $work/mappings

# 2. and 3b. COUNT containers
for i in $(seq 2 $count); do
	$H run -d --name m$i --network none localhost/busybox sleep 1000 >/dev/null
	$PR -d --name m$i localhost/busybox sleep 1000 >/dev/null
done
sleep 2
for i in $(seq $count); do
	hm=$(hmon m$i); pm=$(pmon m$i)
	echo "MN husk $(mem $hm)"
	echo "MN podman $(mem $pm)"
done >> $out
[ "$($H ps -aq | wc -l)" = $count ] && [ "$($P ps -aq | wc -l)" = $count ] || { echo "bench: not $count containers each" >&2; exit 1; }
for i in $(seq $runs); do
	t0=$EPOCHREALTIME; $H ps -a >/dev/null; t1=$EPOCHREALTIME
	echo "T husk-ps $(us $t0 $t1)"
	t0=$EPOCHREALTIME; $P ps -a >/dev/null; t1=$EPOCHREALTIME
	echo "T podman-ps $(us $t0 $t1)"
done >> $out
gone
trap gone EXIT

# 4. the foreground run
O="$here/build/husk-oci --root $runwork/oci"
BO=${HUSK_BASELINE:+$HUSK_BASELINE oci --root $runwork/base-oci}
cd $work/bundle
$H run --rm --network none localhost/busybox true; $O run w >/dev/null; $PR --rm localhost/busybox true
[ -z "$B" ] || { $B run --rm --network none localhost/busybox true; $BO run w >/dev/null; }
for i in $(seq $runs); do
	t0=$EPOCHREALTIME; $H run --rm --network none localhost/busybox true; t1=$EPOCHREALTIME
	echo "T fg-husk $(us $t0 $t1)"
	t0=$EPOCHREALTIME; $O run f$i >/dev/null; t1=$EPOCHREALTIME
	echo "T fg-oci $(us $t0 $t1)"
	t0=$EPOCHREALTIME; $PR --rm localhost/busybox true; t1=$EPOCHREALTIME
	echo "T fg-podman $(us $t0 $t1)"
	if [ -n "$B" ]; then
		t0=$EPOCHREALTIME; $B run --rm --network none localhost/busybox true; t1=$EPOCHREALTIME
		echo "T fg-base $(us $t0 $t1)"
		t0=$EPOCHREALTIME; $BO run f$i >/dev/null; t1=$EPOCHREALTIME
		echo "T fg-base-oci $(us $t0 $t1)"
	fi
done >> $out
INNER
: > "$work/results"
env work="$work" runwork="$runwork" here="$here" runs="$runs" count="$count" HUSK_BASELINE="${HUSK_BASELINE:-}" \
	"$peers/ns.sh" bash "$work/inner.sh"

t() { awk -v k="$1" '$1 == "T" && $2 == k {print $3}' "$work/results" | median; }
ms() { echo "$1 / 1000" | bc -l; }
ratio() { echo "$1 / $2" | bc -l; }
echo "1. one busybox sleep 1000: run -d, stop -t 0, rm (runs: $runs, alternating, median ms)"
printf '  %-22s %9s %9s %9s %9s\n' "" "run -d" "stop -t 0" "rm" "together"
for e in husk podman; do
	printf '  %-22s %9.1f %9.1f %9.1f %9.1f\n' "$e" "$(ms $(t $e-run))" "$(ms $(t $e-stop))" "$(ms $(t $e-rm))" "$(ms $(t $e-all))"
done
printf '  %-22s %9.2f %9.2f %9.2f %9.2f\n' "husk/podman" "$(ratio $(t husk-run) $(t podman-run))" \
	"$(ratio $(t husk-stop) $(t podman-stop))" "$(ratio $(t husk-rm) $(t podman-rm))" "$(ratio $(t husk-all) $(t podman-all))"

echo "2. ps -a with $count containers (runs: $runs, alternating, median ms)"
printf '  husk ps -a    %8.1f\n  podman ps -a  %8.1f\n  husk/podman %.2f\n' "$(ms $(t husk-ps))" "$(ms $(t podman-ps))" "$(ratio $(t husk-ps) $(t podman-ps))"

# mean of column C over the lines KEY ENGINE ...
avg() { awk -v k="$1" -v e="$2" -v c="$3" '$1 == k && $2 == e {s += $c; n++} END {printf "%.0f", s / n}' "$work/results"; }
echo "3. host memory per idle container's monitor (KiB; husk: husk-monitor, podman: conmon)"
printf '  %-30s %7s %7s %8s\n' "" RSS PSS Private
for k in M1 MN; do
	[ $k = M1 ] && what="one container alone" || what="mean of $count containers"
	for e in husk podman; do
		printf '  %-30s %7d %7d %8d\n' "$e, $what" "$(avg $k $e 3)" "$(avg $k $e 4)" "$(avg $k $e 5)"
	done
	printf '  %-30s %7.2f %7.2f %8.2f\n' "husk/podman" "$(ratio $(avg $k husk 3) $(avg $k podman 3))" \
		"$(ratio $(avg $k husk 4) $(avg $k podman 4))" "$(ratio $(avg $k husk 5) $(avg $k podman 5))"
done
h1=$(avg M1 husk 5)
echo "  one idle husk-monitor: private $h1 KiB (target <= 512): $([ "$h1" -le 512 ] && echo met || echo NOT met);" \
	"RSS $(avg M1 husk 3) KiB vs conmon's $(avg M1 podman 3): $([ "$(avg M1 husk 3)" -lt "$(avg M1 podman 3)" ] && echo below || echo NOT below)"
sed 's/^/  /' "$work/mappings"

echo "4. the foreground run, busybox true (runs: $runs, alternating, median ms)"
printf '  husk run --rm --network none           %8.1f\n' "$(ms $(t fg-husk))"
printf '  husk-oci run (husk oci spec bundle)    %8.1f\n' "$(ms $(t fg-oci))"
printf '  podman run --rm --network none (crun)  %8.1f\n' "$(ms $(t fg-podman))"
if [ -n "${HUSK_BASELINE:-}" ]; then
	printf '  baseline husk run --rm --network none  %8.1f\n' "$(ms $(t fg-base))"
	printf '  baseline husk-oci run                  %8.1f\n' "$(ms $(t fg-base-oci))"
fi
printf '  husk run/podman %.2f, husk run/husk-oci run %.2f (the engine: +%.1f ms)\n' \
	"$(ratio $(t fg-husk) $(t fg-podman))" "$(ratio $(t fg-husk) $(t fg-oci))" "$(ms $(( $(t fg-husk | cut -d. -f1) - $(t fg-oci | cut -d. -f1) )))"
if [ -n "${HUSK_BASELINE:-}" ]; then
	printf '  husk run/baseline run %.2f (the monitor: %+.1f ms), husk-oci/baseline oci %.2f\n' \
		"$(ratio $(t fg-husk) $(t fg-base))" "$(ms $(( $(t fg-husk | cut -d. -f1) - $(t fg-base | cut -d. -f1) )))" \
		"$(ratio $(t fg-oci) $(t fg-base-oci))"
fi
