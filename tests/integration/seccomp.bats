#!/usr/bin/env bats
# seccomp: the default profile from inside, custom filters, argument conditions, notify.
load helpers

setup() {
	setup_bundle
	cp "$HUSK_BUILD/husk-probe" "$BUNDLE/rootfs/bin/husk-probe"
}

probe() { # probe ARGS... as the container's command
	update_config --args '.process.args = ["husk-probe"] + $ARGS.positional' "$@"
}

@test "the default profile is loaded in filter mode" {
	set_cmd 'grep -E "^Seccomp:" /proc/self/status'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$output" = "Seccomp:	2" ]
}

@test "default profile: the dangerous calls fail with EPERM" {
	set_cmd 'for c in keyctl add_key userfaultfd bpf perf_event_open io_uring_setup open_by_handle_at kexec_load init_module swapon setns pivot_root umount2 mount; do husk-probe call $c; done; husk-probe call unshare 0x10000000'
	run husk run c1
	[ "$status" -eq 0 ]
	for c in keyctl add_key userfaultfd bpf perf_event_open io_uring_setup open_by_handle_at kexec_load init_module swapon setns pivot_root umount2 mount unshare; do
		[[ "$output" == *"$c=EPERM"* ]] || fail "$c: $output"
	done
}

@test "default profile: clone3 says ENOSYS, clone with namespace flags is refused, plain fork works" {
	set_cmd 'husk-probe call clone3 0 0; husk-probe call unshare 0; (true) && echo fork-ok'
	run husk run c1
	[[ "$output" == *"clone3=ENOSYS"* ]]
	[[ "$output" == *"unshare=EPERM"* ]]
	[[ "$output" == *fork-ok* ]]
}

@test "default profile: AF_ALG and AF_VSOCK sockets are refused, AF_INET and AF_UNIX work" {
	set_cmd 'husk-probe call socket 38 5 0; husk-probe call socket 40 1 0; husk-probe call socket 2 1 0; husk-probe call socket 1 1 0; husk-probe call socket 39 1 0'
	run husk run c1
	[ "${lines[0]}" = socket=EPERM ]
	[ "${lines[1]}" = socket=EPERM ]
	[ "${lines[2]}" = socket=ok ]
	[ "${lines[3]}" = socket=ok ]
	# 39 (AF_NFC) is allowed by the filter; the kernel decides (EAFNOSUPPORT here, not EPERM)
	[ "${lines[4]}" != socket=EPERM ]
}

@test "default profile: only the listed personalities" {
	set_cmd 'husk-probe call personality 0xffffffff; husk-probe call personality 0x0400000'
	run husk run c1
	[ "${lines[0]}" = personality=ok ]
	[ "${lines[1]}" = personality=EPERM ]
}

@test "a custom filter: default allow, one call answered with the configured errno" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]}'
	set_cmd 'mkdir /tmp/x 2>&1; echo rc=$?; touch /tmp/y && echo touch-ok'
	run husk run c1
	[[ "$output" == *"Not supported"* || "$output" == *"not supported"* ]]
	[[ "$output" == *touch-ok* ]]
}

@test "argument conditions: all six comparison operators and MASKED_EQ" {
	# getpgid(arg0) fails with a distinct errno per operator when its condition holds
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 0, "value": 1001, "op": "SCMP_CMP_EQ"}]},
		{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2, "args": [{"index": 0, "value": 2000, "op": "SCMP_CMP_GT"}]},
		{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LT"}]},
		{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4, "args": [{"index": 0, "value": 65280, "valueTwo": 512, "op": "SCMP_CMP_MASKED_EQ"}]},
		{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": [{"index": 0, "value": 4294967000, "op": "SCMP_CMP_GE"}]},
		{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6, "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_LE"}]},
		{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NE"}]}]}'
	set_cmd 'husk-probe call getpgid 1001; husk-probe call getpgid 3000; husk-probe call getpgid 0; husk-probe call getpgid 1500;
		husk-probe call personality 0x0200; husk-probe call personality 0xffffffff; husk-probe call mkdir 0 0700; husk-probe call socket 2 1 0; husk-probe call socket 1 1 0'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = getpgid=EPERM ]    # 1: EQ 1001
	[ "${lines[1]}" = getpgid=ENOENT ]   # 2: GT 2000
	[ "${lines[2]}" = getpgid=ESRCH ]    # 3: LT 1 (0)
	[ "${lines[3]}" = getpgid=ESRCH ]    # no rule: the kernel's own answer for pid 1500
	[ "${lines[4]}" = personality=EINTR ] # 4: (0x200 & 0xff00) == 0x200
	[ "${lines[5]}" = personality=EIO ]   # 5: GE 4294967000
	[ "${lines[6]}" = mkdir=ENXIO ]       # 6: mode LE 0700
	[ "${lines[7]}" = socket=E2BIG ]      # 7: family NE 1
	[ "${lines[8]}" = socket=ok ]
}

@test "unknown syscall names are skipped; unknown actions, operators and architectures are errors" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["no_such_syscall", "mkdir"], "action": "SCMP_ACT_ERRNO"}]}'
	set_cmd 'mkdir /tmp/z 2>&1 || true'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	update_config '.linux.seccomp.syscalls[0].action = "SCMP_ACT_EXPLODE"'
	run_husk create c2
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'linux.seccomp.syscalls[0].action: unknown action "SCMP_ACT_EXPLODE"'* ]]
	update_config '.linux.seccomp.syscalls[0].action = "SCMP_ACT_ERRNO" | .linux.seccomp.syscalls[0].args = [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]'
	run_husk create c2
	[[ "$stderr" == *'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_ABOUT"'* ]]
	update_config 'del(.linux.seccomp.syscalls[0].args) | .linux.seccomp.architectures = ["SCMP_ARCH_Z80"]'
	run_husk create c2
	[[ "$stderr" == *'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80"'* ]]
	[ ! -e "$STATE/c2" ]
}

@test "flags: SECCOMP_FILTER_FLAG_LOG and SPEC_ALLOW are accepted and the filter loads" {
	update_config '.linux.seccomp.flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]'
	set_cmd 'grep -E "^Seccomp:" /proc/self/status'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$output" = "Seccomp:	2" ]
}

@test "without noNewPrivileges the filter is loaded before the privilege drop, and holds" {
	update_config '.process.noNewPrivileges = false | .process.user = {"uid": 1000, "gid": 1000}'
	set_cmd 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; husk-probe call keyctl 0'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$output" == *"NoNewPrivs:	0"* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
	[[ "$output" == *"keyctl=EPERM"* ]]
}

@test "SCMP_ACT_NOTIFY: the listener gets the notify fd and the state, and answers for the kernel" {
	update_config --arg sock "$TEST_DIR/seccomp.sock" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $sock, "listenerMetadata": "meta-1",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}'
	"$HUSK_BUILD/husk-probe" seccomp-listener "$TEST_DIR/seccomp.sock" > "$TEST_DIR/agent.out" &
	agent=$!
	for i in $(seq 100); do [ -S "$TEST_DIR/seccomp.sock" ] && break; sleep 0.02; done
	set_cmd 'mkdir /tmp/n 2>&1; echo rc=$?'
	run husk run c1
	wait $agent || true
	[[ "$output" == *"Not supported"* || "$output" == *"not supported"* ]] || fail "$output"
	grep -q '^state .*"fds": *\["seccompFd"\]' "$TEST_DIR/agent.out"
	grep -q '"metadata": *"meta-1"' "$TEST_DIR/agent.out"
	grep -q '"id": *"c1"' "$TEST_DIR/agent.out"
	grep -q '^notified nr=' "$TEST_DIR/agent.out"
}

@test "the compiled filter is cached: a second start reuses it" {
	set_cmd 'true'
	husk run c1
	ls "$STATE/.cache"/seccomp-*.bpf
	husk run c2
	[ "$(ls "$STATE"/.cache/seccomp-*.bpf | wc -l)" -eq 1 ]
	# a different profile is a different entry
	update_config '.linux.seccomp.defaultErrnoRet = 38'
	husk run c3
	[ "$(ls "$STATE"/.cache/seccomp-*.bpf | wc -l)" -eq 2 ]
}
