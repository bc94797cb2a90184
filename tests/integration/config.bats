#!/usr/bin/env bats
# Malformed config.json through the command line: a clear error naming file, line and column,
# exit status 1, no crash, and nothing created (state, cgroups).
load helpers

# $1: config text (printf format is not used: written as is); $2: expected error fragment
expect_config_error() {
	printf '%s' "$1" > "$BUNDLE/config.json"
	run_husk create c1
	[ "$status" -eq 1 ] || fail "status $status for: $1"
	[[ "$stderr" == "husk: create: config.json:"* ]] || fail "no position in: $stderr"
	[[ "$stderr" == *"$2"* ]] || fail "\"$stderr\" lacks \"$2\""
	[ ! -e "$STATE/c1" ] || fail "state left for: $1"
}

setup() {
	setup_bundle
	cp "$BUNDLE/config.json" "$TEST_DIR/good.json"
}

good() { # the valid config with one jq edit applied, as text
	jq -c "$1" "$TEST_DIR/good.json"
}

@test "empty, truncated, not an object" {
	expect_config_error '' "config.json:1:0:"
	expect_config_error "$(good . | head -c 200)" "config.json:1:"
	expect_config_error '[1, 2]' "(top): expected an object"
	expect_config_error 'null' "config.json:1:"
}

@test "wrong types and out-of-range numbers name the field" {
	expect_config_error "$(good '.process.user.uid = "0"')" "process.user.uid: expected an integer 0..2147483647"
	expect_config_error "$(good '.process.user.uid = 4294967296')" "process.user.uid: expected an integer 0..2147483647"
	expect_config_error "$(good '.process.user.uid = 2147483648')" "process.user.uid: expected an integer 0..2147483647"
	expect_config_error "$(good '.process.user.uid = 4294967295')" "process.user.uid: expected an integer 0..2147483647"
	expect_config_error "$(good '.process.user.gid = -1')" "process.user.gid"
	expect_config_error "$(good '.process.args = "sh"')" "process.args: expected an array, got a string"
	expect_config_error "$(good '.process.terminal = "yes"')" "process.terminal: expected a boolean"
	expect_config_error "$(good '.mounts[0] = 7')" "mounts[0]: expected an object, got an integer"
	expect_config_error "$(good '.process.oomScoreAdj = -1001')" "process.oomScoreAdj: expected an integer -1000..1000"
	expect_config_error "$(good '.linux.uidMappings = [{"containerID": 0, "hostID": 0, "size": 0}] | .linux.namespaces += [{"type": "user"}] | .linux.gidMappings = .linux.uidMappings')" "linux.uidMappings[0].size"
}

@test "unknown names are errors: capability, signal-free rlimit, mount option, namespace" {
	expect_config_error "$(good '.process.capabilities.bounding += ["CAP_MAKE_COFFEE"]')" 'unknown capability "CAP_MAKE_COFFEE"'
	expect_config_error "$(good '.process.rlimits = [{"type": "RLIMIT_COFFEE", "soft": 1, "hard": 1}]')" 'unknown rlimit "RLIMIT_COFFEE"'
	expect_config_error "$(good '.mounts[1].options += ["nosuidd"]')" 'mounts[1].options[4]: unknown mount option "nosuidd"'
	expect_config_error "$(good '.linux.namespaces += [{"type": "coffee"}]')" 'unknown namespace type "coffee"'
}

@test "the position points at the offending value in a pretty-printed file" {
	jq '.process.user.uid = -5' "$BUNDLE/config.json" > "$TEST_DIR/c.json"
	line=$(grep -n '"uid": -5' "$TEST_DIR/c.json" | cut -d: -f1)
	col=$(( $(grep '"uid": -5' "$TEST_DIR/c.json" | awk '{print index($0, "-5")}') ))
	cp "$TEST_DIR/c.json" "$BUNDLE/config.json"
	run_husk create c1
	[ "$stderr" = "husk: create: config.json:$line:$col: process.user.uid: expected an integer 0..2147483647" ]
}

@test "duplicate keys are an error" {
	expect_config_error '{"ociVersion": "1.2.0", "ociVersion": "1.0.0"}' "duplicate object key"
}

@test "invalid UTF-8 is an error" {
	printf '{"ociVersion": "1.2.0", "hostname": "\xc3\x28"}' > "$BUNDLE/config.json"
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"config.json:1:"*"not valid UTF-8"* ]]
}

@test "100 000 levels of nesting: an error, not a crash" {
	{ printf '{"ociVersion": "1.2.0", "x": '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; printf '}'; } > "$BUNDLE/config.json"
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"config.json:1:"*"depth"* ]]
}

@test "unknown top-level fields are ignored, as the spec allows" {
	update_config '.someRuntimeExtension = {"anything": [1, 2, 3]} | .process.args = ["true"]'
	run husk run c1
	[ "$status" -eq 0 ]
}

@test "a missing config.json or root says which" {
	rm "$BUNDLE/config.json"
	run_husk create c1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"open $BUNDLE/config.json: No such file or directory"* ]]
	"$HUSK" oci spec --bundle "$BUNDLE"
	update_config '.root.path = "nope"'
	run_husk create c1
	[[ "$stderr" == *"root.path $BUNDLE/nope: No such file or directory"* ]]
	[ ! -e "$STATE/c1" ]
}

@test "namespaces: a hostname needs a uts namespace, new or joined; no mount namespace refuses what mounts" {
	expect_config_error "$(good '.linux.namespaces |= map(select(.type != "uts"))')" \
		'hostname: setting the hostname needs a uts namespace (new or joined)'
	expect_config_error "$(good '.linux.namespaces |= map(select(.type != "uts")) | del(.hostname) | .domainname = "d"')" \
		'domainname: setting the domainname needs a uts namespace (new or joined)'
	nomnt='.linux.namespaces |= map(select(.type != "mount"))'
	expect_config_error "$(good "$nomnt")" 'mounts: needs a mount namespace'
	expect_config_error "$(good "$nomnt | .mounts = [] | .root.readonly = true")" 'root.readonly: needs a mount namespace'
	expect_config_error "$(good "$nomnt | .mounts = [] | .root.readonly = false")" 'linux.maskedPaths: needs a mount namespace'
	nomnt="$nomnt | .mounts = [] | .root.readonly = false | del(.linux.maskedPaths)"
	expect_config_error "$(good "$nomnt")" 'linux.readonlyPaths: needs a mount namespace'
	nomnt="$nomnt | del(.linux.readonlyPaths)"
	expect_config_error "$(good "$nomnt | .linux.devices = [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229}]")" 'linux.devices: needs a mount namespace'
	expect_config_error "$(good "$nomnt | .linux.rootfsPropagation = \"rprivate\"")" 'linux.rootfsPropagation: needs a mount namespace'
	expect_config_error "$(good "$nomnt | .linux.sysctl = {\"net.ipv4.ip_forward\": \"1\"}")" 'linux.sysctl: needs a mount namespace'
}
