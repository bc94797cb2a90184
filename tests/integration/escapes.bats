#!/usr/bin/env bats
# The known escapes, each as a black-box regression test. Every test also checks, after the
# container is gone, that a canary directory on the host is untouched and that the host's mount
# table is what it was.
load helpers

setup() {
	setup_bundle
	cp "$HUSK_BUILD/husk-probe" "$BUNDLE/rootfs/bin/husk-probe"
	CANARY=$TEST_DIR/canary
	mkdir -p "$CANARY"
	echo untouched > "$CANARY/file"
	canary_before=$(find "$CANARY" -printf '%p %y %s %m %T@\n' | sort | sha256sum; cat "$CANARY/file")
	mountinfo_before=$(cut -d' ' -f5 /proc/self/mountinfo | sort | sha256sum)
	husk_before=$(sha256sum < "$HUSK")
}

teardown() {
	local canary_after mountinfo_after
	canary_after=$(find "$CANARY" -printf '%p %y %s %m %T@\n' | sort | sha256sum; cat "$CANARY/file")
	mountinfo_after=$(cut -d' ' -f5 /proc/self/mountinfo | sort | sha256sum)
	teardown_bundle
	[ "$canary_after" = "$canary_before" ] || fail "the canary directory changed"
	[ "$mountinfo_after" = "$mountinfo_before" ] || fail "the host's mount table changed"
	[ "$(sha256sum < "$HUSK")" = "$husk_before" ] || fail "husk's binary changed"
}

@test "CVE-2019-5736: the container never runs husk's binary through /proc/self/exe" {
	update_config '.process.args = ["/proc/self/exe", "oci", "--version"]'
	run -127 husk run c1
	[[ "$output" != *"husk version"* ]] || fail "the container ran husk: $output"
	printf '#!/proc/self/exe\n' > "$BUNDLE/rootfs/bin/evil"
	chmod +x "$BUNDLE/rootfs/bin/evil"
	update_config '.process.args = ["/bin/evil", "oci", "--version"]'
	run -127 husk run c2
	[[ "$output" != *"husk version"* ]] || fail "the container ran husk: $output"
}

@test "CVE-2019-5736: a container sharing the pid namespace cannot reach a waiting init's husk binary" {
	# A watches every /proc/*/exe it can see; B is created into A's pid namespace and waits
	set_cmd 'while :; do for p in /proc/[0-9]*; do echo "$p $(readlink $p/exe || echo DENIED)"; done > /tmp/seen.new; mv /tmp/seen.new /tmp/seen; sleep 0.05; done'
	husk run --detach a
	apid=$(husk state a | jq -r .pid)
	cp "$BUNDLE/config.json" "$TEST_DIR/a.json"
	update_config --arg p /proc/$apid/ns/pid '.linux.namespaces |= map(if .type == "pid" then .path = $p else . end) | .process.args = ["true"]'
	husk create b
	bpid=$(husk state b | jq -r .pid)
	# B's init as A numbers it: the last NSpid field
	binner=$(awk '/^NSpid:/ {print $NF}' /proc/$bpid/status)
	sleep 0.5
	seen=$(cat "$BUNDLE/rootfs/tmp/seen")
	husk delete --force b
	husk delete --force a
	# A saw B's waiting init, and was refused its exe (it is husk's binary until exec)
	[[ "$seen" == *"/proc/$binner DENIED"* ]] || fail "pid $binner: $seen"
	[[ "$seen" != *"/husk"* ]] || fail "A reached husk's binary: $seen"
}

@test "CVE-2019-5736: exec'ing /proc/self/exe from the container reaches only the sealed stub" {
	update_config '.process.args = ["/proc/self/exe"]'
	run -127 husk run c2
	[[ "$output" == *"husk-dmz: nothing to exec"* ]]
}

@test "CVE-2016-9962: until exec the init cannot be inspected by a peer without CAP_SYS_PTRACE" {
	set_cmd 'sleep 3'
	husk create c1
	pid=$(husk state c1 | jq -r .pid)
	# root without CAP_SYS_PTRACE (gone from the bounding set, so the shell capsh runs lacks it
	# too): what a process sharing the init's pid namespace could at most be
	peer="capsh --drop=cap_sys_ptrace --"
	run $peer -c "readlink /proc/$pid/exe || echo DENIED"
	[[ "$output" == *DENIED* ]] || fail "the waiting init's exe was readable: $output"
	husk start c1
	# after exec the program is dumpable again, as any program is
	for i in $(seq 100); do run $peer -c "readlink /proc/$pid/exe"; [[ "$output" == */busybox ]] && break; sleep 0.02; done
	[[ "$output" == */busybox ]]
	husk delete --force c1
}

@test "CVE-2024-21626: no fd of husk's or of its caller reaches the container" {
	set_cmd 'ls /proc/self/fd | sort -n | tr "\n" " "'
	run bash -c "cd '$BUNDLE' && exec 7</etc/passwd 8<'$CANARY' 9</ && exec '$HUSK' oci --root '$STATE' run c1"
	[ "$status" -eq 0 ]
	# 0-2 and the fd ls opens for the listing: nothing else
	[ "$output" = "0 1 2 3 " ]
}

@test "CVE-2024-21626: a cwd through a host directory fd is refused" {
	update_config '.process.cwd = "/proc/self/fd/3"'
	set_cmd 'pwd; ls'
	run bash -c "cd '$BUNDLE' && exec 3<'$CANARY' && exec '$HUSK' oci --root '$STATE' run --preserve-fds 1 c1 2>&1"
	[ "$status" -eq 1 ]
	[[ "$output" == *'cwd "/proc/self/fd/3" is outside the container'* ]]
	[[ "$output" != *file* ]]
}

@test "CVE-2021-30465: a mount target swapped for a symlink during create stays inside the root" {
	mkdir -p "$BUNDLE/rootfs/race-dir"
	ln -s "$CANARY" "$BUNDLE/rootfs/race-link"
	update_config '.mounts += [{"destination": "/race/sub", "type": "tmpfs", "source": "tmpfs"}]'
	set_cmd 'true'
	# swap /race between a directory and a symlink to the host's canary as fast as possible
	( cd "$BUNDLE/rootfs" && end=$((SECONDS + 8)); while [ $SECONDS -lt $end ]; do
		mv -T race-dir race 2>/dev/null; mv -T race race-dir 2>/dev/null
		mv -T race-link race 2>/dev/null; mv -T race race-link 2>/dev/null; done ) &
	swapper=$!
	for i in $(seq 40); do husk run "r$i" >/dev/null 2>&1 || true; done
	kill $swapper 2>/dev/null || true
	wait $swapper || true
	[ -z "$(ls -A "$CANARY" | grep -v '^file$')" ]
}

@test "CVE-2025-31133: masks come from the real /dev/null, not from what the root has at /dev/null" {
	# /dev bound from a directory whose "null" is a file with content
	mkdir -p "$TEST_DIR/fakedev"
	echo SECRET > "$TEST_DIR/fakedev/null"
	update_config --arg d "$TEST_DIR/fakedev" '.mounts |= map(select(.destination | startswith("/dev") | not)) | .mounts += [{"destination": "/dev", "type": "bind", "source": $d, "options": ["rbind"]}]'
	set_cmd 'cat /proc/interrupts; stat -c "%F %t:%T" /proc/interrupts'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$output" != *SECRET* ]]
	[[ "$output" == *"character special file 1:3"* ]]
}

@test "CVE-2025-52881: a symlink planted in a volume cannot turn a mount into a cover for a /proc file" {
	# what one container can leave in a volume for the next: a link into /proc
	mkdir -p "$TEST_DIR/vol"
	ln -s /proc/sys/kernel/shm_rmid_forced "$TEST_DIR/vol/dst"
	echo ORIGINAL > "$TEST_DIR/hostfile"
	update_config --arg v "$TEST_DIR/vol" --arg h "$TEST_DIR/hostfile" '.linux.sysctl = {"kernel.shm_rmid_forced": "1"}
		| .mounts += [{"destination": "/data", "type": "bind", "source": $v, "options": ["rbind"]},
			      {"destination": "/data/dst", "type": "bind", "source": $h, "options": ["bind"]}]'
	set_cmd 'cat /proc/sys/kernel/shm_rmid_forced'
	run_husk run c1
	[ "$status" -eq 1 ] || fail "the mount was made: $output"
	[[ "$stderr" == *"mount on /data/dst: the target resolves into the container's /proc"* ]] || fail "$stderr"
	[ "$(cat "$TEST_DIR/hostfile")" = ORIGINAL ] || fail "the sysctl landed in the host's file"
	[ ! -e "$STATE/c1" ]
	# without the cover the same config runs, and the sysctl reaches the container's procfs
	update_config '.mounts |= map(select(.destination != "/data/dst"))'
	run husk run c2
	[ "$status" -eq 0 ]
	[ "$output" = 1 ] || fail "$output"
}

@test "mounts inside /proc are refused, except over the files lxcfs replaces" {
	mkdir -p "$TEST_DIR/somedir"
	for m in '{"destination": "/proc/sys", "type": "bind", "source": "DIR", "options": ["rbind"]}' \
		 '{"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"}' \
		 '{"destination": "/proc/self/attr", "type": "tmpfs", "source": "tmpfs"}' \
		 '{"destination": "/proc/thread-self/attr/exec", "type": "bind", "source": "/etc/hostname", "options": ["bind"]}' \
		 '{"destination": "//proc/./sys/../sys/kernel", "type": "tmpfs", "source": "tmpfs"}' \
		 '{"destination": "/proc", "type": "bind", "source": "DIR", "options": ["rbind"]}' \
		 '{"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}'; do
		m=${m/DIR/$TEST_DIR/somedir}
		update_config --argjson m "$m" '.mounts += [$m]'
		run_husk run c1
		[ "$status" -eq 1 ] || fail "accepted: $m: $output"
		[[ "$stderr" == *"mount on "*"/proc"* ]] || fail "$m: $stderr"
		[ ! -e "$STATE/c1" ]
		update_config '.mounts |= .[:-1]'
	done
	# lxcfs's way: a file of its own over /proc/meminfo (and /proc itself may get another procfs)
	echo "MemTotal: 42 kB" > "$TEST_DIR/meminfo"
	update_config --arg f "$TEST_DIR/meminfo" '.mounts += [{"destination": "/proc/meminfo", "type": "bind", "source": $f, "options": ["bind", "ro"]}]'
	set_cmd 'head -1 /proc/meminfo'
	run husk run c2
	[ "$status" -eq 0 ]
	[ "$output" = "MemTotal: 42 kB" ] || fail "$output"
}

@test "CVE-2025-52565: /dev/console is never reached through a symlink in the root" {
	update_config '.mounts |= map(select(.destination != "/dev")) | .process.terminal = true'
	ln -sf "$CANARY/file" "$BUNDLE/rootfs/dev/console"
	set_cmd 'stat -c "%F" /dev/console'
	run_with_console c1
	husk delete c1
	[[ "$console_out" == *"character special file"* ]] || fail "$console_out"
	# the canary file is still a plain file with its content (checked in teardown too)
	[ "$(cat "$CANARY/file")" = untouched ]
}

@test "/dev in the root as a symlink to a host directory: nothing is created outside the root" {
	rm -rf "$BUNDLE/rootfs/dev"
	ln -s "$CANARY" "$BUNDLE/rootfs/dev"
	set_cmd 'ls /dev/null >/dev/null && echo ok'
	run husk run c1
	[ "$status" -eq 0 ]
	# the link was followed inside the root: the devices are under rootfs/<canary path>
	[ -c "$BUNDLE/rootfs$CANARY/null" ] || [ -d "$BUNDLE/rootfs$CANARY" ]
}

@test "CVE-2022-29162: a file-capability binary run by a non-root uid gains nothing" {
	# a copy of busybox with inheritable+effective file capabilities; busybox picks the applet
	# from argv[0], so it is reached as "grep" through a link
	mkdir -p "$BUNDLE/rootfs/capbin"
	cp "$BUNDLE/rootfs/bin/busybox" "$BUNDLE/rootfs/capbin/busybox"
	setcap cap_net_raw,cap_net_bind_service+ei "$BUNDLE/rootfs/capbin/busybox"
	ln -s busybox "$BUNDLE/rootfs/capbin/grep"
	getcap "$BUNDLE/rootfs/capbin/busybox" | grep -q cap_net_raw
	update_config '.process.noNewPrivileges = false | .process.user = {"uid": 1000, "gid": 1000}'
	update_config '.process.args = ["/capbin/grep", "^Cap[IPEA]", "/proc/self/status"]'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapInh:	0000000000000000"* ]]
	[[ "$output" == *"CapPrm:	0000000000000000"* ]]
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
	[[ "$output" == *"CapAmb:	0000000000000000"* ]]
}

@test "uids out of range are refused, never turned into 0" {
	for uid in 2147483648 4294967295 -1; do
		update_config --argjson u "$uid" '.process.user.uid = $u'
		run_husk create c1
		[ "$status" -eq 1 ] || fail "uid $uid accepted"
		[[ "$stderr" == *"process.user.uid: expected an integer 0..2147483647"* ]]
	done
	[ ! -e "$STATE/c1" ]
}

@test "from inside, with the default config: the host cannot be touched" {
	set_cmd 'echo 1 > /proc/sys/kernel/ostype 2>&1; echo x > /proc/sysrq-trigger 2>&1; echo x > /sys/kernel/uevent_helper 2>&1;
		[ -e /proc/kcore ] && wc -c < /proc/kcore; mknod /tmp/blk b 254 0 2>&1; mount -t tmpfs x /mnt 2>&1;
		for c in keyctl userfaultfd bpf; do husk-probe call $c; done; husk-probe call unshare 0x10000000; true'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Read-only file system"* ]]
	[[ "$output" != *"ostype"*"ok"* ]]
	[[ "$output" == *"uevent_helper"*"Read-only file system"* || "$output" == *"uevent_helper"*"nonexistent"* ]]
	# /proc/kcore, where it exists, reads empty: no line of the output is a byte count above 0
	for l in "${lines[@]}"; do [[ ! "$l" =~ ^[1-9][0-9]*$ ]] || fail "/proc/kcore read $l bytes"; done
	[[ "$output" == *"mknod"*"Operation not permitted"* ]]
	[[ "$output" == *"mount"*"denied"* || "$output" == *"mount"*"not permitted"* ]]
	[[ "$output" == *"keyctl=EPERM"* && "$output" == *"userfaultfd=EPERM"* && "$output" == *"bpf=EPERM"* ]]
	[[ "$output" == *"unshare=EPERM"* ]]
	[ "$(cat /proc/sys/kernel/ostype)" = Linux ]
}

@test "nothing husk puts in a container's pid namespace holds an fd that reaches the host (CAP_SYS_PTRACE watcher)" {
	# The watcher has CAP_SYS_PTRACE in every set, so non-dumpable does not keep it out: it
	# reads the fds, cwd and root of every process it sees appear and tries to climb from each
	# to the host's canary, while husk execs 50 processes into the container.
	echo secret-of-the-host > "$CANARY/secret"
	canary_before=$(find "$CANARY" -printf '%p %y %s %m %T@\n' | sort | sha256sum; cat "$CANARY/file")
	update_config --arg t "$CANARY/secret" '.process.capabilities |= with_entries(.value += ["CAP_SYS_PTRACE"])
		| .process.args = ["husk-probe", "fd-race", "/tmp/race.log", $t]'
	husk run --detach w
	for i in $(seq 100); do grep -q watching "$BUNDLE/rootfs/tmp/race.log" 2>/dev/null && break; sleep 0.02; done
	eff=$(awk '/^CapEff:/ {print $2}' /proc/$(husk state w | jq -r .pid)/status)
	[ $(( 0x$eff >> 19 & 1 )) -eq 1 ] || fail "the watcher lacks CAP_SYS_PTRACE: $eff"
	for i in $(seq 50); do husk exec w true; done
	husk exec --cwd /tmp w sh -c 'ls /proc/self/fd >/dev/null'
	husk kill w KILL
	wait_stopped w
	log=$(cat "$BUNDLE/rootfs/tmp/race.log")
	echo "$log" | grep -c ' fd ' | sed 's/^/fd links seen: /'
	[[ "$log" != *REACHED* ]] || fail "$(echo "$log" | grep REACHED)"
	# and none names husk's state directory or a cgroup file of the host
	[[ "$log" != *"$STATE"* ]] || fail "$(echo "$log" | grep "$STATE")"
	[[ "$log" != *"/sys/fs/cgroup"* ]] || fail "$(echo "$log" | grep /sys/fs/cgroup)"
}

@test "an init created into another container's pid namespace waits holding only its sockets, the exec fifo and the exec stub" {
	set_cmd 'sleep 60'
	husk run --detach a
	apid=$(husk state a | jq -r .pid)
	update_config --arg p /proc/$apid/ns/pid '.linux.namespaces |= map(if .type == "pid" then .path = $p else . end) | .process.args = ["true"]'
	# an fd of the caller's that is neither stdio nor preserved
	bash -c "cd '$BUNDLE' && exec 7<'$CANARY' && exec '$HUSK' oci --root '$STATE' create b" </dev/null >/dev/null 2>&1
	bpid=$(husk state b | jq -r .pid)
	links=$(for f in /proc/$bpid/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && echo "$n $(readlink "$f")"; done)
	husk delete --force b
	husk delete --force a
	echo "$links"
	while read -r n target; do
		[[ "$target" == socket:* || "$target" == "$STATE/b/exec.fifo" || "$target" == "/memfd:husk-dmz (deleted)" ]] || fail "fd $n -> $target"
	done <<< "$links"
}
