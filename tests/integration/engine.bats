#!/usr/bin/env bats
# The detached engine: a monitor per container, run -d and the foreground client, ps, inspect,
# stop, start, restart, kill, rm, wait, attach, restart policies, a simulated reboot, and what a
# killed client or monitor leaves (the truth in ps, nothing after rm).

load helpers

setup_file() {
	export FIX=$BATS_FILE_TMPDIR
	# one store with busybox for the file: each test has its own --root (and so its own monitors'
	# directory) and names, and removes its containers
	"$HUSK" --storage "$FIX/store" image bootstrap busybox >/dev/null
}

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hke.XXXXXX")
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	# a store of the test's own, sharing the file's image content (hard links are enough: the
	# store only adds files)
	cp -al "$FIX/store" "$HUSK_STORAGE"
	enter_test_cgroup
}

# no container, monitor, mount, runtime state or record of the test may stay
teardown() {
	local ids left
	ids=$(ls "$HUSK_STORAGE/containers" 2>/dev/null || true)
	[ -z "$ids" ] || "$HUSK" --root "$RUNROOT" rm -f $ids >/dev/null 2>&1 || true
	left=$(ps -eo pid=,args= | grep -F -- "$TEST_DIR" | grep -v grep || true)
	[ -z "$left" ] || { for pid in $(echo "$left" | awk '{print $1}'); do kill -9 "$pid" 2>/dev/null; done; }
	local mounts
	mounts=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	leave_test_cgroup
	local runtime engine_rt
	runtime=$(ls "$RUNROOT" 2>/dev/null || true)
	engine_rt=$(ls "$RUNROOT-engine" 2>/dev/null || true)
	[ "$mounts" -eq 0 ] || { umount -l $(grep "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}') 2>/dev/null; }
	rm -rf "$TEST_DIR"
	[ -z "$ids" ] || fail "containers left by the test: $ids"
	[ -z "$left" ] || fail "processes left: $left"
	[ "$mounts" -eq 0 ] || fail "mounts left: $mounts"
	[ -z "$runtime$engine_rt" ] || fail "runtime state left: $runtime $engine_rt"
}

# the engine on this test's store and root; never the host's network
hk() {
	if [ "${1:-}" = run ]; then
		shift
		"$HUSK" --root "$RUNROOT" run --network none "$@"
	else
		"$HUSK" --root "$RUNROOT" "$@"
	fi
}

status_of() { hk inspect -f '{{.State.Status}}' "$1"; }
log_of() { cat "$HUSK_STORAGE/containers/$(hk inspect -f '{{.Id}}' "$1")/ctr.log"; }
monitor_of() { ps -o ppid= -p "$(hk inspect -f '{{.State.Pid}}' "$1")" | tr -d ' '; }

@test "run -d: the id, ps, a CRI log, inspect, stop (TERM then KILL), rm: nothing left" {
	run -0 hk run -d --name web busybox sh -c 'echo out; echo err >&2; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done'
	id=$output
	[[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "not an id: $id"
	wait_for '[ "$(log_of web | wc -l)" -ge 2 ]'
	run -0 hk ps
	[[ "${lines[0]}" == "CONTAINER ID"*"NAMES" ]] || fail "header: ${lines[0]}"
	[[ "$output" == *"${id:0:12}"*busybox*"Up "*web* ]] || fail "$output"
	run -0 hk ps -q
	[ "$output" = "${id:0:12}" ]
	run -0 log_of web
	# <RFC3339Nano> <stream> <P|F> <text>
	grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z stdout F out$' <<<"$output" || fail "$output"
	grep -Eq '^[^ ]+ stderr F err$' <<<"$output" || fail "$output"
	run -0 hk inspect web
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$id" ]
	[ "$(jq -r '.[0].Name' <<<"$output")" = /web ]
	[ "$(jq -r '.[0].State.Running' <<<"$output")" = true ]
	[ "$(jq -r '.[0].State.Pid' <<<"$output")" -gt 1 ]
	[ "$(jq -r '.[0].Config.Image' <<<"$output")" = busybox ]
	# by name, full id, a prefix
	[ "$(hk inspect -f '{{.Id}}' "${id:0:5}")" = "$id" ]
	[ "$(hk inspect -f '{{.Name}}' "$id")" = /web ]
	# the trap answers TERM: exit 0, quickly
	run -0 hk stop web
	[ "$output" = web ]
	[ "$(status_of web)" = exited ]
	[ "$(hk inspect -f '{{.State.ExitCode}}' web)" = 0 ]
	log_of web | grep -q 'stdout F bye$'
	run -0 hk ps
	[ "${#lines[@]}" -eq 1 ]
	run -0 hk ps -a --format json
	[ "$(jq -r .State <<<"$output")" = exited ]
	[[ "$(jq -r .Status <<<"$output")" == "Exited (0) "* ]]
	run -0 hk rm web
	[ -z "$(ls "$HUSK_STORAGE/containers")" ]
	[ -z "$(ls "$HUSK_STORAGE/names")" ]
	run -1 hk inspect web
	[[ "$output" == *'no container "web" (husk ps -a lists them)'* ]]
}

@test "stop: a program that ignores TERM is killed after -t; stop of a stopped container is no error" {
	hk run -d --name s busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null
	start=$(date +%s%N)
	run -0 hk stop -t 1 s
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$elapsed" -ge 900 ] || fail "stopped after $elapsed ms, before the timeout"
	[ "$(hk inspect -f '{{.State.ExitCode}}' s)" = 137 ]
	run -0 hk stop s
	[ "$output" = s ]
	hk rm s >/dev/null
}

@test "foreground run: output, exit status, stdin with -i, --rm leaves nothing; docker's 125/126/127" {
	run -0 hk run --rm busybox sh -c 'echo hello; echo oops >&2'
	[[ "$output" == *hello* && "$output" == *oops* ]]
	run -3 hk run --rm busybox sh -c 'exit 3'
	run -0 sh -c "echo piped | $HUSK --root $RUNROOT run --network none --rm -i busybox cat"
	[ "$output" = piped ]
	# without -i the container reads nothing
	run -0 sh -c "echo piped | $HUSK --root $RUNROOT run --network none --rm busybox cat"
	[ -z "$output" ]
	run -127 hk run --rm busybox /no/such/program
	[[ "$output" == *"/no/such/program"* ]]
	run -126 hk run --rm busybox /etc/passwd
	run -125 hk run --no-such-flag busybox true
	run -125 hk run --rm no-such-image true
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || fail "left: $(ls "$HUSK_STORAGE/containers")"
	# without --rm a container that could not start stays, created, with the reason (as docker)
	run -127 hk run --name nope busybox /no/such/program
	[ "$(status_of nope)" = created ]
	[ "$(hk inspect -f '{{.State.ExitCode}}' nope)" = 127 ]
	[[ "$(hk inspect -f '{{.State.Error}}' nope)" == *"/no/such/program"* ]]
	hk rm nope >/dev/null
}

@test "foreground -i streams both ways at once (no deadlock); a half-made container is listed as dead" {
	head -c 16M /dev/urandom >"$TEST_DIR/in"
	# input and output flow together: the client never blocks on one while the other fills
	timeout 60 "$HUSK" --root "$RUNROOT" run --network none --rm -i busybox cat <"$TEST_DIR/in" >"$TEST_DIR/out"
	cmp "$TEST_DIR/in" "$TEST_DIR/out"
	# husk killed between making the container's directory and writing its record
	id=$(printf 'd%.0s' $(seq 64))
	mkdir -p "$HUSK_STORAGE/containers/$id"
	run -0 hk ps -a --format json
	[ "$(jq -r .State <<<"$output")" = dead ] || fail "$output"
	run -0 hk ps -a
	[[ "$output" == *"${id:0:12}"*Dead* ]] || fail "$output"
	run -0 hk rm "$id"
	[ -z "$(ls "$HUSK_STORAGE/containers")" ]
}

@test "names: unique (the holder named), two runs with one name at once: exactly one wins" {
	id=$(hk run -d --name taken busybox sleep 100)
	run -125 hk run -d --name taken busybox true
	[[ "$output" == *'"taken" is already in use by container '"${id:0:12}"* ]] || fail "$output"
	run -125 hk run --name 'bad/name' busybox true
	[[ "$output" == *"invalid container name"* ]]
	# generated names: adjective_noun
	run -0 hk run -d busybox true
	[[ "$(hk inspect -f '{{.Name}}' "$output")" =~ ^/[a-z]+_[a-z]+$ ]]
	for i in $(seq 8); do
		hk run -d --name race busybox sleep 100 >"$TEST_DIR/race.$i" 2>&1 &
	done
	wait
	[ "$(grep -lE '^[0-9a-f]{64}$' "$TEST_DIR"/race.* | wc -l)" -eq 1 ] || fail "$(cat "$TEST_DIR"/race.*)"
	[ "$(grep -l 'already in use' "$TEST_DIR"/race.* | wc -l)" -eq 7 ]
	# the losers left nothing: three containers in all
	[ "$(ls "$HUSK_STORAGE/containers" | wc -l)" -eq 3 ]
	run -1 hk rm taken
	[[ "$output" == *"is running: stop it first"* ]]
	run -0 hk rm -f taken race
	hk container prune >/dev/null
	[ -z "$(ls "$HUSK_STORAGE/containers")" ]
}

@test "start, restart, wait, kill, pause; start of a running container is no error" {
	hk run -d --name c busybox sh -c 'trap "exit 10" USR1; echo run; while :; do sleep 0.1; done' >/dev/null
	run -0 hk start c
	[ "$output" = c ]
	wait_for '[ "$(log_of c | grep -c "stdout F run")" -eq 1 ]'
	run -0 hk kill -s USR1 c
	run -0 hk wait c
	[ "$output" = 10 ]
	[ "$(status_of c)" = exited ]
	run -0 hk start c
	wait_for '[ "$(status_of c)" = running ]'
	run -0 hk pause c
	[ "$(status_of c)" = paused ]
	run -0 hk ps
	[[ "$output" == *"(Paused)"* ]]
	run -0 hk unpause c
	[ "$(status_of c)" = running ]
	pid=$(hk inspect -f '{{.State.Pid}}' c)
	run -0 hk restart -t 0 c
	[ "$(status_of c)" = running ]
	[ "$(hk inspect -f '{{.State.Pid}}' c)" != "$pid" ]
	# the log holds every run's output
	wait_for '[ "$(log_of c | grep -c "stdout F run")" -eq 3 ]'
	# start -a: attached, the status is the container's
	hk stop -t 0 c >/dev/null
	run -1 hk kill c
	[[ "$output" == *"is not running"* ]]
	hk rm c >/dev/null
	hk run -d --name a busybox sh -c 'echo attached; exit 5' >/dev/null
	hk wait a >/dev/null
	run -5 hk start -a a
	[[ "$output" == *attached* ]]
	hk rm a >/dev/null
}

@test "restart policies: on-failure:N counts, always comes back until husk stop" {
	hk run -d --name f --restart on-failure:2 busybox sh -c 'echo try; exit 4' >/dev/null
	wait_for '[ "$(status_of f)" = exited ] && [ "$(hk inspect -f "{{.RestartCount}}" f)" = 2 ]'
	[ "$(log_of f | grep -c 'stdout F try')" -eq 3 ]
	[ "$(hk inspect -f '{{.State.ExitCode}}' f)" = 4 ]
	hk run -d --name al --restart always busybox sh -c 'exit 0' >/dev/null
	wait_for '[ "$(hk inspect -f "{{.RestartCount}}" al)" -ge 2 ]'
	run -0 hk stop al
	[ "$(status_of al)" = exited ]
	count=$(hk inspect -f '{{.RestartCount}}' al)
	sleep 0.5
	[ "$(status_of al)" = exited ]
	[ "$(hk inspect -f '{{.RestartCount}}' al)" = "$count" ]
	run -125 hk run --rm --restart always busybox true
	run -125 hk run --restart sometimes busybox true
	[[ "$output" == *"one of no, on-failure"* ]]
	hk rm f al >/dev/null
}

@test "the OOM killer's work is recorded: OOMKilled, 137" {
	hk run -d --name oom --memory 16m busybox sh -c 'x=$(head -c 200m /dev/zero | tr "\0" x)' >/dev/null
	run -0 hk wait oom
	[ "$output" = 137 ]
	[ "$(hk inspect -f '{{.State.OOMKilled}}' oom)" = true ]
	# and a container that ends by itself was not
	hk run -d --name fine --memory 16m busybox true >/dev/null
	hk wait fine >/dev/null
	[ "$(hk inspect -f '{{.State.OOMKilled}}' fine)" = false ]
	hk rm oom fine >/dev/null
}

@test "a killed husk client disturbs nothing: the container runs on, its exit and output are recorded" {
	"$HUSK" --root "$RUNROOT" run --network none --name k busybox sh -c 'sleep 0.5; echo finished; exit 7' &
	client=$!
	wait_for '[ "$(status_of k 2>/dev/null)" = running ]'
	kill -9 "$client"
	wait "$client" || true
	run -0 hk wait k
	[ "$output" = 7 ]
	log_of k | grep -q 'stdout F finished$'
	# killed while stopping and while removing: ps tells the truth, rm still works
	hk start k >/dev/null
	"$HUSK" --root "$RUNROOT" stop -t 5 k >/dev/null &
	stopper=$!
	sleep 0.05
	kill -9 "$stopper" 2>/dev/null || true
	wait "$stopper" || true
	hk wait k >/dev/null
	[ "$(status_of k)" = exited ]
	hk start k >/dev/null
	"$HUSK" --root "$RUNROOT" rm -f k >/dev/null 2>&1 &
	remover=$!
	sleep 0.02
	kill -9 "$remover" 2>/dev/null || true
	wait "$remover" || true
	run hk ps -a --format json
	[ -z "$output" ] || [[ "$(jq -r .State <<<"$output")" =~ ^(exited|running|created|dead)$ ]] || fail "$output"
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || hk rm -f k >/dev/null
	[ -z "$(ls "$HUSK_STORAGE/containers")" ]
}

@test "a killed monitor takes its container with it; ps says so; rm leaves nothing" {
	hk run -d --name m busybox sleep 100 >/dev/null
	pid=$(hk inspect -f '{{.State.Pid}}' m)
	monitor=$(monitor_of m)
	[ "$(cat /proc/$monitor/comm)" = husk-monitor ]
	kill -9 "$monitor"
	wait_for "[ ! -e /proc/$pid/status ] || grep -q '^State:.*Z' /proc/$pid/status"
	# the first command after it may be a stop (which reconciles under the lock it holds)
	run -0 timeout 20 "$HUSK" --root "$RUNROOT" stop m
	run -0 hk ps -a --format json
	[ "$(jq -r .State <<<"$output")" = exited ]
	[[ "$(jq -r .Status <<<"$output")" == "Exited (137)"* ]]
	[[ "$(hk inspect -f '{{.State.Error}}' m)" == *"monitor ended"* ]]
	[ -z "$(ls "$RUNROOT")" ] || fail "runtime state left: $(ls "$RUNROOT")"
	hk rm m >/dev/null
}

@test "a simulated reboot: every container exited; system boot starts always and unless-stopped (not one stopped by hand)" {
	hk run -d --name always --restart always busybox sleep 100 >/dev/null
	hk run -d --name unless --restart unless-stopped busybox sleep 100 >/dev/null
	hk run -d --name stopped --restart unless-stopped busybox sleep 100 >/dev/null
	hk run -d --name plain busybox sleep 100 >/dev/null
	hk stop -t 0 stopped >/dev/null
	# the machine goes down: the monitors (and their containers) end, the cgroups go, /run is
	# emptied
	monitors=
	for c in always unless plain; do monitors="$monitors $(monitor_of $c)"; done
	kill -9 $monitors
	for m in $monitors; do wait_for "[ ! -e /proc/$m/status ] || grep -q '^State:.*Z' /proc/$m/status"; done
	for id in $(ls "$RUNROOT"); do "$HUSK" oci --root "$RUNROOT" delete --force "$id"; done
	rm -rf "$RUNROOT" "$RUNROOT-engine"
	run -0 hk ps -a --format json
	[ "$(jq -r 'select(.State != "exited") | .Names' <<<"$output")" = "" ] || fail "$output"
	run -0 hk system boot
	[ "$(status_of always)" = running ]
	[ "$(status_of unless)" = running ]
	[ "$(status_of stopped)" = exited ]
	[ "$(status_of plain)" = exited ]
	[ -f "$BATS_TEST_DIRNAME/../../contrib/husk.service" ]
	grep -q 'ExecStart=.*husk system boot' "$BATS_TEST_DIRNAME/../../contrib/husk.service"
	hk rm -f always unless stopped plain >/dev/null
}

@test "logs: a container nobody reads is never blocked; rotation; --log-driver none" {
	# 8 MB of output, no reader
	hk run -d --name loud busybox sh -c 'dd if=/dev/zero bs=1k count=8192 2>/dev/null | tr "\0" "x" | fold -w 1000; echo; echo end' >/dev/null
	run -0 hk wait loud
	[ "$output" = 0 ]
	log_of loud | tail -1 | grep -q 'stdout F end$'
	hk rm loud >/dev/null
	hk run -d --name rot --log-opt max-size=2k --log-opt max-file=3 busybox sh -c 'for i in $(seq 300); do echo line $i; done' >/dev/null
	hk wait rot >/dev/null
	dir=$HUSK_STORAGE/containers/$(hk inspect -f '{{.Id}}' rot)
	[ "$(ls "$dir" | grep -c '^ctr\.log')" -eq 3 ] || fail "$(ls -l "$dir")"
	for f in "$dir"/ctr.log*; do [ "$(stat -c %s "$f")" -le 2048 ] || fail "$f: $(stat -c %s "$f") bytes"; done
	tail -1 "$dir/ctr.log" | grep -q 'stdout F line 300$'
	hk rm rot >/dev/null
	hk run -d --name quiet --log-driver none busybox echo nothing >/dev/null
	hk wait quiet >/dev/null
	[ ! -e "$HUSK_STORAGE/containers/$(hk inspect -f '{{.Id}}' quiet)/ctr.log" ]
	[ -z "$(hk inspect -f '{{.LogPath}}' quiet)" ]
	hk rm quiet >/dev/null
	run -125 hk run --log-opt max-size=lots busybox true
	run -125 hk run --log-driver syslog busybox true
}

@test "logs: a disk that fills does not block the container; the error is recorded" {
	# the log on a small file system of the test's own (--log-opt path=, podman's spelling)
	mkdir "$TEST_DIR/small"
	mount -t tmpfs -o size=256k tmpfs "$TEST_DIR/small"
	hk run -d --name full --log-opt path="$TEST_DIR/small/full.log" busybox sh -c 'for i in $(seq 20000); do echo "line $i of a container that talks a lot"; done; echo done >&2' >/dev/null
	run -0 hk wait full
	[ "$output" = 0 ]
	error=$(hk inspect -f '{{.State.Error}}' full)
	[[ "$error" == *"$TEST_DIR/small/full.log"* ]] || fail "$error"
	[[ "$error" == *"No space left on device"* || "$error" == *"filesystem full"* ]] || fail "$error"
	[ "$(hk inspect -f '{{.LogPath}}' full)" = "$TEST_DIR/small/full.log" ]
	[ -s "$TEST_DIR/small/full.log" ]
	hk rm full >/dev/null
	# the log went with the container
	[ ! -e "$TEST_DIR/small/full.log" ]
	umount "$TEST_DIR/small"
}

@test "-it under a terminal: typed input, detach with ctrl-p ctrl-q, attach again, exit" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	sock=$TEST_DIR/tmux.sock
	tmux -S "$sock" new-session -d -x 120 -y 30 sh
	tmux -S "$sock" send-keys "$HUSK --root $RUNROOT run --network none --name tty -it busybox sh; echo client-exit=\$? > $TEST_DIR/exit" Enter
	wait_for "tmux -S $sock capture-pane -p | grep -q '^/ #'"
	tmux -S "$sock" send-keys 'echo typed-$((6*7))' Enter
	wait_for "tmux -S $sock capture-pane -p | grep -q typed-42"
	tmux -S "$sock" send-keys C-p C-q
	wait_for "[ -f $TEST_DIR/exit ]"
	[ "$(cat "$TEST_DIR/exit")" = client-exit=0 ]
	[ "$(status_of tty)" = running ]
	tmux -S "$sock" send-keys "clear; $HUSK --root $RUNROOT attach tty; echo attach-exit=\$? > $TEST_DIR/exit2" Enter
	sleep 0.3
	tmux -S "$sock" send-keys 'echo again-$((2*3))' Enter
	wait_for "tmux -S $sock capture-pane -p | grep -q again-6"
	tmux -S "$sock" send-keys 'exit 9' Enter
	wait_for "[ -f $TEST_DIR/exit2 ]"
	[ "$(cat "$TEST_DIR/exit2")" = attach-exit=9 ]
	tmux -S "$sock" kill-server
	[ "$(hk inspect -f '{{.State.ExitCode}}' tty)" = 9 ]
	log_of tty | grep -q 'stdout F typed-42'
	hk rm tty >/dev/null
}

@test "logs -f follows a running container to its end; rename keeps everything but the name" {
	hk run -d --name talk busybox sh -c 'echo first; sleep 0.5; echo second >&2; sleep 0.3; echo third' >/dev/null
	run -0 --separate-stderr hk logs -f talk
	[ "$output" = "$(printf 'first\nthird')" ] || fail "$output"
	[ "$stderr" = second ] || fail "$stderr"
	id=$(hk inspect -f '{{.Id}}' talk)
	run -0 hk rename talk chatter
	[ "$(hk inspect -f '{{.Id}}' chatter)" = "$id" ]
	[ "$(hk inspect -f '{{.Name}}' chatter)" = /chatter ]
	run -1 hk inspect talk
	# the old name is free again, the new one taken
	hk run -d --name talk busybox true >/dev/null
	run -1 hk rename talk chatter
	[[ "$output" == *'"chatter" is already in use by container '"${id:0:12}"* ]] || fail "$output"
	run -0 hk logs chatter
	[[ "$output" == *first*third* ]]
	hk rm chatter talk >/dev/null
}

@test "--help on every engine command, to stdout, status 0" {
	for c in run ps inspect stop start restart kill rm wait attach pause unpause rename; do
		run -0 hk "$c" --help
		[[ "$output" == usage:* ]] || fail "$c --help: $output"
	done
	run -0 hk --help
	[[ "$output" == *"ps "*"stop "*"system "* ]]
}
