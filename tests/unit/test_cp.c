#define _GNU_SOURCE
/* Unit tests: husk cp (src/lib/engine/cp.c) against a directory playing a container's root
 * full of hostile symlinks, with a canary directory beside it that must never change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/engine/cp.h"
#include "lib/util.h"

/* a shell check, its command line built as printf's */
static int sh(const char *cmd)
{
	int rc = system(cmd);
	free((void *)cmd);
	return rc;
}

static char top[64], root[128], canary[128], host[128];
static int rootfd = -1;

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *path)
{
	char *text = NULL;
	struct husk_err err = {0};
	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0)
		return NULL;
	return text;
}

static void must_link(const char *target, const char *at)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", root, at);
	assert_int_equal(symlink(target, path), 0);
}

/* the canary: one file, its content and nothing else in the directory */
static bool canary_intact(void)
{
	char path[256];
	_cleanup_free_ char *text = NULL;
	snprintf(path, sizeof(path), "%s/secret", canary);
	text = get(path);
	return text && strcmp(text, "canary\n") == 0 &&
	       sh(husk_xasprintf("test \"$(ls -A %s)\" = secret", canary)) == 0;
}

static int setup(void **state)
{
	char path[256];
	(void)state;
	strcpy(top, "/tmp/husk-test-cp.XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(canary, sizeof(canary), "%s/canary", top);
	snprintf(host, sizeof(host), "%s/host", top);
	mkdir(root, 0755);
	mkdir(canary, 0755);
	mkdir(host, 0755);
	snprintf(path, sizeof(path), "%s/secret", canary);
	put(path, "canary\n");
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/hostname", root);
	put(path, "box\n");
	/* the hostile ones: absolute to the canary, climbing to it, a parent that is a link */
	must_link(canary, "abs");
	snprintf(path, sizeof(path), "%s/secret", canary);
	must_link(path, "abs-file");
	must_link("../canary", "up");
	must_link("../../../../../../../..", "climb");
	must_link("../canary/secret", "up-file");
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	return 0;
}

static int teardown(void **state)
{
	struct husk_err err = {0};
	bool intact = canary_intact();
	(void)state;
	close(rootfd);
	assert_int_equal(husk_rmtree_at(AT_FDCWD, top, &err), 0);
	/* after the clean-up, so that a failing run leaves nothing behind */
	assert_true(intact);
	return 0;
}

static const struct husk_cp_opts opts = {0};

static void test_in_through_symlinked_parents(void **state)
{
	char src[256], path[256];
	struct husk_err err = {0};
	(void)state;
	snprintf(src, sizeof(src), "%s/payload", host);
	put(src, "pwned\n");
	/* /abs and /up name the canary on the host; inside the root they name nothing there */
	assert_int_equal(husk_cp_in(rootfd, src, "/abs/secret", &opts, &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_cp_in(rootfd, src, "/up/secret", &opts, &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_cp_in(rootfd, src, "/up/", &opts, &err), -1);
	husk_err_clear(&err);
	/* /climb is the root itself, seen from inside */
	assert_int_equal(husk_cp_in(rootfd, src, "/climb/canary/secret", &opts, &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_cp_in(rootfd, src, "/climb/", &opts, &err), 0);
	snprintf(path, sizeof(path), "%s/payload", root);
	_cleanup_free_ char *text = get(path);
	assert_non_null(text);
	assert_string_equal(text, "pwned\n");
}

static void test_in_replaces_planted_symlink(void **state)
{
	char src[256], path[256];
	struct stat st;
	struct husk_err err = {0};
	(void)state;
	snprintf(src, sizeof(src), "%s/payload", host);
	put(src, "pwned\n");
	/* the symlinks themselves are replaced: not written through */
	assert_int_equal(husk_cp_in(rootfd, src, "/abs-file", &opts, &err), 0);
	assert_int_equal(husk_cp_in(rootfd, src, "/up-file", &opts, &err), 0);
	snprintf(path, sizeof(path), "%s/up-file", root);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
}

static void test_out_never_reads_outside(void **state)
{
	char dest[256];
	struct stat st;
	struct husk_err err = {0};
	struct husk_cp_opts follow = {.follow = true};
	(void)state;
	/* -L follows inside the root: the canary is not there */
	snprintf(dest, sizeof(dest), "%s/got", host);
	assert_int_equal(husk_cp_out(rootfd, "/up-file", dest, &follow, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	husk_err_clear(&err);
	assert_int_equal(husk_cp_out(rootfd, "/abs/secret", dest, &opts, &err), -1);
	husk_err_clear(&err);
	/* without -L a symlink is copied as a symlink */
	assert_int_equal(husk_cp_out(rootfd, "/up-file", dest, &opts, &err), 0);
	assert_int_equal(lstat(dest, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* the whole root: the links come out as links, nothing behind them */
	snprintf(dest, sizeof(dest), "%s/all", host);
	assert_int_equal(husk_cp_out(rootfd, "/", dest, &opts, &err), 0);
	assert_int_equal(sh(husk_xasprintf("test \"$(cd %s && find . | sort | tr '\\n' ' ')\" = "
					       "'. ./abs ./abs-file ./climb ./etc ./etc/hostname ./up ./up-file '", dest)), 0);
}

/* a tar with a symlink to the canary and then a file under it, and a climbing name */
static void hostile_tar(const char *path, const char *link_target, const char *second)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	assert_non_null(a);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, "link");
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_perm(e, 0777);
	archive_entry_set_symlink(e, link_target);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	e = archive_entry_new();
	archive_entry_set_pathname(e, second);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 6);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "pwned\n", 6), 6);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static void test_hostile_tar_in(void **state)
{
	char tar[256];
	struct husk_err err = {0};
	_cleanup_close_ int fd = -1;
	(void)state;
	snprintf(tar, sizeof(tar), "%s/evil.tar", host);
	hostile_tar(tar, canary, "link/secret");
	fd = open(tar, O_RDONLY | O_CLOEXEC);
	/* link/secret lands under the root (where /link leads inside it), or fails: never the canary */
	husk_cp_in_tar(rootfd, fd, "/etc", &opts, &err);
	close(fd);
	husk_err_clear(&err);
	hostile_tar(tar, "../../../canary", "../canary/secret");
	fd = open(tar, O_RDONLY | O_CLOEXEC);
	assert_int_equal(husk_cp_in_tar(rootfd, fd, "/", &opts, &err), -1);
	assert_int_equal(err.errnum, EPERM);
}

static void test_rules(void **state)
{
	char src[256], dir[256], path[256];
	struct husk_err err = {0};
	(void)state;
	snprintf(src, sizeof(src), "%s/f", host);
	put(src, "file\n");
	snprintf(dir, sizeof(dir), "%s/d", host);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/d/inner", host);
	put(path, "inner\n");

	/* file → new name; file → existing dir; file → existing file */
	assert_int_equal(husk_cp_in(rootfd, src, "/new", &opts, &err), 0);
	assert_int_equal(husk_cp_in(rootfd, src, "/etc", &opts, &err), 0);
	assert_int_equal(husk_cp_in(rootfd, src, "/etc/hostname", &opts, &err), 0);
	assert_int_equal(sh(husk_xasprintf("cd %s && grep -qx file new && grep -qx file etc/f && grep -qx file etc/hostname", root)), 0);
	/* a trailing / that is not a directory */
	assert_int_equal(husk_cp_in(rootfd, src, "/missing/", &opts, &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_cp_in(rootfd, src, "/new/", &opts, &err), -1);
	assert_int_equal(err.errnum, ENOTDIR);
	husk_err_clear(&err);
	/* dir → new path (its contents there); dir → existing dir (under its name); d/. */
	assert_int_equal(husk_cp_in(rootfd, dir, "/made", &opts, &err), 0);
	assert_int_equal(husk_cp_in(rootfd, dir, "/etc", &opts, &err), 0);
	snprintf(path, sizeof(path), "%s/d/.", host);
	assert_int_equal(husk_cp_in(rootfd, path, "/made", &opts, &err), 0);
	assert_int_equal(sh(husk_xasprintf("cd %s && grep -qx inner made/inner && grep -qx inner etc/d/inner && test ! -e made/d", root)), 0);
	/* dir → file */
	assert_int_equal(husk_cp_in(rootfd, dir, "/new", &opts, &err), -1);
	assert_int_equal(err.errnum, ENOTDIR);
	husk_err_clear(&err);
	/* a missing parent */
	assert_int_equal(husk_cp_in(rootfd, src, "/no/such", &opts, &err), -1);
	husk_err_clear(&err);
}

static void test_owners(void **state)
{
	char src[256], path[256], dest[256];
	struct stat st;
	struct husk_err err = {0};
	struct husk_cp_opts archive = {.archive = true};
	(void)state;
	snprintf(src, sizeof(src), "%s/owned", host);
	put(src, "x\n");
	assert_int_equal(chown(src, 1234, 4321), 0);
	assert_int_equal(husk_cp_in(rootfd, src, "/root-owned", &opts, &err), 0);
	assert_int_equal(husk_cp_in(rootfd, src, "/kept", &archive, &err), 0);
	snprintf(path, sizeof(path), "%s/root-owned", root);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_uid == 0 && st.st_gid == 0);
	snprintf(path, sizeof(path), "%s/kept", root);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_uid == 1234 && st.st_gid == 4321);
	/* out: the caller's, or with -a the container's */
	snprintf(dest, sizeof(dest), "%s/out-caller", host);
	assert_int_equal(husk_cp_out(rootfd, "/kept", dest, &opts, &err), 0);
	assert_int_equal(stat(dest, &st), 0);
	assert_true(st.st_uid == geteuid() && st.st_gid == getegid());
	snprintf(dest, sizeof(dest), "%s/out-kept", host);
	assert_int_equal(husk_cp_out(rootfd, "/kept", dest, &archive, &err), 0);
	assert_int_equal(stat(dest, &st), 0);
	assert_true(st.st_uid == 1234 && st.st_gid == 4321);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_through_symlinked_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_replaces_planted_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_never_reads_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_tar_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owners, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
