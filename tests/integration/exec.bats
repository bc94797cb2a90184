#!/usr/bin/env bats
# husk oci exec: another process in every namespace and the cgroup of a running container.
load helpers

setup() {
	setup_bundle
	cp "$HUSK_BUILD/husk-probe" "$BUNDLE/rootfs/bin/husk-probe"
	update_config '.hostname = "exhost"'
	set_cmd 'sleep 60'
	husk run --detach c1
	INIT=$(husk state c1 | jq -r .pid)
}

teardown() {
	local p
	for p in ${LOOPS:-}; do kill "$p" 2>/dev/null || true; done
	teardown_bundle
}

@test "exec joins every namespace of the container's init and returns the exit status" {
	run husk exec c1 sh -c 'for n in pid mnt net ipc uts cgroup; do readlink /proc/self/ns/$n; done; hostname; exit 7'
	[ "$status" -eq 7 ]
	i=0
	for n in pid mnt net ipc uts cgroup; do
		[ "${lines[$i]}" = "$(readlink /proc/$INIT/ns/$n)" ] || fail "$n: ${lines[$i]}"
		i=$((i + 1))
	done
	[ "${lines[6]}" = exhost ]
}

@test "the exec'd process is in the container's cgroup, and --pid-file names it" {
	husk exec --detach --pid-file "$TEST_DIR/pid" c1 sleep 5
	pid=$(cat "$TEST_DIR/pid")
	for d in $(container_cgroup_dirs c1); do
		grep -qx "$pid" "$d/cgroup.procs" || fail "$pid not in $d"
	done
	run husk ps --format json c1
	[[ "$output" == *"$pid"* ]]
}

@test "runc's flags: --user, --env, --cwd, --additional-gids, --cap, --no-new-privs" {
	run husk exec --user 1000:1000 --additional-gids 5 --env FOO=bar --env PATH=/bin --cwd /tmp c1 sh -c 'id; echo $FOO; pwd'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "uid=1000(user) gid=1000(user) groups="*"5(tty)"* ]]
	[ "${lines[1]}" = bar ]
	[ "${lines[2]}" = /tmp ]
	run husk exec --cap CAP_SYS_PTRACE c1 grep CapBnd /proc/self/status
	# SYS_PTRACE (19) is added to the container's docker set
	[ $(( 0x$(echo "$output" | awk '{print $2}') >> 19 & 1 )) -eq 1 ]
	update_config '.process.noNewPrivileges = false'
	run husk exec --no-new-privs c1 grep NoNewPrivs /proc/self/status
	[[ "$output" == *"NoNewPrivs:	1"* ]]
}

@test "--process FILE runs a runtime-spec process object" {
	cat > "$TEST_DIR/process.json" <<'JSON'
{"args": ["sh", "-c", "echo from-process-file $X; pwd"], "env": ["X=1", "PATH=/bin"], "cwd": "/etc", "user": {"uid": 0, "gid": 0}}
JSON
	run husk exec --process "$TEST_DIR/process.json" c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "from-process-file 1" ]
	[ "${lines[1]}" = /etc ]
	echo '{"args": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}' > "$TEST_DIR/bad.json"
	run_husk exec --process "$TEST_DIR/bad.json" c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"process.args"*"at least the program"* ]]
}

@test "the container's seccomp filter and capabilities hold for exec'd processes, and no husk fd leaks in" {
	run husk exec c1 sh -c 'husk-probe call keyctl 0; grep -E "^(Seccomp|CapBnd):" /proc/self/status; ls /proc/self/fd | sort -n | tr "\n" " "'
	[[ "$output" == *"keyctl=EPERM"* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
	[[ "$output" == *"CapBnd:	00000000a80425fb"* ]]
	[[ "${lines[-1]}" == "0 1 2 3 " ]]
}

@test "exec fails clearly on a missing program, a paused and a stopped container" {
	run_husk exec c1 /nope
	[ "$status" -eq 1 ]
	[ "$stderr" = 'husk: exec: exec "/nope": No such file or directory' ]
	husk pause c1
	run_husk exec c1 true
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'container "c1" is paused: exec needs a running container'* ]]
	husk resume c1
	husk kill c1 KILL
	wait_stopped c1
	run_husk exec c1 true
	[[ "$stderr" == *'container "c1" is stopped: exec needs a running container'* ]]
}

@test "exec --tty --console-socket: the pty master goes to the socket, the process has a terminal" {
	"$HUSK_BUILD/husk-probe" console-receiver "$TEST_DIR/exec.sock" > "$TEST_DIR/exec-console.out" &
	receiver=$!
	for i in $(seq 100); do [ -S "$TEST_DIR/exec.sock" ] && break; sleep 0.02; done
	husk exec --tty --console-socket "$TEST_DIR/exec.sock" c1 sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty'
	wait $receiver || true
	out=$(tr -d '\r' < "$TEST_DIR/exec-console.out")
	[[ "$out" == *"received /dev/pts/"* ]] || fail "$out"
	[[ "$out" == *"/dev/pts/"*"stdio-is-tty"* ]] || fail "$out"
	run_husk exec --tty --detach c1 true
	[[ "$stderr" == *"--tty with --detach needs --console-socket"* ]]
}

@test "exec -t without a console socket: husk relays the terminal (typed into under tmux)" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	tmux kill-session -t husk-exec-t-$$ 2>/dev/null || true
	tmux new-session -d -s husk-exec-t-$$ -x 100 -y 30 "cd '$BUNDLE' && '$HUSK' oci --root '$STATE' exec -t c1 sh; echo husk-exit=\$?; sleep 30"
	for i in $(seq 100); do tmux capture-pane -t husk-exec-t-$$ -p | grep -q '/ #' && break; sleep 0.05; done
	tmux send-keys -t husk-exec-t-$$ 'echo typed-$((6*7)); stty size; exit 4' Enter
	for i in $(seq 100); do tmux capture-pane -t husk-exec-t-$$ -p | grep -q husk-exit && break; sleep 0.05; done
	screen=$(tmux capture-pane -t husk-exec-t-$$ -p)
	tmux kill-session -t husk-exec-t-$$
	[[ "$screen" == *typed-42* ]] || fail "$screen"
	[[ "$screen" == *"30 100"* ]] || fail "$screen"
	[[ "$screen" == *husk-exit=4* ]] || fail "$screen"
}

@test "exec whose pid file cannot be written fails and leaves no process in the container" {
	before=$(husk ps --format json c1 | jq length)
	run_husk exec --detach --pid-file /nonexistent/dir/pid c1 sleep 50
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"/nonexistent/dir/pid"* ]]
	[ "$(husk ps --format json c1 | jq length)" -eq "$before" ]
}

# Two containers k1, k2 (keyctl allowed: husk's default seccomp profile refuses it) and a
# third, k3, created with --no-new-keyring; then, under a session keyring of the test's own
# (the probe's "keyring session"), the host's id, each exec'd process's, a key added in k1,
# and where that key can be found.
keyring_check() {
	update_config 'del(.linux.seccomp)'
	set_cmd 'sleep 60'
	husk run --detach k1
	husk run --detach k2
	husk run --detach --no-new-keyring k3
	key=husk-key-$BATS_TEST_NUMBER-$$
	cat > "$TEST_DIR/keys.sh" <<SCRIPT
cd '$BUNDLE'
h() { '$HUSK' oci --root '$STATE' exec "\$@"; }
echo "host \$('$HUSK_BUILD/husk-probe' keyring id)"
echo "k1 \$(h k1 husk-probe keyring id)"
echo "k1-again \$(h k1 husk-probe keyring id)"
echo "k2 \$(h k2 husk-probe keyring id)"
echo "k3 \$(h k3 husk-probe keyring id)"
echo "added \$(h k1 husk-probe keyring add $key)"
echo "k1-search \$(h k1 sh -c 'husk-probe keyring add $key >/dev/null; husk-probe keyring search $key')"
echo "k2-search \$(h k2 husk-probe keyring search $key)"
echo "host-search \$('$HUSK_BUILD/husk-probe' keyring search $key)"
SCRIPT
	run "$HUSK_BUILD/husk-probe" keyring session sh "$TEST_DIR/keys.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	declare -A id
	for l in "${lines[@]}"; do id[${l%% *}]=${l#* }; done
	for k in host k1 k1-again k2 k3 added; do [[ "${id[$k]}" =~ ^[0-9]+$ ]] || fail "$k: ${id[$k]}"; done
	# every exec'd process has a session keyring of its own: not the caller's, not another's
	[ "${id[k1]}" != "${id[host]}" ] || fail "k1's exec is in the caller's session keyring"
	[ "${id[k2]}" != "${id[host]}" ] || fail "k2's exec is in the caller's session keyring"
	[ "${id[k1]}" != "${id[k2]}" ]
	[ "${id[k1]}" != "${id[k1-again]}" ]
	# a key added inside is found there, and neither in another container nor on the host
	[[ "${id[k1-search]}" == found* ]]
	[ "${id[k2-search]}" = ENOKEY ] || fail "k2 found k1's key: ${id[k2-search]}"
	[ "${id[host-search]}" = ENOKEY ] || fail "the host found k1's key: ${id[host-search]}"
	# --no-new-keyring at create holds for exec too: the caller's keyring, as asked
	[ "${id[k3]}" = "${id[host]}" ]
}

@test "each exec'd process gets a session keyring of its own, never the caller's (unless --no-new-keyring)" {
	keyring_check
}

@test "each exec'd process gets a session keyring of its own, in a user namespace too" {
	chmod 755 "$TEST_DIR" "$BUNDLE"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	keyring_check
}

@test "exec --cgroup on cgroup v1: a clear error, and nothing runs" {
	[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || skip "cgroup v2: see cgroup.bats"
	for arg in sub memory:sub /; do
		run_husk exec --cgroup "$arg" c1 sh -c 'echo ran'
		[ "$status" -eq 1 ] || fail "--cgroup $arg: status $status, $output"
		[[ "$output" != *ran* ]]
		[[ "$stderr" == *"exec --cgroup \"$arg\": container \"c1\" is on cgroup v1, where husk cannot put an exec'd process in a sub-cgroup"* ]] || fail "$stderr"
	done
}

@test "under CPU load, the spawner's pid always comes before the process's first message" {
	# The spawner reports the pid on a socket of its own: the process (which may run first on a
	# busy machine) writes on the sync socket, and its READY once overtook the pid. Here busy
	# loops on every CPU, execs into c1 and containers created into c1's pid namespace.
	LOOPS=
	for i in $(seq $(( $(nproc) * 2 ))); do ( while :; do :; done ) & LOOPS="$LOOPS $!"; done
	cp "$BUNDLE/config.json" "$TEST_DIR/c1.json"
	update_config --arg p /proc/$INIT/ns/pid '.linux.namespaces |= map(if .type == "pid" then .path = $p else . end) | .process.args = ["true"]'
	failed=0
	for i in $(seq 40); do
		husk exec c1 true 2>"$TEST_DIR/err" || { failed=$((failed + 1)); cat "$TEST_DIR/err"; }
		husk create "sp$$-$i" </dev/null >/dev/null 2>"$TEST_DIR/err" || { failed=$((failed + 1)); cat "$TEST_DIR/err"; }
	done
	for p in $LOOPS; do kill "$p"; done
	LOOPS=
	for i in $(seq 40); do husk delete --force "sp$$-$i" 2>/dev/null || true; done
	[ "$failed" -eq 0 ]
}
