#!/usr/bin/env bats
# Namespaces: each new one is new, each joined one is the one named, PID 1, id maps, offsets.
load helpers

@test "the process is PID 1 of a new pid namespace" {
	set_cmd 'echo $$; ps -o pid,comm | sed -n 2p'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[[ "${lines[1]}" == *1*ps* || "${lines[1]}" == *1*sh* ]]
}

@test "every namespace in the config is new, and the others are the host's" {
	set_cmd 'for n in pid mnt uts ipc net cgroup user; do echo "$n $(readlink /proc/self/ns/$n)"; done'
	run husk run c1
	[ "$status" -eq 0 ]
	for n in pid mnt uts ipc net cgroup; do
		inside=$(echo "$output" | awk -v n=$n '$1 == n {print $2}')
		[ -n "$inside" ]
		[ "$inside" != "$(readlink /proc/self/ns/$n)" ] || fail "$n namespace is the host's"
	done
	# user was not asked for: shared with the host
	[ "$(echo "$output" | awk '$1 == "user" {print $2}')" = "$(readlink /proc/self/ns/user)" ]
}

@test "hostname and domainname are set in the new uts namespace" {
	update_config '.hostname = "boxy" | .domainname = "example.test"'
	set_cmd 'hostname; cat /proc/sys/kernel/domainname'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = boxy ]
	[ "${lines[1]}" = example.test ]
	[ "$(hostname)" != boxy ]
}

@test "a namespace given by path is joined" {
	unshare --net --uts sleep 30 &
	holder=$!
	sleep 0.2
	want_net=$(readlink /proc/$holder/ns/net)
	want_uts=$(readlink /proc/$holder/ns/uts)
	[ "$want_net" != "$(readlink /proc/self/ns/net)" ]
	update_config --arg net /proc/$holder/ns/net --arg uts /proc/$holder/ns/uts \
		'.linux.namespaces |= map(if .type == "network" then .path = $net elif .type == "uts" then .path = $uts else . end) | del(.hostname)'
	set_cmd 'readlink /proc/self/ns/net; readlink /proc/self/ns/uts'
	run husk run c1
	kill $holder
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$want_net" ]
	[ "${lines[1]}" = "$want_uts" ]
}

@test "a joined pid namespace: the process is not PID 1 and sees the holder" {
	unshare --pid --fork --mount-proc sleep 30 &
	holder=$!
	sleep 0.3
	child=$(pgrep -P $holder sleep)
	update_config --arg p /proc/$child/ns/pid '.linux.namespaces |= map(if .type == "pid" then .path = $p else . end)'
	set_cmd 'echo $$; readlink /proc/self/ns/pid'
	run husk run c1
	expected=$(readlink /proc/$child/ns/pid)
	kill $holder
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != 1 ]
	[ "${lines[1]}" = "$expected" ]
}

@test "a namespace path of the wrong type is refused before anything is created" {
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/proc/self/ns/uts" else . end)'
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'/proc/self/ns/uts is a uts namespace, not a network namespace'* ]]
	[ ! -e "$STATE/c1" ]
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/nonexistent/ns" else . end)'
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'open network namespace /nonexistent/ns: No such file or directory'* ]]
}

@test "a new user namespace gets the configured uid and gid maps" {
	# the mapped root is uid 100000 on the host: it must be able to reach its root
	chmod 755 "$TEST_DIR" "$BUNDLE"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	set_cmd 'cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /root/made'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$(echo "${lines[0]}" | tr -s ' ')" = " 0 100000 65536" ]
	[ "$(echo "${lines[1]}" | tr -s ' ')" = " 0 100000 65536" ]
	[ "${lines[2]}" = 0 ]
	# root in the container is uid 100000 on the host
	[ "$(stat -c %u "$BUNDLE/rootfs/root/made")" = 100000 ]
}

@test "a new time namespace applies the configured offsets" {
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 0}}'
	set_cmd 'readlink /proc/self/ns/time; cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime'
	host_uptime=$(cut -d. -f1 /proc/uptime)
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$(readlink /proc/self/ns/time)" ]
	[[ "$output" == *"monotonic"*"86400"* ]]
	[[ "$output" == *"boottime"*"172800"* ]]
	# uptime follows boottime: two days more than the host's
	[ "${lines[3]}" -ge $((host_uptime + 172800)) ]
}

@test "the cgroup namespace makes the container's cgroup its root" {
	set_cmd 'cat /proc/self/cgroup'
	run husk run c1
	[ "$status" -eq 0 ]
	for line in "${lines[@]}"; do
		[[ "$line" == *:/ ]] || fail "not at the root of its cgroup namespace: $line"
	done
}

@test "a new user namespace runs a bundle under a 0700 directory its root cannot enter" {
	# mktemp -d made TEST_DIR 0700, owned by the host's root: uid 100000 cannot walk it
	[ "$(stat -c %a "$TEST_DIR")" = 700 ]
	u=${TEST_DIR##*.}
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .process.terminal = false'
	set_cmd 'id -u; cat /proc/self/uid_map; touch /root/made; echo ok'
	run_husk run c1-$u
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "${lines[0]}" = 0 ]
	[ "${lines[2]}" = ok ]
	[ "$(stat -c %u "$BUNDLE/rootfs/root/made")" = 100000 ]
	# a createContainer hook still starts in the bundle (it runs as the container's root)
	update_config --arg out "$BUNDLE/rootfs/root/hook-cwd" '.hooks.createContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "pwd > rootfs/root/hook-cwd"]}]'
	run_husk run c2-$u
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(cat "$BUNDLE/rootfs/root/hook-cwd")" = "$BUNDLE" ]
	# crun runs the same bundle (runc 1.1.5 does not: it binds the root by its path)
	update_config 'del(.hooks)'
	run -0 peer crun run p1-$u
	[ "${lines[0]}" = 0 ]
}

@test "a user namespace joined by path: the init is root in it, and the container runs" {
	u=${TEST_DIR##*.}
	chown -R 100000:100000 "$BUNDLE/rootfs"
	chmod 755 "$TEST_DIR"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .process.terminal = false'
	set_cmd 'sleep 60'
	husk run --detach holder-$u
	hpid=$(husk state holder-$u | jq -r .pid)
	# a second container in the holder's user namespace (its own mount, pid, ... namespaces)
	update_config --arg p /proc/$hpid/ns/user '.linux.namespaces |= map(if .type == "user" then .path = $p else . end)
		| del(.linux.uidMappings, .linux.gidMappings)'
	set_cmd 'id -u; readlink /proc/self/ns/user; touch /root/joined; echo ok'
	run_husk run j-$u
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "${lines[0]}" = 0 ] || fail "$output"
	[ "${lines[1]}" = "$(readlink /proc/$hpid/ns/user)" ] || fail "$output"
	[ "${lines[2]}" = ok ] || fail "$output"
	[ "$(stat -c %u "$BUNDLE/rootfs/root/joined")" = 100000 ]
	husk delete --force holder-$u
}

@test "no namespaces at all: chrooted in the host's mount namespace, the host's mount table untouched" {
	u=${TEST_DIR##*.}
	echo inside > "$BUNDLE/rootfs/marker"
	update_config '.linux.namespaces = [] | del(.hostname) | .process.terminal = false'
	# what would be mounted is refused, not mounted on the host nor dropped
	run_husk run c1-$u
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'mounts: needs a mount namespace'* ]] || fail "$stderr"
	update_config '.mounts = []'
	run_husk run c1-$u
	[[ "$stderr" == *'linux.maskedPaths: needs a mount namespace'* ]] || fail "$stderr"
	update_config 'del(.linux.maskedPaths, .linux.readonlyPaths)'
	set_cmd 'cat /marker; ls /proc | wc -l'
	run_husk run c1-$u
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "${lines[0]}" = inside ]
	# nothing mounted: the root's /proc is the empty directory of the image
	[ "${lines[1]}" = 0 ]
	# husk run made no mount on the host: nothing under the bundle, nothing at all
	if grep -q "$TEST_DIR" /proc/self/mountinfo; then
		fail "a mount under the bundle is on the host"
	fi
	# exec enters the same root, in the same mount namespace
	set_cmd 'sleep 60'
	husk run --detach c2-$u
	pid=$(husk state c2-$u | jq .pid)
	[ "$(readlink /proc/$pid/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]
	[ "$(readlink /proc/$pid/root)" = "$BUNDLE/rootfs" ]
	run -0 husk exec c2-$u cat /marker
	[ "$output" = inside ]
	husk delete --force c2-$u
	if grep -q "$TEST_DIR" /proc/self/mountinfo; then
		fail "a mount under the bundle is on the host"
	fi
	# crun runs this config too (in the private mount namespace peer gives it)
	set_cmd 'cat /marker'
	run -0 peer crun run p1-$u
	[ "${lines[0]}" = inside ] || fail "crun: $output"
}

@test "the hostname may be set in a uts namespace joined by path" {
	u=${TEST_DIR##*.}
	host_name=$(hostname)
	update_config '.hostname = "hk-first" | .process.terminal = false'
	set_cmd 'sleep 60'
	husk run --detach c1-$u
	pid=$(husk state c1-$u | jq .pid)
	update_config --arg uts "/proc/$pid/ns/uts" '.hostname = "hk-second"
		| .linux.namespaces |= map(if .type == "uts" then .path = $uts else . end)'
	set_cmd 'hostname; readlink /proc/self/ns/uts'
	run_husk run c2-$u
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "${lines[0]}" = hk-second ]
	[ "${lines[1]}" = "$(readlink /proc/$pid/ns/uts)" ]
	# it is the first container's namespace that was renamed; the host's is not
	run -0 husk exec c1-$u hostname
	[ "$output" = hk-second ]
	[ "$(hostname)" = "$host_name" ]
	# runc takes the same config
	set_cmd 'hostname'
	run -0 peer runc run p1-$u
	[ "$output" = hk-second ]
}
