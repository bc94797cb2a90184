#!/usr/bin/env bats
# The root filesystem: mounts, pivot, devices, masked and read-only paths, sysctl, and the
# symlink tricks that must not reach the host.
load helpers

teardown() {
	# a test makes its directory a shared mount of the host
	if [ -n "${TEST_DIR:-}" ] && mountpoint -q "$TEST_DIR"; then
		umount -l "$TEST_DIR"
	fi
	teardown_bundle
}

mountinfo_field() { # mount point -> "fstype options super-options"
	awk -v mp="$1" '$5 == mp { for (i = 7; $i != "-"; i++); print $(i+1), $6, $(i+3) }'
}

@test "the root is pivoted: the host's files are not reachable, / is the bundle's root" {
	touch "$BUNDLE/rootfs/marker-in-root"
	set_cmd 'ls /marker-in-root && ! ls /work 2>/dev/null && cat /proc/self/mountinfo | wc -l'
	run husk run c1
	[ "$status" -eq 0 ]
	# only the container's own mounts: nothing of the host's mount table leaked in
	[ "${lines[1]}" -lt 40 ]
}

@test "configured mounts land with their types and options" {
	mkdir -p "$TEST_DIR/data" && echo hello > "$TEST_DIR/data/file"
	update_config --arg src "$TEST_DIR/data" '.mounts += [
		{"destination": "/data", "type": "bind", "source": $src, "options": ["rbind", "ro", "nosuid", "nodev"]},
		{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec"]}]'
	set_cmd 'cat /proc/self/mountinfo; cat /data/file; touch /data/x 2>&1; stat -c %a /scratch'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$(echo "$output" | mountinfo_field /proc)" == proc* ]]
	[[ "$(echo "$output" | mountinfo_field /dev/pts)" == devpts*newinstance* || "$(echo "$output" | mountinfo_field /dev/pts)" == devpts*ptmxmode=666* ]]
	[[ "$(echo "$output" | mountinfo_field /dev/mqueue)" == mqueue* ]]
	[[ "$(echo "$output" | mountinfo_field /sys)" == "sysfs ro,"* ]]
	data=$(echo "$output" | mountinfo_field /data)
	[[ "$data" == *" ro,nosuid,nodev"* ]] || fail "/data: $data"
	scratch=$(echo "$output" | mountinfo_field /scratch)
	[[ "$scratch" == tmpfs*noexec*size=1024k* ]] || fail "/scratch: $scratch"
	[[ "$output" == *hello* ]]
	[[ "$output" == *"Read-only file system"* ]]
	[ "${lines[-1]}" = 700 ]
}

@test "a mount's propagation option is applied to it" {
	mkdir -p "$TEST_DIR/shared" "$TEST_DIR/private"
	update_config --arg s "$TEST_DIR/shared" --arg p "$TEST_DIR/private" '.mounts += [
		{"destination": "/shared", "type": "bind", "source": $s, "options": ["rbind", "rshared"]},
		{"destination": "/private", "type": "bind", "source": $p, "options": ["rbind", "rprivate"]}]'
	set_cmd 'cat /proc/self/mountinfo'
	run husk run c1
	[ "$status" -eq 0 ]
	# the optional fields (7th on) name the peer group of a shared mount
	echo "$output" | awk '$5 == "/shared"' | grep -q ' shared:[0-9]'
	private=$(echo "$output" | awk '$5 == "/private"')
	[ -n "$private" ] && [[ "$private" != *" shared:"* && "$private" != *" master:"* ]] || fail "/private: $private"
}

@test "a relative bind source is taken from the bundle directory" {
	mkdir -p "$BUNDLE/shared-data" && echo from-bundle > "$BUNDLE/shared-data/f"
	update_config '.mounts += [{"destination": "/mnt", "type": "bind", "source": "shared-data", "options": ["rbind"]}]'
	set_cmd 'cat /mnt/f'
	# from somewhere else than the bundle
	run bash -c "cd / && '$HUSK' oci --root '$STATE' run --bundle '$BUNDLE' c1"
	[ "$status" -eq 0 ]
	[ "$output" = from-bundle ]
}

@test "tmpcopyup: a tmpfs shows what the image had at its target, with owners and modes" {
	mkdir -p "$BUNDLE/rootfs/seed/sub"
	echo seeded > "$BUNDLE/rootfs/seed/file"
	chmod 640 "$BUNDLE/rootfs/seed/file"
	chown 1000:1000 "$BUNDLE/rootfs/seed/sub"
	ln -s file "$BUNDLE/rootfs/seed/link"
	update_config '.mounts += [{"destination": "/seed", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "ro"]}]'
	set_cmd 'grep -c " /seed tmpfs ro" /proc/self/mounts; cat /seed/file /seed/link; stat -c "%a %u" /seed/file /seed/sub; touch /seed/new 2>&1; true'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = seeded ]
	[ "${lines[2]}" = seeded ]
	[ "${lines[3]}" = "640 0" ]
	[ "${lines[4]}" = "755 1000" ]
	[[ "${lines[5]}" == *"Read-only file system"* ]]
	# the image's own directory is untouched underneath
	[ ! -e "$BUNDLE/rootfs/seed/new" ]
}

@test "root.readonly makes / read-only but leaves tmpfs mounts writable" {
	update_config '.root.readonly = true'
	set_cmd 'touch /x 2>&1; touch /dev/shm/ok && echo shm-ok'
	run husk run c1
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *shm-ok* ]]
	[ ! -e "$BUNDLE/rootfs/x" ]
}

@test "masked paths are empty and read-only paths cannot be written" {
	# /proc/interrupts and /proc/timer_list are files (masked by /dev/null), /sys/firmware a
	# directory (masked by an empty read-only tmpfs); all three are in the default spec
	[ -s /proc/interrupts ] && [ -n "$(ls /sys/firmware)" ]
	set_cmd 'wc -c < /proc/interrupts; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; touch /sys/firmware/x 2>&1; echo 1 > /proc/sys/kernel/ostype 2>&1; true'
	run husk run c1
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = 0 ]
	[[ "${lines[3]}" == *"Read-only file system"* ]]
	[[ "${lines[4]}" == *"Read-only file system"* ]]
}

@test "default devices and /dev symlinks exist; linux.devices are created with their mode" {
	update_config '.linux.devices = [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 384, "uid": 0, "gid": 0}]'
	set_cmd 'for d in null zero full random urandom tty fuse; do stat -c "%n %F %t:%T %a" /dev/$d; done; for l in fd stdin ptmx; do readlink /dev/$l; done; echo x > /dev/null && echo null-ok'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/null character special file 1:3 666" ]
	[ "${lines[1]}" = "/dev/zero character special file 1:5 666" ]
	[ "${lines[5]}" = "/dev/tty character special file 5:0 666" ]
	[ "${lines[6]}" = "/dev/fuse character special file a:e5 600" ]
	[ "${lines[7]}" = /proc/self/fd ]
	[ "${lines[8]}" = /proc/self/fd/0 ]
	[ "${lines[9]}" = pts/ptmx ]
	[ "${lines[10]}" = null-ok ]
}

@test "sysctl values are written in the container's namespaces only" {
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "12345678"}'
	set_cmd 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
	host_shmmax=$(cat /proc/sys/kernel/shmmax)
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = 12345678 ]
	[ "$(cat /proc/sys/kernel/shmmax)" = "$host_shmmax" ]
}

@test "an unknown sysctl fails create with its name" {
	update_config '.linux.sysctl = {"net.nope.nothing": "1"}'
	run_husk run c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sysctl net.nope.nothing"*"No such file or directory"* ]]
	[ ! -e "$STATE/c1" ]
}

@test "--no-pivot switches root with MS_MOVE and chroot" {
	set_cmd 'ls /bin/busybox >/dev/null && echo in-root'
	run husk run --no-pivot c1
	[ "$status" -eq 0 ]
	[ "$output" = in-root ]
}

@test "a symlink in the rootfs cannot point a mount at the host" {
	canary=$TEST_DIR/canary
	mkdir -p "$canary"
	# absolute and relative escapes, and a chain of them
	ln -s "$canary" "$BUNDLE/rootfs/escape-abs"
	ln -s ../../../../../../../.."$canary" "$BUNDLE/rootfs/escape-rel"
	ln -s /escape-abs "$BUNDLE/rootfs/escape-chain"
	update_config '.mounts += [
		{"destination": "/escape-abs/a", "type": "tmpfs", "source": "tmpfs"},
		{"destination": "/escape-rel/b", "type": "tmpfs", "source": "tmpfs"},
		{"destination": "/escape-chain/c", "type": "tmpfs", "source": "tmpfs"}]'
	set_cmd 'grep -c tmpfs /proc/self/mountinfo'
	run husk run c1
	[ "$status" -eq 0 ]
	# nothing was created or mounted in the host directory the links name
	[ -z "$(ls -A "$canary")" ]
	run ! grep -q "$canary" /proc/self/mountinfo
	# the targets were made inside the root instead
	[ -d "$BUNDLE/rootfs$canary/a" ]
}

@test "/proc in the root as a symlink is refused before anything is mounted or written there" {
	rm -rf "$BUNDLE/rootfs/proc"
	ln -s /tmp "$BUNDLE/rootfs/proc"
	set_cmd 'true'
	run_husk run c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"mount on /proc: it is (or passes through) a symlink in the root"* ]]
	[ -z "$(ls -A "$BUNDLE/rootfs/tmp")" ]
	[ ! -e "$STATE/c1" ]
}

@test "mounts do not propagate to the host, whatever rootfsPropagation says" {
	update_config '.linux.rootfsPropagation = "rslave" | del(.linux.seccomp) | .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	set_cmd 'mount -t tmpfs none /tmp && echo mounted'
	before=$(wc -l < /proc/self/mountinfo)
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$(wc -l < /proc/self/mountinfo)" -eq "$before" ]
}

@test "devices cgroup: a node made with CAP_MKNOD for a device not allowed cannot be opened" {
	# /dev/kmsg (c 1:11) opens on this host; the next test shows it opening once granted
	echo husk-test > /dev/kmsg
	set_cmd 'mknod /dev/kmsg-test c 1 11 && echo made; echo hi > /dev/kmsg-test; echo x > /dev/null && echo null-ok'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = made ]
	[[ "$output" == *"/dev/kmsg-test: Operation not permitted"* ]]
	[[ "$output" == *null-ok* ]]
}

@test "devices cgroup: linux.resources.devices can grant a device, and linux.devices are allowed" {
	update_config '.linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rw"}]
		| .linux.devices = [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229}]'
	set_cmd 'mknod /dev/kmsg-test c 1 11 && echo hi > /dev/kmsg-test && echo kmsg-ok; exec 3<>/dev/fuse 2>/dev/null; echo fuse=$?'
	run husk run c1
	[[ "$output" == *kmsg-ok* ]]
	# /dev/fuse opens (or reports ENODEV without the module), but is never refused by the cgroup
	[[ "$output" != *"Operation not permitted"* ]]
}

# the propagation tags of the container's / in its mountinfo ("shared:N", "master:N", "unbindable")
root_tags() {
	awk '$5 == "/" { for (i = 7; $i != "-"; i++) printf "%s ", $i; print "" }' <<<"$1" | sed 's/:[0-9]*//g; s/ $//'
}

@test "rootfsPropagation: every value runs, / inside shows it, and nothing reaches the host" {
	# the bundle on a shared mount of the host, so that a mount propagating back would show
	mount --bind "$TEST_DIR" "$TEST_DIR"
	mount --make-shared "$TEST_DIR"
	update_config 'del(.linux.seccomp) | .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	set_cmd 'mount -t tmpfs hk-prop /tmp && cat /proc/self/mountinfo'
	for p in shared rshared slave rslave private rprivate unbindable runbindable; do
		update_config --arg p "$p" '.linux.rootfsPropagation = $p'
		run_husk run "c-$p-${TEST_DIR##*.}"
		[ "$status" -eq 0 ] || fail "$p: $stderr"
		tags=$(root_tags "$output")
		case $p in
		*shared) [ "$tags" = shared ] || fail "$p: / has \"$tags\"" ;;
		*unbindable) [ "$tags" = unbindable ] || fail "$p: / has \"$tags\"" ;;
		*) [ -z "$tags" ] || fail "$p: / has \"$tags\"" ;;
		esac
		# rshared reaches the mounts under /, shared only / itself
		if [ "$p" = rshared ]; then
			[ "$(grep -c ' /proc .*shared:' <<<"$output")" -eq 1 ] || fail "rshared: /proc is not shared"
		fi
		if [ "$p" = shared ] && grep -q ' /proc .*shared:' <<<"$output"; then
			fail "shared: /proc is shared too"
		fi
		# the tmpfs the container mounted is not in the host's table
		if grep -q -e hk-prop -e "$BUNDLE/rootfs/" /proc/self/mountinfo; then
			fail "$p: the container's mount reached the host"
		fi
	done
}

@test "rootfsPropagation: crun shows / the same way for the values it runs" {
	update_config '.process.terminal = false'
	set_cmd 'cat /proc/self/mountinfo'
	# crun 1.8.1 fails runbindable (it masks paths after making everything unbindable)
	for p in shared rshared private unbindable; do
		update_config --arg p "$p" '.linux.rootfsPropagation = $p'
		run -0 peer crun run "p-$p-${TEST_DIR##*.}"
		peer_tags=$(root_tags "$output")
		run_husk run "c-$p-${TEST_DIR##*.}"
		[ "$status" -eq 0 ] || fail "$p: $stderr"
		[ "$(root_tags "$output")" = "$peer_tags" ] || fail "$p: husk \"$(root_tags "$output")\", crun \"$peer_tags\""
	done
}
