#!/bin/bash
# Runs every test (cmocka unit tests, also under ASan/UBSan; bats integration tests) and ends
# with the line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export HUSK_BUILD=$PWD/$BUILD TEST_ROOTFS=$PWD/$BUILD/test-rootfs
passed=0 failed=0 skipped=0
log=$BUILD/test-logs
mkdir -p "$log"

count_cmocka() { # file: adds the [  PASSED  ] / [  FAILED  ] counts
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	if [ -z "$p" ] && [ -z "$f" ]; then f=1; fi   # crashed before reporting
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

for t in $([ -n "${SKIP_UNIT:-}" ] || echo "$BUILD"/tests/test_* "$BUILD"/tests-asan/test_*); do
	name=$(basename "$(dirname "$t")")-$(basename "$t")
	"$t" > "$log/$name.log" 2>&1
	rc=$?
	count_cmocka "$log/$name.log"
	grep -E 'FAILED|ERROR|Sanitizer' "$log/$name.log" && echo "--- $name: see $log/$name.log (exit $rc)"
	[ $rc -ne 0 ] && ! grep -q FAILED "$log/$name.log" && failed=$((failed + 1))
done
echo "unit tests: $passed passed, $failed failed"

tests/make-rootfs.sh "$TEST_ROOTFS"
for f in ${BATS_FILES:-tests/integration/*.bats}; do
	name=$(basename "$f" .bats)
	bats --tap "$f" > "$log/$name.tap" 2>&1
	rc=$?
	# bats marks a skipped test "ok N ... # skip": it did not pass
	p=$(grep '^ok ' "$log/$name.tap" | grep -vc ' # skip')
	sk=$(grep '^ok ' "$log/$name.tap" | grep -c ' # skip')
	fl=$(grep -c '^not ok ' "$log/$name.tap")
	# tests the plan (1..N) announced that never reported (bats stopped half-way) failed, and
	# so did a file bats itself failed on although every test it reported passed
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log/$name.tap" | head -1)
	missing=$(( ${plan:-0} - p - sk - fl ))
	if [ "$missing" -gt 0 ]; then
		echo "--- $name: $missing of $plan tests never reported:"; tail -5 "$log/$name.tap"; fl=$((fl + missing))
	elif [ $rc -ne 0 ] && [ "$fl" -eq 0 ] && [ $((p + sk)) -gt 0 ]; then
		echo "--- $name: bats exited $rc:"; tail -5 "$log/$name.tap"; fl=1
	fi
	echo "$name: $p passed, $fl failed$([ "$sk" -gt 0 ] && echo ", $sk skipped: $(grep -m1 ' # skip' "$log/$name.tap" | sed 's/.*# skip *//')")"
	skipped=$((skipped + sk))
	[ "$fl" -gt 0 ] && sed -n '/^not ok/,/^ok /p' "$log/$name.tap" | grep -v '^ok ' | head -60
	if [ "$p" -eq 0 ] && [ "$fl" -eq 0 ] && [ "$sk" -eq 0 ]; then
		echo "--- $name ran no test:"; tail -20 "$log/$name.tap"; fl=1
	fi
	passed=$((passed + p)); failed=$((failed + fl))
done
# the cgroup v2 path, in a qemu guest (this host is cgroup v1); not from inside that guest
if [ -z "${SKIP_VM:-}" ]; then
	if [ -x ../shared/vm/run-in-vm.sh ]; then
		make --no-print-directory check-cgroup2 > "$log/cgroup2-vm.log" 2>&1
		rc=$?
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log/cgroup2-vm.log" | tail -1)
		if [ -n "$line" ]; then
			p=${line%% passed*}; fl=${line#*passed, }; fl=${fl%% failed*}
			case $line in *skipped*) vsk=${line#*failed, }; skipped=$((skipped + ${vsk%% skipped*})) ;; esac
			echo "cgroup v2 (qemu guest): $p passed, $fl failed"
			if [ "$fl" -gt 0 ] || [ $rc -ne 0 ]; then
				[ "$fl" -gt 0 ] || fl=1
				tail -40 "$log/cgroup2-vm.log"
			fi
			passed=$((passed + p)); failed=$((failed + fl))
		else
			# the guest never got to run the tests (qemu could not be installed or booted):
			# make check does not depend on it, so this is reported, not counted
			echo "cgroup v2 (qemu guest): skipped: the guest did not run the tests (exit $rc); see $log/cgroup2-vm.log"
			tail -5 "$log/cgroup2-vm.log"
		fi
	else
		echo "cgroup v2 (qemu guest): skipped: ../shared/vm/run-in-vm.sh is not beside this checkout"
	fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
