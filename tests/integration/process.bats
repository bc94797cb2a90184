#!/usr/bin/env bats
# The process: args, env, cwd, user, umask, rlimits, capabilities, no_new_privs, oomScoreAdj.
load helpers

@test "args, env and cwd are the configured ones" {
	mkdir -p "$BUNDLE/rootfs/work"
	update_config '.process.args = ["sh", "-c", "echo \"$0|$1|$FOO|$PWD\"", "zero", "one two"]
		| .process.env = ["FOO=bar baz", "PATH=/bin"] | .process.cwd = "/work"'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$output" = "zero|one two|bar baz|/work" ]
}

@test "a program is found on the container's PATH, not the host's" {
	mkdir -p "$BUNDLE/rootfs/opt/tools"
	printf '#!/bin/sh\necho from-opt\n' > "$BUNDLE/rootfs/opt/tools/hello"
	chmod +x "$BUNDLE/rootfs/opt/tools/hello"
	update_config '.process.args = ["hello"] | .process.env = ["PATH=/opt/tools:/bin"]'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$output" = from-opt ]
}

@test "user: uid, gid, additional gids and umask" {
	update_config '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534], "umask": 63}'
	set_cmd 'id; umask; touch /tmp/f && stat -c %a /tmp/f'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "uid=1000(user) gid=1000(user) groups="*"5(tty)"*"65534(nogroup)"* ]]
	[ "${lines[1]}" = 0077 ]
	[ "${lines[2]}" = 600 ]
}

@test "rlimits are set before the process starts" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
	set_cmd 'grep -E "Max (open files|core file size)" /proc/self/limits'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Max core file size"*" 0 "*" 0 "* ]]
	[[ "$output" == *"Max open files"*"321"*"654"* ]]
}

@test "capabilities: the configured sets, read from /proc/self/status" {
	# CHOWN(0) and KILL(5) everywhere; NET_BIND_SERVICE(10) also ambient and inheritable
	update_config '.process.user.uid = 1000
		| .process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}'
	set_cmd 'grep ^Cap /proc/self/status'
	run husk run c1
	[ "$status" -eq 0 ]
	# the shell is exec'd by a non-root user: only the ambient cap survives into it
	[[ "$output" == *"CapInh:	0000000000000400"* ]]
	[[ "$output" == *"CapPrm:	0000000000000400"* ]]
	[[ "$output" == *"CapEff:	0000000000000400"* ]]
	[[ "$output" == *"CapBnd:	0000000000000421"* ]]
	[[ "$output" == *"CapAmb:	0000000000000400"* ]]
}

@test "capabilities for root: exactly the configured sets" {
	update_config '.process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"]}'
	set_cmd 'grep ^Cap /proc/self/status'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapBnd:	0000000000000021"* ]]
	[[ "$output" == *"CapPrm:	0000000000000021"* ]]
	[[ "$output" == *"CapInh:	0000000000000000"* ]]
}

@test "noNewPrivileges sets no_new_privs; without it the bit is clear" {
	set_cmd 'grep NoNewPrivs /proc/self/status'
	run husk run c1
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	update_config '.process.noNewPrivileges = false'
	run husk run c2
	[[ "$output" == *"NoNewPrivs:	0"* ]]
}

@test "oomScoreAdj is applied" {
	update_config '.process.oomScoreAdj = 432'
	set_cmd 'cat /proc/self/oom_score_adj'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$output" = 432 ]
}

@test "a new session keyring per container, unless --no-new-keyring" {
	cp "$HUSK_BUILD/husk-probe" "$BUNDLE/rootfs/bin/husk-probe"
	# keyctl is refused by the default seccomp profile: this test is about the keyring itself
	update_config '.process.args = ["husk-probe", "session-keyring"] | del(.linux.seccomp)'
	host=$("$HUSK_BUILD/husk-probe" session-keyring)
	run husk run c1
	[ "$status" -eq 0 ]
	first=$output
	run husk run c2
	[ "$status" -eq 0 ]
	[ "$first" != "$host" ]
	[ "$output" != "$first" ]
	run husk run --no-new-keyring c3
	[ "$status" -eq 0 ]
	[ "$output" = "$host" ]
}

@test "the configs runc spec and crun spec write run: ambient capabilities the kernel refuses are left out with a warning, as runc and crun do" {
	for peer in runc crun; do
		dir=$TEST_DIR/$peer-spec
		mkdir "$dir"
		(cd "$dir" && $peer spec)
		# unchanged but for the root and the program (the terminal stays on: husk relays it)
		jq --arg r "$BUNDLE/rootfs" '.root.path = $r | .process.args = ["grep", "^Cap", "/proc/self/status"]' \
			"$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
		# ambient capabilities listed, none of them inheritable: the kernel refuses to raise those
		[ "$(jq '.process.capabilities.ambient | length' "$dir/config.json")" -eq 3 ]
		[ "$(jq '.process.capabilities.inheritable // [] | length' "$dir/config.json")" -eq 0 ]
		run --separate-stderr "$HUSK" oci --root "$STATE" --log "$TEST_DIR/$peer.log" run --bundle "$dir" "amb-$peer"
		[ "$status" -eq 0 ] || fail "$peer spec: $stderr"
		caps=$(echo "$output" | tr -d '\r')
		# CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29): permitted, not ambient
		[[ "$caps" == *"CapPrm:	0000000020000420"* ]] || fail "$peer spec: $caps"
		[[ "$caps" == *"CapAmb:	0000000000000000"* ]] || fail "$peer spec: $caps"
		grep 'level=warning' "$TEST_DIR/$peer.log" |
			grep -q 'process.capabilities.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE left out' ||
			fail "$peer spec: log: $(cat "$TEST_DIR/$peer.log")"
		[ ! -e "$STATE/amb-$peer" ]

		# the peer itself runs its own config (without a terminal: runc wants a real one then)
		jq '.process.terminal = false' "$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
		id=husk-peer-$peer-$$
		run --separate-stderr ${peer}_peer run --bundle "$dir" "$id"
		[ "$status" -eq 0 ] || fail "$peer itself: $stderr"
		[[ "$output" == *"CapAmb:	0000000000000000"* ]] || fail "$peer itself: $output"
		[ -z "$(ls "$TEST_DIR/$peer-root")" ] || fail "$peer left $(ls "$TEST_DIR/$peer-root")"
	done
}
