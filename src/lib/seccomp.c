#define _GNU_SOURCE
#include "seccomp.h"
#include "sha256.h"

#include <ctype.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>
#include <jansson.h>

#include "spec.h"
#include "util.h"

struct name_u32 {
	const char *name;
	uint32_t value;
};

/* Sorted by name. SCMP_ACT_ERRNO and _TRACE carry their data in the low 16 bits, added later. */
static const struct name_u32 actions[] = {
	{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW}, {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
	{"SCMP_ACT_KILL", SCMP_ACT_KILL}, {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
	{"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD}, {"SCMP_ACT_LOG", SCMP_ACT_LOG},
	{"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY}, {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
	{"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
};

static const struct name_u32 ops[] = {
	{"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
	{"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
	{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}, {"SCMP_CMP_NE", SCMP_CMP_NE},
};

static const struct name_u32 flags[] = {
	{"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
	{"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct name_u32 *)elem)->name);
}

static int64_t lookup(const struct name_u32 *table, size_t n, const char *name)
{
	const struct name_u32 *hit = bsearch(name, table, n, sizeof(*table), cmp_name);
	return hit ? (int64_t)hit->value : -1;
}

int64_t husk_seccomp_action_from_name(const char *name)
{
	return lookup(actions, ARRAY_SIZE(actions), name);
}

int husk_seccomp_op_from_name(const char *name)
{
	return (int)lookup(ops, ARRAY_SIZE(ops), name);
}

int64_t husk_seccomp_flag_from_name(const char *name)
{
	return lookup(flags, ARRAY_SIZE(flags), name);
}

int64_t husk_seccomp_arch_from_name(const char *name)
{
	char lower[32];
	size_t i;
	uint32_t arch;

	/* "SCMP_ARCH_X86_64" is libseccomp's "x86_64" */
	if (strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof(lower))
		return -1;
	for (i = 0; name[10 + i]; i++)
		lower[i] = (char)tolower((unsigned char)name[10 + i]);
	lower[i] = '\0';
	arch = seccomp_arch_resolve_name(lower);
	return arch ? (int64_t)arch : -1;
}

static uint32_t with_errno(uint32_t action, bool has, uint32_t value)
{
	/* runc's default: an ERRNO action without errnoRet returns EPERM */
	if (action == SCMP_ACT_ERRNO(0))
		return SCMP_ACT_ERRNO(has ? value : EPERM);
	if (action == SCMP_ACT_TRACE(0))
		return SCMP_ACT_TRACE(has ? value : EPERM);
	return action;
}

static int compile(const struct husk_seccomp *sc, struct husk_bpf *bpf, struct husk_err *err)
{
	scmp_filter_ctx ctx;
	_cleanup_close_ int memfd = -1;
	struct stat st;
	int rc;

	ctx = seccomp_init(with_errno(sc->default_action, sc->has_default_errno, sc->default_errno));
	if (!ctx)
		return husk_err_set(err, EINVAL, "seccomp: libseccomp refused the default action");
	/* husk sets no_new_privs itself when the config asks; the filter must not force it */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* a binary tree of syscall numbers instead of a linear chain: the kernel runs the filter
	 * for every syscall number when it is loaded (to fill its action cache), and for every
	 * call afterwards, so a shorter path is paid for on each start */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < sc->n_arches; i++) {
		rc = seccomp_arch_add(ctx, sc->arches[i]);
		if (rc < 0 && rc != -EEXIST) {
			seccomp_release(ctx);
			return husk_err_set(err, -rc, "seccomp: add architecture %#x", sc->arches[i]);
		}
	}
	for (size_t r = 0; r < sc->n_rules; r++) {
		const struct husk_seccomp_rule *rule = &sc->rules[r];
		uint32_t action = with_errno(rule->action, rule->has_errno, rule->errno_ret);
		struct scmp_arg_cmp cmps[6];
		for (size_t a = 0; a < rule->n_args && a < 6; a++)
			cmps[a] = (struct scmp_arg_cmp){rule->args[a].index, (enum scmp_compare)rule->args[a].op,
							 rule->args[a].value, rule->args[a].value_two};
		for (size_t n = 0; n < rule->n_names; n++) {
			int nr = seccomp_syscall_resolve_name(rule->names[n]);
			/* unknown on this architecture: skipped, as runc does */
			if (nr == __NR_SCMP_ERROR)
				continue;
			/* a rule that only repeats the default action is refused by libseccomp */
			if (action == with_errno(sc->default_action, sc->has_default_errno, sc->default_errno))
				continue;
			rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)(rule->n_args < 6 ? rule->n_args : 6), cmps);
			if (rc < 0) {
				seccomp_release(ctx);
				return husk_err_set(err, -rc, "seccomp: rule %zu for \"%s\"", r, rule->names[n]);
			}
		}
	}
	memfd = memfd_create("husk-seccomp", MFD_CLOEXEC);
	if (memfd < 0) {
		seccomp_release(ctx);
		return husk_err_sys(err, "seccomp: memfd_create");
	}
	rc = seccomp_export_bpf(ctx, memfd);
	seccomp_release(ctx);
	if (rc < 0)
		return husk_err_set(err, -rc, "seccomp: export the filter");
	if (fstat(memfd, &st) < 0 || st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter))
		return husk_err_set(err, EINVAL, "seccomp: libseccomp exported a malformed filter");
	bpf->len = (size_t)st.st_size / sizeof(struct sock_filter);
	bpf->insns = husk_xmalloc((size_t)st.st_size);
	if (pread(memfd, bpf->insns, (size_t)st.st_size, 0) != st.st_size)
		return husk_err_sys(err, "seccomp: read the exported filter");
	return 0;
}

static char *cache_key(const struct husk_seccomp *sc)
{
	const struct scmp_version *v = seccomp_version();
	_cleanup_free_ char *json = json_dumps(sc->json, JSON_COMPACT | JSON_SORT_KEYS);
	_cleanup_free_ char *text = husk_xasprintf("husk-seccomp-2 libseccomp-%u.%u.%u api-%u arch-%u\n%s",
						    v->major, v->minor, v->micro, seccomp_api_get(),
						    seccomp_arch_native(), json ? json : "");
	unsigned char md[HUSK_SHA256_LEN];
	char *hex;

	/* no key, no cache: the filter is compiled as if it were not cached */
	if (husk_sha256(text, strlen(text), md) < 0)
		return NULL;
	hex = husk_xmalloc(sizeof(md) * 2 + 1);
	for (unsigned i = 0; i < sizeof(md); i++)
		sprintf(hex + i * 2, "%02x", md[i]);
	return hex;
}

static bool cache_read(const char *path, struct husk_bpf *bpf)
{
	_cleanup_free_ char *data = NULL;
	struct husk_err ignored = {0};
	size_t len;

	if (husk_read_file_at(AT_FDCWD, path, &data, &len, &ignored) < 0 || len == 0 ||
	    len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return false;
	bpf->len = len / sizeof(struct sock_filter);
	bpf->insns = (struct sock_filter *)steal_pointer(&data);
	return true;
}

int husk_seccomp_prepare(const struct husk_spec *spec, const char *cache_dir, struct husk_bpf *bpf,
			 struct husk_err *err)
{
	const struct husk_seccomp *sc = &spec->seccomp;
	_cleanup_free_ char *key = NULL, *path = NULL;

	memset(bpf, 0, sizeof(*bpf));
	if (!sc->json)
		return 0;
	bpf->flags = sc->flags & ~(unsigned)SECCOMP_FILTER_FLAG_TSYNC; /* one thread: nothing to sync */
	bpf->notify = sc->default_action == SCMP_ACT_NOTIFY;
	for (size_t i = 0; i < sc->n_rules; i++)
		bpf->notify = bpf->notify || sc->rules[i].action == SCMP_ACT_NOTIFY;
	if (cache_dir && (key = cache_key(sc))) {
		path = husk_xasprintf("%s/seccomp-%s.bpf", cache_dir, key);
		if (cache_read(path, bpf))
			return 0;
	}
	if (compile(sc, bpf, err) < 0) {
		husk_bpf_free(bpf);
		return -1;
	}
	/* a cache that cannot be written costs the next start a compile, nothing more */
	if (path && husk_mkdir_p(cache_dir, 0700, &(struct husk_err){0}) == 0)
		husk_write_file_atomic(path, (const char *)bpf->insns, bpf->len * sizeof(struct sock_filter), 0600,
				       &(struct husk_err){0});
	return 0;
}

void husk_bpf_free(struct husk_bpf *bpf)
{
	free(bpf->insns);
	bpf->insns = NULL;
	bpf->len = 0;
}

int husk_seccomp_load(const struct husk_bpf *bpf, struct husk_err *err)
{
	struct sock_fprog prog = {.len = (unsigned short)bpf->len, .filter = bpf->insns};
	unsigned flags = bpf->flags | (bpf->notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
	long rc;

	if (!bpf->insns)
		return 0;
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (rc < 0 && errno == EINVAL && (flags & (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_SPEC_ALLOW))) {
		/* flags this kernel does not have are dropped, as the spec allows ("where the kernel has them") */
		flags &= ~(unsigned)(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
		rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	}
	if (rc < 0)
		return husk_err_sys(err, "load the seccomp filter");
	return (int)rc;
}
