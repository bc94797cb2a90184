#define _GNU_SOURCE
/* Unit tests: config.json parsing and validation, including hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "lib/caps.h"
#include "lib/spec.h"
#include "lib/spec_walk.h"
#include "lib/util.h"

#define MINIMAL_HEAD "{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\"},\n"
#define MINIMAL_PROCESS "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0}}"
#define MINIMAL_LINUX "\"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}"

static int parse(const char *text, struct husk_spec *spec, struct husk_err *err)
{
	memset(err, 0, sizeof(*err));
	return husk_spec_parse("config.json", text, strlen(text), spec, err);
}

/* The text must fail with a message containing each of the given fragments. */
static void expect_error(const char *text, const char *fragment1, const char *fragment2)
{
	struct husk_spec spec;
	struct husk_err err;

	assert_int_equal(parse(text, &spec, &err), -1);
	if (!strstr(err.msg, fragment1) || (fragment2 && !strstr(err.msg, fragment2)))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err.msg, fragment1, fragment2 ? fragment2 : "");
}

static void test_minimal(void **state)
{
	struct husk_spec spec;
	struct husk_err err;
	(void)state;

	assert_int_equal(parse(MINIMAL_HEAD MINIMAL_PROCESS ", " MINIMAL_LINUX "}", &spec, &err), 0);
	assert_string_equal(spec.root_path, "rootfs");
	assert_int_equal(spec.process.n_args, 1);
	assert_string_equal(spec.process.args[0], "sh");
	assert_null(spec.process.args[1]);
	assert_int_equal(spec.ns_new, CLONE_NEWNS);
	husk_spec_free(&spec);
}

static void test_full(void **state)
{
	const char *text = MINIMAL_HEAD
		"\"hostname\": \"box\",\n"
		"\"process\": {\"cwd\": \"/tmp\", \"args\": [\"sh\", \"-c\", \"x\"], \"env\": [\"A=1\", \"B=\"],\n"
		" \"user\": {\"uid\": 1000, \"gid\": 100, \"umask\": 18, \"additionalGids\": [5, 6]},\n"
		" \"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"], \"ambient\": [\"CAP_KILL\"]},\n"
		" \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 100, \"hard\": 200}],\n"
		" \"noNewPrivileges\": true, \"oomScoreAdj\": 500},\n"
		"\"mounts\": [{\"destination\": \"/data\", \"source\": \"/srv\", \"options\": [\"rbind\", \"ro\", \"rprivate\", \"nosuid\"]},\n"
		" {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"options\": [\"mode=755\", \"size=1m\", \"nosuid\"]}],\n"
		"\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"user\"}, {\"type\": \"network\", \"path\": \"/proc/1/ns/net\"}],\n"
		" \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
		" \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
		" \"sysctl\": {\"kernel.domainname\": \"x\"}, \"rootfsPropagation\": \"rshared\",\n"
		" \"devices\": [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229, \"fileMode\": 438}],\n"
		" \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"], \"cgroupsPath\": \"a/b\"},\n"
		"\"annotations\": {\"k\": \"v\"}, \"someFutureField\": {\"ignored\": true}}";
	struct husk_spec spec;
	struct husk_err err;
	(void)state;

	if (parse(text, &spec, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(spec.hostname, "box");
	assert_int_equal(spec.process.uid, 1000);
	assert_int_equal(spec.process.gid, 100);
	assert_int_equal(spec.process.umask, 18);
	assert_int_equal(spec.process.n_additional_gids, 2);
	assert_int_equal(spec.process.caps[HUSK_CAP_BOUNDING], (1ull << 0) | (1ull << 5));
	assert_int_equal(spec.process.caps[HUSK_CAP_AMBIENT], 1ull << 5);
	assert_int_equal(spec.process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(spec.process.rlimits[0].hard, 200);
	assert_true(spec.process.no_new_privileges);
	assert_int_equal(spec.process.oom_score_adj, 500);
	assert_int_equal(spec.n_mounts, 2);
	assert_int_equal(spec.mounts[0].flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID);
	assert_int_equal(spec.mounts[0].propagation, MS_PRIVATE | MS_REC);
	assert_null(spec.mounts[0].data);
	assert_string_equal(spec.mounts[1].data, "mode=755,size=1m");
	assert_int_equal(spec.ns_new, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWUSER);
	assert_int_equal(spec.ns_join, CLONE_NEWNET);
	assert_int_equal(spec.uid_mappings[0].host_id, 100000);
	assert_int_equal(spec.rootfs_propagation, MS_SHARED | MS_REC);
	assert_int_equal(spec.devices[0].minor, 229);
	assert_int_equal(spec.devices[0].mode, 0666);
	assert_string_equal(spec.cgroups_path, "a/b");
	assert_string_equal(spec.sysctl_keys[0], "kernel.domainname");
	husk_spec_free(&spec);
}

/* The example from the issue: file, line, column and field of the offending value. */
static void test_error_position(void **state)
{
	(void)state;
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"],\n"
		     "  \"user\": {\"uid\": -1, \"gid\": 0}}}",
		     "config.json:3:19: process.user.uid: expected an integer 0..2147483647", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"],\n"
		     "  \"user\": {\"uid\": 4294967296, \"gid\": 0}}}",
		     "config.json:3:19: process.user.uid", NULL);
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ",\n\"mounts\": [{\"destination\": \"/x\", \"type\": \"tmpfs\",\n"
		     "   \"options\": [\"nosuid\", \"bogus\"]}]}",
		     "config.json:4:26: mounts[0].options[1]: unknown mount option \"bogus\"", NULL);
}

/* Out-of-range ids are refused, never wrapped to 0 or -1. */
static void test_id_ranges(void **state)
{
	(void)state;
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 2147483648, \"gid\": 0}}}",
		     "process.user.uid: expected an integer 0..2147483647", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 4294967295}}}",
		     "process.user.gid: expected an integer 0..2147483647", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": -1, \"gid\": 0}}}",
		     "process.user.uid", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0, \"additionalGids\": [4294967295]}}}",
		     "process.user.additionalGids[0]: expected an integer 0..2147483647", NULL);
}

static void test_unknown_names(void **state)
{
	(void)state;
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0},"
		     "\"capabilities\": {\"bounding\": [\"CAP_NOPE\"]}}}",
		     "process.capabilities.bounding[0]", "unknown capability \"CAP_NOPE\"");
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0},"
		     "\"rlimits\": [{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]}}",
		     "process.rlimits[0].type", "unknown rlimit \"RLIMIT_FOO\"");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"namespaces\": [{\"type\": \"moon\"}]}}",
		     "linux.namespaces[0].type", "unknown namespace type \"moon\"");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\"}]}}",
		     "linux.namespaces[1].type", "given twice");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"rootfsPropagation\": \"sideways\"}}",
		     "linux.rootfsPropagation", "unknown propagation");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"devices\": [{\"type\": \"x\", \"path\": \"/dev/x\"}]}}",
		     "linux.devices[0].type", "unknown device type");
}

static void test_wrong_types_and_ranges(void **state)
{
	(void)state;
	expect_error("[]", "config.json:1:1: (top): expected an object", NULL);
	expect_error("{\"ociVersion\": 1}", "ociVersion: expected a string, got an integer", NULL);
	expect_error("{\"ociVersion\": \"2.0.0\"}", "unsupported version", NULL);
	expect_error("{\"ociVersion\": \"1.0.0\"}", "missing required field \"root\"", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": \"sh\", \"user\": {\"uid\": 0, \"gid\": 0}}}",
		     "process.args: expected an array, got a string", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [], \"user\": {\"uid\": 0, \"gid\": 0}}}",
		     "process.args", "at least the program");
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"relative\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0}}}",
		     "process.cwd", "not an absolute path");
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 1.5, \"gid\": 0}}}",
		     "process.user.uid", "expected an integer");
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0}, \"oomScoreAdj\": 1001}}",
		     "process.oomScoreAdj: expected an integer -1000..1000", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0}, \"env\": [\"NOEQUALS\"]}}",
		     "process.env[0]", "NAME=VALUE");
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0},"
		     " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 10, \"hard\": 5}]}}",
		     "process.rlimits[0].soft", "above the hard limit");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"hostname\": \"h\", " MINIMAL_LINUX "}",
		     "hostname", "needs a uts namespace (new or joined)");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"namespaces\": [{\"type\": \"user\"}]}}",
		     "needs uidMappings and gidMappings", NULL);
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"cgroupsPath\": \"a/../../b\"}}",
		     "linux.cgroupsPath", "must not contain");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"sysctl\": {\"../x\": \"1\"}, \"namespaces\": [{\"type\": \"network\"}]}}",
		     "linux.sysctl", "not a sysctl name");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"mounts\": [{\"destination\": \"/x\"}]}",
		     "mounts[0]", "needs a \"type\"");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"mounts\": [{\"destination\": \"/x\", \"type\": \"bind\"}]}",
		     "mounts[0]", "needs a \"source\"");
}

/* What husk cannot apply yet is refused, not skipped. */
static void test_unsupported_and_bad_protections_refused(void **state)
{
	(void)state;
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_NOPE\"}}}",
		     "linux.seccomp.defaultAction", "unknown action");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\","
		     " \"flags\": [\"SECCOMP_FILTER_FLAG_MAGIC\"]}}}", "linux.seccomp.flags[0]", "unknown seccomp flag");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_NOTIFY\"}}}",
		     "linux.seccomp", "needs a listenerPath");
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0},"
		     " \"ioPriority\": {\"class\": \"IOPRIO_CLASS_FAST\"}}}", "process.ioPriority.class", "unknown I/O priority class");
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0},"
		     " \"scheduler\": {\"policy\": \"SCHED_BATCH\", \"nice\": 20}}}", "process.scheduler.nice: expected an integer -20..19", NULL);
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0},"
		     " \"scheduler\": {\"policy\": \"SCHED_LAZY\"}}}", "process.scheduler.policy", "unknown scheduling policy");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"linux\": {\"personality\": {\"domain\": \"LINUX64\"}}}",
		     "linux.personality.domain", "unknown personality domain");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"hooks\": {\"prestart\": [{\"path\": \"bin/true\"}]}}",
		     "hooks.prestart[0].path", "not an absolute path");
	expect_error(MINIMAL_HEAD MINIMAL_PROCESS ", \"hooks\": {\"poststop\": [{\"path\": \"/bin/true\", \"timeout\": 0}]}}",
		     "hooks.poststop[0].timeout: expected an integer 1..86400", NULL);
}

static void test_syntax(void **state)
{
	(void)state;
	expect_error("", "config.json:1:0:", NULL);
	expect_error("{\"ociVersion\": \"1.2.0\", \"root\": {\"pa", "config.json:1:", NULL);
	expect_error("{\"ociVersion\": \"1.2.0\",\n \"ociVersion\": \"1.2.0\"}", "config.json:2:", "duplicate object key");
	expect_error("{\"ociVersion\": \"1.2.\xff\"}", "config.json:1:", "UTF-8");
	expect_error("{\"a\": 1} trailing", "config.json:1:", NULL);
}

/* 100 000 levels of nesting: an error, not a stack overflow. */
static void test_deep_nesting(void **state)
{
	const size_t depth = 100000;
	char *text = husk_xmalloc(depth * 2 + 64);
	struct husk_spec spec;
	struct husk_err err;
	size_t off = 0;
	(void)state;

	off += (size_t)sprintf(text, "{\"ociVersion\": \"1.2.0\", \"x\": ");
	memset(text + off, '[', depth);
	off += depth;
	memset(text + off, ']', depth);
	off += depth;
	strcpy(text + off, "}");
	assert_int_equal(parse(text, &spec, &err), -1);
	assert_non_null(strstr(err.msg, "config.json:1:"));
	assert_non_null(strstr(err.msg, "depth"));
	free(text);
}

/* Every prefix of a valid config: an error or success, never a crash (ASan watches). */
static void test_every_truncation(void **state)
{
	const char *text = MINIMAL_HEAD MINIMAL_PROCESS ", \"mounts\": [{\"destination\": \"/x\", \"type\": \"tmpfs\", \"options\": [\"ro\"]}], "
		"\"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"uidMappings\": []}}";
	size_t len = strlen(text);
	(void)state;

	for (size_t i = 0; i < len; i++) {
		struct husk_spec spec;
		struct husk_err err = {0};
		char *copy = husk_xmalloc(i + 1);
		memcpy(copy, text, i);
		copy[i] = '\0';
		if (husk_spec_parse("config.json", copy, i, &spec, &err) == 0)
			husk_spec_free(&spec);
		else
			assert_true(strncmp(err.msg, "config.json:", 12) == 0);
		free(copy);
	}
}

/* process is optional until start (the runtime-spec): create parses a config without it */
static void test_no_process(void **state)
{
	struct husk_spec spec;
	struct husk_err err;
	(void)state;

	assert_int_equal(parse(MINIMAL_HEAD MINIMAL_LINUX "}", &spec, &err), 0);
	assert_false(spec.has_process);
	assert_int_equal(spec.process.n_args, 0);
	assert_string_equal(spec.process.cwd, "/");
	husk_spec_free(&spec);
	assert_int_equal(parse(MINIMAL_HEAD MINIMAL_PROCESS ", " MINIMAL_LINUX "}", &spec, &err), 0);
	assert_true(spec.has_process);
	husk_spec_free(&spec);
	/* present, it is checked as before */
	expect_error(MINIMAL_HEAD "\"process\": {\"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}}, " MINIMAL_LINUX "}",
		     "missing required field \"args\"",
		     NULL);
}

/* the kernel raises an ambient capability only if it is permitted and inheritable: the
 * configs `runc spec` and `crun spec` write list ambient ones with no inheritable set */
static void test_ambient_unraisable(void **state)
{
	struct husk_process p = {.has_caps = true};
	struct husk_err warning = {0};
	(void)state;

	p.caps[HUSK_CAP_AMBIENT] = (1ull << 5) | (1ull << 10) | (1ull << 29);
	p.caps[HUSK_CAP_PERMITTED] = (1ull << 5) | (1ull << 10) | (1ull << 29);
	p.caps[HUSK_CAP_INHERITABLE] = 1ull << 10;
	assert_int_equal(husk_caps_ambient_unraisable(&p), (1ull << 5) | (1ull << 29));
	assert_int_equal(husk_caps_ambient_warning(&p, &warning), 1);
	assert_non_null(strstr(warning.msg, "CAP_KILL, CAP_AUDIT_WRITE left out"));
	assert_null(strstr(warning.msg, "CAP_NET_BIND_SERVICE"));
	p.caps[HUSK_CAP_INHERITABLE] = p.caps[HUSK_CAP_PERMITTED];
	assert_int_equal(husk_caps_ambient_unraisable(&p), 0);
	assert_int_equal(husk_caps_ambient_warning(&p, &(struct husk_err){0}), 0);
	/* no capabilities object: nothing is set, nothing left out */
	assert_int_equal(husk_caps_ambient_unraisable(&(struct husk_process){0}), 0);
}

/* Every part of the document, all valid and read in turn before the error at the end: a step
 * a part left on the field path would prefix the later error's path. */
#define EVERY_PROCESS \
	"{\"terminal\": false, \"consoleSize\": {\"height\": 24, \"width\": 80}, \"cwd\": \"/\",\n" \
	" \"args\": [\"sh\"], \"env\": [\"A=1\"], \"user\": {\"uid\": 0, \"gid\": 0, \"umask\": 18, \"additionalGids\": [1]},\n" \
	" \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"ambient\": [\"CAP_KILL\"]},\n" \
	" \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 2}], \"oomScoreAdj\": 1,\n" \
	" \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 1},\n"
#define EVERY_RESOURCE \
	"\"memory\": {\"limit\": 1000000}, \"cpu\": {\"quota\": 5000, \"cpus\": \"0\"},\n" \
	"  \"pids\": {\"limit\": 10}, \"blockIO\": {\"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 100}],\n" \
	"   \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1}]}, \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 0}],\n" \
	"  \"network\": {\"priorities\": [{\"name\": \"eth0\", \"priority\": 1}]}, \"rdma\": {\"mlx4_0\": {\"hcaHandles\": 1}},\n"
#define EVERY_PART(namespaces) \
	"{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\", \"readonly\": false}, \"hostname\": \"box\",\n" \
	"\"process\": " EVERY_PROCESS \
	" \"scheduler\": {\"policy\": \"SCHED_OTHER\", \"flags\": [\"SCHED_FLAG_RESET_ON_FORK\"]}},\n" \
	"\"mounts\": [{\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"options\": [\"nosuid\", \"size=1m\"]}],\n" \
	"\"linux\": {\"namespaces\": " namespaces ",\n" \
	" \"devices\": [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229}],\n" \
	" \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"], \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"},\n" \
	" \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\"],\n" \
	"  \"syscalls\": [{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, \"value\": 9, \"op\": \"SCMP_CMP_EQ\"}]}]},\n" \
	" \"personality\": {\"domain\": \"LINUX\"}, \"rootfsPropagation\": \"rprivate\",\n" \
	" \"resources\": {\"devices\": [{\"allow\": false}], " EVERY_RESOURCE \
	"  \"unified\": {\"memory.high\": \"max\"}},\n" \
	" \"timeOffsets\": {\"monotonic\": {\"secs\": 1}}},\n"
#define ALL_NAMESPACES "[{\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"network\"}, {\"type\": \"time\"}]"

static void expect_exact_error(const char *text, const char *message)
{
	struct husk_spec spec;
	struct husk_err err;

	assert_int_equal(parse(text, &spec, &err), -1);
	assert_string_equal(err.msg, message);
}

static void test_path_after_every_part(void **state)
{
	const char *process = EVERY_PROCESS " \"scheduler\": {\"policy\": \"SCHED_OTHER\", \"flags\": [\"SCHED_FLAG_NOPE\"]}}";
	const char *resources = "{" EVERY_RESOURCE " \"unified\": {\"memory.high\": \"max\", \"cgroup.procs\": \"1\"}}";
	struct husk_spec spec;
	struct husk_process p;
	struct husk_resources res;
	struct husk_err err = {0};
	json_t *json;
	(void)state;

	assert_int_equal(parse(EVERY_PART(ALL_NAMESPACES) "\"hooks\": {\"prestart\": [{\"path\": \"/bin/true\"}]},\n"
			       "\"annotations\": {}}", &spec, &err), 0);
	husk_spec_free(&spec);
	/* the last parts read */
	expect_exact_error(EVERY_PART(ALL_NAMESPACES) "\"hooks\": {\"prestart\": [{\"path\": \"/bin/true\"}],\n"
			   " \"poststop\": [{\"path\": \"/bin/true\"}, {\"path\": \"/bin/true\", \"timeout\": 0}]}}",
			   "config.json:22:71: hooks.poststop[1].timeout: expected an integer 1..86400");
	expect_exact_error(EVERY_PART(ALL_NAMESPACES) "\"hooks\": {}, \"annotations\": []}",
			   "config.json:21:29: annotations: expected an object, got an array");
	/* the checks across parts, after all of them */
	expect_exact_error(EVERY_PART("[{\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"network\"}]") "\"hooks\": {}}",
			   "config.json:20:17: linux.timeOffsets: time offsets need a new time namespace");
	expect_exact_error(EVERY_PART("[{\"type\": \"uts\"}, {\"type\": \"network\"}]") "\"hooks\": {}}",
			   "config.json:8:11: mounts: needs a mount namespace (linux.namespaces has none: husk mounts nothing in the host's)");
	/* exec's --process and update's --resources files */
	assert_int_equal(husk_process_parse("p.json", process, strlen(process), &json, &p, &err), -1);
	assert_string_equal(err.msg, "p.json:1:1: process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_NOPE\"");
	memset(&err, 0, sizeof(err));
	assert_int_equal(husk_resources_parse("r.json", resources, strlen(resources), &json, &res, &err), -1);
	assert_string_equal(err.msg, "r.json:5:52: unified.cgroup.procs: \"cgroup.procs\" is not a controller file of the container's cgroup");
}

/* The guards themselves: the depth is back to what it was however the block is left, past
 * SPEC_MAX_PATH_DEPTH too (where steps are counted, not recorded). */
static size_t deepest;

static int nest(struct spec_ctx *c, int levels)
{
	PATH_KEY(c, "k");
	if (levels > 1)
		return nest(c, levels - 1);
	deepest = c->depth;
	return spec_fail(c, "deep");
}

static void test_path_guards(void **state)
{
	const char *text = "{}";
	struct husk_err err = {0};
	struct spec_ctx c = {.file = "f", .text = text, .len = strlen(text), .err = &err};
	char expect[256] = "f:1:1: k";
	(void)state;

	assert_int_equal(nest(&c, SPEC_MAX_PATH_DEPTH + 8), -1);
	assert_int_equal(deepest, SPEC_MAX_PATH_DEPTH + 8);
	assert_int_equal(c.depth, 0);
	for (int i = 1; i < SPEC_MAX_PATH_DEPTH; i++)
		strcat(expect, ".k");
	strcat(expect, ": deep");
	assert_string_equal(err.msg, expect);
	for (size_t i = 0; i < 5; i++) {
		PATH_INDEX(&c, i);
		assert_int_equal(c.depth, 1);
		if (i == 1)
			continue;
		if (i == 3)
			break;
	}
	assert_int_equal(c.depth, 0);
	{
		PATH_KEY(&c, "a");
		{
			PATH_KEY(&c, "b");
			PATH_INDEX(&c, 2);
			assert_int_equal(c.depth, 3);
			goto out;
		}
	}
out:
	assert_int_equal(c.depth, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_id_ranges),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_wrong_types_and_ranges),
		cmocka_unit_test(test_unsupported_and_bad_protections_refused),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_no_process),
		cmocka_unit_test(test_ambient_unraisable),
		cmocka_unit_test(test_path_after_every_part),
		cmocka_unit_test(test_path_guards),
	};
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
