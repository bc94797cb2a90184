#!/usr/bin/env bats
# husk logs: a container's CRI-format log read back (docker's flags). Until `husk run -d` writes
# logs, each test makes the container's directory and its ctr.log by hand.

load helpers

ID=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hk-logs.XXXXXX")
	STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	CDIR=$STORAGE/containers/$ID
	mkdir -p "$CDIR" "$STORAGE/names"
	ln -s "$ID" "$STORAGE/names/web"
	cat > "$CDIR/ctr.log" <<-'EOF'
	2026-11-29T15:04:05.000000001Z stdout F first line
	2026-11-29T15:04:06.5Z stderr F an error
	2026-11-29T15:04:07Z stdout P joined 
	2026-11-29T15:04:08Z stdout F line
	2026-11-29T15:04:09Z stderr F another error
	2026-11-29T15:04:10Z stdout F last
	EOF
}

teardown() {
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	[ -n "${FOLLOWER:-}" ] && kill "$FOLLOWER" 2>/dev/null
	rm -rf "$TEST_DIR"
}

hk() {
	"$HUSK" --storage "$STORAGE" --root "$RUNROOT" "$@"
}

@test "logs: stdout lines on stdout, stderr lines on stderr, parts joined" {
	run -0 --separate-stderr hk logs web
	[ "$output" = "$(printf 'first line\njoined line\nlast')" ] || fail "stdout: $output"
	[ "$stderr" = "$(printf 'an error\nanother error')" ] || fail "stderr: $stderr"
	# by id and by a prefix of it too
	run -0 --separate-stderr hk logs "$ID"
	[ "${lines[0]}" = "first line" ]
	run -0 --separate-stderr hk logs 0123456
	[ "${lines[0]}" = "first line" ]
	run -1 --separate-stderr hk logs nosuch
	[[ $stderr == *'no container "nosuch"'* ]] || fail "$stderr"
}

@test "logs -t: each line after its time, RFC 3339 with 9 digits" {
	run -0 --separate-stderr hk logs -t web
	[ "${lines[0]}" = "2026-11-29T15:04:05.000000001Z first line" ] || fail "$output"
	[ "${lines[1]}" = "2026-11-29T15:04:07.000000000Z joined line" ] || fail "$output"
	[ "$stderr" = "$(printf '2026-11-29T15:04:06.500000000Z an error\n2026-11-29T15:04:09.000000000Z another error')" ] ||
		fail "$stderr"
}

@test "logs --tail N counts lines of both streams from the end; --since, --until" {
	run -0 --separate-stderr hk logs --tail 2 web
	[ "$output" = last ] || fail "$output"
	[ "$stderr" = "another error" ] || fail "$stderr"
	run -0 --separate-stderr hk logs --tail 0 web
	[ -z "$output" ] && [ -z "$stderr" ]
	run -0 --separate-stderr hk logs --tail all web
	[ "${#lines[@]}" -eq 3 ]
	run -0 --separate-stderr hk logs --since 2026-11-29T15:04:07Z --until 2026-11-29T15:04:09Z web
	[ "$output" = "joined line" ] || fail "$output"
	[ "$stderr" = "another error" ] || fail "$stderr"
	run -125 --separate-stderr hk logs --tail x web
	[[ $stderr == *"--tail x: "* ]] || fail "$stderr"
}

@test "logs: rotated files first, oldest first; a malformed record is skipped with a warning" {
	printf '2026-11-29T15:04:01Z stdout F rotated two\n' > "$CDIR/ctr.log.2"
	printf '2026-11-29T15:04:02Z stdout F rotated one\nnot a record\n' > "$CDIR/ctr.log.1"
	run -0 --separate-stderr hk logs web
	[ "${lines[0]}" = "rotated two" ] || fail "$output"
	[ "${lines[1]}" = "rotated one" ] || fail "$output"
	[ "${lines[2]}" = "first line" ] || fail "$output"
	[[ $stderr == *"warning: $CDIR/ctr.log.1: record 2: no RFC 3339 time"* ]] || fail "$stderr"
	# 7 lines in all: the last 6 begin in ctr.log.1
	run -0 --separate-stderr hk logs --tail 6 web
	[ "${lines[0]}" = "rotated one" ] || fail "$output"
	[ "${#lines[@]}" -eq 4 ] || fail "$output"
}

@test "logs --log-driver none, and the record's LogPath" {
	echo '{"Id": "'$ID'", "HostConfig": {"LogConfig": {"Type": "none"}}}' > "$CDIR/container.json"
	run -1 --separate-stderr hk logs web
	[ "$stderr" = "husk: logs: container web has no logs (--log-driver none)" ] || fail "$stderr"
	printf '2026-11-29T15:04:01Z stdout F elsewhere\n' > "$TEST_DIR/other.log"
	echo '{"Id": "'$ID'", "LogPath": "'$TEST_DIR/other.log'", "HostConfig": {"LogConfig": {"Type": "k8s-file"}}}' > "$CDIR/container.json"
	run -0 --separate-stderr hk logs web
	[ "$output" = elsewhere ] || fail "$output"
}

@test "logs --help" {
	run -0 --separate-stderr hk logs --help
	[[ $output == "usage: husk logs "* ]]
	[ -z "$stderr" ]
}

@test "logs -f: a stopped container's log is printed and the command ends" {
	run -0 --separate-stderr timeout 10 "$HUSK" --storage "$STORAGE" --root "$RUNROOT" logs -f web
	[ "$output" = "$(printf 'first line\njoined line\nlast')" ] || fail "$output"
}

@test "logs -f: follows what is appended while the monitor lives, across a rotation; ends when it is gone" {
	# a stand-in for the monitor: the lock held until the fifo gets a line
	mkdir -p "$RUNROOT-engine/$ID"
	mkfifo "$TEST_DIR/release"
	# (the lock is the subshell's own fd and read a builtin: killing HOLDER frees all)
	( flock -x 9 && read -r x < "$TEST_DIR/release" ) 9> "$RUNROOT-engine/$ID/monitor.lock" &
	HOLDER=$!
	wait_for "! flock -n -s '$RUNROOT-engine/$ID/monitor.lock' true"
	hk logs -f --tail 1 web > "$TEST_DIR/out" 2> "$TEST_DIR/err" &
	FOLLOWER=$!
	wait_for "grep -q '^last$' '$TEST_DIR/out'"
	printf '2026-11-29T15:05:00Z stdout F appended\n2026-11-29T15:05:01Z stdout P half \n' >> "$CDIR/ctr.log"
	wait_for "grep -q '^appended$' '$TEST_DIR/out'"
	mv "$CDIR/ctr.log" "$CDIR/ctr.log.1"
	printf '2026-11-29T15:05:02Z stdout F and more\n' > "$CDIR/ctr.log"
	wait_for "grep -q '^half and more$' '$TEST_DIR/out'"
	kill -0 "$FOLLOWER" || fail "logs -f ended while the monitor holds its lock"
	echo go > "$TEST_DIR/release"
	wait "$HOLDER"
	HOLDER=
	wait_for "! kill -0 $FOLLOWER 2>/dev/null"
	wait "$FOLLOWER"
	FOLLOWER=
	[ "$(cat "$TEST_DIR/out")" = "$(printf 'last\nappended\nhalf and more')" ] || fail "$(cat "$TEST_DIR/out")"
}
