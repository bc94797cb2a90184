#define _GNU_SOURCE
/* Unit tests: the pure logic beside the parser (tables, JSON positions, id maps, ids). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cgroup.h"
#include "lib/jsonpos.h"
#include "lib/profile.h"
#include "lib/lsm.h"
#include <linux/bpf.h>
#include <linux/capability.h>
#include "lib/ns.h"
#include "lib/state.h"
#include "lib/names.h"
#include "lib/sync.h"

static void test_signals(void **state)
{
	(void)state;
	assert_int_equal(husk_signal_parse("TERM"), SIGTERM);
	assert_int_equal(husk_signal_parse("SIGKILL"), SIGKILL);
	assert_int_equal(husk_signal_parse("sigusr1"), SIGUSR1);
	assert_int_equal(husk_signal_parse("9"), 9);
	assert_int_equal(husk_signal_parse("RTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(husk_signal_parse("SIGRTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(husk_signal_parse("RTMAX+1"), -1);
	assert_int_equal(husk_signal_parse("0"), -1);
	assert_int_equal(husk_signal_parse("65"), -1);
	assert_int_equal(husk_signal_parse("NOPE"), -1);
	assert_int_equal(husk_signal_parse("9x"), -1);
}

static void test_tables_sorted(void **state)
{
	const char *prev = NULL, *name;
	(void)state;

	/* lookups are bsearch: an unsorted table would miss names silently */
	for (unsigned i = 0; (name = husk_mount_opt_name_at(i)); i++) {
		if (prev)
			assert_true(strcmp(prev, name) < 0);
		assert_non_null(husk_mount_opt_lookup(name));
		prev = name;
	}
	prev = NULL;
	for (unsigned i = 0; (name = husk_namespace_name_at(i)); i++) {
		if (prev)
			assert_true(strcmp(prev, name) < 0);
		assert_true(husk_namespace_from_name(name) != 0);
		prev = name;
	}
	assert_int_equal(husk_rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
	assert_int_equal(husk_rlimit_from_name("RLIMIT_STACK"), RLIMIT_STACK);
	assert_int_equal(husk_rlimit_from_name("RLIMIT_NOPE"), -1);
	assert_int_equal(husk_namespace_from_name("network"), CLONE_NEWNET);
	assert_string_equal(husk_namespace_proc_name(CLONE_NEWNS), "mnt");
}

static void test_jsonpos(void **state)
{
	const char *text = "{\"a\": {\"b\\\"q\": [1, {\"c\": \"x\"}]},\n \"d\": [[], [true, null]]}";
	struct husk_json_step p1[] = {{"a", 0}, {"b\"q", 0}, {NULL, 1}, {"c", 0}};
	struct husk_json_step p2[] = {{"d", 0}, {NULL, 1}, {NULL, 1}};
	struct husk_json_step missing[] = {{"a", 0}, {"zz", 0}};
	int line, col;
	(void)state;

	assert_int_equal(husk_json_locate(text, strlen(text), p1, 4, &line, &col), 0);
	assert_int_equal(line, 1);
	assert_int_equal(col, 26);
	assert_int_equal(husk_json_locate(text, strlen(text), p2, 3, &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 19);
	/* a missing key reports where its parent is */
	assert_int_equal(husk_json_locate(text, strlen(text), missing, 2, &line, &col), -1);
	assert_int_equal(line, 1);
	assert_int_equal(col, 7);
}

static void test_idmap_format(void **state)
{
	struct husk_idmap maps[] = {{0, 100000, 65536}, {65536, 4294967294u, 1}};
	char *text = husk_ns_format_idmap(maps, 2);
	(void)state;

	assert_string_equal(text, "0 100000 65536\n65536 4294967294 1\n");
	free(text);
}

static void test_container_ids(void **state)
{
	struct husk_err err = {0};
	(void)state;

	assert_int_equal(husk_state_check_id("web-1_a.b+c", &err), 0);
	assert_int_equal(husk_state_check_id("..", &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_state_check_id("a/b", &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_state_check_id("", &err), -1);
}

static void test_device_lines(void **state)
{
	struct husk_device_rule rules[] = {{true, 'c', 10, -1, "rw"}, {false, 'b', 8, 0, "r"}};
	struct husk_device devices[] = {{.type = 'c', .path = "/dev/fuse", .major = 10, .minor = 229},
					{.type = 'p', .path = "/dev/fifo"}};
	struct husk_spec spec = {.device_rules = rules, .n_device_rules = 2, .devices = devices, .n_devices = 2};
	struct husk_device_line *lines;
	size_t n;
	(void)state;

	husk_cgroup_device_lines(&spec, &lines, &n);
	/* deny all first, the config's rules in order, then what is always allowed */
	assert_false(lines[0].allow);
	assert_string_equal(lines[0].text, "a *:* rwm");
	assert_true(lines[1].allow);
	assert_string_equal(lines[1].text, "c 10:* rw");
	assert_false(lines[2].allow);
	assert_string_equal(lines[2].text, "b 8:0 r");
	assert_string_equal(lines[3].text, "c *:* m");
	/* no "b *:* m": block device nodes cannot even be made */
	assert_string_equal(lines[4].text, "c 1:3 rwm");
	for (size_t i = 0; i < n; i++)
		assert_true(lines[i].text[0] != 'b' || !lines[i].allow);
	assert_string_equal(lines[n - 2].text, "c 136:* rwm");
	/* the fifo is not a cgroup device: fuse is the last line */
	assert_string_equal(lines[n - 1].text, "c 10:229 rwm");
	free(lines);
}

static bool profile_allows(json_t *profile, const char *name)
{
	json_t *names = json_object_get(json_array_get(json_object_get(profile, "syscalls"), 0), "names"), *n;
	size_t i;

	json_array_foreach(names, i, n)
		if (strcmp(json_string_value(n), name) == 0)
			return true;
	return false;
}

static void test_default_profile_follows_caps(void **state)
{
	json_t *plain = husk_default_seccomp(1ull << CAP_CHOWN);
	json_t *admin = husk_default_seccomp((1ull << CAP_CHOWN) | (1ull << CAP_SYS_ADMIN) | (1ull << CAP_SYS_MODULE));
	(void)state;

	assert_string_equal(json_string_value(json_object_get(plain, "defaultAction")), "SCMP_ACT_ERRNO");
	assert_true(profile_allows(plain, "read") && profile_allows(plain, "execve"));
	assert_false(profile_allows(plain, "mount") || profile_allows(plain, "unshare") || profile_allows(plain, "keyctl"));
	assert_false(profile_allows(plain, "init_module") || profile_allows(plain, "chroot"));
	assert_true(profile_allows(admin, "mount") && profile_allows(admin, "unshare") && profile_allows(admin, "init_module"));
	/* keyctl and userfaultfd stay out whatever is granted */
	assert_false(profile_allows(admin, "keyctl") || profile_allows(admin, "userfaultfd"));
	json_decref(plain);
	json_decref(admin);
}

static void test_lsm_plumbing(void **state)
{
	const char *file;
	char *text, *data;
	(void)state;

	husk_lsm_exec_attr(HUSK_LSM_APPARMOR, "docker-default", &file, &text);
	assert_string_equal(file, "apparmor/exec");
	assert_string_equal(text, "exec docker-default");
	free(text);
	husk_lsm_exec_attr(HUSK_LSM_SELINUX, "system_u:system_r:container_t:s0:c1,c2", &file, &text);
	assert_string_equal(file, "exec");
	assert_string_equal(text, "system_u:system_r:container_t:s0:c1,c2");
	free(text);
	data = husk_lsm_mount_data("mode=755,size=1m", "system_u:object_r:container_file_t:s0:c1,c2");
	assert_string_equal(data, "mode=755,size=1m,context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
	free(data);
	data = husk_lsm_mount_data(NULL, "x_t");
	assert_string_equal(data, "context=\"x_t\"");
	free(data);
	assert_null(husk_lsm_mount_data(NULL, NULL));
}

/* Runs the subset of eBPF the device program uses, on one request: 1 allow, 0 deny. */
static int run_program(const struct bpf_insn *p, size_t len, unsigned type, unsigned access, unsigned major, unsigned minor)
{
	uint32_t ctx[3] = {(access << 16) | type, major, minor};
	uint64_t r[11] = {0};

	for (size_t pc = 0; pc < len; pc++) {
		const struct bpf_insn *i = &p[pc];
		switch (i->code) {
		case BPF_LDX | BPF_W | BPF_MEM: r[i->dst_reg] = ctx[i->off / 4]; break;
		case BPF_ALU | BPF_AND | BPF_K: r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & (uint32_t)i->imm); break;
		case BPF_ALU | BPF_RSH | BPF_K: r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm; break;
		case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
		case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = (uint64_t)(int64_t)i->imm; break;
		case BPF_JMP | BPF_JNE | BPF_K: if (r[i->dst_reg] != (uint64_t)(int64_t)i->imm) pc += (size_t)i->off; break;
		case BPF_JMP | BPF_EXIT: return (int)r[0];
		default: fail_msg("unexpected instruction %#x at %zu", i->code, pc);
		}
	}
	fail_msg("fell off the end of the program");
	return -1;
}

static void test_device_program(void **state)
{
	struct husk_device_rule rules[] = {{true, 'c', 10, -1, "rw"}, {false, 'c', 10, 229, "w"}};
	struct husk_spec spec = {.device_rules = rules, .n_device_rules = 2};
	struct husk_device_line *lines;
	struct bpf_insn *prog;
	size_t n, len;
	(void)state;

	husk_cgroup_device_lines(&spec, &lines, &n);
	len = husk_cgroup_device_program(lines, n, (void **)&prog);
	/* the spec's defaults: /dev/null read+write, any char device mknod */
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE, 1, 3), 1);
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_MKNOD, 99, 99), 1);
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 136, 4), 1);
	/* everything else denied: /dev/kmsg, a disk, mknod of a block device */
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 11), 0);
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ, 8, 0), 0);
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_MKNOD, 8, 0), 0);
	/* the config's rules: c 10:* rw allowed, then c 10:229 w denied (the later rule wins) */
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 10, 200), 1);
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_WRITE, 10, 229), 0);
	assert_int_equal(run_program(prog, len, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 10, 229), 1);
	/* every instruction is reachable (the kernel's verifier refuses a program with dead code):
	 * the last one is the exit of the unconditional deny-all rule */
	assert_int_equal(prog[len - 1].code, BPF_JMP | BPF_EXIT);
	assert_int_equal(prog[len - 2].imm, 0);
	free(prog);
	free(lines);
}

static void test_systemd_path(void **state)
{
	struct husk_err err = {0};
	char *p;
	(void)state;

	p = husk_cgroup_systemd_path("system.slice:husk:abc", "abc", &err);
	assert_string_equal(p, "/system.slice/husk-abc.scope");
	free(p);
	p = husk_cgroup_systemd_path("machine-pods-x.slice:libpod:123", "123", &err);
	assert_string_equal(p, "/machine.slice/machine-pods.slice/machine-pods-x.slice/libpod-123.scope");
	free(p);
	p = husk_cgroup_systemd_path(NULL, "c1", &err);
	assert_string_equal(p, "/system.slice/husk-c1.scope");
	free(p);
	p = husk_cgroup_systemd_path(":husk:c2", "c2", &err);
	assert_string_equal(p, "/system.slice/husk-c2.scope");
	free(p);
	p = husk_cgroup_systemd_path("user.slice:x:sub.slice", "c3", &err);
	assert_string_equal(p, "/user.slice/sub.slice");
	free(p);
	assert_null(husk_cgroup_systemd_path("/abs/path", "c4", &err));
	husk_err_clear(&err);
	assert_null(husk_cgroup_systemd_path("nope:a:b", "c5", &err));
	assert_non_null(strstr(err.msg, ".slice"));
}

/* The sync messages over a real SEQPACKET pair: texts of any size up to the limit arrive
 * whole, past it both sides refuse with the size named, and the socket goes on working. */
static void test_sync_messages(void **state)
{
	struct husk_sync_msg msg = {0};
	struct husk_err err = {0}, failure = {0};
	size_t big = 300 * 1024; /* past the default socket buffer (about 200 KiB) */
	char *text = malloc(HUSK_SYNC_TEXT_MAX + 2);
	int sv[2];
	(void)state;

	assert_non_null(text);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	/* no text: none allocated */
	assert_int_equal(husk_sync_send(sv[0], HUSK_SYNC_PID, 1234, &err), 0);
	assert_int_equal(husk_sync_expect(sv[1], HUSK_SYNC_PID, &msg, &err), 0);
	assert_int_equal(msg.value, 1234);
	assert_null(msg.text);
	/* a large text, whole */
	memset(text, 'x', big);
	text[big] = '\0';
	assert_int_equal(husk_sync_send_text(sv[0], HUSK_SYNC_STATE, text, &err), 0);
	assert_int_equal(husk_sync_expect(sv[1], HUSK_SYNC_STATE, &msg, &err), 0);
	assert_int_equal(strlen(msg.text), big);
	assert_int_equal(msg.text[big - 1], 'x');
	husk_sync_msg_free(&msg);
	/* an error becomes the receiver's error */
	husk_err_set(&failure, ENOENT, "exec \"/bin/nope\"");
	assert_int_equal(husk_sync_send_error(sv[0], &failure), 0);
	assert_int_equal(husk_sync_expect(sv[1], HUSK_SYNC_READY, &msg, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_string_equal(err.msg, "exec \"/bin/nope\"");
	assert_null(msg.text);
	husk_err_clear(&err);
	/* past the limit: refused before sending */
	memset(text, 'y', HUSK_SYNC_TEXT_MAX + 1);
	text[HUSK_SYNC_TEXT_MAX + 1] = '\0';
	assert_int_equal(husk_sync_send_text(sv[0], HUSK_SYNC_STATE, text, &err), -1);
	assert_non_null(strstr(err.msg, "of 1048577 bytes is over husk's limit of 1048576 bytes"));
	husk_err_clear(&err);
	/* and refused when received (a peer that does not check): the datagram is taken off, the
	 * next message is read as usual */
	{
		uint32_t header[3] = {HUSK_SYNC_STATE, 0, 0};
		struct iovec iov[2] = {{header, sizeof(header)}, {text, HUSK_SYNC_TEXT_MAX + 1}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		int size = 4 * HUSK_SYNC_TEXT_MAX;
		if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == 0 &&
		    sendmsg(sv[0], &mh, 0) > 0) {
			assert_int_equal(husk_sync_recv(sv[1], &msg, &err), -1);
			assert_non_null(strstr(err.msg, "of 1048589 bytes is over husk's limit"));
			husk_err_clear(&err);
		} else if (geteuid() == 0) {
			fail_msg("could not send a datagram past the limit: %s", strerror(errno));
		}
	}
	assert_int_equal(husk_sync_send(sv[0], HUSK_SYNC_READY, 0, &err), 0);
	assert_int_equal(husk_sync_expect(sv[1], HUSK_SYNC_READY, &msg, &err), 0);
	/* the peer gone: EPIPE */
	close(sv[0]);
	assert_int_equal(husk_sync_recv(sv[1], &msg, &err), -1);
	assert_int_equal(err.errnum, EPIPE);
	close(sv[1]);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_tables_sorted),
		cmocka_unit_test(test_jsonpos),
		cmocka_unit_test(test_idmap_format),
		cmocka_unit_test(test_container_ids),
		cmocka_unit_test(test_device_lines),
		cmocka_unit_test(test_default_profile_follows_caps),
		cmocka_unit_test(test_lsm_plumbing),
		cmocka_unit_test(test_device_program),
		cmocka_unit_test(test_systemd_path),
		cmocka_unit_test(test_sync_messages),
	};
	return cmocka_run_group_tests_name("logic", tests, NULL, NULL);
}
