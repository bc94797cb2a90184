#!/usr/bin/env bats
# The container's cgroup: where it goes, that its processes are in it, and that it goes away.
load helpers

# husk's own cgroup directory in the hierarchy mounted at $1 (v1) or the unified one
own_cgroup_dir() {
	local mp=$1 ctrl
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)"
		return
	fi
	ctrl=$(awk -v mp="$mp" '$5 == mp { for (i = 7; $i != "-"; i++); print $(i+3) }' /proc/self/mountinfo | tr ',' '\n' | grep -vE '^(rw|ro|relatime|clone_children|noprefix|xattr)$' | paste -sd,)
	echo "$mp$(awk -F: -v c="$ctrl" '$2 == c {print $3}' /proc/self/cgroup)" | sed 's|/$||'
}

cgroup_mounts() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo /sys/fs/cgroup; return; fi
	awk '$9 == "cgroup" {print $5}' /proc/self/mountinfo
}

@test "by default the container's cgroup is husk/<id> under husk's own cgroup, in every hierarchy" {
	set_cmd 'sleep 30'
	husk run --detach c1
	pid=$(husk state c1 | jq -r .pid)
	for mp in $(cgroup_mounts); do
		dir=$(own_cgroup_dir "$mp")/husk/c1
		[ -d "$dir" ] || fail "no $dir"
		grep -qx "$pid" "$dir/cgroup.procs" || fail "$pid is not in $dir"
	done
	husk delete --force c1
	for mp in $(cgroup_mounts); do
		[ ! -e "$(own_cgroup_dir "$mp")/husk/c1" ] || fail "left $(own_cgroup_dir "$mp")/husk/c1"
		[ ! -e "$(own_cgroup_dir "$mp")/husk" ] || fail "left the empty husk parent in $mp"
	done
}

@test "containers created at once under a new parent all join it (v1 cpuset: the parent is filled before its children)" {
	# a fresh parent per run, so the first husk to arrive makes it while the others race in
	parent=hk-race-$$
	update_config --arg p "$parent" '.linux.cgroupsPath = ($p + "/c")'
	set_cmd 'true'
	local pids=() i
	for i in 1 2 3 4 5 6; do
		jq --arg p "$parent/c$i" '.linux.cgroupsPath = $p' "$BUNDLE/config.json" >"$TEST_DIR/config$i.json"
		mkdir -p "$TEST_DIR/b$i"
		ln -s "$BUNDLE/rootfs" "$TEST_DIR/b$i/rootfs"
		mv "$TEST_DIR/config$i.json" "$TEST_DIR/b$i/config.json"
	done
	for i in 1 2 3 4 5 6; do
		"$HUSK" oci --root "$STATE" run --bundle "$TEST_DIR/b$i" "race$i" >"$TEST_DIR/out$i" 2>&1 3>&- &
		pids+=($!)
	done
	for i in 1 2 3 4 5 6; do
		wait "${pids[$((i - 1))]}" || fail "race$i: $(cat "$TEST_DIR/out$i")"
	done
	# a parent of a cgroupsPath is removed by whoever made it only if it is empty by then (as
	# with runc, the others leave it): the test removes its own, which must be empty
	for mp in $(cgroup_mounts); do
		[ ! -e "$(own_cgroup_dir "$mp")/$parent" ] || rmdir "$(own_cgroup_dir "$mp")/$parent"
	done
}

@test "children of the init are in the cgroup too" {
	set_cmd 'sleep 30 & exec sleep 31'
	husk run --detach c1
	sleep 0.2
	dir=$(container_cgroup_dirs c1 | head -1)
	[ "$(wc -l < "$dir/cgroup.procs")" -eq 2 ]
	husk delete --force c1
}

@test "a relative cgroupsPath nests under husk's own cgroup; an absolute one starts at the root" {
	update_config '.linux.cgroupsPath = "hk-test-rel/c1"'
	set_cmd 'sleep 30'
	husk run --detach c1
	mp=$(cgroup_mounts | head -1)
	[ -d "$(own_cgroup_dir "$mp")/hk-test-rel/c1" ]
	husk delete --force c1
	# husk made hk-test-rel too, so it goes as well
	[ ! -e "$(own_cgroup_dir "$mp")/hk-test-rel" ]
	update_config '.linux.cgroupsPath = "/hk-test-abs/c2"'
	husk run --detach c2
	[ -d "$mp/hk-test-abs/c2" ]
	husk delete --force c2
	[ ! -e "$mp/hk-test-abs" ]
}

@test "a cgroup that already exists is refused, and neither it nor its processes are touched" {
	mp=$(cgroup_mounts | head -1)
	theirs=$(own_cgroup_dir "$mp")/hk-test-exists
	mkdir -p "$theirs"
	sleep 30 &
	bystander=$!
	echo $bystander > "$theirs/cgroup.procs"
	update_config '.linux.cgroupsPath = "hk-test-exists"'
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"create cgroup"*"hk-test-exists: it exists already, and is not husk's: File exists"* ]]
	[ -d "$theirs" ]
	kill -0 $bystander
	grep -qx $bystander "$theirs/cgroup.procs"
	kill $bystander
	wait $bystander || true
	rmdir "$theirs"
	[ ! -e "$STATE/c1" ]
}

@test "a parent shared by two containers stays until the last one goes" {
	set_cmd 'sleep 30'
	husk run --detach c1
	husk run --detach c2
	mp=$(cgroup_mounts | head -1)
	husk delete --force c1
	[ -d "$(own_cgroup_dir "$mp")/husk/c2" ]
	husk delete --force c2
	[ ! -e "$(own_cgroup_dir "$mp")/husk" ]
}

@test "delete --force kills what the init left behind in the cgroup" {
	# without a pid namespace of its own, the init's exit does not take its children along
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_cmd 'setsid sleep 100 & sleep 0.1; exit 0'
	husk run --detach c1
	dir=$(container_cgroup_dirs c1 | head -1)
	for i in $(seq 50); do husk state c1 | grep -q stopped && break; sleep 0.05; done
	# the orphan is still in the container's cgroup
	[ "$(wc -l < "$dir/cgroup.procs")" -eq 1 ]
	orphan=$(cat "$dir/cgroup.procs")
	husk delete --force c1
	[ ! -e "$dir" ]
	for i in $(seq 50); do [ -e /proc/$orphan ] || break; grep -q '^State:.*Z' /proc/$orphan/status && break; sleep 0.05; done
	! [ -e /proc/$orphan ] || grep -q '^State:.*Z' /proc/$orphan/status
}

@test "delete --force after a crash mid-create cleans the recorded cgroups" {
	set_cmd 'sleep 30'
	husk create c1
	pid=$(husk state c1 | jq -r .pid)
	dirs=$(container_cgroup_dirs c1)
	# as if husk died before the container was ever started: state says creating
	jq '.status = "creating" | .pid = 0' "$STATE/c1/state.json" > "$TEST_DIR/s" && mv "$TEST_DIR/s" "$STATE/c1/state.json"
	husk delete --force c1
	for d in $dirs; do [ ! -e "$d" ] || fail "left $d"; done
	[ ! -e "$STATE/c1" ]
	! [ -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status
}
