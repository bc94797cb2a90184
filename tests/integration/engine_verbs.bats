#!/usr/bin/env bats
# docker's verbs on running engine containers: exec, top, stats, port, system df. Each test has
# its own store (busybox bootstrapped into it) and --root; containers run with --network none
# (the default bridge would touch the host's network) and are removed by the test.

load helpers

setup_file() {
	# one bootstrap for the file: each test copies the store (no container in it yet)
	export FIX=$BATS_FILE_TMPDIR
	HUSK_STORAGE=$FIX/store "$HUSK" --root "$FIX/run" image bootstrap busybox >"$FIX/bootstrap.log" 2>&1 ||
		{ cat "$FIX/bootstrap.log"; return 1; }
}

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hkv.XXXXXX")
	cp -a "$FIX/store" "$TEST_DIR/store"
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
}

# nothing of a test may stay: containers (removed with rm -f), state, monitors' dirs, mounts
teardown() {
	local left leaks
	for id in $(ls "$HUSK_STORAGE/containers" 2>/dev/null); do
		"$HUSK" --root "$RUNROOT" rm -f "$id" >/dev/null 2>&1
	done
	left=$(ls "$HUSK_STORAGE/containers" "$RUNROOT" "$RUNROOT-engine" 2>/dev/null | grep -v ':$' | grep -v '^$' || true)
	leaks=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	rm -rf "$TEST_DIR"
	[ -z "$left" ] || fail "left behind: $left"
	[ "$leaks" -eq 0 ] || fail "mounts left: $leaks"
}

hk() {
	if [ "${1:-}" = run ]; then
		shift
		"$HUSK" --root "$RUNROOT" run --network none "$@"
	else
		"$HUSK" --root "$RUNROOT" "$@"
	fi
}

# what a test made, removed (teardown checks that nothing is left)
rm_all() {
	run -0 hk rm -f "$@"
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || fail "containers left: $(ls "$HUSK_STORAGE/containers")"
	[ -z "$(ls "$RUNROOT-engine" 2>/dev/null)" ] || fail "monitor dirs left: $(ls "$RUNROOT-engine")"
}

@test "exec: the container's env, user, cwd; -e, --env-file, -u NAME, -w; exit status passed on" {
	run -0 hk run -d --name web -e FROM_RUN=yes -w /tmp busybox sleep 1000
	id=$output
	# the container's own env and cwd by default
	run -0 hk exec web sh -c 'echo "$FROM_RUN $PATH"; pwd; id -u'
	[ "${lines[0]}" = "yes /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ] || fail "$output"
	[ "${lines[1]}" = /tmp ] || fail "$output"
	[ "${lines[2]}" = 0 ] || fail "$output"
	# -e over it, --env-file (comments, K alone takes the caller's), -w
	printf '# a comment\nFROM_FILE=file\n\nFROM_CALLER\n' > "$TEST_DIR/env"
	run -0 env FROM_CALLER=caller "$HUSK" --root "$RUNROOT" exec -e FROM_RUN=over -e NEW=new --env-file "$TEST_DIR/env" \
		-w /etc web sh -c 'echo "$FROM_RUN $NEW $FROM_FILE $FROM_CALLER"; pwd'
	[ "${lines[0]}" = "over new file caller" ] || fail "$output"
	[ "${lines[1]}" = /etc ] || fail "$output"
	# -u by name, looked up in the container's /etc/passwd and /etc/group; HOME is the user's
	run -0 hk exec -u nobody web sh -c 'id; echo $HOME'
	[ "${lines[0]}" = "uid=65534(nobody) gid=65534(nogroup)" ] || fail "$output"
	[ "${lines[1]}" = /home ] || fail "$output"
	# a group by name: the container's daemon group (not nobody's own)
	daemon_gid=$(hk exec web awk -F: '$1 == "daemon" { print $3 }' /etc/group)
	[ -n "$daemon_gid" ] && [ "$daemon_gid" != 65534 ] || fail "no daemon group in the image: $daemon_gid"
	run -0 hk exec -u nobody:daemon web sh -c 'id -u; id -g'
	[ "${lines[*]}" = "65534 $daemon_gid" ] || fail "$output"
	run -125 --separate-stderr hk exec -u ghost web true
	[[ $stderr == *"-u ghost"*"ghost is not in the image's /etc/passwd"* ]] || fail "$stderr"
	# by id prefix too; the command's status is husk's
	run -7 hk exec "${id:0:10}" sh -c 'exit 7'
	run -137 hk exec web sh -c 'kill -9 $$'
	# docker's: 127 not found, 126 not executable
	run -127 --separate-stderr hk exec web /no/such/program
	[[ $stderr == *"/no/such/program"*"No such file"* ]] || fail "$stderr"
	run -126 --separate-stderr hk exec web /etc/passwd
	[[ $stderr == *"Permission denied"* ]] || fail "$stderr"
	rm_all web
}

@test "exec: a stopped container, an unknown one, usage errors (125), --help" {
	run -0 hk run -d --name done busybox true
	run -0 hk wait done
	run -1 --separate-stderr hk exec done true
	[ "$stderr" = "husk: exec: container done is not running (husk start done)" ] || fail "$stderr"
	run -1 --separate-stderr hk exec ghost true
	[[ $stderr == *'no container "ghost"'* ]] || fail "$stderr"
	run -125 hk exec done
	run -125 hk exec --bogus done true
	run -125 --separate-stderr hk exec -w relative done true
	[[ $stderr == *'--workdir "relative": give an absolute path'* ]] || fail "$stderr"
	run -0 --separate-stderr hk exec --help
	[[ ${lines[0]} == "usage: husk exec [OPTIONS] CONTAINER COMMAND [ARG...]" ]] || fail "$output"
	rm_all done
}

@test "exec: -i passes piped stdin, without -i stdin is empty; -t gives a terminal (under script), needs one" {
	run -0 hk run -d --name web busybox sleep 1000
	run -0 sh -c "echo piped | $HUSK --root $RUNROOT exec -i web cat"
	[ "$output" = piped ] || fail "$output"
	run -0 sh -c "echo piped | $HUSK --root $RUNROOT exec web cat"
	[ "$output" = "" ] || fail "$output"
	run -0 script -qec "$HUSK --root $RUNROOT exec -it web sh -c 'tty; echo \$TERM'" /dev/null </dev/null
	[[ $output == *"/dev/pts/"*xterm* ]] || fail "$output"
	run -0 script -qec "$HUSK --root $RUNROOT exec -t web sh -c 'exit 3'; echo status=\$?" /dev/null </dev/null
	[[ $output == *status=3* ]] || fail "$output"
	run -125 --separate-stderr hk exec -t web true </dev/null
	[[ $stderr == *"not a TTY"* ]] || fail "$stderr"
	rm_all web
}

@test "exec -d: returns at once and leaves the process running in the container" {
	run -0 hk run -d --name web busybox sleep 1000
	run -0 --separate-stderr hk exec -d web sh -c 'echo started > /tmp/mark; exec sleep 4242'
	[ "$output" = "" ] || fail "exec -d printed: $output"
	# it runs on after husk returned: seen from inside the container
	for _ in $(seq 100); do
		hk exec web sh -c 'ps -o args | grep -q "^sleep 4242"' && break
		sleep 0.1
	done
	run -0 hk exec web ps -o args
	[[ $output == *"sleep 4242"* ]] || fail "$output"
	run -0 hk exec web cat /tmp/mark
	[ "$output" = started ]
	rm_all web
}

@test "top: the container's processes as ps -ef shows them, with ps options, refused when stopped" {
	run -0 hk run -d --name web busybox sleep 1000
	pid=$(hk inspect -f '{{.State.Pid}}' web)
	run -0 hk top web
	read -ra head <<<"${lines[0]}"
	[ "${head[*]}" = "UID PID PPID C STIME TTY TIME CMD" ] || fail "$output"
	[ "${#lines[@]}" -eq 2 ] || fail "only the container's processes: $output"
	read -ra row <<<"${lines[1]}"
	[ "${row[1]}" = "$pid" ] || fail "$output"
	[[ ${lines[1]} == *"sleep 1000" ]] || fail "$output"
	run -0 hk top web -o pid,comm
	read -ra head <<<"${lines[0]}"
	[ "${head[*]}" = "PID COMMAND" ] || fail "$output"
	[ "${#lines[@]}" -eq 2 ] || fail "$output"
	read -ra row <<<"${lines[1]}"
	[ "${row[*]}" = "$pid sleep" ] || fail "$output"
	run -1 --separate-stderr hk top web -o comm
	[[ $stderr == *"no PID column"* ]] || fail "$stderr"
	run -0 hk top --help
	run -125 hk top
	run -0 hk stop -t 0 web
	run -1 --separate-stderr hk top web
	[ "$stderr" = "husk: top: container web is not running (husk start web)" ] || fail "$stderr"
	rm_all web
}

@test "stats --no-stream: docker's columns, CPU % from two samples, memory, pids; --format json" {
	run -0 hk run -d --name busy busybox sh -c 'while :; do :; done'
	run -0 hk run -d --name idle busybox sleep 1000
	run -0 hk exec -d idle sleep 1001
	run -0 hk stats --no-stream
	[[ ${lines[0]} =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ /\ LIMIT\ +MEM\ %\ +NET\ I/O\ +BLOCK\ I/O\ +PIDS$ ]] ||
		fail "$output"
	[ "${#lines[@]}" -eq 3 ] || fail "$output"
	run -0 hk stats --no-stream --format json busy idle
	[ "${#lines[@]}" -eq 2 ] || fail "$output"
	busy=${lines[0]} idle=${lines[1]}
	[ "$(jq -r .Name <<<"$busy")" = busy ] || fail "$busy"
	[ "$(jq -r .Container <<<"$idle")" = idle ] || fail "$idle"
	[ "$(jq -r .ID <<<"$idle")" = "$(hk inspect -f '{{.Id}}' idle | cut -c1-12)" ] || fail "$idle"
	[ "$(jq -r .PIDs <<<"$idle")" = 2 ] || fail "$idle"
	[ "$(jq -r .PIDs <<<"$busy")" = 1 ] || fail "$busy"
	# a busy loop has a CPU's worth (100% of one, however many there are), give or take a busy machine
	cpu=$(jq -r .CPUPerc <<<"$busy")
	[ "$(awk -v c="${cpu%\%}" 'BEGIN { print (c > 10 && c < 210) }')" = 1 ] || fail "busy CPU % $cpu"
	[[ $(jq -r .MemUsage <<<"$idle") =~ ^[0-9.]+(B|KiB|MiB)\ /\ [0-9.]+(MiB|GiB|TiB)$ ]] || fail "$idle"
	[ "$(jq -r .NetIO <<<"$idle")" = "0B / 0B" ] || fail "--network none has only lo: $idle"
	run -1 hk stats --no-stream ghost
	run -125 hk stats --format '{{.Foo}}'
	rm_all busy idle
}

@test "port: the record's published ports, docker's output; none for a container without" {
	run -0 hk run -d --name web busybox sleep 1000
	id=$output
	run -0 hk port web
	[ "$output" = "" ] || fail "$output"
	# --network none takes no -p: the record is given ports as husk run -p writes them
	rec=$HUSK_STORAGE/containers/$id/container.json
	jq '.NetworkSettings.Ports = {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
		"53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]}' "$rec" > "$rec.new"
	mv "$rec.new" "$rec"
	run -0 hk port web
	[ "${lines[0]}" = "53/udp -> 127.0.0.1:5353" ] || fail "$output"
	[ "${lines[1]}" = "80/tcp -> 0.0.0.0:8080" ] || fail "$output"
	run -0 hk port web 80
	[ "$output" = "0.0.0.0:8080" ] || fail "$output"
	run -0 hk port web 53/udp
	[ "$output" = "127.0.0.1:5353" ] || fail "$output"
	run -1 --separate-stderr hk port web 81
	[[ $stderr == *"no public port 81/tcp published for web"* ]] || fail "$stderr"
	run -125 hk port web 80/xyz
	run -125 hk port
	rm_all web
}

@test "system df: images, containers (their writable layers), volumes, in docker's table" {
	run -0 hk system df
	[[ ${lines[0]} =~ ^TYPE\ +TOTAL\ +ACTIVE\ +SIZE\ +RECLAIMABLE$ ]] || fail "$output"
	read -ra images <<<"${lines[1]}"
	[ "${images[*]:0:3}" = "Images 1 0" ] || fail "$output"
	[ "${images[3]}" = "${images[4]}" ] || fail "an unused image is reclaimable: $output"
	read -ra ctrs <<<"${lines[2]}"
	[ "${ctrs[*]}" = "Containers 0 0 0B 0B" ] || fail "$output"
	[ "${lines[3]}" = "Local Volumes   0         0         0B        0B" ] || fail "$output"
	[ "${#lines[@]}" -eq 4 ] || fail "$output"

	run -0 hk run -d --name web busybox sh -c 'dd if=/dev/zero of=/big bs=1000 count=100 2>/dev/null; sleep 1000'
	for _ in $(seq 100); do
		hk exec web sh -c '[ "$(wc -c < /big)" -eq 100000 ]' && break
		sleep 0.1
	done
	run -0 hk system df
	read -ra images <<<"${lines[1]}"
	[ "${images[*]:0:3}" = "Images 1 1" ] || fail "$output"
	[ "${images[4]} ${images[5]}" = "0B (0%)" ] || fail "$output"
	read -ra ctrs <<<"${lines[2]}"
	[ "${ctrs[*]}" = "Containers 1 1 100kB 0B (0%)" ] || fail "$output"
	run -0 hk stop -t 0 web
	run -0 hk system df
	read -ra ctrs <<<"${lines[2]}"
	[ "${ctrs[*]}" = "Containers 1 0 100kB 100kB (100%)" ] || fail "$output"
	run -0 hk system df --help
	run -125 hk system df extra
	rm_all web
}
