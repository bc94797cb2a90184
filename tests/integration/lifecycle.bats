#!/usr/bin/env bats
# create / start / state / kill / delete / run / list: the container's life, seen from outside.
load helpers

@test "create leaves the init waiting, start releases it, it stops on exit" {
	set_cmd 'echo started > /tmp/mark; sleep 0.3'
	husk create --pid-file "$TEST_DIR/pid" c1
	pid=$(cat "$TEST_DIR/pid")
	[ -d /proc/$pid ]
	run husk state c1
	[ "$(echo "$output" | jq -r .status)" = created ]
	[ "$(echo "$output" | jq -r .pid)" = "$pid" ]
	[ "$(echo "$output" | jq -r .bundle)" = "$BUNDLE" ]
	[ ! -e "$BUNDLE/rootfs/tmp/mark" ]
	husk start c1
	[ "$(husk state c1 | jq -r .status)" = running ]
	wait_stopped c1
	[ "$(cat "$BUNDLE/rootfs/tmp/mark")" = started ]
	husk delete c1
	[ ! -e "$STATE/c1" ]
	run husk state c1
	[ "$status" -ne 0 ]
	[[ "$output" == *'container "c1" does not exist'* ]]
}

@test "the pid file holds the container's init, seen from the host pid namespace" {
	set_cmd 'sleep 10'
	husk create --pid-file "$TEST_DIR/pid" c1
	pid=$(cat "$TEST_DIR/pid")
	# the init is husk until start: its pid namespace is the container's own
	[ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
	husk start c1
	grep -q '^NSpid:.*[[:space:]]1$' /proc/$pid/status
	husk delete --force c1
}

@test "a second container with the same id is refused and the first is untouched" {
	set_cmd 'sleep 10'
	husk create c1
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'husk: create: container "c1" already exists'* ]]
	[ "$(husk state c1 | jq -r .status)" = created ]
	husk delete c1
}

@test "two concurrent creates of one id: exactly one wins" {
	set_cmd 'sleep 10'
	husk create race 2>/dev/null &
	p1=$!
	husk create race 2>/dev/null &
	p2=$!
	wait $p1 && r1=0 || r1=$?
	wait $p2 && r2=0 || r2=$?
	[ $((r1 + r2)) -eq 1 ]
	husk delete --force race
}

@test "delete refuses a running container without --force" {
	set_cmd 'sleep 30'
	husk run --detach c1
	run_husk delete c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'is running'* ]]
	[ "$(husk state c1 | jq -r .status)" = running ]
	husk delete --force c1
	[ ! -e "$STATE/c1" ]
}

@test "delete of a created container kills its waiting init" {
	set_cmd 'true'
	husk create --pid-file "$TEST_DIR/pid" c1
	pid=$(cat "$TEST_DIR/pid")
	husk delete c1
	for i in $(seq 50); do [ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null || break; sleep 0.02; done
	! [ -d /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status
}

@test "kill sends signals by name and by number; stopped containers refuse kill" {
	# (a PID 1 ignores a signal it has no handler for yet: kill once the trap is set)
	set_cmd 'trap "echo usr1 > /tmp/got; exit 3" USR1; touch /tmp/trapped; while :; do sleep 0.05; done'
	husk run --detach c1
	wait_for '[ -e "$BUNDLE/rootfs/tmp/trapped" ]'
	husk kill c1 USR1
	wait_stopped c1
	[ "$(cat "$BUNDLE/rootfs/tmp/got")" = usr1 ]
	run_husk kill c1 TERM
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'not running'* ]]
	husk delete c1
	husk run --detach c2
	husk kill c2 9
	wait_stopped c2
	husk delete c2
	run_husk kill c2 KILL
	[ "$status" -eq 1 ]
}

@test "kill rejects unknown signals" {
	set_cmd 'sleep 10'
	husk run --detach c1
	run_husk kill c1 SIGNOPE
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'unknown signal "SIGNOPE"'* ]]
	husk delete --force c1
}

@test "kill --all reaches every process in the container's cgroup" {
	set_cmd 'sleep 100 & sleep 100 & exec sleep 100'
	husk run --detach c1
	dir=$(container_cgroup_dirs c1 | head -1)
	wait_for '[ "$(wc -l < "$dir/cgroup.procs")" -eq 3 ]'
	husk kill --all c1 KILL
	wait_for '[ ! -s "$dir/cgroup.procs" ]'
	# a task leaves its cgroup early in its exit, before it is a zombie: only then is the
	# container stopped, and deletable without --force
	wait_stopped c1
	husk delete c1
}

@test "run exits with the process's status, 128+N when killed by signal N" {
	set_cmd 'exit 42'
	run husk run c1
	[ "$status" -eq 42 ]
	[ ! -e "$STATE/c1" ]
	# (a PID 1 ignores signals it has no handler for, even its own: kill it from outside)
	set_cmd 'sleep 30'
	(cd "$BUNDLE" && exec "$HUSK" oci --root "$STATE" run c2) &
	runpid=$!
	wait_for 'husk state c2 2>/dev/null | grep -q running'
	husk kill c2 KILL
	wait $runpid && status=0 || status=$?
	[ "$status" -eq $((128 + 9)) ]
}

@test "run forwards SIGTERM to the container" {
	set_cmd 'trap "exit 7" TERM; touch /tmp/trapped; while :; do sleep 0.05; done'
	(cd "$BUNDLE" && exec "$HUSK" oci --root "$STATE" run c1) &
	runpid=$!
	wait_for '[ -e "$BUNDLE/rootfs/tmp/trapped" ]'
	kill -TERM $runpid
	wait $runpid && status=0 || status=$?
	[ "$status" -eq 7 ]
	[ ! -e "$STATE/c1" ]
}

@test "run --detach returns at once and leaves the container running" {
	set_cmd 'sleep 30'
	husk run --detach --pid-file "$TEST_DIR/pid" c1
	[ "$(husk state c1 | jq -r .status)" = running ]
	[ "$(husk state c1 | jq -r .pid)" = "$(cat "$TEST_DIR/pid")" ]
	husk delete --force c1
}

@test "start of a running or missing container fails clearly" {
	set_cmd 'sleep 30'
	husk run --detach c1
	run_husk start c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'is running, not created'* ]]
	run_husk start nosuch
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'container "nosuch" does not exist'* ]]
	husk delete --force c1
}

@test "list shows a table and JSON" {
	set_cmd 'sleep 30'
	husk create c1
	husk run --detach c2
	run husk list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == ID*PID*STATUS*BUNDLE*CREATED*OWNER ]]
	[[ "${lines[1]}" == c1*created*"$BUNDLE"* ]]
	[[ "${lines[2]}" == c2*running*"$BUNDLE"* ]]
	run husk list --format json
	[ "$(echo "$output" | jq -r '.[] | .id + ":" + .status' | tr '\n' ' ')" = "c1:created c2:running " ]
	run husk list -q
	[ "$output" = "$(printf 'c1\nc2')" ]
	husk delete --force c1
	husk delete --force c2
}

@test "state survives the husk process: a new husk sees the running container" {
	set_cmd 'sleep 30'
	husk run --detach c1
	pid=$(husk state c1 | jq -r .pid)
	[ "$("$HUSK" oci --root "$STATE" state c1 | jq -r .pid)" = "$pid" ]
	kill -KILL "$pid"
	wait_stopped c1
	[ "$(husk state c1 | jq -r .pid)" = 0 ]
	husk delete c1
}

@test "a container-side failure is reported with its cause and leaves nothing behind" {
	update_config '.process.args = ["/bin/nope"]'
	run_husk create c1
	[ "$status" -eq 1 ]
	[ "$stderr" = 'husk: create: exec "/bin/nope": No such file or directory' ]
	[ ! -e "$STATE/c1" ]
	update_config '.process.args = ["true"] | .process.cwd = "/does/not/exist"'
	run_husk run c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'chdir to cwd "/does/not/exist": No such file or directory'* ]]
	[ ! -e "$STATE/c1" ]
	update_config '.process.cwd = "/" | .process.args = ["/etc/passwd"]'
	run_husk run c1
	[[ "$stderr" == *'exec "/etc/passwd": Permission denied'* ]]
	[ -z "$(ls "$STATE")" ]
}

@test "--log with --log-format json records errors as JSON lines" {
	update_config '.process.args = ["/bin/nope"]'
	run "$HUSK" oci --root "$STATE" --log "$TEST_DIR/log.json" --log-format json create --bundle "$BUNDLE" c1
	[ "$status" -eq 1 ]
	[ "$(jq -r .level "$TEST_DIR/log.json")" = error ]
	[[ "$(jq -r .msg "$TEST_DIR/log.json")" == *'exec "/bin/nope"'* ]]
}

@test "--console-socket: the pty master goes to the socket, the slave is the process's terminal" {
	update_config '.process.terminal = true | .process.consoleSize = {"height": 40, "width": 132}'
	set_cmd 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; stty size; ls -l /dev/console | cut -c1'
	run_with_console c1
	out=$console_out
	[[ "$out" == *"received /dev/pts/0 size 132x40"* ]] || fail "$out"
	[[ "$out" == *"/dev/pts/0"*"stdio-is-tty"*"40 132"* ]] || fail "$out"
	husk delete c1
}

@test "terminal with no /dev tmpfs and a read-only root: /dev/console is made before the root is sealed" {
	update_config '.process.terminal = true | .root.readonly = true | .mounts |= map(select(.destination != "/dev"))'
	set_cmd 'stat -c "%F %t:%T" /dev/console; touch /probe 2>&1 || echo root-is-ro'
	run_with_console c1
	out=$console_out
	# a pty slave is a character device of major 136..143 (88..8f in stat's hex)
	[[ "$out" == *"character special file 8"[8-9a-f]":"* ]] || fail "$out"
	[[ "$out" == *root-is-ro* ]] || fail "$out"
	husk delete c1
}

@test "create with terminal: true needs --console-socket, and nothing is created without one" {
	update_config '.process.terminal = true'
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'--console-socket is required'* ]]
	[ ! -e "$STATE/c1" ]
}

@test "run with terminal: true and no console socket: husk relays the terminal, raw, resized, exit status" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	update_config '.process.terminal = true | .process.args = ["sh"]'
	# a session name of this run's own: another copy of the suite may be typing into its own
	t=husk-run-t-$$
	tmux new-session -d -s $t -x 100 -y 30 "cd '$BUNDLE' && '$HUSK' oci --root '$STATE' run c1; echo husk-exit=\$?; sleep 30"
	for i in $(seq 100); do tmux capture-pane -t $t -p | grep -q '/ #' && break; sleep 0.05; done
	tmux send-keys -t $t 'echo typed-$((6*7)); tty; stty size' Enter
	# resized once the first size is on the screen; then asked again until the new one shows
	for i in $(seq 100); do tmux capture-pane -t $t -p | grep -q '^30 100' && break; sleep 0.05; done
	tmux resize-window -t $t -x 120 -y 40 2>/dev/null || true
	for i in $(seq 20); do
		tmux send-keys -t $t 'stty size' Enter
		sleep 0.1
		tmux capture-pane -t $t -p | grep -q '^40 120' && break
	done
	tmux send-keys -t $t 'exit 3' Enter
	for i in $(seq 100); do tmux capture-pane -t $t -p | grep -q husk-exit && break; sleep 0.05; done
	screen=$(tmux capture-pane -t $t -p)
	tmux kill-session -t $t
	[[ "$screen" == *typed-42* ]] || fail "$screen"
	[[ "$screen" == *"/dev/pts/0"* ]] || fail "$screen"
	[[ "$screen" == *"30 100"* ]] || fail "$screen"
	[[ "$screen" == *"40 120"* ]] || fail "$screen"
	[[ "$screen" == *husk-exit=3* ]] || fail "$screen"
	[ ! -e "$STATE/c1" ]
}

@test "--preserve-fds passes fds 3.. to the container and closes the rest" {
	set_cmd 'echo to-fd3 >&3; ls /proc/self/fd | sort -n | tr "\n" " "'
	run bash -c "cd '$BUNDLE' && exec '$HUSK' oci --root '$STATE' run --preserve-fds 1 c1 3>'$TEST_DIR/fd3' 4>'$TEST_DIR/fd4'"
	[ "$status" -eq 0 ]
	[ "$(cat "$TEST_DIR/fd3")" = to-fd3 ]
	# 0-2, the preserved 3, and 4: the directory ls itself opens to list /proc/self/fd.
	# Had the unpreserved 4 leaked in, ls's own fd would be 5.
	[ "$output" = "0 1 2 3 4 " ]
}

@test "kill of a created (not started) container, and annotations kept in the state" {
	update_config '.annotations = {"org.example.team": "blue", "io.husk.test": "1"}'
	set_cmd 'sleep 30'
	husk create c1
	pid=$(husk state c1 | jq -r .pid)
	[ "$(husk state c1 | jq -r '.annotations["org.example.team"]')" = blue ]
	[ "$(husk list --format json | jq -r '.[0].annotations["io.husk.test"]')" = 1 ]
	husk kill c1 KILL
	wait_stopped c1
	! [ -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status
	husk delete c1
	[ ! -e "$STATE/c1" ]
}

@test "a config without process: create makes the container, start refuses and leaves it created, delete removes it" {
	# the runtime-spec makes process optional until start
	update_config 'del(.process)'
	husk create --pid-file "$TEST_DIR/pid" c1
	pid=$(cat "$TEST_DIR/pid")
	[ "$(husk state c1 | jq -r .status)" = created ]
	# the init made the container (its root is the bundle's rootfs) and waits
	[ -x "/proc/$pid/root/bin/busybox" ]
	for try in 1 2; do
		run_husk start c1
		[ "$status" -eq 1 ]
		[ "$stderr" = 'husk: start: container "c1" has no process to start: its config.json had no "process"' ] ||
			fail "$stderr"
		[ "$(husk state c1 | jq -r .status)" = created ]
		[ "$(husk state c1 | jq -r .pid)" = "$pid" ]
		[ -d "/proc/$pid" ]
		[ -p "$STATE/c1/exec.fifo" ]
	done
	husk delete c1
	[ ! -e "$STATE/c1" ]
	# the waiting init is killed (and reaped by whoever is its parent now)
	for i in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
	[ ! -d "/proc/$pid" ]
}

@test "run refuses a config without process and leaves nothing, with or without --detach" {
	update_config 'del(.process)'
	run_husk run c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'config.json: no "process": there is nothing to run'* ]] || fail "$stderr"
	[ ! -e "$STATE/c1" ]
	run_husk run --detach c2
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'container "c2" has no process to start'* ]] || fail "$stderr"
	[ ! -e "$STATE/c2" ]
}
