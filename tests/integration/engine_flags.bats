#!/usr/bin/env bats
# husk run's docker flags that change the container's config, seen from inside real
# containers of the bootstrapped busybox image: cgroup limits, capabilities, read-only root,
# --privileged, --security-opt, --env-file, labels, --init, --ulimit; and the errors.

load helpers

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hkf.XXXXXX")
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	"$HUSK" --root "$RUNROOT" image bootstrap busybox >/dev/null
}

teardown() {
	local leaks
	leaks=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	[ -d "$RUNROOT" ] && for id in $(ls "$RUNROOT"); do "$HUSK" oci --root "$RUNROOT" delete --force "$id" >/dev/null 2>&1; done
	rm -rf "$TEST_DIR"
	[ "$leaks" -eq 0 ] || fail "mounts left: $leaks"
}

# these containers need no network: only lo, never a bridge on the machine's own network
hk() {
	if [ "${1:-}" = run ]; then
		shift
		"$HUSK" --root "$RUNROOT" run --network none "$@"
	else
		"$HUSK" --root "$RUNROOT" "$@"
	fi
}

no_containers_left() {
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || fail "snapshots left: $(ls "$HUSK_STORAGE/containers")"
	[ -z "$(ls "$RUNROOT" 2>/dev/null)" ] || fail "state left: $(ls "$RUNROOT")"
}

@test "--memory and --memory-swap: the memory cgroup's limits, docker's units and defaults" {
	[ -d /sys/fs/cgroup/memory ] || skip "cgroup v1 memory controller only"
	m=/sys/fs/cgroup/memory
	run -0 hk run --rm -m 64m busybox cat $m/memory.limit_in_bytes $m/memory.memsw.limit_in_bytes
	# without --memory-swap, docker lets memory and swap together be twice the memory
	[ "$output" = "$(printf '67108864\n134217728')" ] || fail "$output"
	run -0 hk run --rm --memory 1.5g --memory-swap 2GiB busybox cat $m/memory.limit_in_bytes $m/memory.memsw.limit_in_bytes
	[ "$output" = "$(printf '1610612736\n2147483648')" ] || fail "$output"
	run -0 hk run --rm -m 100000k --memory-swap -1 busybox cat $m/memory.limit_in_bytes $m/memory.memsw.limit_in_bytes
	[ "${lines[0]}" = 102400000 ] || fail "$output"
	[ "${lines[1]}" -gt 1000000000000 ] || fail "swap limited: $output"
	# and without the flag, no limit
	run -0 hk run --rm busybox cat $m/memory.limit_in_bytes
	[ "$output" -gt 1000000000000 ] || fail "$output"
	no_containers_left
}

@test "--memory and --memory-swap: bad values are refused, saying which and why" {
	run -125 --separate-stderr hk run --rm -m 12q busybox true
	[[ $stderr == "husk: run: --memory 12q: not a size"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --memory 4m busybox true
	[[ $stderr == *"--memory 4194304: below the least docker allows, 6 MiB"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --memory-swap 1g busybox true
	[[ $stderr == *"--memory-swap needs --memory"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -m 1g --memory-swap 512m busybox true
	[[ $stderr == *"--memory-swap 536870912 is below --memory 1073741824"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -m -5 busybox true
	[[ $stderr == *"--memory -5: not a size"* ]] || fail "$stderr"
	no_containers_left
}

@test "--cpus, --cpu-shares, --pids-limit: CFS quota over docker's period, shares, pids.max" {
	[ -d /sys/fs/cgroup/cpu ] || skip "cgroup v1 only"
	run -0 hk run --rm --cpus 0.5 --cpu-shares 512 --pids-limit 50 busybox \
		cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/pids/pids.max
	[ "$output" = "$(printf '50000\n100000\n512\n50')" ] || fail "$output"
	run -0 hk run --rm --cpus 1.25 busybox cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us
	[ "$output" = 125000 ] || fail "$output"
	# the limit holds: a 4th process is refused
	run -2 hk run --rm --pids-limit 3 busybox sh -c 'sleep 5 & sleep 5 & sleep 5 & echo "all started"'
	[[ $output == *"can't fork"* && $output != *"all started"* ]] || fail "4 processes under --pids-limit 3: $output"
	# docker: -1 (and 0) for no limit
	run -0 hk run --rm --pids-limit -1 busybox cat /sys/fs/cgroup/pids/pids.max
	[ "$output" = max ] || fail "$output"
	# out of the kernel's range: brought into it, with a warning, as docker
	run -0 --separate-stderr hk run --rm --cpu-shares 1 busybox cat /sys/fs/cgroup/cpu/cpu.shares
	[ "$output" = 2 ] || fail "$output"
	[[ $stderr == *"warning: --cpu-shares 1: changed to the least allowed, 2"* ]] || fail "$stderr"
	no_containers_left
}

@test "--cpus, --pids-limit: bad values are refused" {
	ncpu=$(nproc)
	run -125 --separate-stderr hk run --rm --cpus $((ncpu + 1)) busybox true
	[[ $stderr == *"--cpus $((ncpu + 1)): CPUs go from 0.01 to $ncpu.00"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --cpus 0.001 busybox true
	[[ $stderr == *"CPUs go from 0.01"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --cpus 1.0000000001 busybox true
	[[ $stderr == *"--cpus 1.0000000001: too precise"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --cpus half busybox true
	[[ $stderr == *"--cpus half: not a number of CPUs"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --pids-limit lots busybox true
	[[ $stderr == *"--pids-limit lots: not an integer"* ]] || fail "$stderr"
	no_containers_left
}

@test "--cap-add, --cap-drop: CapEff, with or without CAP_, ALL; the seccomp profile follows" {
	# docker's default set
	run -0 hk run --rm busybox grep CapEff /proc/self/status
	[ "$output" = "CapEff:	00000000a80425fb" ] || fail "$output"
	run -0 hk run --rm --cap-drop chown --cap-add CAP_NET_ADMIN busybox grep CapEff /proc/self/status
	[ "$output" = "CapEff:	00000000a80435fa" ] || fail "$output"
	run -0 hk run --rm --cap-drop ALL --cap-add kill busybox grep -E 'Cap(Eff|Bnd)' /proc/self/status
	[ "$output" = "$(printf 'CapEff:\t0000000000000020\nCapBnd:\t0000000000000020')" ] || fail "$output"
	run -0 hk run --rm --cap-drop all busybox grep CapEff /proc/self/status
	[ "$output" = "CapEff:	0000000000000000" ] || fail "$output"
	# ALL: as many as husk itself holds (its own bounding set), minus the dropped ones
	bnd=$(awk '/^CapBnd/ { print $2 }' /proc/self/status)
	run -0 hk run --rm --cap-add ALL busybox grep CapEff /proc/self/status
	[ "$output" = "CapEff:	$bnd" ] || fail "$output, husk's bounding set $bnd"
	# CAP_SYS_ADMIN added: docker's profile then allows mount, as the capability does
	run -0 hk run --rm --cap-add SYS_ADMIN busybox sh -c 'mkdir /tmp/m && mount -t tmpfs t /tmp/m && grep " /tmp/m " /proc/self/mounts'
	[[ $output == "t /tmp/m tmpfs"* ]] || fail "$output"
	run -1 hk run --rm busybox sh -c 'mkdir /tmp/m && mount -t tmpfs t /tmp/m'
	[[ $output == *"permission denied"* ]] || fail "$output"
	run -125 --separate-stderr hk run --rm --cap-add NET_FOO busybox true
	[[ $stderr == *"--cap-add NET_FOO: unknown capability \"CAP_NET_FOO\""* ]] || fail "$stderr"
	no_containers_left
}

@test "--read-only: the root is read-only, /dev and /dev/shm stay writable" {
	# (stdout and stderr are two streams: one, for their order)
	run -0 hk run --rm --read-only busybox sh -c 'exec 2>&1; touch /file; echo "root $?"; touch /dev/shm/f; echo "shm $?"'
	[[ $output == *"Read-only file system"*"root 1"*"shm 0"* ]] || fail "$output"
	run -0 hk run --rm busybox sh -c 'touch /file; echo "root $?"'
	[ "$output" = "root 0" ] || fail "$output"
	no_containers_left
}

@test "--privileged: every capability, no seccomp, no masked paths, /sys writable, the host's devices" {
	bnd=$(awk '/^CapBnd/ { print $2 }' /proc/self/status)
	[ -c /dev/kmsg ] || skip "the host has no /dev/kmsg"
	run -0 hk run --rm --privileged busybox sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; ls -l /dev/kmsg
		grep -c " /proc/kcore " /proc/self/mountinfo; grep " /sys " /proc/self/mounts'
	[ "${lines[0]}" = "CapEff:	$bnd" ] || fail "$output"
	[ "${lines[1]}" = "Seccomp:	0" ] || fail "$output"
	[[ ${lines[2]} == "crw"*"1,"*"11"*"/dev/kmsg" ]] || fail "$output"
	[ "${lines[3]}" = 0 ] || fail "masked /proc/kcore: $output"
	[[ ${lines[4]} == "sysfs /sys sysfs rw,"* ]] || fail "$output"
	# the device cgroup lets it use them: kmsg is readable
	run -0 hk run --rm --privileged busybox sh -c 'head -c 1 /dev/kmsg >/dev/null && echo read'
	[ "$output" = read ] || fail "$output"
	# and without: none of that
	run -0 hk run --rm busybox sh -c 'grep -E "^Seccomp:" /proc/self/status; ls /dev/kmsg 2>&1; grep " /sys " /proc/self/mounts'
	[ "${lines[0]}" = "Seccomp:	2" ] || fail "$output"
	[[ ${lines[1]} == *"No such file"* ]] || fail "$output"
	[[ ${lines[2]} == "sysfs /sys sysfs ro,"* ]] || fail "$output"
	no_containers_left
}

@test "--security-opt: no-new-privileges[:true|false|=...], seccomp=unconfined, systempaths=unconfined" {
	run -0 hk run --rm busybox grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
	[ "$output" = "$(printf 'NoNewPrivs:\t1\nSeccomp:\t2')" ] || fail "$output"
	run -0 hk run --rm --security-opt no-new-privileges:false busybox grep NoNewPrivs /proc/self/status
	[ "$output" = "NoNewPrivs:	0" ] || fail "$output"
	run -0 hk run --rm --security-opt no-new-privileges=false --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status
	[ "$output" = "NoNewPrivs:	1" ] || fail "$output"
	run -0 hk run --rm --security-opt seccomp=unconfined busybox grep '^Seccomp:' /proc/self/status
	[ "$output" = "Seccomp:	0" ] || fail "$output"
	run -0 hk run --rm --security-opt systempaths=unconfined busybox sh -c "grep -c ' /proc/kcore ' /proc/self/mountinfo; true"
	[ "$output" = 0 ] || fail "$output"
	run -125 --separate-stderr hk run --rm --security-opt no-new-privileges:maybe busybox true
	[[ $stderr == *"--security-opt no-new-privileges:maybe: \"maybe\" is not true or false"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --security-opt seccomp=/my/profile.json busybox true
	[[ $stderr == *"husk takes only seccomp=unconfined"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --security-opt apparmor=x busybox true
	[[ $stderr == *"--security-opt apparmor=x: husk knows"* ]] || fail "$stderr"
	no_containers_left
}

@test "--env-file: docker's format; -e overrides it; bad lines named" {
	printf '%s\n' '# comment' '' '   ' 'A=from-file' '  B= two "quoted" words' 'C=x=y' 'FROM_CALLER' 'NOT_SET_BY_ANYONE' \
		'  # indented comment' > "$TEST_DIR/env"
	printf 'D=second-file\r\n' > "$TEST_DIR/env2"
	FROM_CALLER=caller run -0 hk run --rm --env-file "$TEST_DIR/env" --env-file "$TEST_DIR/env2" -e C=from-e busybox \
		sh -c 'echo "A=$A"; echo "B=$B"; echo "C=$C"; echo "FROM_CALLER=$FROM_CALLER"; echo "D=$D"; env | grep -c NOT_SET_BY_ANYONE; true'
	[ "$output" = "$(printf 'A=from-file\nB= two "quoted" words\nC=from-e\nFROM_CALLER=caller\nD=second-file\n0')" ] || fail "$output"
	printf 'A=1\nMY VAR=2\n' > "$TEST_DIR/bad"
	run -125 --separate-stderr hk run --rm --env-file "$TEST_DIR/bad" busybox true
	[[ $stderr == *"--env-file: $TEST_DIR/bad line 2: the name \"MY VAR\" holds whitespace"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --env-file "$TEST_DIR/missing" busybox true
	[[ $stderr == *"--env-file $TEST_DIR/missing"*"No such file or directory"* ]] || fail "$stderr"
	no_containers_left
}

@test "--label, --label-file: in the config's annotations, --label winning" {
	printf '%s\n' '# labels' 'tier=file' 'team=ops' 'bare' > "$TEST_DIR/labels"
	run -0 hk run --label-file "$TEST_DIR/labels" -l tier=flag --label with.dot=ok busybox true
	id=$(ls "$HUSK_STORAGE/containers")
	run -0 jq -c '.annotations' "$HUSK_STORAGE/containers/$id/config.json"
	[ "$(jq -r '.tier, .team, .bare, ."with.dot", ."org.opencontainers.image.ref.name"' <<<"$output")" = \
		"$(printf 'flag\nops\n\nok\nbusybox')" ] || fail "$output"
	hk rm "$id" >/dev/null
	run -125 --separate-stderr hk run --rm -l =v busybox true
	[[ $stderr == *"--label \"=v\": no name before the ="* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --label "with space=v" busybox true
	[[ $stderr == *"--label \"with space=v\": the name holds whitespace"* ]] || fail "$stderr"
	no_containers_left
}

@test "--init: catatonit is PID 1, runs the command, passes its status and reaps orphans" {
	[ -x /usr/bin/catatonit ] || skip "no /usr/bin/catatonit (apt-get install catatonit)"
	run -0 hk run --rm --init busybox sh -c 'tr "\0" " " < /proc/1/cmdline; echo; echo "me $$"'
	[ "$output" = "$(printf '/dev/init -- sh -c tr "\\0" " " < /proc/1/cmdline; echo; echo "me $$" \nme 2')" ] || fail "$output"
	run -7 hk run --rm --init busybox sh -c 'exit 7'
	# an orphan's parent is PID 1: catatonit waits for it; without --init, PID 1 is the command
	# (here cat, which waits for nobody) and the orphan stays a zombie
	script='mkfifo /tmp/out /tmp/nap
	(
		nap() { read -t 0.05 x <> /tmp/nap; }
		i=0; until read -r c < /proc/$$/comm && [ "$c" = cat ] || [ $i -ge 200 ]; do nap; i=$((i + 1)); done
		sh -c "sleep 0.1 & echo \$! > /tmp/orphan"
		read -r pid < /tmp/orphan
		i=0
		while [ $i -lt 40 ]; do
			[ -e /proc/$pid/stat ] || { echo reaped; exit 0; }
			nap; i=$((i + 1))
		done
		read -r st < /proc/$pid/stat
		echo "not reaped: $st"
	) > /tmp/out &
	exec cat /tmp/out'
	run -0 hk run --rm --init busybox sh -c "$script"
	[ "$output" = reaped ] || fail "$output"
	run -0 hk run --rm busybox sh -c "$script"
	[[ $output == "not reaped: "*") Z "* ]] || fail "the check sees no zombie without --init: $output"
	# catatonit missing: said so
	HUSK_INIT=$TEST_DIR/no-catatonit run -125 --separate-stderr hk run --rm --init busybox true
	[[ $stderr == *"--init runs catatonit as the container's PID 1, and $TEST_DIR/no-catatonit is not there"*"apt-get install catatonit"* ]] || fail "$stderr"
	no_containers_left
}

@test "--ulimit: docker's names, soft:hard, -1 unlimited, replacing husk's default" {
	run -0 hk run --rm --ulimit nofile=100:200 --ulimit core=-1 busybox sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
	[ "$output" = "$(printf '100\n200\nunlimited')" ] || fail "$output"
	run -0 hk run --rm busybox sh -c 'ulimit -n'
	[ "$output" = 1024 ] || fail "$output"
	run -125 --separate-stderr hk run --rm --ulimit nofile=200:100 busybox true
	[[ $stderr == *"--ulimit nofile=200:100: the soft limit 200 is above the hard limit 100"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --ulimit files=1 busybox true
	[[ $stderr == *"--ulimit files=1: unknown ulimit type \"files\""* ]] || fail "$stderr"
	no_containers_left
}

@test "--stop-signal, --stop-timeout: checked before anything is made" {
	run -0 hk run --rm --stop-signal SIGUSR1 --stop-timeout 30 busybox true
	run -0 hk run --rm --stop-signal 9 busybox true
	run -125 --separate-stderr hk run --rm --stop-signal SIGBOGUS busybox true
	[[ $stderr == *"--stop-signal SIGBOGUS: not a signal"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --stop-timeout -5 busybox true
	[[ $stderr == *"--stop-timeout -5: seconds: out of range"* ]] || fail "$stderr"
	no_containers_left
}
