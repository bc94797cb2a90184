#!/usr/bin/env bats
# LSM labels, personality, I/O priority and scheduling policy.
load helpers

@test "an AppArmor profile or SELinux label on a host without that LSM is a clear error, before anything is made" {
	grep -qw apparmor /sys/kernel/security/lsm 2>/dev/null && skip "this host has AppArmor"
	update_config '.process.apparmorProfile = "husk-default"'
	run_husk create c1
	[ "$status" -eq 1 ]
	[ "$stderr" = 'husk: create: process.apparmorProfile "husk-default": AppArmor is not enabled on this host: Operation not supported' ]
	[ ! -e "$STATE/c1" ]
	update_config 'del(.process.apparmorProfile) | .process.selinuxLabel = "system_u:system_r:container_t:s0"'
	run_husk create c1
	[[ "$stderr" == *'process.selinuxLabel "system_u:system_r:container_t:s0": SELinux is not enabled on this host'* ]]
	update_config 'del(.process.selinuxLabel) | .linux.mountLabel = "system_u:object_r:container_file_t:s0"'
	run_husk create c1
	[[ "$stderr" == *'linux.mountLabel "system_u:object_r:container_file_t:s0": SELinux is not enabled on this host'* ]]
	[ ! -e "$STATE/c1" ]
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
