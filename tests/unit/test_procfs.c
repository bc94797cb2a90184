#define _GNU_SOURCE
/* Unit tests: the procfs writer's refusals, against this machine's real /proc. Every write husk
 * makes into a container's /proc goes through these opens (CVE-2025-52881). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/procfs.h"

static void test_root_must_be_procfs_root(void **state)
{
	struct husk_err err = {0};
	int fd;

	(void)state;
	fd = husk_procfs_open_root(AT_FDCWD, "/proc", &err);
	assert_true(fd >= 0);
	close(fd);
	/* procfs, but not its root: what a bind of /proc/sys onto /proc would look like */
	assert_int_equal(husk_procfs_open_root(AT_FDCWD, "/proc/sys", &err), -1);
	assert_int_equal(err.errnum, EXDEV);
	husk_err_clear(&err);
	/* not procfs at all */
	assert_int_equal(husk_procfs_open_root(AT_FDCWD, "/tmp", &err), -1);
	assert_int_equal(err.errnum, EXDEV);
	husk_err_clear(&err);
	/* /proc/self/fd/N style detours are symlinks: refused */
	assert_int_equal(husk_procfs_open_root(AT_FDCWD, "/proc/self", &err), -1);
	assert_int_equal(err.errnum, ELOOP);
}

static void test_open_beneath_without_links(void **state)
{
	struct husk_err err = {0};
	int proc = husk_procfs_open_root(AT_FDCWD, "/proc", &err), fd;

	(void)state;
	assert_true(proc >= 0);
	/* self and thread-self are read and replaced: these work */
	fd = husk_procfs_open(proc, "self/status", O_RDONLY, &err);
	assert_true(fd >= 0);
	close(fd);
	fd = husk_procfs_open(proc, "thread-self/attr/current", O_RDONLY, &err);
	assert_true(fd >= 0 || err.errnum == EINVAL || err.errnum == ENOENT);
	if (fd >= 0)
		close(fd);
	husk_err_clear(&err);
	/* any other symlink is refused: /proc/mounts -> self/mounts */
	assert_int_equal(husk_procfs_open(proc, "mounts", O_RDONLY, &err), -1);
	assert_int_equal(err.errnum, ELOOP);
	husk_err_clear(&err);
	/* magic links too: /proc/self/exe, /proc/self/root */
	assert_int_equal(husk_procfs_open(proc, "self/root/etc/passwd", O_RDONLY, &err), -1);
	assert_int_equal(err.errnum, ELOOP);
	husk_err_clear(&err);
	/* nothing above the procfs root */
	assert_int_equal(husk_procfs_open(proc, "../etc/passwd", O_RDONLY, &err), -1);
	assert_int_equal(err.errnum, EXDEV);
	husk_err_clear(&err);
	/* another mount on the way (binfmt_misc, where it is mounted) is a crossing */
	if (access("/proc/sys/fs/binfmt_misc/status", F_OK) == 0) {
		assert_int_equal(husk_procfs_open(proc, "sys/fs/binfmt_misc/status", O_RDONLY, &err), -1);
		assert_int_equal(err.errnum, EXDEV);
		husk_err_clear(&err);
	}
	close(proc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_must_be_procfs_root),
		cmocka_unit_test(test_open_beneath_without_links),
	};
	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
