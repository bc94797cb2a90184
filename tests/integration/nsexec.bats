#!/usr/bin/env bats
# husk nsexec and husk nsenter side by side with util-linux's unshare and nsenter: the same
# options, the same results, namespaces kept on files and entered by either tool.

load helpers

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hkns.XXXXXX")
	# a private tmpfs of the test's own: namespace files are bind mounts, and a bind of a mount
	# namespace on a shared mount is refused
	mount -t tmpfs hkns "$TEST_DIR"
	mount --make-private "$TEST_DIR"
	PIDS=()
}

# every bind mount and process the test made goes; a left one fails the test
teardown() {
	local p left
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	left=$(awk -v d="$TEST_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)
	for p in $left; do umount -l "$p"; done
	umount -l "$TEST_DIR"
	rmdir "$TEST_DIR"
	[ -z "$left" ] || fail "mounts left: $left"
}

# wait (bounded) until FILE exists and is not empty
wait_for() {
	local i
	for i in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
	fail "$1 never appeared"
}

@test "nsexec -p -f --mount-proc: ps shows the command as PID 1, as unshare's does" {
	run "$HUSK" nsexec -p -f --mount-proc ps -o pid=,comm=
	[ "$status" -eq 0 ] || fail "$output"
	local ours=$output
	run unshare -p -f --mount-proc ps -o pid=,comm=
	[ "$output" = "$ours" ] || fail "husk: $ours / unshare: $output"
	[ "$(echo "$ours" | tr -s ' ' | sed 's/^ //')" = "1 ps" ] || fail "$ours"
}

@test "nsexec -u: a hostname set inside is not seen outside" {
	local before
	before=$(hostname)
	run "$HUSK" nsexec -u sh -c 'hostname hkns-inside && hostname'
	[ "$output" = hkns-inside ] || fail "$output"
	[ "$(hostname)" = "$before" ] || fail "the host's hostname changed"
	[ "$(unshare -u sh -c 'hostname hkns-inside && hostname')" = "$output" ]
}

@test "nsexec -n: only lo, as unshare -n" {
	run "$HUSK" nsexec -n ip -o link
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(echo "$output" | awk -F': ' '{print $2}')" = lo ] || fail "$output"
	[ "$(unshare -n ip -o link | awk -F': ' '{print $2}')" = lo ]
}

@test "nsexec -r: uid 0 inside, mapped to the caller, as unshare -r" {
	run "$HUSK" nsexec -r sh -c 'id -u; cat /proc/self/uid_map'
	[ "$status" -eq 0 ] || fail "$output"
	local ours=$output
	run unshare -r sh -c 'id -u; cat /proc/self/uid_map'
	[ "$ours" = "$output" ] || fail "husk: $ours / unshare: $output"
	[ "$(echo "$ours" | head -1)" = 0 ]
	[ "$(echo "$ours" | tail -1 | awk '{print $1, $2, $3}')" = "0 $(id -u) 1" ]
	# and the user namespace is not the caller's
	[ "$("$HUSK" nsexec -r readlink /proc/self/ns/user)" != "$(readlink /proc/self/ns/user)" ]
}

@test "nsexec --net=FILE, entered by husk nsenter and by util-linux nsenter, and the other way round" {
	"$HUSK" nsexec --net="$TEST_DIR/net" ip link set lo mtu 1234
	[ -f "$TEST_DIR/net" ] || fail "no file"
	run "$HUSK" nsenter --net="$TEST_DIR/net" ip -o link
	[[ "$output" == *"mtu 1234"* ]] || fail "husk nsenter: $output"
	run nsenter --net="$TEST_DIR/net" ip -o link
	[[ "$output" == *"mtu 1234"* ]] || fail "nsenter: $output"
	ip -o link show lo | grep -q "mtu 1234 " && fail "the host has the namespace's link"
	umount "$TEST_DIR/net"

	touch "$TEST_DIR/unet"
	unshare --net="$TEST_DIR/unet" ip link set lo mtu 1235
	run "$HUSK" nsenter --net="$TEST_DIR/unet" ip -o link
	[[ "$output" == *"mtu 1235"* ]] || fail "husk nsenter into unshare's: $output"
	umount "$TEST_DIR/unet"
}

@test "nsexec --pid=FILE needs --fork; with it the file is the child's pid namespace" {
	run "$HUSK" nsexec --pid="$TEST_DIR/pid" true
	[ "$status" -eq 125 ] || fail "$status $output"
	[[ "$output" == *"needs --fork"* ]] || fail "$output"
	"$HUSK" nsexec -f --pid="$TEST_DIR/pid" sh -c "echo \$\$ > $TEST_DIR/inner; exec sleep 600" >/dev/null 2>&1 3>&- &
	PIDS+=($!)
	wait_for "$TEST_DIR/inner"
	[ "$(cat "$TEST_DIR/inner")" = 1 ] || fail "pid inside: $(cat "$TEST_DIR/inner")"
	local sleeper
	sleeper=$(pgrep -P "$!")
	PIDS+=("$sleeper")
	[ "$(stat -L -c %i "$TEST_DIR/pid")" = "$(stat -L -c %i /proc/$sleeper/ns/pid)" ] || fail "not the child's"
	# entered later: the command runs as a second process of that namespace
	run "$HUSK" nsenter --pid="$TEST_DIR/pid" sh -c 'echo $$'
	[ "$output" = 2 ] || fail "$output"
	umount "$TEST_DIR/pid"
}

@test "nsexec --mount=FILE on a shared mount is refused, as unshare fails it; nothing left" {
	mkdir "$TEST_DIR/sh"
	mount -t tmpfs hknssh "$TEST_DIR/sh"
	mount --make-shared "$TEST_DIR/sh"
	run "$HUSK" nsexec --mount="$TEST_DIR/sh/mnt" true
	[ "$status" -eq 1 ] || fail "$status $output"
	[[ "$output" == *"shared mount"* ]] || fail "$output"
	touch "$TEST_DIR/sh/umnt"
	run unshare --mount="$TEST_DIR/sh/umnt" true
	[ "$status" -ne 0 ] || fail "unshare accepted it"
	[ "$(awk -v d="$TEST_DIR/sh/" 'index($5, d) == 1' /proc/self/mountinfo)" = "" ] || fail "a bind was left"
	umount "$TEST_DIR/sh"
}

@test "nsenter -t PID -a into a process started by unshare" {
	unshare -u -n -f sh -c "hostname hkns-u; echo go > $TEST_DIR/ready; exec sleep 600" >/dev/null 2>&1 3>&- &
	PIDS+=($!)
	wait_for "$TEST_DIR/ready"
	local target
	# unshare -f waits for its child, which is the sleep
	target=$(pgrep -P "$!")
	[ -n "$target" ] || fail "no target"
	PIDS+=("$target")
	run "$HUSK" nsenter -t "$target" -a sh -c 'hostname; readlink /proc/self/ns/net'
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(echo "$output" | head -1)" = hkns-u ] || fail "$output"
	[ "$(echo "$output" | tail -1)" = "$(readlink /proc/$target/ns/net)" ] || fail "$output"
	[ "$output" = "$(nsenter -t "$target" -a sh -c 'hostname; readlink /proc/self/ns/net')" ]
}

@test "nsenter CONTAINER: a husk container's namespaces, by name" {
	local store=$TEST_DIR/store root=$TEST_DIR/run name=hkns$$
	"$HUSK" --storage "$store" image bootstrap busybox >/dev/null
	enter_test_cgroup
	"$HUSK" --storage "$store" --root "$root" run -d --network none --name "$name" --hostname hknsbox busybox sleep 600 >/dev/null
	run "$HUSK" --storage "$store" --root "$root" nsenter "$name" sh -c 'hostname; cat /etc/os-release 2>/dev/null | head -1; ls /bin/busybox'
	"$HUSK" --storage "$store" --root "$root" rm -f "$name" >/dev/null
	leave_test_cgroup
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(echo "$output" | head -1)" = hknsbox ] || fail "$output"
	[[ "$output" == */bin/busybox* ]] || fail "not the container's root: $output"
}

@test "usage: --help on stdout with 0, bad input 125, a missing process or container 1" {
	run "$HUSK" nsexec --help
	[ "$status" -eq 0 ] && [[ "$output" == "usage: husk nsexec"* ]] || fail "$output"
	run "$HUSK" nsenter --help
	[ "$status" -eq 0 ] && [[ "$output" == "usage: husk nsenter"* ]] || fail "$output"
	run "$HUSK" nsexec --propagation sideways true
	[ "$status" -eq 125 ] || fail "$status $output"
	run "$HUSK" nsenter -n true
	[ "$status" -eq 125 ] || fail "$status $output"
	run "$HUSK" nsenter -t 999999999 -n true
	[ "$status" -eq 1 ] && [[ "$output" == *"process 999999999"* ]] || fail "$status $output"
	run "$HUSK" --storage "$TEST_DIR/store" --root "$TEST_DIR/run" nsenter hkns-nosuch true
	[ "$status" -eq 1 ] || fail "$status $output"
}
