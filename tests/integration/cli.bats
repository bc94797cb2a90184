#!/usr/bin/env bats
# The command line itself: the two faces of the binary, spec, features, global options.
load helpers

@test "husk-oci is husk oci" {
	[ -L "$HUSK_BUILD/husk-oci" ]
	[ "$("$HUSK_BUILD/husk-oci" --version)" = "$("$HUSK" oci --version)" ]
	run "$HUSK_BUILD/husk-oci" --root "$STATE" list -q
	[ "$status" -eq 0 ]
	[[ "$("$HUSK" --version)" == "husk version "* ]]
}

@test "global options before oci reach the runtime: husk --root R oci list" {
	set_cmd 'sleep 30'
	husk create c1
	run -0 "$HUSK" --root "$STATE" oci list -q
	[ "$output" = c1 ] || fail "$output"
	run -0 "$HUSK" --root "$STATE" --log "$TEST_DIR/log" --debug oci state c1
	[[ "$output" == *'"status": "created"'* ]] || fail "$output"
	[ -s "$TEST_DIR/log" ]
	husk delete --force c1
}

@test "unknown verbs and bad flags are usage errors" {
	run "$HUSK" oci frobnicate
	[ "$status" -eq 1 ]
	[[ "$output" == *'husk: oci: unknown verb "frobnicate"'* ]]
	run "$HUSK" oci --log-format yaml list
	[ "$status" -eq 1 ]
	[[ "$output" == *'--log-format must be text or json'* ]]
	run "$HUSK" oci --root "$STATE" create
	[ "$status" -eq 1 ]
	[[ "$output" == *'expected exactly one container id'* ]]
	run "$HUSK" oci --root "$STATE" create --preserve-fds=x c1
	[ "$status" -eq 1 ]
}

@test "spec writes a config husk runs, and refuses to overwrite one" {
	rm "$BUNDLE/config.json"
	"$HUSK" oci spec --bundle "$BUNDLE"
	jq -e '.process.noNewPrivileges and .root.readonly and (.process.capabilities.bounding | length == 14)' "$BUNDLE/config.json"
	update_config '.process.args = ["true"]'
	run husk run c1
	[ "$status" -eq 0 ]
	run "$HUSK" oci spec --bundle "$BUNDLE"
	[ "$status" -eq 1 ]
	[[ "$output" == *"config.json (remove it first): File exists"* ]]
}

@test "spec --rootless maps the caller to root in a user namespace" {
	rm "$BUNDLE/config.json"
	"$HUSK" oci spec --rootless --bundle "$BUNDLE"
	jq -e --argjson u "$(id -u)" '(.linux.namespaces | map(.type) | index("user")) and .linux.uidMappings[0].hostID == $u and .linux.uidMappings[0].size == 1' "$BUNDLE/config.json"
	jq -e '[.mounts[].destination] | index("/sys/fs/cgroup") | not' "$BUNDLE/config.json"
}

@test "features is the runtime-spec features document" {
	run "$HUSK" oci features
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.ociVersionMin == "1.0.0" and .ociVersionMax == "1.2.0" and (.hooks | length == 6)'
	echo "$output" | jq -e '.linux.namespaces | index("pid") and index("time") and index("user")'
	echo "$output" | jq -e '.linux.capabilities | index("CAP_SYS_ADMIN")'
	echo "$output" | jq -e '.mountOptions | index("rbind") and index("rro")'
	echo "$output" | jq -e '.linux.cgroup.v1 and .linux.cgroup.v2'
	echo "$output" | jq -e '.linux.mountExtensions.idmap.enabled == false and .linux.seccomp.enabled'
	echo "$output" | jq -e '.linux.seccomp.actions | index("SCMP_ACT_NOTIFY")'
	echo "$output" | jq -e '.linux.seccomp.operators | length == 7'
}

@test "list with no containers prints the header only" {
	run "$HUSK" oci --root "$STATE" list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$HUSK" oci --root "$STATE" list --format json
	[ "$output" = "[]" ]
}

@test "container ids that could escape the state root are refused" {
	run "$HUSK" oci --root "$STATE" create --bundle "$BUNDLE" ../evil
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid container id "../evil"'* ]]
	[ ! -e "$TEST_DIR/evil" ]
}

@test "start-up loads no archive, registry or nftables library: run and create get them only when used" {
	# LD_DEBUG=files lists every shared object the loader opens, dlopen() ones included
	run env LD_DEBUG=files "$HUSK" oci --root "$STATE" run --bundle "$BUNDLE" lazy
	[ "$status" -eq 0 ]
	[[ "$output" == *"libjansson"* ]] || fail "LD_DEBUG shows no loading at all: $output"
	for lib in libarchive libcurl libnftables; do
		[[ "$output" != *"$lib"* ]] || fail "$lib loaded by husk oci run"
	done
	run env LD_DEBUG=files "$HUSK" --storage "$TEST_DIR/store" image import - lazy < /dev/null
	[[ "$output" == *"libarchive"* ]] || fail "import did not load libarchive: $output"
	[[ "$output" != *"libcurl"* ]]
}
