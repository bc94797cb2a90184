#define _GNU_SOURCE
/* Unit tests for images: hostile layers against a real directory (each with a canary outside
 * the layer that must stay untouched), whiteouts, references, manifests, users. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "lib/image/digest.h"
#include "lib/image/image.h"
#include "lib/image/layer.h"
#include "lib/image/ref.h"
#include "lib/image/runconfig.h"
#include "lib/util.h"

/* ---- crafted archives ---- */

struct entry {
	const char *name;
	mode_t type;                /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, ... */
	const char *data;           /* file content; link target for symlinks */
	const char *hardlink;
	int64_t size;               /* declared size when not -1 (data may be shorter: truncated) */
	mode_t perm;
	unsigned uid, gid;
	const char *xattr;          /* "name=value" */
};

static char workdir[256];
static int layer_fd = -1;

static int setup_dirs(void **state)
{
	(void)state;
	snprintf(workdir, sizeof(workdir), "/tmp/husk-unit-layer.XXXXXX");
	assert_non_null(mkdtemp(workdir));
	char path[512];
	snprintf(path, sizeof(path), "%s/layer", workdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/canary", workdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/canary/secret", workdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("secret\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/layer", workdir);
	layer_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(layer_fd >= 0);
	return 0;
}

static int teardown_dirs(void **state)
{
	(void)state;
	close(layer_fd);
	husk_rmtree_at(AT_FDCWD, workdir, NULL);
	return 0;
}

/* the canary directory holds exactly its one file, unchanged, with one link */
static void assert_canary_intact(void)
{
	char path[512], buf[64] = "";
	struct stat st;
	snprintf(path, sizeof(path), "%s/canary/secret", workdir);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "secret\n");
	snprintf(path, sizeof(path), "%s/canary", workdir);
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 1);
	/* nothing new beside layer/ and canary/ */
	d = opendir(workdir);
	n = 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 2);
	/* and nothing at the filesystem root from absolute names */
	assert_int_equal(access("/husk-unit-escape", F_OK), -1);
}

static int make_archive(const struct entry *entries, size_t n, const char *filter)
{
	size_t cap = 1 << 22, used = 0;
	char *buf = malloc(cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (filter && strcmp(filter, "gzip") == 0)
		archive_write_add_filter_gzip(a);
	else if (filter && strcmp(filter, "zstd") == 0)
		archive_write_add_filter_zstd(a);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &entries[i];
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_filetype(ae, e->hardlink ? AE_IFREG : e->type);
		archive_entry_set_perm(ae, e->perm ? e->perm : 0644);
		archive_entry_set_uid(ae, e->uid);
		archive_entry_set_gid(ae, e->gid);
		archive_entry_set_mtime(ae, 1000000, 0);
		if (e->hardlink)
			archive_entry_set_hardlink(ae, e->hardlink);
		if (e->type == AE_IFLNK)
			archive_entry_set_symlink(ae, e->data);
		if (e->type == AE_IFCHR || e->type == AE_IFBLK)
			archive_entry_set_rdev(ae, makedev(1, 3));
		if (e->xattr) {
			const char *eq = strchr(e->xattr, '=');
			char key[64];
			snprintf(key, sizeof(key), "%.*s", (int)(eq - e->xattr), e->xattr);
			archive_entry_xattr_add_entry(ae, key, eq + 1, strlen(eq + 1));
		}
		size_t len = e->type == AE_IFREG && e->data && !e->hardlink ? strlen(e->data) : 0;
		archive_entry_set_size(ae, e->size >= 0 && e->size != 0 ? e->size : (int64_t)len);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (len)
			archive_write_data(a, e->data, len);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	int fd = memfd_create("layer", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, used), (ssize_t)used);
	lseek(fd, 0, SEEK_SET);
	free(buf);
	return fd;
}

static int unpack(const struct entry *entries, size_t n, struct husk_err *err)
{
	struct husk_unpack_limits limits = HUSK_UNPACK_LIMITS_DEFAULT;
	int fd = make_archive(entries, n, NULL);
	int r = husk_layer_unpack(fd, layer_fd, &limits, err);
	close(fd);
	return r;
}

static void layer_path(const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/layer/%s", workdir, rel);
}

#define E(...) ((struct entry){__VA_ARGS__})
#define UNPACK(...)                                                            \
	({                                                                     \
		const struct entry list_[] = {__VA_ARGS__};                     \
		unpack(list_, sizeof(list_) / sizeof(list_[0]), &err);         \
	})

/* ---- the cases ---- */

static void test_dotdot_refused(void **state)
{
	struct husk_err err = {0};
	(void)state;
	assert_int_equal(UNPACK(E(.name = "../x", .type = AE_IFREG, .data = "evil", .size = -1)), -1);
	assert_int_equal(err.errnum, EPERM);
	husk_err_clear(&err);
	assert_int_equal(UNPACK(E(.name = "a/../../canary/x", .type = AE_IFREG, .data = "evil", .size = -1)), -1);
	husk_err_clear(&err);
	assert_int_equal(UNPACK(E(.name = "..", .type = AE_IFDIR, .perm = 0777)), -1);
	assert_canary_intact();
}

static void test_absolute_names_stay_inside(void **state)
{
	struct husk_err err = {0};
	char path[512];
	(void)state;
	assert_int_equal(UNPACK(E(.name = "/husk-unit-escape/x", .type = AE_IFREG, .data = "in", .size = -1),
				E(.name = "./etc/./y", .type = AE_IFREG, .data = "in", .size = -1)), 0);
	layer_path("husk-unit-escape/x", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	layer_path("etc/y", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	assert_canary_intact();
}

static void test_symlink_then_file_beneath(void **state)
{
	struct husk_err err = {0};
	char path[512];
	_cleanup_free_ char *out = husk_xasprintf("%s/canary", workdir);
	(void)state;
	/* absolute and relative links to the canary, then files through them */
	int r = UNPACK(E(.name = "abs", .type = AE_IFLNK, .data = out),
		       E(.name = "abs/x", .type = AE_IFREG, .data = "evil", .size = -1));
	if (r == 0) {
		/* resolved inside the layer: <layer>/<workdir>/canary/x */
		snprintf(path, sizeof(path), "%s/layer%s/canary/x", workdir, workdir);
		assert_int_equal(access(path, F_OK), 0);
	}
	husk_err_clear(&err);
	UNPACK(E(.name = "rel", .type = AE_IFLNK, .data = "../canary"),
	       E(.name = "rel/x", .type = AE_IFREG, .data = "evil", .size = -1));
	husk_err_clear(&err);
	UNPACK(E(.name = "up", .type = AE_IFLNK, .data = "../../../../../../.."),
	       E(.name = "up/husk-unit-escape", .type = AE_IFREG, .data = "evil", .size = -1));
	assert_canary_intact();
}

static void test_symlink_chain(void **state)
{
	struct husk_err err = {0};
	(void)state;
	UNPACK(E(.name = "c1", .type = AE_IFLNK, .data = "c2"), E(.name = "c2", .type = AE_IFLNK, .data = "c3"),
	       E(.name = "c3", .type = AE_IFLNK, .data = "../canary"),
	       E(.name = "c1/secret", .type = AE_IFREG, .data = "overwritten", .size = -1));
	assert_canary_intact();
}

static void test_file_over_symlink_replaces_it(void **state)
{
	struct husk_err err = {0};
	char path[512];
	struct stat st;
	_cleanup_free_ char *target = husk_xasprintf("%s/canary/secret", workdir);
	(void)state;
	/* a regular file entry where a symlink to the outside is: the link is replaced, not followed */
	assert_int_equal(UNPACK(E(.name = "link", .type = AE_IFLNK, .data = target),
				E(.name = "link", .type = AE_IFREG, .data = "overwritten", .size = -1)), 0);
	layer_path("link", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_canary_intact();
}

static void test_hardlink_outside_refused(void **state)
{
	struct husk_err err = {0};
	_cleanup_free_ char *abs = husk_xasprintf("%s/canary/secret", workdir);
	(void)state;
	assert_int_equal(UNPACK(E(.name = "h", .hardlink = "../canary/secret")), -1);
	husk_err_clear(&err);
	/* absolute: resolved in the layer, where there is no such file */
	assert_int_equal(UNPACK(E(.name = "h2", .hardlink = abs)), -1);
	husk_err_clear(&err);
	/* through a symlink that points out */
	assert_int_equal(UNPACK(E(.name = "out", .type = AE_IFLNK, .data = "../canary"),
				E(.name = "h3", .hardlink = "out/secret")), -1);
	assert_canary_intact();
}

static void test_whiteouts(void **state)
{
	struct husk_err err = {0};
	char path[512], value[8] = "";
	struct stat st;
	(void)state;
	assert_int_equal(UNPACK(E(.name = "d/", .type = AE_IFDIR, .perm = 0755),
				E(.name = "d/.wh.gone", .type = AE_IFREG, .data = "", .size = -1),
				E(.name = "o/.wh..wh..opq", .type = AE_IFREG, .data = "", .size = -1)), 0);
	layer_path("d/gone", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	layer_path("d/.wh.gone", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	layer_path("o", path, sizeof(path));
	assert_int_equal(getxattr(path, "trusted.overlay.opaque", value, sizeof(value)), 1);
	assert_int_equal(value[0], 'y');
	const char *bad[] = {".wh.", ".wh..", ".wh...", "x/.wh..wh.foo"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		assert_int_equal(UNPACK(E(.name = bad[i], .type = AE_IFREG, .data = "", .size = -1)), -1);
		assert_int_equal(err.errnum, EINVAL);
	}
	assert_canary_intact();
}

static void test_metadata(void **state)
{
	struct husk_err err = {0};
	char path[512], value[16] = "";
	struct stat st, st2;
	(void)state;
	assert_int_equal(UNPACK(E(.name = "bin/", .type = AE_IFDIR, .perm = 0711, .uid = 7, .gid = 8),
				E(.name = "bin/tool", .type = AE_IFREG, .data = "#!", .size = -1, .perm = 04755,
				  .uid = 1000, .gid = 1000, .xattr = "user.note=hi"),
				E(.name = "bin/again", .hardlink = "bin/tool"),
				E(.name = "bin/sl", .type = AE_IFLNK, .data = "tool", .uid = 3, .gid = 4),
				E(.name = "dev/null", .type = AE_IFCHR, .perm = 0666),
				E(.name = "fifo", .type = AE_IFIFO, .perm = 0600),
				E(.name = "bin/bad", .type = AE_IFREG, .data = "x", .size = -1,
				  .xattr = "trusted.overlay.opaque=y")), 0);
	layer_path("bin", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(st.st_uid, 7);
	layer_path("bin/tool", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_mtime, 1000000);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(getxattr(path, "user.note", value, sizeof(value)), 2);
	layer_path("bin/again", path, sizeof(path));
	assert_int_equal(lstat(path, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	layer_path("bin/sl", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, 3);
	layer_path("dev/null", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	layer_path("fifo", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* overlay's own xattrs from an archive are dropped */
	layer_path("bin/bad", path, sizeof(path));
	assert_int_equal(getxattr(path, "trusted.overlay.opaque", value, sizeof(value)), -1);
}

static void test_absurd_sizes_and_counts(void **state)
{
	struct husk_err err = {0};
	struct husk_unpack_limits limits = {.max_entries = 3, .max_bytes = 100};
	const struct entry many[] = {
		E(.name = "a", .type = AE_IFREG, .data = "1", .size = -1), E(.name = "b", .type = AE_IFREG, .data = "2", .size = -1),
		E(.name = "c", .type = AE_IFREG, .data = "3", .size = -1), E(.name = "d", .type = AE_IFREG, .data = "4", .size = -1),
	};
	const struct entry big[] = {E(.name = "big", .type = AE_IFREG, .data = "x", .size = 1ll << 50)};
	(void)state;
	int fd = make_archive(many, 4, NULL);
	assert_int_equal(husk_layer_unpack(fd, layer_fd, &limits, &err), -1);
	assert_int_equal(err.errnum, EFBIG);
	close(fd);
	husk_err_clear(&err);
	fd = make_archive(big, 1, NULL);
	assert_int_equal(husk_layer_unpack(fd, layer_fd, &limits, &err), -1);
	assert_int_equal(err.errnum, EFBIG);
	close(fd);
	/* within the limits but declaring more than it holds: a truncated archive */
	husk_err_clear(&err);
	struct husk_unpack_limits roomy = HUSK_UNPACK_LIMITS_DEFAULT;
	fd = make_archive(big, 1, NULL);
	assert_int_equal(husk_layer_unpack(fd, layer_fd, &roomy, &err), -1);
	close(fd);
	assert_canary_intact();
}

static void test_compressed(void **state)
{
	struct husk_err err = {0};
	struct husk_unpack_limits limits = HUSK_UNPACK_LIMITS_DEFAULT;
	const struct entry one[] = {E(.name = "z", .type = AE_IFREG, .data = "compressed", .size = -1)};
	const char *filters[] = {"gzip", "zstd"};
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fd = make_archive(one, 1, filters[i]);
		assert_int_equal(husk_layer_unpack(fd, layer_fd, &limits, &err), 0);
		close(fd);
	}
	/* not an archive at all */
	int fd = memfd_create("junk", MFD_CLOEXEC);
	assert_int_equal(write(fd, "this is not a tar file, not at all; it is text......", 52), 52);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(husk_layer_unpack(fd, layer_fd, &limits, &err), -1);
	close(fd);
}

/* ---- pure logic ---- */

static void test_refs(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"user/app", "docker.io/user/app:latest"},
		{"localhost/busybox", "localhost/busybox:latest"},
		{"127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1"},
		{"quay.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		 "quay.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"registry:5000/app", "registry:5000/app:latest"},
		{"a__b/c-d.e", "docker.io/a__b/c-d.e:latest"},
	};
	static const char *const bad[] = {"", "UPPER", "a//b", "a:", "a@sha256:12", "-a", "a/", "x:a b", "a..b"};
	struct husk_ref ref;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct husk_err err = {0};
		assert_int_equal(husk_ref_parse(ok[i].in, &ref, &err), 0);
		char *s = husk_ref_string(&ref);
		assert_string_equal(s, ok[i].out);
		free(s);
		husk_ref_free(&ref);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_err err = {0};
		assert_int_equal(husk_ref_parse(bad[i], &ref, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
	}
	struct husk_err err = {0};
	char *local = husk_ref_local_name("busybox", &err);
	assert_string_equal(local, "localhost/busybox:latest");
	free(local);
	local = husk_ref_local_name("me/app:2", &err);
	assert_string_equal(local, "localhost/me/app:2");
	free(local);
	assert_null(husk_ref_local_name("x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &err));
}

static void test_manifests(void **state)
{
	struct husk_manifest m;
	struct husk_err err = {0};
	const char *good = "{\"schemaVersion\":2,\"mediaType\":\"" HUSK_MT_DOCKER_MANIFEST "\",\"config\":{\"digest\":"
			   "\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},\"layers\":[{\"mediaType\":"
			   "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":"
			   "\"sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]}";
	(void)state;
	assert_int_equal(husk_manifest_parse(good, strlen(good), &m, &err), 0);
	assert_int_equal(m.n_layers, 1);
	husk_manifest_free(&m);
	const char *bad[] = {
		"[]", "{\"schemaVersion\":1,\"config\":{}}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:../../etc\"},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:00\"},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+encrypted\",\"digest\":"
		"\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		assert_int_equal(husk_manifest_parse(bad[i], strlen(bad[i]), &m, &err), -1);
	}
	/* the index entry for this machine's architecture */
	json_t *index = json_loads("{\"manifests\":["
				   "{\"digest\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"}},"
				   "{\"digest\":\"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}},"
				   "{\"digest\":\"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
				   "{\"digest\":\"sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}",
				   0, NULL);
	char picked[HUSK_DIGEST_LEN + 1];
	assert_int_equal(husk_index_pick(index, picked, &err), 0);
	if (strcmp(husk_image_arch(), "amd64") == 0)
		assert_string_equal(picked + 7, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	json_decref(index);
}

static void test_users(void **state)
{
	const char *passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\nbroken:x:zz:1::/:\n";
	const char *group = "root:x:0:\napp:x:1001:\nwheel:x:10:root,app\naudio:x:29:app\n";
	struct husk_user u;
	struct husk_err err = {0};
	(void)state;
	assert_int_equal(husk_user_resolve("app", passwd, group, &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1001);
	assert_string_equal(u.home, "/home/app");
	assert_int_equal(u.n_groups, 2);
	husk_user_free(&u);
	assert_int_equal(husk_user_resolve("1000:wheel", passwd, group, &u, &err), 0);
	assert_int_equal(u.gid, 10);
	husk_user_free(&u);
	assert_int_equal(husk_user_resolve("4242", passwd, group, &u, &err), 0);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
	husk_user_free(&u);
	assert_int_equal(husk_user_resolve("4242:77", NULL, NULL, &u, &err), 0);
	assert_int_equal(u.gid, 77);
	husk_user_free(&u);
	assert_int_equal(husk_user_resolve("ghost", passwd, group, &u, &err), -1);
	assert_int_equal(husk_user_resolve("app:nogroup", passwd, group, &u, &err), -1);
	assert_int_equal(husk_user_resolve("broken", passwd, group, &u, &err), -1);
	assert_int_equal(husk_user_resolve(":1", passwd, group, &u, &err), -1);
	assert_int_equal(husk_user_resolve("-1", passwd, group, &u, &err), -1);
}

static void test_digests(void **state)
{
	char d[HUSK_DIGEST_LEN + 1];
	(void)state;
	husk_sha256_buf("", 0, d);
	assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_true(husk_digest_valid(d));
	assert_false(husk_digest_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
	assert_false(husk_digest_valid("sha512:e3b0"));
	assert_false(husk_digest_valid("sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

#define LAYER_TEST(f) cmocka_unit_test_setup_teardown(f, setup_dirs, teardown_dirs)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LAYER_TEST(test_dotdot_refused),
		LAYER_TEST(test_absolute_names_stay_inside),
		LAYER_TEST(test_symlink_then_file_beneath),
		LAYER_TEST(test_symlink_chain),
		LAYER_TEST(test_file_over_symlink_replaces_it),
		LAYER_TEST(test_hardlink_outside_refused),
		LAYER_TEST(test_whiteouts),
		LAYER_TEST(test_metadata),
		LAYER_TEST(test_absurd_sizes_and_counts),
		LAYER_TEST(test_compressed),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_manifests),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
