#!/usr/bin/env bats
# linux.resources on the container's cgroup (v1 here, v2 in the guest), and update, pause,
# resume, ps and events. Checked from outside (the cgroup files) and inside (what the limits do).
load helpers

setup() {
	setup_bundle
	cp "$HUSK_BUILD/husk-probe" "$BUNDLE/rootfs/bin/husk-probe"
}

v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

# the container's cgroup file FILE (from whichever hierarchy has it)
cg() {
	local d
	for d in $(container_cgroup_dirs "$1"); do
		[ -e "$d/$2" ] && { echo "$d/$2"; return 0; }
	done
	return 1
}

@test "a memory hog under a 32M limit is OOM-killed inside the container and run exits 137" {
	update_config '.linux.resources.memory = {"limit": 33554432, "swap": 33554432} | .process.args = ["husk-probe", "hog", "200"]'
	run -137 husk run c1
	[[ "$output" != *"survived"* ]]
	[[ "$output" == *"MiB"* ]]
}

@test "a fork loop under pids limit 20 hits EAGAIN and never exceeds 20" {
	update_config '.linux.resources.pids = {"limit": 20} | .process.args = ["husk-probe", "forks", "40"]'
	run husk run c1
	[ "$status" -eq 0 ]
	# the probe itself is one of the 20
	[ "$output" = "started=19 eagain=21" ]
}

@test "cpu quota 0.2 cpus holds a busy loop near 20%" {
	update_config '.linux.resources.cpu = {"quota": 20000, "period": 100000}'
	set_cmd 'while :; do :; done'
	husk run --detach c1
	if v2; then
		usage() { awk '/^usage_usec/ {print $2 * 1000}' "$(cg c1 cpu.stat)"; }
	else
		usage() { cat "$(cg c1 cpuacct.usage)"; }
	fi
	sleep 0.5
	u0=$(usage); t0=$(date +%s%N)
	sleep 3
	u1=$(usage); t1=$(date +%s%N)
	husk delete --force c1
	share=$(( (u1 - u0) * 100 / (t1 - t0) ))
	echo "share: $share%" >&3
	[ "$share" -ge 10 ] && [ "$share" -le 35 ]
}

@test "the limits land in the cgroup files, with v2's conversions" {
	update_config '.linux.resources = {"memory": {"limit": 67108864, "reservation": 33554432}, "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}, "pids": {"limit": 99}}'
	# throttling takes a block device: the first one the host has (the v2 guest has none)
	dev=$(cat /sys/block/*/dev 2>/dev/null | head -1)
	if [ -n "$dev" ]; then
		maj=${dev%%:*} min=${dev##*:}
		update_config --argjson maj "$maj" --argjson min "$min" '.linux.resources.blockIO = {"throttleReadBpsDevice": [{"major": $maj, "minor": $min, "rate": 1048576}], "throttleWriteIOPSDevice": [{"major": $maj, "minor": $min, "rate": 100}]}'
	fi
	set_cmd 'sleep 10'
	husk run --detach c1
	[ "$(cat "$(cg c1 pids.max)")" = 99 ]
	[ "$(cat "$(cg c1 cpuset.cpus)")" = 0 ]
	if v2; then
		[ "$(cat "$(cg c1 memory.max)")" = 67108864 ]
		[ "$(cat "$(cg c1 memory.low)")" = 33554432 ]
		[ "$(cat "$(cg c1 cpu.max)")" = "50000 100000" ]
		# shares 512 -> weight 1 + (510 * 9999) / 262142 = 20
		[ "$(cat "$(cg c1 cpu.weight)")" = 20 ]
		[ -z "$dev" ] || grep -q "^$dev rbps=1048576 wbps=max riops=max wiops=100" "$(cg c1 io.max)"
	else
		[ "$(cat "$(cg c1 memory.limit_in_bytes)")" = 67108864 ]
		[ "$(cat "$(cg c1 memory.soft_limit_in_bytes)")" = 33554432 ]
		[ "$(cat "$(cg c1 cpu.shares)")" = 512 ]
		[ "$(cat "$(cg c1 cpu.cfs_quota_us)")" = 50000 ]
		[ -z "$dev" ] || [ "$(cat "$(cg c1 blkio.throttle.read_bps_device)")" = "$dev 1048576" ]
		[ -z "$dev" ] || [ "$(cat "$(cg c1 blkio.throttle.write_iops_device)")" = "$dev 100" ]
	fi
	husk delete --force c1
}

@test "blkio weight lands in the weight file, or says clearly that the kernel has none" {
	update_config '.linux.resources.blockIO = {"weight": 300}'
	set_cmd 'sleep 10'
	# not under `run`: a created container holds its stdio until it runs, as with runc
	if husk create c1 2>"$TEST_DIR/err" >/dev/null; then
		f=$(cg c1 blkio.weight || cg c1 blkio.bfq.weight || cg c1 io.bfq.weight || cg c1 io.weight)
		w=$(cat "$f")
		# 300 as given, or on io.weight 1 + (300 - 10) * 9999 / 990 = 2930
		[[ "$w" == *300* || "$w" == *2930* ]] || fail "$f: $w"
		husk delete --force c1
	else
		[[ "$(cat "$TEST_DIR/err")" == *"cgroup file"*"weight: no such file in the container's cgroup"* ]]
		[ ! -e "$STATE/c1" ]
	fi
}

@test "0, -1 and out-of-range values: the runtime-spec meaning or a clear error" {
	update_config '.linux.resources = {"pids": {"limit": 0}, "memory": {"limit": -1}}'
	set_cmd 'sleep 10'
	husk run --detach c1
	[ "$(cat "$(cg c1 pids.max)")" = max ]
	if v2; then [ "$(cat "$(cg c1 memory.max)")" = max ]; else [ "$(cat "$(cg c1 memory.limit_in_bytes)")" -gt 1000000000000 ]; fi
	husk delete --force c1
	update_config '.linux.resources = {"cpu": {"quota": 500}}'
	run_husk create c2
	[[ "$stderr" == *"linux.resources.cpu.quota: 500 us is below the kernel's minimum of 1000 us"* ]]
	update_config '.linux.resources = {"pids": {"limit": -2}}'
	run_husk create c2
	[[ "$stderr" == *"linux.resources.pids.limit: expected an integer -1.."* ]]
	update_config '.linux.resources = {"memory": {"limit": 67108864, "swap": 1048576}}'
	run_husk create c2
	[[ "$stderr" == *"memory+swap (1048576) is below the memory limit"* ]]
	update_config '.linux.resources = {"unified": {"../../escape": "1"}}'
	run_husk create c2
	[[ "$stderr" == *"is not a controller file of the container's cgroup"* ]]
	if ! v2; then
		update_config '.linux.resources = {"unified": {"memory.high": "1G"}}'
		run_husk create c2
		[[ "$stderr" == *"cgroup v2 keys cannot be set on this cgroup v1 host"* ]]
	fi
	[ ! -e "$STATE/c2" ]
}

@test "update changes the live limits, from flags and from --resources" {
	set_cmd 'sleep 30'
	husk run --detach c1
	husk update --memory 64m --pids-limit 30 c1
	[ "$(cat "$(cg c1 pids.max)")" = 30 ]
	if v2; then [ "$(cat "$(cg c1 memory.max)")" = 67108864 ]; else [ "$(cat "$(cg c1 memory.limit_in_bytes)")" = 67108864 ]; fi
	echo '{"pids": {"limit": 12}, "cpu": {"quota": 30000, "period": 100000}}' | husk update --resources - c1
	[ "$(cat "$(cg c1 pids.max)")" = 12 ]
	run_husk update --pids-limit lots c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'--pids-limit: "lots" is not a number'* ]]
	echo '{"cpu": {"period": 5}}' > "$TEST_DIR/bad.json"
	run_husk update --resources "$TEST_DIR/bad.json" c1
	[[ "$stderr" == *"bad.json:1:"*"cpu.period: 5 us is below"* ]]
	husk delete --force c1
	run_husk update --pids-limit 5 c1
	[[ "$stderr" == *'container "c1" does not exist'* ]]
}

@test "pause freezes the container (a counter stops) and resume thaws it" {
	# appends, so a freeze never catches the file half rewritten
	set_cmd 'while :; do echo . >> /tmp/count; done'
	husk run --detach c1
	wait_for '[ -s "$BUNDLE/rootfs/tmp/count" ]'
	husk pause c1
	[ "$(husk state c1 | jq -r .status)" = paused ]
	count() { wc -l < "$BUNDLE/rootfs/tmp/count"; }
	a=$(count); sleep 0.5; b=$(count)
	[ "$a" = "$b" ]
	run_husk pause c1
	[[ "$stderr" == *"is paused, not running"* ]]
	husk resume c1
	[ "$(husk state c1 | jq -r .status)" = running ]
	wait_for '[ "$(count)" -gt "$b" ]'
	husk pause c1
	# delete --force of a paused container thaws it so its processes can die
	husk delete --force c1
	[ ! -e "$STATE/c1" ]
}

@test "ps lists the container's processes, as a table from the host's ps and as JSON" {
	set_cmd 'sleep 31 & exec sleep 32'
	husk run --detach c1
	# (the child is sh until it has exec'd sleep 31)
	wait_for '[ "$(husk ps c1 | grep -c "sleep 3[12]")" -eq 2 ]'
	run husk ps --format json c1
	[ "$(echo "$output" | jq length)" -eq 2 ]
	run husk ps c1
	[[ "${lines[0]}" == *PID* ]]
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" == *"sleep 31"* && "$output" == *"sleep 32"* ]]
	run husk ps c1 -- -o pid,comm
	[[ "${lines[0]}" == *PID*COMMAND* ]]
	[ "${#lines[@]}" -eq 3 ]
	husk delete --force c1
}

@test "events --stats reports memory and pids once; the stream reports an OOM kill" {
	set_cmd 'sleep 30 & sleep 31 & wait'
	husk run --detach c1
	wait_for '[ "$(husk ps --format json c1 | jq length)" -eq 3 ]'
	run husk events --stats c1
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.type == "stats" and .id == "c1" and .data.memory.usage.usage > 0 and .data.pids.current == 3'
	husk delete --force c1
	update_config '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	# the hog starts once the stream has read the OOM count it compares against
	set_cmd 'while [ ! -e /tmp/go ]; do sleep 0.05; done; husk-probe hog 200; sleep 1'
	husk run --detach c2
	husk events --interval 200ms c2 > "$TEST_DIR/events" &
	ev=$!
	wait_for 'grep -q "\"type\": *\"stats\"" "$TEST_DIR/events"'
	touch "$BUNDLE/rootfs/tmp/go"
	wait_for 'grep -q "\"type\": *\"oom\"" "$TEST_DIR/events"' || fail "$(cut -c1-200 "$TEST_DIR/events")"
	kill $ev 2>/dev/null || true
	husk delete --force c2
}

@test "devices: a node the config does not allow cannot be opened (v1 lists, v2 BPF program)" {
	# made on the container's /dev (a tmpfs without nodev): only the cgroup can refuse it there
	set_cmd 'mknod /dev/kmsg-test c 1 11 && echo made; echo hi > /dev/kmsg-test; echo x > /dev/null && echo null-ok; head -c1 /dev/urandom >/dev/null && echo urandom-ok'
	run husk run c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = made ]
	[[ "$output" == *"/dev/kmsg-test: Operation not permitted"* ]]
	[[ "$output" == *null-ok* && "$output" == *urandom-ok* ]]
	update_config '.linux.resources.devices = [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwm"}]'
	set_cmd 'rm -f /dev/kmsg-test; mknod /dev/kmsg-test c 1 11 && echo hi > /dev/kmsg-test && echo kmsg-ok'
	run husk run c2
	[[ "$output" == *kmsg-ok* ]]
}
