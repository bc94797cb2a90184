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
