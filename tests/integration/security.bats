#!/usr/bin/env bats
# LSM labels, personality, I/O priority and scheduling policy.
load helpers

@test "AppArmor and SELinux labels on a host without that LSM are ignored with a warning in the log" {
	grep -qw -e apparmor -e selinux /sys/kernel/security/lsm 2>/dev/null && skip "this host has AppArmor or SELinux"
	[ -e /sys/fs/selinux/enforce ] && skip "this host has SELinux"
	[ -e /sys/module/apparmor/parameters/enabled ] && skip "this host has AppArmor"
	u=${TEST_DIR##*.}
	update_config '.process.apparmorProfile = "husk-default"
		| .process.selinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
		| .linux.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
		| .process.terminal = false'
	# a filesystem mount, where the mount label would go (context=...)
	set_cmd 'grep " /dev " /proc/self/mountinfo; echo ran'
	run_husk --log "$TEST_DIR/log" run "c-$u"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "${lines[1]}" = ran ]
	[[ "${lines[0]}" != *context=* ]] || fail "the mount label was used: ${lines[0]}"
	for w in 'process.apparmorProfile "husk-default" ignored: AppArmor is not enabled on this host' \
		'process.selinuxLabel "system_u:system_r:container_t:s0:c1,c2" ignored: SELinux is not enabled on this host' \
		'linux.mountLabel "system_u:object_r:container_file_t:s0:c1,c2" ignored: SELinux is not enabled on this host'; do
		[[ "$stderr" == *"husk: run: warning: $w"* ]] || fail "no warning \"$w\" in: $stderr"
		grep -qF "level=warning msg=\"$w\"" "$TEST_DIR/log" || fail "no warning \"$w\" in the log: $(cat "$TEST_DIR/log")"
	done
}

@test "linux.personality LINUX32 makes uname report a 32-bit machine" {
	[ "$(uname -m)" = x86_64 ] || skip "the LINUX32 check is written for x86_64"
	update_config '.linux.personality = {"domain": "LINUX32"}'
	set_cmd 'uname -m'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$output" = i686 ]
}

@test "process.ioPriority is the process's I/O class and level" {
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6}'
	set_cmd 'ionice -p $$'
	run husk run c1
	[ "$status" -eq 0 ]
	[[ "$output" == *"best-effort"*"6"* ]]
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE"}'
	run husk run c2
	[[ "$output" == *idle* ]]
}

@test "process.scheduler sets the policy and nice value" {
	update_config '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 7}'
	# /proc/self/stat: field 19 is nice, field 41 the policy (3 = SCHED_BATCH)
	set_cmd 'cut -d" " -f19,41 /proc/self/stat'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "$output" = "7 3" ]
	update_config '.process.scheduler = {"policy": "SCHED_IDLE"}'
	run husk run c2
	[ "$output" = "0 5" ]
}
