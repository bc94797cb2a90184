/* config.json's process (and exec's --process file): the program, its user, capabilities,
 * rlimits and scheduling. */
#define _GNU_SOURCE
#include "spec.h"

#include <sched.h>
#include <string.h>
#include <linux/ioprio.h>
#include <linux/oom.h>
#include <linux/sched.h>

#include "caps.h"
#include "names.h"
#include "spec_walk.h"
#include "util.h"

#define CAP_BITS 64               /* the capability sets are 64-bit masks (husk_process.caps) */
#define NICE_MIN (-20)            /* MIN_NICE (linux/sched/prio.h) */
#define NICE_MAX 19               /* MAX_NICE */
#define RT_PRIO_MAX 99            /* MAX_RT_PRIO - 1: sched_get_priority_max(SCHED_FIFO) */
#ifndef SCHED_ISO
#define SCHED_ISO 4               /* reserved by the uapi, not implemented: the kernel refuses it */
#endif
/* above INT32_MAX, ids wrap to negative in too many places (-1 is "no change" to the kernel):
 * refused, never turned into something else */
#define ID_MAX INT32_MAX

static int parse_caps(struct spec_ctx *c, json_t *process, struct husk_process *p)
{
	static const char *const set_names[HUSK_CAP_NSETS] = {
		[HUSK_CAP_BOUNDING] = "bounding", [HUSK_CAP_EFFECTIVE] = "effective",
		[HUSK_CAP_INHERITABLE] = "inheritable", [HUSK_CAP_PERMITTED] = "permitted",
		[HUSK_CAP_AMBIENT] = "ambient",
	};
	json_t *caps;
	int rc = spec_field(c, process, "capabilities", JSON_OBJECT, false, &caps);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "capabilities");
	p->has_caps = true;
	for (int s = 0; s < HUSK_CAP_NSETS; s++) {
		json_t *arr, *item;
		size_t i;
		rc = spec_field(c, caps, set_names[s], JSON_ARRAY, false, &arr);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		PATH_KEY(c, set_names[s]);
		json_array_foreach(arr, i, item) {
			int cap;
			PATH_INDEX(c, i);
			if (!json_is_string(item))
				return spec_fail(c, "expected a capability name, got %s", spec_type_name(item));
			cap = husk_cap_from_name(json_string_value(item));
			if (cap < 0 || cap >= CAP_BITS)
				return spec_fail(c, "unknown capability \"%s\"", json_string_value(item));
			p->caps[s] |= 1ull << cap;
		}
	}
	return 1;
}

static int parse_rlimit(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_rlimit *r = elem, *all = ((struct husk_process *)data)->rlimits;
	const char *type = NULL;

	if (spec_get_string(c, item, "type", true, &type) < 0 || spec_get_u64(c, item, "soft", true, &r->soft) < 0 ||
	    spec_get_u64(c, item, "hard", true, &r->hard) < 0)
		return -1;
	r->resource = husk_rlimit_from_name(type);
	if (r->resource < 0)
		return spec_fail_key(c, "type", "unknown rlimit \"%s\"", type);
	if (r->soft > r->hard)
		return spec_fail_key(c, "soft", "soft limit %llu is above the hard limit %llu",
				     (unsigned long long)r->soft, (unsigned long long)r->hard);
	for (size_t j = 0; j < index; j++)
		if (all[j].resource == r->resource)
			return spec_fail_key(c, "type", "rlimit \"%s\" is given twice", type);
	return 0;
}

static int parse_user(struct spec_ctx *c, json_t *process, struct husk_process *p)
{
	json_t *user, *gids, *item;
	long long n;
	size_t i;
	int rc = spec_field(c, process, "user", JSON_OBJECT, true, &user);

	if (rc <= 0)
		return -1;
	PATH_KEY(c, "user");
	if (spec_get_int(c, user, "uid", true, 0, ID_MAX, &n) < 0)
		return -1;
	p->uid = (uint32_t)n;
	if (spec_get_int(c, user, "gid", true, 0, ID_MAX, &n) < 0)
		return -1;
	p->gid = (uint32_t)n;
	rc = spec_get_int(c, user, "umask", false, 0, SPEC_PERM_MAX, &n);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		p->has_umask = true;
		p->umask = (uint32_t)n;
	}
	rc = spec_field(c, user, "additionalGids", JSON_ARRAY, false, &gids);
	if (rc <= 0)
		return rc < 0 ? -1 : 1;
	p->n_additional_gids = json_array_size(gids);
	p->additional_gids = husk_xcalloc(p->n_additional_gids, sizeof(uint32_t));
	json_array_foreach(gids, i, item) {
		if (!json_is_integer(item) || json_integer_value(item) < 0 || json_integer_value(item) > ID_MAX) {
			PATH_KEY(c, "additionalGids");
			PATH_INDEX(c, i);
			return spec_fail(c, "expected an integer 0..%d", ID_MAX);
		}
		p->additional_gids[i] = (uint32_t)json_integer_value(item);
	}
	return 1;
}

static int parse_io_priority(struct spec_ctx *c, json_t *process, struct husk_process *p)
{
	static const struct spec_name_int classes[] = {
		{"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT}, {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE},
		{"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE},
	};
	const char *cls = NULL;
	json_t *obj;
	long long n = 0;
	int rc = spec_field(c, process, "ioPriority", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "ioPriority");
	if (spec_get_string(c, obj, "class", true, &cls) < 0 ||
	    spec_get_int(c, obj, "priority", false, 0, IOPRIO_NR_LEVELS - 1, &n) < 0)
		return -1;
	if ((p->io_class = (int)spec_lookup_name(classes, ARRAY_SIZE(classes), cls)) < 0)
		return spec_fail_key(c, "class", "unknown I/O priority class \"%s\"", cls);
	p->io_priority = (int)n;
	p->has_io_priority = true;
	return 1;
}

static int parse_scheduler(struct spec_ctx *c, json_t *process, struct husk_process *p)
{
	static const struct spec_name_int policies[] = {
		{"SCHED_OTHER", SCHED_NORMAL}, {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
		{"SCHED_BATCH", SCHED_BATCH}, {"SCHED_ISO", SCHED_ISO}, {"SCHED_IDLE", SCHED_IDLE},
		{"SCHED_DEADLINE", SCHED_DEADLINE},
	};
	static const struct spec_name_int flags[] = {
		{"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK}, {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
		{"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN}, {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
		{"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS}, {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
		{"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX},
	};
	struct husk_scheduler *sc = &p->scheduler;
	const char *policy = NULL;
	_cleanup_free_ const char **names = NULL;
	size_t n_names = 0;
	json_t *obj;
	long long n;
	int rc = spec_field(c, process, "scheduler", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "scheduler");
	if (spec_get_string(c, obj, "policy", true, &policy) < 0)
		return -1;
	if ((sc->policy = (int)spec_lookup_name(policies, ARRAY_SIZE(policies), policy)) < 0)
		return spec_fail_key(c, "policy", "unknown scheduling policy \"%s\"", policy);
	n = 0;
	if (spec_get_int(c, obj, "nice", false, NICE_MIN, NICE_MAX, &n) < 0)
		return -1;
	sc->nice = (int)n;
	n = 0;
	if (spec_get_int(c, obj, "priority", false, 0, RT_PRIO_MAX, &n) < 0)
		return -1;
	sc->priority = (int)n;
	if (spec_get_u64(c, obj, "runtime", false, &sc->runtime) < 0 ||
	    spec_get_u64(c, obj, "deadline", false, &sc->deadline) < 0 ||
	    spec_get_u64(c, obj, "period", false, &sc->period) < 0 ||
	    spec_get_string_array(c, obj, "flags", false, &names, &n_names) < 0)
		return -1;
	for (size_t i = 0; i < n_names; i++) {
		long f = spec_lookup_name(flags, ARRAY_SIZE(flags), names[i]);
		if (f < 0) {
			PATH_KEY(c, "flags");
			PATH_INDEX(c, i);
			return spec_fail(c, "unknown scheduler flag \"%s\"", names[i]);
		}
		sc->flags |= (uint64_t)f;
	}
	p->has_scheduler = true;
	return 1;
}

static int parse_console_size(struct spec_ctx *c, json_t *process, struct husk_process *p)
{
	json_t *console;
	long long n;
	int rc = spec_field(c, process, "consoleSize", JSON_OBJECT, false, &console);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "consoleSize");
	/* struct winsize's unsigned short rows and columns */
	if (spec_get_int(c, console, "height", true, 0, UINT16_MAX, &n) < 0)
		return -1;
	p->console_height = (unsigned)n;
	if (spec_get_int(c, console, "width", true, 0, UINT16_MAX, &n) < 0)
		return -1;
	p->console_width = (unsigned)n;
	return 1;
}

int spec_parse_process(struct spec_ctx *c, json_t *root, struct husk_process *p, bool required)
{
	json_t *process;
	long long n;
	int rc = spec_field(c, root, "process", JSON_OBJECT, required, &process);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "process");
	if (spec_get_bool(c, process, "terminal", &p->terminal) < 0 || parse_console_size(c, process, p) < 0 ||
	    parse_user(c, process, p) < 0 ||
	    spec_get_string_array(c, process, "args", true, &p->args, &p->n_args) < 0)
		return -1;
	if (p->n_args == 0)
		return spec_fail_key(c, "args", "must name at least the program to run");
	if (spec_get_string_array(c, process, "env", false, &p->env, &p->n_env) < 0)
		return -1;
	for (size_t i = 0; i < p->n_env; i++) {
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=') {
			PATH_KEY(c, "env");
			PATH_INDEX(c, i);
			return spec_fail(c, "\"%s\" is not of the form NAME=VALUE", p->env[i]);
		}
	}
	if (spec_get_string(c, process, "cwd", true, &p->cwd) < 0)
		return -1;
	if (!spec_is_absolute(p->cwd))
		return spec_fail_key(c, "cwd", "\"%s\" is not an absolute path", p->cwd);
	if (parse_caps(c, process, p) < 0 ||
	    spec_parse_object_array(c, process, "rlimits", sizeof(struct husk_rlimit), (void **)&p->rlimits,
				    &p->n_rlimits, parse_rlimit, p) < 0 ||
	    spec_get_bool(c, process, "noNewPrivileges", &p->no_new_privileges) < 0)
		return -1;
	rc = spec_get_int(c, process, "oomScoreAdj", false, OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX, &n);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)n;
	}
	if (spec_get_string(c, process, "apparmorProfile", false, &p->apparmor_profile) < 0 ||
	    spec_get_string(c, process, "selinuxLabel", false, &p->selinux_label) < 0 ||
	    parse_io_priority(c, process, p) < 0 || parse_scheduler(c, process, p) < 0)
		return -1;
	return 1;
}

int husk_process_parse(const char *file, const char *text, size_t len, json_t **json, struct husk_process *p,
		       struct husk_err *err)
{
	struct spec_ctx c = {.file = file, .text = text, .len = len, .err = err};
	json_error_t jerr;
	json_t *wrapper, *obj;
	int rc;

	memset(p, 0, sizeof(*p));
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return husk_err_set(err, 0, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(obj)) {
		spec_fail(&c, "expected an object, got %s", spec_type_name(obj));
		rc = -1;
	} else {
		/* spec_parse_process reads root.process: wrap the object so the same checks apply
		 * (positions then point at the file's start, as "process" is not in its text) */
		wrapper = json_pack("{s:O}", "process", obj);
		rc = spec_parse_process(&c, wrapper, p, true);
		json_decref(wrapper);
	}
	rc = spec_walk_done(&c, rc);
	if (rc < 0) {
		json_decref(obj);
		husk_process_free(p);
		return -1;
	}
	*json = obj;
	return 0;
}

void husk_process_free(struct husk_process *p)
{
	free(p->args);
	free(p->env);
	free(p->additional_gids);
	free(p->rlimits);
	memset(p, 0, sizeof(*p));
}
