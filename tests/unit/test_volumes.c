#define _GNU_SOURCE
/* Unit tests for the volume flags' parsers: -v, --mount, --tmpfs, targets and volume names
 * (src/lib/engine/volume.c), docker's spellings, and that bad input says what and why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/engine/volume.h"
#include "lib/util.h"

static void test_v(void **state)
{
	static const struct {
		const char *text;
		enum husk_mount_type type;
		const char *source, *target, *propagation;
		bool readonly, nocopy, create;
		char relabel;
	} good[] = {
		{"/srv/data:/data", HUSK_MOUNT_BIND, "/srv/data", "/data", NULL, false, false, true, 0},
		{"/srv:/data:ro", HUSK_MOUNT_BIND, "/srv", "/data", NULL, true, false, true, 0},
		{"/srv:/data:rw,Z", HUSK_MOUNT_BIND, "/srv", "/data", NULL, false, false, true, 'Z'},
		{"/srv:/data:ro,z,rshared", HUSK_MOUNT_BIND, "/srv", "/data", "rshared", true, false, true, 'z'},
		{"/srv:/data:slave", HUSK_MOUNT_BIND, "/srv", "/data", "slave", false, false, true, 0},
		{"name:/data", HUSK_MOUNT_VOLUME, "name", "/data", NULL, false, false, false, 0},
		{"my.vol_1-x:/data:ro,nocopy", HUSK_MOUNT_VOLUME, "my.vol_1-x", "/data", NULL, true, true, false, 0},
		{"/data", HUSK_MOUNT_VOLUME, NULL, "/data", NULL, false, false, false, 0},
		{"/data:ro", HUSK_MOUNT_VOLUME, NULL, "/data", NULL, true, false, false, 0},
		{"/a:/b/", HUSK_MOUNT_BIND, "/a", "/b/", NULL, false, false, true, 0},
		{"/a:/b/..c", HUSK_MOUNT_BIND, "/a", "/b/..c", NULL, false, false, true, 0},
	};
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"data", "is not an absolute path"},
		{"/x:data", "the target \"data\" is not an absolute path"},
		{"/x:/a/../b", "has a \"..\" component"},
		{"/x:/..", "has a \"..\" component"},
		{"/x:/", "cannot be mounted on /"},
		{"a/b:/data", "cannot contain \"/\""},
		{"./rel:/data", "cannot contain \"/\""},
		{"-x:/data", "names are [a-zA-Z0-9]"},
		{"a:/data", "names are"},
		{":/data", "an empty source"},
		{"/x:/y:ro,rw", "ro and rw given twice"},
		{"/x:/y:z,Z", "z or Z given twice"},
		{"/x:/y:shared,slave", "two propagations"},
		{"/x:/y:what", "unknown option \"what\""},
		{"/x:/y:ro,", "an empty option"},
		{"/x:/y:nocopy", "nocopy is for volumes"},
		{"v1:/y:shared", "a propagation is for host paths"},
		{"/a:/b:ro:x", "too many colons"},
		{"", "no target path"},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct husk_mount_spec m;
		struct husk_err err = {0};
		if (husk_mount_parse_volume(good[i].text, &m, &err) < 0)
			fail_msg("-v %s: %s", good[i].text, err.msg);
		assert_int_equal(m.type, good[i].type);
		if (good[i].source)
			assert_string_equal(m.source, good[i].source);
		else
			assert_null(m.source);
		assert_string_equal(m.target, good[i].target);
		if (good[i].propagation)
			assert_string_equal(m.propagation, good[i].propagation);
		else
			assert_null(m.propagation);
		assert_int_equal(m.readonly, good[i].readonly);
		assert_int_equal(m.nocopy, good[i].nocopy);
		assert_int_equal(m.create_source, good[i].create);
		assert_int_equal(m.relabel, good[i].relabel);
		husk_mount_spec_free(&m);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_mount_spec m;
		struct husk_err err = {0};
		if (husk_mount_parse_volume(bad[i].text, &m, &err) == 0)
			fail_msg("-v \"%s\" was taken", bad[i].text);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("-v \"%s\": \"%s\" does not say \"%s\"", bad[i].text, err.msg, bad[i].why);
		husk_mount_spec_free(&m);
	}
}

static void test_mount(void **state)
{
	static const struct {
		const char *text;
		enum husk_mount_type type;
		const char *source, *target, *propagation, *tmpfs;
		bool readonly, nocopy;
	} good[] = {
		{"type=bind,source=/srv,target=/data", HUSK_MOUNT_BIND, "/srv", "/data", NULL, NULL, false, false},
		{"type=bind,src=/srv,dst=/data,readonly,bind-propagation=rslave", HUSK_MOUNT_BIND, "/srv", "/data", "rslave",
		 NULL, true, false},
		{"type=bind,src=/srv,destination=/d,ro=true", HUSK_MOUNT_BIND, "/srv", "/d", NULL, NULL, true, false},
		{"type=bind,src=/srv,destination=/d,readonly=false", HUSK_MOUNT_BIND, "/srv", "/d", NULL, NULL, false, false},
		{"source=vv,target=/d", HUSK_MOUNT_VOLUME, "vv", "/d", NULL, NULL, false, false},
		{"type=volume,target=/d,volume-nocopy", HUSK_MOUNT_VOLUME, NULL, "/d", NULL, NULL, false, true},
		{"type=volume,src=vv,dst=/d,volume-nocopy=1,consistency=cached", HUSK_MOUNT_VOLUME, "vv", "/d", NULL, NULL,
		 false, true},
		{"type=tmpfs,dst=/t", HUSK_MOUNT_TMPFS, NULL, "/t", NULL, NULL, false, false},
		{"type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777", HUSK_MOUNT_TMPFS, NULL, "/t", NULL,
		 "size=67108864,mode=1777", false, false},
		{"type=tmpfs,dst=/t,tmpfs-mode=700", HUSK_MOUNT_TMPFS, NULL, "/t", NULL, "mode=700", false, false},
	};
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"type=bind,src=/a,target=/b,colour=blue", "unknown key \"colour\""},
		{"type=nfs,target=/b", "type=nfs: one of bind, volume, tmpfs"},
		{"type=bind,target=/b", "needs an absolute source="},
		{"type=bind,src=rel,target=/b", "needs an absolute source="},
		{"type=bind,src=/a", "no target path"},
		{"type=bind,src=/a,target=b", "is not an absolute path"},
		{"type=bind,src=/a,target=/b/../c", "\"..\" component"},
		{"type=volume,src=a/b,target=/b", "cannot contain \"/\""},
		{"type=volume,target=/b,bind-propagation=shared", "bind-propagation is for type=bind"},
		{"type=bind,src=/a,target=/b,bind-propagation=sideways", "one of [r]shared"},
		{"type=bind,src=/a,target=/b,volume-nocopy", "volume-nocopy is for type=volume"},
		{"type=bind,src=/a,target=/b,readonly=maybe", "true or false"},
		{"type=tmpfs,src=x,target=/t", "a tmpfs has no source"},
		{"type=tmpfs,target=/t,tmpfs-size=lots", "a size such as 64m"},
		{"type=tmpfs,target=/t,tmpfs-mode=9", "an octal mode"},
		{"type=volume,target=/t,tmpfs-size=1m", "are for type=tmpfs"},
		{"type", "needs a value"},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct husk_mount_spec m;
		struct husk_err err = {0};
		if (husk_mount_parse_mount(good[i].text, &m, &err) < 0)
			fail_msg("--mount %s: %s", good[i].text, err.msg);
		assert_int_equal(m.type, good[i].type);
		if (good[i].source)
			assert_string_equal(m.source, good[i].source);
		else
			assert_null(m.source);
		assert_string_equal(m.target, good[i].target);
		if (good[i].propagation)
			assert_string_equal(m.propagation, good[i].propagation);
		else
			assert_null(m.propagation);
		if (good[i].tmpfs)
			assert_string_equal(m.tmpfs_options, good[i].tmpfs);
		else
			assert_null(m.tmpfs_options);
		assert_int_equal(m.readonly, good[i].readonly);
		assert_int_equal(m.nocopy, good[i].nocopy);
		assert_false(m.create_source);  /* only -v makes a missing host path */
		husk_mount_spec_free(&m);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_mount_spec m;
		struct husk_err err = {0};
		if (husk_mount_parse_mount(bad[i].text, &m, &err) == 0)
			fail_msg("--mount \"%s\" was taken", bad[i].text);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("--mount \"%s\": \"%s\" does not say \"%s\"", bad[i].text, err.msg, bad[i].why);
		husk_mount_spec_free(&m);
	}
}

static void test_tmpfs(void **state)
{
	static const struct {
		const char *text, *target, *options;
		bool readonly;
	} good[] = {
		{"/t", "/t", NULL, false},
		{"/t:size=64m,mode=1777", "/t", "size=64m,mode=1777", false},
		{"/run:rw,noexec,nosuid,size=65536k", "/run", "rw,noexec,nosuid,size=65536k", false},
		{"/t:ro,uid=1000,gid=1000,nr_inodes=100", "/t", "ro,uid=1000,gid=1000,nr_inodes=100", true},
	};
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"t", "is not an absolute path"},
		{"/t/../x", "\"..\" component"},
		{"/t:size=1m,bind=/etc", "unknown option \"bind=/etc\""},
		{"/t:size=", "unknown option \"size=\""},
		{"/t:exec,whatever", "unknown option \"whatever\""},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct husk_mount_spec m;
		struct husk_err err = {0};
		if (husk_mount_parse_tmpfs(good[i].text, &m, &err) < 0)
			fail_msg("--tmpfs %s: %s", good[i].text, err.msg);
		assert_int_equal(m.type, HUSK_MOUNT_TMPFS);
		assert_string_equal(m.target, good[i].target);
		if (good[i].options)
			assert_string_equal(m.tmpfs_options, good[i].options);
		else
			assert_null(m.tmpfs_options);
		assert_int_equal(m.readonly, good[i].readonly);
		husk_mount_spec_free(&m);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_mount_spec m;
		struct husk_err err = {0};
		if (husk_mount_parse_tmpfs(bad[i].text, &m, &err) == 0)
			fail_msg("--tmpfs \"%s\" was taken", bad[i].text);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("--tmpfs \"%s\": \"%s\" does not say \"%s\"", bad[i].text, err.msg, bad[i].why);
		husk_mount_spec_free(&m);
	}
}

static void test_names(void **state)
{
	static const char *const good[] = {"ab", "data", "my.vol_1-x", "0123456789abcdef", "A-"};
	static const char *const bad[] = {"", "a", "a/b", "/abs", "..", ".hidden", "-x", "_x", "a b", "a:b", "é"};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct husk_err err = {0};
		if (husk_volume_name_check(good[i], &err) < 0)
			fail_msg("%s: %s", good[i], err.msg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_err err = {0};
		if (husk_volume_name_check(bad[i], &err) == 0)
			fail_msg("volume name \"%s\" was taken", bad[i]);
		assert_non_null(strstr(err.msg, "volume name"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_tmpfs),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
