#!/usr/bin/env bats
# The engine's command line as a user meets it: --help everywhere (on stdout, status 0), usage
# errors with docker's status 125, a man page per command that renders cleanly, and the bash
# completion. The commands are read from `husk --help` and the groups' --help, never listed
# here: a new command without --help, without a man page or unknown to the completion fails.

load helpers

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hkh.XXXXXX")
	# nothing here may touch the host's store or runtime state, whatever a command does
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
}

teardown() {
	local ids
	ids=$(ls "$HUSK_STORAGE/containers" 2>/dev/null || true)
	[ -z "$ids" ] || "$HUSK" --root "$RUNROOT" rm -f $ids >/dev/null 2>&1 || true
	rm -rf "$TEST_DIR"
	[ -z "$ids" ] || [ "${KEEP_CONTAINERS:-}" = 1 ] || fail "containers left by the test: $ids"
}

# the names in a help text's "commands:" (or "verbs:") list: two spaces, the name, a summary
listed() {
	awk -v head="$1" '$0 == head { on = 1; next } on && /^  [a-z]/ { print $1; next } on && /^$/ { exit }'
}

engine_commands() { "$HUSK" --help | listed commands:; }
group_commands() { "$HUSK" "$1" --help | listed commands:; }
GROUPS_WITH_SUBCOMMANDS="image network container system"

# `husk ARGS --help`: usage on stdout, nothing on stderr, status 0
help_of() {
	local out err rc
	out=$("$HUSK" --root "$RUNROOT" "$@" --help 2>"$TEST_DIR/err") && rc=0 || rc=$?
	err=$(cat "$TEST_DIR/err")
	[ "$rc" -eq 0 ] || fail "husk $* --help: status $rc: $err"
	[ -z "$err" ] || fail "husk $* --help wrote to stderr: $err"
	[ -n "$out" ] || fail "husk $* --help printed nothing"
	printf '%s\n' "$out"
}

@test "husk --help lists the commands; each answers --help on stdout with status 0" {
	local cmds c out
	cmds=$(engine_commands)
	# the list itself is there (a parse that finds nothing would pass every loop below)
	[ "$(wc -l <<<"$cmds")" -ge 20 ] || fail "husk --help lists: $cmds"
	grep -qx run <<<"$cmds"
	for c in $cmds; do
		[ "$c" = version ] && continue
		out=$(help_of "$c") || return 1
		[[ "$out" == *usage:* ]] || fail "husk $c --help: no usage line: $out"
		# a leaf command's usage names it (a group's names the group)
		[[ "$out" == *"husk $c"* || "$out" == *"husk oci"* || "$out" == *"husk image"* ]] ||
			fail "husk $c --help does not name the command: $out"
	done
	run -0 "$HUSK" help
	[[ "$output" == *"commands:"* ]]
}

@test "every subcommand listed by image, network, container and system --help answers --help" {
	local grp subs s out
	for grp in $GROUPS_WITH_SUBCOMMANDS; do
		subs=$(group_commands "$grp")
		[ -n "$subs" ] || fail "husk $grp --help lists no commands"
		for s in $subs; do
			out=$(help_of "$grp" "$s") || return 1
			[[ "$out" == *usage:* ]] || fail "husk $grp $s --help: $out"
		done
	done
	# the spellings asked for by name
	for s in "image ls" "image rm" "network create" "pull" "container prune" "system boot"; do
		out=$(help_of $s) || return 1
		[[ "$out" == *"husk $s"* ]] || fail "husk $s --help: $out"
	done
}

@test "--help does nothing else: system boot, container prune and image prune change nothing" {
	"$HUSK" image bootstrap busybox >/dev/null
	"$HUSK" --root "$RUNROOT" run --network none --name done busybox true
	help_of system boot >/dev/null
	help_of container prune >/dev/null
	help_of image prune >/dev/null
	run -0 "$HUSK" --root "$RUNROOT" ps -a -q
	[ "${#lines[@]}" -eq 1 ] || fail "container prune --help removed it: $output"
	# --help after a "--" is not husk's
	run -0 "$HUSK" --root "$RUNROOT" run --network none --rm busybox echo -- --help
	[ "$output" = "-- --help" ]
	"$HUSK" --root "$RUNROOT" rm done >/dev/null
}

@test "husk oci VERB --help: every verb of husk oci --help" {
	local verbs v out
	verbs=$("$HUSK" oci --help | listed verbs:)
	[ "$(wc -l <<<"$verbs")" -ge 15 ] || fail "husk oci --help lists: $verbs"
	for v in $verbs; do
		out=$(help_of oci "$v") || return 1
		[[ "$out" == *"usage: husk oci $v"* ]] || fail "husk oci $v --help: $out"
	done
	run -0 "$HUSK_BUILD/husk-oci" kill -help
	[[ "$output" == *"usage: husk oci kill"* ]]
}

@test "usage errors exit 125, on every command and subcommand, with the reason on stderr" {
	local c grp s err
	bad() {
		local rc
		"$HUSK" --root "$RUNROOT" "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" && rc=0 || rc=$?
		[ "$rc" -eq 125 ] || fail "husk $*: status $rc, not 125: $(cat "$TEST_DIR/err")"
		[ -s "$TEST_DIR/err" ] || fail "husk $*: no message on stderr"
	}
	for c in $(engine_commands); do
		case $c in
		version) continue ;;
		oci) continue ;; # runc's status for its usage errors is 1
		esac
		bad "$c" --no-such-flag x
	done
	for grp in $GROUPS_WITH_SUBCOMMANDS; do
		for s in $(group_commands "$grp"); do
			bad "$grp" "$s" --no-such-flag x
		done
		bad "$grp" no-such-command
		bad "$grp"
	done
	bad
	bad --no-such-option
	bad no-such-command
	bad --storage relative/dir images
	bad run --restart sometimes busybox
	bad logs --since yesterday x
	bad pull
	bad image tag only-one
	bad network create
	# not usage errors: what the command could not do (status 1)
	run -1 "$HUSK" --root "$RUNROOT" image inspect no-such-image
	run -1 "$HUSK" --root "$RUNROOT" network rm no-such-network
	# runc's runtime keeps runc's status
	run -1 "$HUSK" oci --no-such-flag list
}

@test "man pages: husk.1, husk-oci.1 and one per command of husk --help, each rendering without a warning" {
	local c page warn
	command -v man >/dev/null || skip "man is not installed (make deps installs man-db)"
	for c in $(engine_commands); do
		page=$REPO/docs/man/husk-$c.1
		[ -f "$page" ] || fail "no man page for husk $c: $page"
	done
	for page in "$REPO"/docs/man/*.1; do
		warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		[ -z "$warn" ] || fail "$page: $warn"
		# a page is more than a title
		[ "$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)" -ge 15 ] || fail "$page is nearly empty"
	done
	[ -f "$REPO/docs/man/husk.1" ]
	# husk.1 names every command, its files and exit statuses
	for c in $(engine_commands); do
		MANWIDTH=200 man -l "$REPO/docs/man/husk.1" 2>/dev/null | grep -qw -- "$c" || fail "husk.1 does not name $c"
	done
	# husk-run.1 has every flag husk run --help names
	local flag
	for flag in $("$HUSK" run --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		MANWIDTH=200 man -l "$REPO/docs/man/husk-run.1" 2>/dev/null | grep -qF -- "$flag" || fail "husk-run.1 lacks $flag"
	done
}

@test "man pages list the options each command's --help gives" {
	local c flag page
	command -v man >/dev/null || skip "man is not installed"
	for c in $(engine_commands); do
		[ "$c" = version ] && continue
		page=$(MANWIDTH=200 man -l "$REPO/docs/man/husk-$c.1" 2>/dev/null)
		for flag in $("$HUSK" "$c" --help | grep -oE -- '(^|[[ ,|])--[a-z][a-z-]*' | sed 's/^[[ ,|]//' | sort -u); do
			[ "$flag" = --help ] && continue
			grep -qF -- "$flag" <<<"$page" || fail "husk-$c.1 lacks $flag (from husk $c --help)"
		done
	done
}

@test "make install puts the man pages and the bash completion under PREFIX" {
	make -C "$REPO" --no-print-directory -s install BUILD="$HUSK_BUILD" DESTDIR="$TEST_DIR/dest" PREFIX=/usr >/dev/null
	[ -f "$TEST_DIR/dest/usr/share/man/man1/husk.1" ]
	[ -f "$TEST_DIR/dest/usr/share/man/man1/husk-run.1" ]
	[ -f "$TEST_DIR/dest/usr/share/bash-completion/completions/husk" ]
}

# the completion as bash calls it: COMP_WORDS, COMP_CWORD, then COMPREPLY
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _husk_complete; printf "%s\n" "${COMPREPLY[@]}"' \
		complete "$REPO/contrib/bash-completion/husk" "$@"
}

@test "bash completion: commands, subcommands, flags, container names, images" {
	local c got
	"$HUSK" image bootstrap busybox >/dev/null
	"$HUSK" --root "$RUNROOT" run --network none --name compl-target busybox true
	# every command of husk --help, and only those
	got=$(complete_words "$HUSK" "")
	[ "$(sort <<<"$got")" = "$(engine_commands | sort)" ] || fail "commands: $got"
	run -0 complete_words "$HUSK" re
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "rename restart " ] || fail "re: $output"
	# a flag of run, and one of its container configuration
	run -0 complete_words "$HUSK" run --det
	[[ " ${lines[*]} " == *" --detach "* ]] || fail "run --det: $output"
	run -0 complete_words "$HUSK" run --memory-s
	[ "$output" = --memory-swap ] || fail "run --memory-s: $output"
	# the container made above, after stop (with the line's --storage and --root)
	run -0 complete_words "$HUSK" --storage "$HUSK_STORAGE" --root "$RUNROOT" stop ""
	[ "$output" = compl-target ] || fail "stop: $output"
	run -0 complete_words "$HUSK" --root "$RUNROOT" container rm compl
	[ "$output" = compl-target ] || fail "container rm: $output"
	# images for run; nothing after the image
	run -0 complete_words "$HUSK" --root "$RUNROOT" run --name x busy
	[ "$output" = busybox ] || fail "run: $output"
	run -0 complete_words "$HUSK" --root "$RUNROOT" run busybox ""
	[ -z "$output" ] || fail "run IMAGE: $output"
	# the groups' subcommands and the runtime's verbs
	for c in $GROUPS_WITH_SUBCOMMANDS; do
		got=$(complete_words "$HUSK" "$c" "")
		[ "$(sort <<<"$got")" = "$(group_commands "$c" | sort)" ] || fail "$c: $got"
	done
	run -0 complete_words "$HUSK" oci ki
	[ "$output" = kill ] || fail "oci ki: $output"
	"$HUSK" --root "$RUNROOT" rm compl-target >/dev/null
}
