#!/usr/bin/env bats
# OCI hooks: each kind at its step, in its namespace, with the state on stdin; failures.
load helpers

# a hook: /bin/sh -c SCRIPT, with PATH set (hooks get only the env they are given)
hook() { # kind script [timeout]
	update_config --arg k "$1" --arg s "$2" --argjson t "${3:-0}" \
		'.hooks[$k] += [{"path": "/bin/sh", "args": ["sh", "-c", $s], "env": ["PATH=/usr/bin:/bin"]} + (if $t > 0 then {"timeout": $t} else {} end)]'
}

@test "every hook kind runs at its step, in the right namespace, with the state on stdin" {
	log=$TEST_DIR/hooks.log
	for k in prestart createRuntime createContainer poststart poststop; do
		# the status comes from the state on stdin
		hook $k "echo \"$k \$(jq -r .status) \$(readlink /proc/self/ns/mnt)\" >> $log"
	done
	# startContainer runs inside the container, after the switch: its paths are the container's
	hook startContainer 'cat > /tmp/start-state; readlink /proc/self/ns/mnt > /tmp/start-ns'
	set_cmd 'sleep 0.5'
	husk run c1
	host_mnt=$(readlink /proc/self/ns/mnt)
	[ "$(awk '{print $1}' "$log" | tr '\n' ' ')" = "prestart createRuntime createContainer poststart poststop " ]
	[ "$(awk '$1 == "createRuntime" {print $3}' "$log")" = "$host_mnt" ]
	[ "$(awk '$1 == "prestart" {print $3}' "$log")" = "$host_mnt" ]
	[ "$(awk '$1 == "createContainer" {print $3}' "$log")" != "$host_mnt" ]
	[ "$(awk '$1 == "poststart" {print $2}' "$log")" = running ]
	[ "$(awk '$1 == "poststop" {print $2}' "$log")" = stopped ]
	[ "$(awk '$1 == "createRuntime" {print $2}' "$log")" = creating ]
	[ "$(jq -r .id "$BUNDLE/rootfs/tmp/start-state")" = c1 ]
	[ "$(cat "$BUNDLE/rootfs/tmp/start-ns")" != "$host_mnt" ]
}

@test "a failing createRuntime hook fails create and leaves nothing; a failing poststart only warns" {
	hook createRuntime 'exit 3'
	set_cmd 'true'
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"hook createRuntime[0] (/bin/sh) exited with status 3"* ]]
	[ ! -e "$STATE/c1" ]
	update_config 'del(.hooks)'
	hook poststart 'exit 4'
	set_cmd 'sleep 0.2'
	run_husk run c2
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"warning: hook poststart[0] (/bin/sh) exited with status 4"* ]]
}

@test "a hook that outlives its timeout is killed and fails the operation" {
	hook createContainer 'sleep 30' 1
	set_cmd 'true'
	start=$(date +%s)
	run_husk create c1
	[ "$status" -eq 1 ]
	[ $(( $(date +%s) - start )) -lt 10 ]
	[[ "$stderr" == *"hook createContainer[0] (/bin/sh) did not finish within 1 s"* ]]
	[ ! -e "$STATE/c1" ]
}

@test "the container's program starts with no ignored signal: not the caller's, not a hook's" {
	hook createContainer 'true'
	hook startContainer 'true'
	# exec'd directly: busybox sh would add its own ignored SIGQUIT
	update_config '.process.args = ["grep", "SigIgn", "/proc/self/status"]'
	# a caller that ignores SIGQUIT and SIGPIPE (trap '' is SIG_IGN, and that survives exec)
	run bash -c "trap '' QUIT PIPE; cd '$BUNDLE' && exec '$HUSK' oci --root '$STATE' run c1"
	# (and in CI signals 32 and 33, glibc's own, arrive ignored as well: they are reset too)
	[ "$status" -eq 0 ]
	[ "$output" = "SigIgn:	0000000000000000" ] || fail "$output"
}

@test "each hook kind sees the status of its step in the runtime-spec's lifecycle" {
	# the state each hook reads on its stdin, kept whole; startContainer runs in the container
	for k in prestart createRuntime createContainer poststart poststop; do
		hook $k "cat > $TEST_DIR/$k.json"
	done
	hook startContainer 'cat > /tmp/startContainer.json'
	set_cmd 'sleep 0.1'
	husk create c1
	pid=$(husk state c1 | jq .pid)
	husk start c1
	wait_stopped c1
	husk delete c1
	cp "$BUNDLE/rootfs/tmp/startContainer.json" "$TEST_DIR/"
	# creating while create runs (steps 3-5); created once it has, before the program (7);
	# running after it started (9); stopped after it exited (13)
	for want in prestart:creating createRuntime:creating createContainer:creating \
		    startContainer:created poststart:running poststop:stopped; do
		k=${want%%:*}
		got=$(jq -r .status "$TEST_DIR/$k.json")
		[ "$got" = "${want#*:}" ] || fail "$k saw \"$got\", not \"${want#*:}\""
		[ "$(jq -r .id "$TEST_DIR/$k.json")" = c1 ] || fail "$k: $(cat "$TEST_DIR/$k.json")"
	done
	for k in prestart createRuntime createContainer startContainer poststart; do
		[ "$(jq .pid "$TEST_DIR/$k.json")" = "$pid" ] || fail "$k: pid $(jq .pid "$TEST_DIR/$k.json"), not $pid"
	done
}

@test "a failing poststart or poststop hook is a warning in the log, and the hooks after it still run" {
	hook poststart 'exit 4'
	hook poststart "echo ran > $TEST_DIR/poststart1"
	hook poststop 'exit 5'
	hook poststop 'kill -9 $$'
	hook poststop "echo ran > $TEST_DIR/poststop2"
	set_cmd 'echo hello'
	run_husk --log "$TEST_DIR/log" run c1
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = hello ]
	[ "$(cat "$TEST_DIR/poststart1")" = ran ]
	[ "$(cat "$TEST_DIR/poststop2")" = ran ]
	grep 'level=warning' "$TEST_DIR/log" | grep -q 'hook poststart\[0\] (/bin/sh) exited with status 4' || fail "$(cat "$TEST_DIR/log")"
	grep 'level=warning' "$TEST_DIR/log" | grep 'hook poststop\[0\] (/bin/sh) exited with status 5' |
		grep -q 'hook poststop\[1\] (/bin/sh) was killed by signal 9' || fail "$(cat "$TEST_DIR/log")"
	[ ! -e "$STATE/c1" ]
	# the same through create, start, delete
	husk create c2
	run_husk --log "$TEST_DIR/log2" start c2
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$stderr" == *"warning: hook poststart[0] (/bin/sh) exited with status 4"* ]]
	wait_stopped c2
	rm "$TEST_DIR/poststop2"
	run_husk delete c2
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$stderr" == *"warning: hook poststop[0] (/bin/sh) exited with status 5"* ]]
	[ "$(cat "$TEST_DIR/poststop2")" = ran ]
	[ ! -e "$STATE/c2" ]
}

# annotations of about N KiB, as one object
big_annotations() {
	local i
	for i in $(seq "$1"); do
		printf '{"org.test.a%d": "%s"}\n' "$i" "$(head -c 1000 /dev/zero | tr '\0' x)"
	done | jq -s 'add' > "$TEST_DIR/annotations.json"
	update_config --slurpfile a "$TEST_DIR/annotations.json" '.annotations = $a[0]'
}

@test "every hook gets the whole state with 64 KiB of annotations" {
	big_annotations 64
	for k in prestart createRuntime createContainer poststart poststop; do
		hook $k "cat > $TEST_DIR/$k.json"
	done
	hook startContainer 'cat > /tmp/startContainer.json'
	set_cmd 'true'
	run_husk run c1
	[ "$status" -eq 0 ] || fail "$stderr"
	cp "$BUNDLE/rootfs/tmp/startContainer.json" "$TEST_DIR/"
	want=$(jq -c . "$TEST_DIR/annotations.json" | sha256sum)
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		[ "$(jq -c .annotations "$TEST_DIR/$k.json" | sha256sum)" = "$want" ] || fail "$k: annotations differ"
	done
}

@test "a hook that does not read a large state is still killed at its timeout" {
	# more than a pipe holds: writing the state must not block past the timeout
	big_annotations 200
	hook createRuntime 'exec sleep 30' 1
	set_cmd 'true'
	start=$(date +%s)
	run_husk create c1
	[ "$status" -eq 1 ]
	[ $(( $(date +%s) - start )) -lt 10 ]
	[[ "$stderr" == *"hook createRuntime[0] (/bin/sh) did not finish within 1 s"* ]] || fail "$stderr"
	[ ! -e "$STATE/c1" ]
}

@test "a state past husk's message limit fails create with a clear error and leaves nothing" {
	big_annotations 1100
	hook createContainer 'true'
	set_cmd 'true'
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the state for the hooks: a sync message of "*" bytes is over husk's limit of 1048576 bytes" ]] || fail "$stderr"
	[[ "$stderr" != *"Message too long"* ]] || fail "$stderr"
	[ ! -e "$STATE/c1" ]
}
