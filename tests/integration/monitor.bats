#!/usr/bin/env bats
# husk-monitor, the relay, alone against the kernel: tests/helpers/monitor-driver.c makes the
# pipes (or a pty), the listening socket, the lock and the exe fd, forks the container stand-in
# (sh -c CMD) and becomes the relay; the relay's exe fd is a script that records the argv and
# the fds it was exec'd with.
bats_require_minimum_version 1.5.0

HUSK_BUILD=${HUSK_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
RELAY=$HUSK_BUILD/husk-monitor
CLIENT=$BATS_TEST_DIRNAME/../helpers/monitor-client.py
CRI='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (stdout|stderr) [FP] '

setup_file() {
	[ -x "$RELAY" ] || { echo "build $RELAY first (make all)" >&2; return 1; }
	cc -O2 -Wall -o "$BATS_FILE_TMPDIR/monitor-driver" "$BATS_TEST_DIRNAME/../helpers/monitor-driver.c"
}

setup() {
	D=$BATS_TEST_TMPDIR
	RELAY_PID=
	# records its argv (after the interpreter's own) and every fd it holds (ls, a child: no pipe
	# of a command substitution of the shell's own in the list)
	cat > "$D/exec.sh" <<-EOF
	#!/bin/sh
	for a in "\$@"; do printf '%s\n' "\$a"; done > $D/exec.argv
	ls -l /proc/\$\$/fd > $D/exec.ls
	awk '/->/ { print \$(NF - 2), \$NF }' $D/exec.ls > $D/exec.fds
	EOF
	chmod +x "$D/exec.sh"
}

teardown() {
	if [ -n "$RELAY_PID" ] && kill -0 "$RELAY_PID" 2>/dev/null; then
		kill -9 "$RELAY_PID" 2>/dev/null
		wait "$RELAY_PID" 2>/dev/null
	fi
	# the child of a relay killed above is reparented: it dies with its pipes / the pty
	if mountpoint -q "$D/small" 2>/dev/null; then umount "$D/small"; fi
	return 0
}

# start_relay [-t] [-i] CMD [RELAY ARGS...]: the relay in the background, as RELAY_PID
start_relay() {
	local flags=()
	while [ "${1:0:1}" = - ]; do flags+=("$1"); shift; done
	local cmd=$1; shift
	"$BATS_FILE_TMPDIR/monitor-driver" "${flags[@]}" -S "$D/attach" -L "$D/lock" -E "$D/exec.sh" \
		-M "$RELAY" -A "$D/relay.argv" -c "$cmd" -- --id c1 "$@" -- husk monitor-exited c1 \
		< /dev/null > "$D/relay.out" 2> "$D/relay.err" &
	RELAY_PID=$!
	local i
	for i in $(seq 200); do [ -S "$D/attach" ] && return 0; sleep 0.05; done
	echo "no listening socket"; return 1
}

# waits (bounded) for the relay and what it exec'd to end; RELAY_RC is its exit code
wait_relay() {
	local i
	for i in $(seq ${1:-600}); do
		kill -0 "$RELAY_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$RELAY_PID" 2>/dev/null && { echo "relay still running"; cat "$D/relay.err"; return 1; }
	RELAY_RC=0
	wait "$RELAY_PID" || RELAY_RC=$?
	RELAY_PID=
	[ -f "$D/exec.argv" ] || { echo "husk was not exec'd:"; cat "$D/relay.err"; return 1; }
}

# the value after ARG in the relay's argv
relay_arg() { sed -n "/^$1\$/{n;p;q}" "$D/relay.argv"; }

# the texts of the log's STREAM records as "F text" / "P text"
records() { grep -E " $2 [FP] " "$1" | cut -d' ' -f3-; }

@test "log: CRI records, one per line, in order per stream; a long line in P parts; the last part without newline" {
	start_relay 'echo one; echo two >&2; seq -f "line %g" 1 50; head -c 20000 /dev/zero | tr "\0" x; echo; echo three >&2; printf last' \
		--log "$D/ctr.log"
	wait_relay
	[ "$RELAY_RC" -eq 0 ]
	run ! grep -Ev "$CRI" "$D/ctr.log"
	# a timestamp of now (the day before or now, around midnight)
	day=$(head -c 10 "$D/ctr.log")
	[ "$day" = "$(date -u +%F)" ] || [ "$day" = "$(date -u -d '-1 hour' +%F)" ]
	# per stream, the timestamps never go back
	cut -d' ' -f1 "$D/ctr.log" > "$D/ts"
	sort -c "$D/ts"
	{
		echo "F one"
		seq -f "F line %g" 1 50
		echo "P $(head -c 16384 /dev/zero | tr '\0' x)"
		echo "F $(head -c 3616 /dev/zero | tr '\0' x)"
		echo "P last"
	} > "$D/want.stdout"
	records "$D/ctr.log" stdout > "$D/got.stdout"
	cmp "$D/want.stdout" "$D/got.stdout"
	[ "$(records "$D/ctr.log" stderr)" = "$(printf 'F two\nF three')" ]
}

@test "log rotation: max-size and max-file bound the files; nothing lost between them" {
	# each record is 31 + 9 + 10 + 1 = 51 bytes ("line 00001"): 19 in 1000 bytes
	start_relay 'seq -f "line %05g" 1 200' --log "$D/ctr.log" --log-max-size 1000 --log-max-file 3
	wait_relay
	[ "$RELAY_RC" -eq 0 ]
	[ -f "$D/ctr.log" ] && [ -f "$D/ctr.log.1" ] && [ -f "$D/ctr.log.2" ]
	[ ! -e "$D/ctr.log.3" ]
	for f in "$D/ctr.log" "$D/ctr.log.1" "$D/ctr.log.2"; do
		[ "$(stat -c %s "$f")" -le 1000 ] || { echo "$f: $(stat -c %s "$f") bytes"; false; }
	done
	[ "$(stat -c %s "$D/ctr.log.1")" -eq $((19 * 51)) ]
	[ "$(stat -c %s "$D/ctr.log.2")" -eq $((19 * 51)) ]
	# the files, oldest first, hold the last lines in order
	cat "$D/ctr.log.2" "$D/ctr.log.1" "$D/ctr.log" | cut -d' ' -f4- > "$D/got"
	n=$(wc -l < "$D/got")
	seq -f "line %05g" $((201 - n)) 200 | cmp - "$D/got"
}

@test "log rotation: max-file 1 truncates in place" {
	start_relay 'seq -f "line %05g" 1 200' --log "$D/ctr.log" --log-max-size 1000 --log-max-file 1
	wait_relay
	[ ! -e "$D/ctr.log.1" ]
	[ "$(stat -c %s "$D/ctr.log")" -le 1000 ]
	[ "$(tail -1 "$D/ctr.log" | cut -d' ' -f4-)" = "line 00200" ]
	[ "$(head -1 "$D/ctr.log" | cut -d' ' -f4-)" = "line $(printf %05d $((200 - $(wc -l < "$D/ctr.log") + 1)))" ]
}

@test "client: o and e messages, i reaches the container's stdin, c closes it; husk gets the client fd" {
	start_relay -i 'read l; echo "got $l"; echo "err $l" >&2; cat; echo eof' --log "$D/ctr.log"
	python3 "$CLIENT" "$D/attach" "$D/out" "$D/err" h:7 'i:hello\n' 'wait:got hello' 'i:more\n' c
	wait_relay
	[ "$(cat "$D/out")" = "$(printf 'got hello\nmore\neof')" ]
	[ "$(cat "$D/err")" = "err hello" ]
	# the client was still there at the end: handed on, open in what was exec'd
	fd=$(sed -n '/^--client-fd$/{n;p}' "$D/exec.argv")
	[ -n "$fd" ]
	grep -q "^$fd socket:" "$D/exec.fds"
	[ "$(tail -2 "$D/exec.argv" | head -1)" = --client-fd ]
	[ "$(records "$D/ctr.log" stdout)" = "$(printf 'F got hello\nF more\nF eof')" ]
}

@test "client: a slow reader holds the output back, it loses nothing" {
	start_relay -i 'read x; yes abcdefghij | head -c 3000000; echo END'
	python3 "$CLIENT" "$D/attach" "$D/out" "$D/err" h:3 'i:go\n' sleep:1
	wait_relay
	{ yes abcdefghij | head -c 3000000; echo END; } | cmp - "$D/out"
}

@test "pty: w resizes it, everything is stdout, \\r\\n logged as a line" {
	start_relay -t 'read l; stty size; echo "e $l" >&2' --log "$D/ctr.log"
	python3 "$CLIENT" "$D/attach" "$D/out" "$D/err" h:7 w:33:77 'i:go\n' 'wait:e go'
	wait_relay
	grep -q '33 77' "$D/out"
	[ ! -s "$D/err" ]
	run ! grep -Ev "$CRI" "$D/ctr.log"
	run ! grep -q stderr "$D/ctr.log"
	run ! grep -q $'\r' "$D/ctr.log"
	records "$D/ctr.log" stdout | grep -qx 'F 33 77'
	records "$D/ctr.log" stdout | grep -qx 'F e go'
}

@test "exit: husk exec'd with its argv, --status WSTATUS, the lock and the listening socket; nothing else" {
	# -i: the relay holds the stdin pipe's write end until the end: it must not cross the exec
	start_relay -i 'echo x; exit 3' --log "$D/ctr.log"
	wait_relay
	[ "$(cat "$D/exec.argv")" = "$(printf 'monitor-exited\nc1\n--status\n768')" ]
	lock=$(relay_arg --lock-fd) listen=$(relay_arg --listen-fd)
	grep -qx "$lock $D/lock" "$D/exec.fds"
	grep -q "^$listen socket:" "$D/exec.fds"
	# no pipe of the container's, no log, no signalfd
	run ! grep -E 'pipe:|ctr.log|anon_inode' "$D/exec.fds"
	[ "$(grep -c socket: "$D/exec.fds")" -eq 1 ]
}

@test "exit: killed by a signal: --status is the raw wait status" {
	start_relay 'kill -9 $$'
	wait_relay
	[ "$(sed -n '/^--status$/{n;p}' "$D/exec.argv")" = 9 ]
}

@test "exit: orphans are reaped; the init's status is the one passed" {
	# the orphan is reparented to the relay (a subreaper) and reaped; its status is not the one passed
	start_relay -i 'read x; (sh -c "exit 7" &); exit 5'
	python3 "$CLIENT" "$D/attach" "$D/out" "$D/err" h:1 'i:go\n'
	wait_relay
	[ "$(sed -n '/^--status$/{n;p}' "$D/exec.argv")" = $((5 * 256)) ]
}

@test "log write failure (full filesystem): the container is not held up, one --log-error line, later writes work" {
	mkdir "$D/small"
	mount -t tmpfs -o size=64k tmpfs "$D/small"
	dd if=/dev/zero of="$D/small/filler" bs=4k 2>/dev/null || true
	# the child waits for the failure to be recorded, then frees space (64k: room enough for
	# the records the relay still had to write after that, and the last one)
	start_relay "seq -f 'dropped %g' 1 200; i=0; while [ ! -s $D/log-error ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i+1)); done; rm $D/small/filler; echo after-free" \
		--log "$D/small/ctr.log" --log-error "$D/log-error"
	wait_relay
	[ "$RELAY_RC" -eq 0 ]
	[ "$(sed -n '/^--status$/{n;p}' "$D/exec.argv")" = 0 ]
	[ "$(wc -l < "$D/log-error")" -eq 1 ]
	# the first failure; on each later one (and on a short write) only stderr hears of it
	grep -E 'husk-monitor: c1: write.* .*/small/ctr.log' "$D/log-error"
	[ "$(head -1 "$D/relay.err")" = "$(cat "$D/log-error")" ]
	# no torn record; what came after the space was freed is there
	run ! grep -Ev "$CRI" "$D/small/ctr.log"
	records "$D/small/ctr.log" stdout | grep -qx 'F after-free'
}

@test "log filling up again: no torn record, one --log-error line for several failures, the container is not held up" {
	mkdir "$D/small"
	mount -t tmpfs -o size=64k tmpfs "$D/small"
	dd if=/dev/zero of="$D/small/filler" bs=4k 2>/dev/null || true
	# full: the first failure; then space is freed, and 280k of 140-byte records fill it again
	# (a record torn at the last page, a second failure)
	line="$(printf %100s | tr ' ' x)"
	start_relay "echo first; i=0; while [ ! -s $D/log-error ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i+1)); done; rm $D/small/filler; seq -f 'line %04g $line' 1 2000" \
		--log "$D/small/ctr.log" --log-error "$D/log-error"
	wait_relay
	[ "$(sed -n '/^--status$/{n;p}' "$D/exec.argv")" = 0 ]
	[ "$(wc -l < "$D/log-error")" -eq 1 ]
	[ "$(wc -l < "$D/relay.err")" -gt 1 ]
	run ! grep -Ev "$CRI"'line [0-9]{4} x{100}$' "$D/small/ctr.log"
	[ "$(wc -l < "$D/small/ctr.log")" -gt 100 ]
}

@test "10 MB with no client and no log reader: the container finishes" {
	start_relay 'yes 0123456789012345678901234567890123456789 | head -c 10000000; echo done >&2' \
		--log "$D/ctr.log" --log-max-size 1000000 --log-max-file 2
	wait_relay
	[ "$(sed -n '/^--status$/{n;p}' "$D/exec.argv")" = 0 ]
	[ "$(stat -c %s "$D/ctr.log")" -le 1000000 ]
	[ "$(stat -c %s "$D/ctr.log.1")" -le 1000000 ]
	records "$D/ctr.log" stderr | grep -qx 'F done'
}

@test "10 MB with no client and no log: the container finishes" {
	start_relay 'yes 0123456789 | head -c 10000000'
	wait_relay
	[ "$(sed -n '/^--status$/{n;p}' "$D/exec.argv")" = 0 ]
}

@test "usage errors: exit 125 and say what" {
	run -125 "$RELAY" --id x
	[[ "$output" == *"missing -- HUSK_ARGV"* ]]
	run -125 "$RELAY" --id x --pid 1 --exe-fd 0 --lock-fd 0 --listen-fd 0 --stdout-fd 1 -- husk
	[[ "$output" == *"--stdout-fd and --stderr-fd, or --pty-fd"* ]]
	run -125 "$RELAY" --id x --pid 1 --exe-fd 0 --lock-fd 0 --listen-fd 0 --pty-fd 99 -- husk
	[[ "$output" == *"not an open file descriptor: --pty-fd"* ]]
	run -125 "$RELAY" --id x --pid 1 --exe-fd 0 --lock-fd 0 --listen-fd 0 --pty-fd 0 -- husk
	[[ "$output" == *"--pid: not a child of this process: 1"* ]]
	run -125 "$RELAY" --id x --bogus 1 -- husk
	[[ "$output" == *"unknown option --bogus"* ]]
}
