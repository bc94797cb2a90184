#!/usr/bin/env bats
# A create killed at any moment: what it leaves is seen for what it is (a container still
# "creating"), `delete` removes it, and the id can be used again. The half-created state is made
# here exactly as a SIGKILL between the claim (mkdir ROOT/ID) and state.json leaves it; a live
# creator is stood in for by holding the directory's lock.
load helpers

# ROOT/ID as a create killed before writing its state leaves it: the directory, and the
# 0-byte temporary file of a state write cut short
half_created() {
	mkdir -p -m 0700 "$STATE"
	mkdir -m 0700 "$STATE/$1"
	: > "$STATE/$1/state.json.4242"
}

@test "a create killed before its state: list and state show it creating, with no process" {
	half_created c1
	run_husk list --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[] | select(.id == "c1") | .status')" = creating ]
	[ "$(echo "$output" | jq -r '.[] | select(.id == "c1") | .pid')" = 0 ]
	run_husk list
	[ "$status" -eq 0 ]
	[[ "$output" == *c1*creating* ]]
	run_husk state c1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = creating ]
	[ "$(echo "$output" | jq -r .pid)" = 0 ]
	[ "$(echo "$output" | jq -r .id)" = c1 ]
	# nothing to start, kill or exec: it never ran
	run_husk start c1
	[ "$status" -ne 0 ]
	[[ "$stderr" == *'container "c1" is creating, not created'* ]]
	run_husk kill c1 KILL
	[ "$status" -ne 0 ]
	[[ "$stderr" == *'not running'* ]]
}

@test "a create killed before its state: delete --force and delete remove it" {
	half_created c1
	husk delete --force c1
	[ ! -e "$STATE/c1" ]
	half_created c2
	rm "$STATE/c2/state.json.4242"
	# without --force too: it never ran, there is nothing to stop
	husk delete c2
	[ ! -e "$STATE/c2" ]
	run_husk list --quiet
	[ -z "$output" ]
}

@test "a create killed before its state: a new create of the id takes the directory over" {
	set_cmd 'sleep 10'
	half_created c1
	husk create c1
	[ "$(husk state c1 | jq -r .status)" = created ]
	# the dead create's temporary file went with it
	[ ! -e "$STATE/c1/state.json.4242" ]
	husk delete --force c1
	[ ! -e "$STATE/c1" ]
}

@test "a create still at work (its directory locked, no state yet) keeps its id" {
	set_cmd 'sleep 10'
	half_created c1
	# the live creator holds ROOT/ID's lock from the claim until its state is written
	exec {lockfd}<"$STATE/c1"
	flock -x "$lockfd"
	run_husk create c1
	exec {lockfd}<&-
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'container "c1" already exists'* ]]
	[ -e "$STATE/c1/state.json.4242" ]
	# the creator died (its lock went with it): now the id is free to take
	husk create c1
	[ "$(husk state c1 | jq -r .status)" = created ]
	husk delete --force c1
	[ ! -e "$STATE/c1" ]
}

@test "a created container's id is still refused: its state is there, the lock is free" {
	set_cmd 'sleep 10'
	husk create c1
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'container "c1" already exists'* ]]
	[ "$(husk state c1 | jq -r .status)" = created ]
	husk delete --force c1
}

# ids k1..kN: each create was SIGKILLed somewhere; `delete --force` must clear what is left
# and the id must work again; at the end nothing remains (no state directory; teardown fails
# the test on a cgroup, such as a husk/ parent, left under the test's own)
clear_and_reuse() {
	local i left
	for i in $(seq "$1"); do
		timeout 20 "$HUSK" oci --root "$STATE" delete --force "k$i" ||
			fail "delete --force k$i: $(ls -la "$STATE/k$i" 2>&1)"
		[ ! -e "$STATE/k$i" ] || fail "k$i left: $(ls -la "$STATE/k$i")"
		(cd "$BUNDLE" && timeout 20 "$HUSK" oci --root "$STATE" create "k$i") ||
			fail "create k$i again"
		timeout 20 "$HUSK" oci --root "$STATE" delete --force "k$i"
	done
	left=$(ls -A "$STATE" | grep -v '^\.cache$' || true)
	[ -z "$left" ] || fail "left under the root: $left"
}

# `husk-oci create ID` in the background, its pid in $create_pid (no subshell in between)
start_create() {
	local oci=$HUSK_BUILD/husk-oci
	if [ -x "$oci" ]; then
		(cd "$BUNDLE" && exec "$oci" --root "$STATE" create "$1") 2>/dev/null &
	else
		(cd "$BUNDLE" && exec "$HUSK" oci --root "$STATE" create "$1") 2>/dev/null &
	fi
	create_pid=$!
}

# The real thing: creates SIGKILLed after 0-15 ms, at whatever step they were.
@test "SIGKILL of create at random moments: delete --force clears it, the id works again" {
	set_cmd 'sleep 10'
	local i
	for i in $(seq 50); do
		start_create "k$i"
		sleep "$(printf '0.%03d' $((RANDOM % 16)))"
		kill -KILL "$create_pid" 2>/dev/null || true
		wait "$create_pid" 2>/dev/null || true
	done
	clear_and_reuse 50
}

# Aimed at the steps right after the claim: each create is killed as soon as its directory
# is there (polled without sleeping, bounded), before or while it writes its state and makes
# its cgroups.
@test "SIGKILL of create just after it claims the id: delete --force clears it, the id works again" {
	set_cmd 'sleep 10'
	local i n
	mkdir -p -m 0700 "$STATE"
	for i in $(seq 50); do
		start_create "k$i"
		for n in $(seq 20000); do [ -d "$STATE/k$i" ] && break; done
		kill -KILL "$create_pid" 2>/dev/null || true
		wait "$create_pid" 2>/dev/null || true
	done
	clear_and_reuse 50
}
