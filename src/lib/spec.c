#define _GNU_SOURCE
#include "spec.h"

#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <fcntl.h>
#include <linux/ioprio.h>
#include <linux/sched.h>

#include "caps.h"
#include "jsonpos.h"
#include "seccomp.h"
#include "names.h"
#include "util.h"

#define MAX_PATH_DEPTH 32

/* The walk through the document: the path to the value being read, for error messages. */
struct ctx {
	const char *file;
	const char *text;
	size_t len;
	struct husk_json_step path[MAX_PATH_DEPTH];
	size_t depth;
	struct husk_err *err;
};

static void push_key(struct ctx *c, const char *key)
{
	if (c->depth < MAX_PATH_DEPTH)
		c->path[c->depth] = (struct husk_json_step){key, 0};
	c->depth++;
}

static void push_index(struct ctx *c, size_t index)
{
	if (c->depth < MAX_PATH_DEPTH)
		c->path[c->depth] = (struct husk_json_step){NULL, index};
	c->depth++;
}

static void pop(struct ctx *c)
{
	c->depth--;
}

/* "file:line:col: a.b[2].c: message" */
static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
	char where[512] = "", what[512];
	size_t depth = c->depth < MAX_PATH_DEPTH ? c->depth : MAX_PATH_DEPTH, off = 0;
	int line, col;
	va_list ap;

	for (size_t i = 0; i < depth && off < sizeof(where); i++) {
		if (c->path[i].key)
			off += (size_t)snprintf(where + off, sizeof(where) - off, "%s%s", i ? "." : "",
						c->path[i].key);
		else
			off += (size_t)snprintf(where + off, sizeof(where) - off, "[%zu]", c->path[i].index);
	}
	husk_json_locate(c->text, c->len, c->path, depth, &line, &col);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return husk_err_set(c->err, 0, "%s:%d:%d: %s: %s", c->file, line, col, depth ? where : "(top)", what);
}

/* fail() about obj's member key (which need not exist: then the position is obj's) */
static int fail_key(struct ctx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_key(struct ctx *c, const char *key, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	push_key(c, key);
	fail(c, "%s", what);
	pop(c);
	return -1;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Fetch obj[key] with an expected type. Returns 1 if present, 0 if absent (error if required),
 * -1 on error. c's path holds key while *out is in use: the caller pops it. */
static int field(struct ctx *c, json_t *obj, const char *key, json_type type, bool required, json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return fail(c, "missing required field \"%s\"", key);
		return 0;
	}
	push_key(c, key);
	if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v))) {
		const char *want = type == JSON_OBJECT ? "an object" : type == JSON_ARRAY ? "an array"
				 : type == JSON_STRING ? "a string" : type == JSON_INTEGER ? "an integer" : "a boolean";
		int rc = fail(c, "expected %s, got %s", want, type_name(v));
		pop(c);
		return rc;
	}
	*out = v;
	return 1;
}

static int get_string(struct ctx *c, json_t *obj, const char *key, bool required, const char **out)
{
	json_t *v;
	int rc = field(c, obj, key, JSON_STRING, required, &v);
	if (rc <= 0)
		return rc;
	*out = json_string_value(v);
	pop(c);
	return 1;
}

static int get_bool(struct ctx *c, json_t *obj, const char *key, bool *out)
{
	json_t *v;
	int rc = field(c, obj, key, JSON_TRUE, false, &v);
	if (rc <= 0)
		return rc;
	*out = json_is_true(v);
	pop(c);
	return 1;
}

/* An integer in [min, max]; the message names the range like "0..4294967295". */
static int get_int(struct ctx *c, json_t *obj, const char *key, bool required, long long min,
		   long long max, long long *out)
{
	json_t *v = json_object_get(obj, key);
	long long n;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return fail(c, "missing required field \"%s\"", key);
		return 0;
	}
	push_key(c, key);
	if (!json_is_integer(v) || (n = json_integer_value(v)) < min || n > max) {
		fail(c, "expected an integer %lld..%lld", min, max);
		pop(c);
		return -1;
	}
	*out = n;
	pop(c);
	return 1;
}

/* Unsigned 64-bit values (rlimits): JSON integers are signed 64-bit in jansson, so values
 * above INT64_MAX arrive as reals; accept those only when they are exact integers. */
static int get_u64(struct ctx *c, json_t *obj, const char *key, bool required, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			return fail(c, "missing required field \"%s\"", key);
		return 0;
	}
	push_key(c, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
	} else if (json_is_real(v) && json_real_value(v) >= 9.2233720368547758e18 &&
		   json_real_value(v) <= 1.8446744073709551615e19) {
		double d = json_real_value(v);
		*out = d >= 1.8446744073709551615e19 ? UINT64_MAX : (uint64_t)d;
	} else {
		fail(c, "expected an integer 0..18446744073709551615");
		pop(c);
		return -1;
	}
	pop(c);
	return 1;
}

/* An array of strings as a NULL-terminated vector of borrowed pointers. */
static int get_string_array(struct ctx *c, json_t *obj, const char *key, bool required,
			    const char ***out, size_t *n_out)
{
	json_t *arr, *item;
	size_t i;
	int rc;

	*out = NULL;
	*n_out = 0;
	rc = field(c, obj, key, JSON_ARRAY, required, &arr);
	if (rc <= 0)
		return rc;
	*n_out = json_array_size(arr);
	*out = husk_xcalloc(*n_out + 1, sizeof(char *));
	json_array_foreach(arr, i, item) {
		if (!json_is_string(item)) {
			push_index(c, i);
			fail(c, "expected a string, got %s", type_name(item));
			pop(c);
			pop(c);
			return -1;
		}
		(*out)[i] = json_string_value(item);
	}
	pop(c);
	return 1;
}

/* obj[key], an array of objects, into a calloc'ed array of elem_size elements, each filled by
 * one(); the path names the element ("mounts[3]") while one() runs. */
typedef int (*element_parser)(struct ctx *c, json_t *item, void *elem, size_t index, void *data);

static int parse_object_array(struct ctx *c, json_t *obj, const char *key, size_t elem_size, void **out,
			      size_t *n_out, element_parser one, void *data)
{
	json_t *arr, *item;
	size_t i;
	char *elems;
	int rc = field(c, obj, key, JSON_ARRAY, false, &arr);

	if (rc <= 0)
		return rc;
	*n_out = json_array_size(arr);
	*out = elems = husk_xcalloc(*n_out, elem_size);
	json_array_foreach(arr, i, item) {
		push_index(c, i);
		if (!json_is_object(item)) {
			fail(c, "expected an object, got %s", type_name(item));
			goto fail;
		}
		if (one(c, item, elems + i * elem_size, i, data) < 0)
			goto fail;
		pop(c);
	}
	pop(c);
	return 1;
fail:
	pop(c);
	pop(c);
	return -1;
}

static bool is_absolute(const char *p)
{
	return p[0] == '/';
}

static int parse_caps(struct ctx *c, json_t *process, struct husk_process *p)
{
	static const char *const set_names[HUSK_CAP_NSETS] = {
		[HUSK_CAP_BOUNDING] = "bounding", [HUSK_CAP_EFFECTIVE] = "effective",
		[HUSK_CAP_INHERITABLE] = "inheritable", [HUSK_CAP_PERMITTED] = "permitted",
		[HUSK_CAP_AMBIENT] = "ambient",
	};
	json_t *caps;
	int rc = field(c, process, "capabilities", JSON_OBJECT, false, &caps);

	if (rc <= 0)
		return rc;
	p->has_caps = true;
	for (int s = 0; s < HUSK_CAP_NSETS; s++) {
		json_t *arr, *item;
		size_t i;
		rc = field(c, caps, set_names[s], JSON_ARRAY, false, &arr);
		if (rc < 0)
			goto out;
		if (rc == 0)
			continue;
		json_array_foreach(arr, i, item) {
			int cap;
			push_index(c, i);
			if (!json_is_string(item)) {
				rc = fail(c, "expected a capability name, got %s", type_name(item));
				goto out_item;
			}
			cap = husk_cap_from_name(json_string_value(item));
			if (cap < 0 || cap > 63) {
				rc = fail(c, "unknown capability \"%s\"", json_string_value(item));
				goto out_item;
			}
			p->caps[s] |= 1ull << cap;
			pop(c);
		}
		pop(c);
	}
	pop(c);
	return 1;
out_item:
	pop(c);
	pop(c);
out:
	pop(c);
	return -1;
}

static int parse_rlimit(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_rlimit *r = elem, *all = ((struct husk_process *)data)->rlimits;
	const char *type = NULL;

	if (get_string(c, item, "type", true, &type) < 0 || get_u64(c, item, "soft", true, &r->soft) < 0 ||
	    get_u64(c, item, "hard", true, &r->hard) < 0)
		return -1;
	r->resource = husk_rlimit_from_name(type);
	if (r->resource < 0)
		return fail_key(c, "type", "unknown rlimit \"%s\"", type);
	if (r->soft > r->hard)
		return fail_key(c, "soft", "soft limit %llu is above the hard limit %llu", (unsigned long long)r->soft,
				(unsigned long long)r->hard);
	for (size_t j = 0; j < index; j++)
		if (all[j].resource == r->resource)
			return fail_key(c, "type", "rlimit \"%s\" is given twice", type);
	return 0;
}

static int parse_user(struct ctx *c, json_t *process, struct husk_process *p)
{
	json_t *user, *gids, *item;
	long long n;
	size_t i;
	int rc = field(c, process, "user", JSON_OBJECT, true, &user);

	if (rc <= 0)
		return -1;
	/* above INT32_MAX, ids wrap to negative in too many places (-1 is "no change" to the
	 * kernel): refused, never turned into something else */
	if (get_int(c, user, "uid", true, 0, INT32_MAX, &n) < 0)
		goto fail;
	p->uid = (uint32_t)n;
	if (get_int(c, user, "gid", true, 0, INT32_MAX, &n) < 0)
		goto fail;
	p->gid = (uint32_t)n;
	rc = get_int(c, user, "umask", false, 0, 0777, &n);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		p->has_umask = true;
		p->umask = (uint32_t)n;
	}
	rc = field(c, user, "additionalGids", JSON_ARRAY, false, &gids);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		p->n_additional_gids = json_array_size(gids);
		p->additional_gids = husk_xcalloc(p->n_additional_gids, sizeof(uint32_t));
		json_array_foreach(gids, i, item) {
			if (!json_is_integer(item) || json_integer_value(item) < 0 ||
			    json_integer_value(item) > INT32_MAX) {
				push_index(c, i);
				fail(c, "expected an integer 0..2147483647");
				pop(c);
				pop(c);
				goto fail;
			}
			p->additional_gids[i] = (uint32_t)json_integer_value(item);
		}
		pop(c);
	}
	pop(c);
	return 1;
fail:
	pop(c);
	return -1;
}

struct name_int {
	const char *name;
	long value;
};

static long lookup_name(const struct name_int *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].value;
	return -1;
}

static int parse_io_priority(struct ctx *c, json_t *process, struct husk_process *p)
{
	static const struct name_int classes[] = {
		{"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT}, {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE},
		{"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE},
	};
	const char *cls = NULL;
	json_t *obj;
	long long n = 0;
	int rc = field(c, process, "ioPriority", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	if (get_string(c, obj, "class", true, &cls) < 0 || get_int(c, obj, "priority", false, 0, 7, &n) < 0)
		goto fail;
	if ((p->io_class = (int)lookup_name(classes, ARRAY_SIZE(classes), cls)) < 0) {
		fail_key(c, "class", "unknown I/O priority class \"%s\"", cls);
		goto fail;
	}
	p->io_priority = (int)n;
	p->has_io_priority = true;
	pop(c);
	return 1;
fail:
	pop(c);
	return -1;
}

static int parse_scheduler(struct ctx *c, json_t *process, struct husk_process *p)
{
	static const struct name_int policies[] = {
		{"SCHED_OTHER", SCHED_NORMAL}, {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
		{"SCHED_BATCH", SCHED_BATCH}, {"SCHED_ISO", 4}, {"SCHED_IDLE", SCHED_IDLE},
		{"SCHED_DEADLINE", SCHED_DEADLINE},
	};
	static const struct name_int flags[] = {
		{"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK}, {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
		{"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN}, {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
		{"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS}, {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
		{"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX},
	};
	struct husk_scheduler *sc = &p->scheduler;
	const char *policy = NULL;
	const char **names = NULL;
	size_t n_names = 0;
	json_t *obj;
	long long n;
	int rc = field(c, process, "scheduler", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	if (get_string(c, obj, "policy", true, &policy) < 0)
		goto fail;
	if ((sc->policy = (int)lookup_name(policies, ARRAY_SIZE(policies), policy)) < 0) {
		fail_key(c, "policy", "unknown scheduling policy \"%s\"", policy);
		goto fail;
	}
	n = 0;
	if (get_int(c, obj, "nice", false, -20, 19, &n) < 0)
		goto fail;
	sc->nice = (int)n;
	n = 0;
	if (get_int(c, obj, "priority", false, 0, 99, &n) < 0)
		goto fail;
	sc->priority = (int)n;
	if (get_u64(c, obj, "runtime", false, &sc->runtime) < 0 || get_u64(c, obj, "deadline", false, &sc->deadline) < 0 ||
	    get_u64(c, obj, "period", false, &sc->period) < 0 ||
	    get_string_array(c, obj, "flags", false, &names, &n_names) < 0)
		goto fail;
	for (size_t i = 0; i < n_names; i++) {
		long f = lookup_name(flags, ARRAY_SIZE(flags), names[i]);
		if (f < 0) {
			push_key(c, "flags");
			push_index(c, i);
			fail(c, "unknown scheduler flag \"%s\"", names[i]);
			pop(c);
			pop(c);
			goto fail;
		}
		sc->flags |= (uint64_t)f;
	}
	free(names);
	p->has_scheduler = true;
	pop(c);
	return 1;
fail:
	free(names);
	pop(c);
	return -1;
}

static int parse_personality(struct ctx *c, json_t *linux_obj, struct husk_spec *spec)
{
	static const struct name_int domains[] = {{"LINUX", PER_LINUX}, {"LINUX32", PER_LINUX32}};
	const char *domain = NULL;
	const char **flags = NULL;
	size_t n_flags = 0;
	json_t *obj;
	long d;
	int rc = field(c, linux_obj, "personality", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	if (get_string(c, obj, "domain", true, &domain) < 0 || get_string_array(c, obj, "flags", false, &flags, &n_flags) < 0)
		goto fail;
	free(flags);
	if ((d = lookup_name(domains, ARRAY_SIZE(domains), domain)) < 0) {
		fail_key(c, "domain", "unknown personality domain \"%s\" (LINUX or LINUX32)", domain);
		goto fail;
	}
	/* the spec defines no flags yet: one it does not know is refused, not ignored */
	if (n_flags) {
		fail_key(c, "flags", "no personality flags are defined");
		goto fail;
	}
	spec->personality = (unsigned long)d;
	spec->has_personality = true;
	pop(c);
	return 1;
fail:
	pop(c);
	return -1;
}

/* 1 when root.process was there and is valid, 0 when it is absent and not required. */
static int parse_process(struct ctx *c, json_t *root, struct husk_process *p, bool required)
{
	json_t *process, *console;
	long long n;
	int rc = field(c, root, "process", JSON_OBJECT, required, &process);

	if (rc <= 0)
		return rc;
	if (get_bool(c, process, "terminal", &p->terminal) < 0)
		goto fail;
	rc = field(c, process, "consoleSize", JSON_OBJECT, false, &console);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		if (get_int(c, console, "height", true, 0, UINT16_MAX, &n) < 0)
			goto fail_pop;
		p->console_height = (unsigned)n;
		if (get_int(c, console, "width", true, 0, UINT16_MAX, &n) < 0)
			goto fail_pop;
		p->console_width = (unsigned)n;
		pop(c);
	}
	if (parse_user(c, process, p) < 0)
		goto fail;
	if (get_string_array(c, process, "args", true, &p->args, &p->n_args) < 0)
		goto fail;
	if (p->n_args == 0) {
		fail_key(c, "args", "must name at least the program to run");
		goto fail;
	}
	if (get_string_array(c, process, "env", false, &p->env, &p->n_env) < 0)
		goto fail;
	for (size_t i = 0; i < p->n_env; i++) {
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=') {
			push_key(c, "env");
			push_index(c, i);
			fail(c, "\"%s\" is not of the form NAME=VALUE", p->env[i]);
			pop(c);
			goto fail_pop;
		}
	}
	if (get_string(c, process, "cwd", true, &p->cwd) < 0)
		goto fail;
	if (!is_absolute(p->cwd)) {
		fail_key(c, "cwd", "\"%s\" is not an absolute path", p->cwd);
		goto fail;
	}
	if (parse_caps(c, process, p) < 0 ||
	    parse_object_array(c, process, "rlimits", sizeof(struct husk_rlimit), (void **)&p->rlimits, &p->n_rlimits,
			       parse_rlimit, p) < 0 ||
	    get_bool(c, process, "noNewPrivileges", &p->no_new_privileges) < 0)
		goto fail;
	rc = get_int(c, process, "oomScoreAdj", false, -1000, 1000, &n);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)n;
	}
	if (get_string(c, process, "apparmorProfile", false, &p->apparmor_profile) < 0 ||
	    get_string(c, process, "selinuxLabel", false, &p->selinux_label) < 0 ||
	    parse_io_priority(c, process, p) < 0 || parse_scheduler(c, process, p) < 0)
		goto fail;
	pop(c);
	return 1;
fail_pop:
	pop(c);
fail:
	pop(c);
	return -1;
}

static int parse_mount_options(struct ctx *c, json_t *options, struct husk_mount *m)
{
	json_t *item;
	size_t i, data_len = 0;
	char *data = NULL;

	json_array_foreach(options, i, item) {
		const struct husk_mount_opt *opt;
		const char *name;
		push_index(c, i);
		if (!json_is_string(item)) {
			fail(c, "expected a mount option, got %s", type_name(item));
			goto fail;
		}
		name = json_string_value(item);
		opt = husk_mount_opt_lookup(name);
		if (opt == NULL && strchr(name, '=') == NULL) {
			fail(c, "unknown mount option \"%s\"", name);
			goto fail;
		}
		if (opt == NULL || opt->kind == HUSK_MOPT_DATA) {
			size_t n = strlen(name);
			data = husk_xrealloc(data, data_len + n + 2);
			if (data_len)
				data[data_len++] = ',';
			memcpy(data + data_len, name, n + 1);
			data_len += n;
		} else {
			switch (opt->kind) {
			case HUSK_MOPT_FLAG: m->flags |= opt->value; m->clear_flags &= ~opt->value; break;
			case HUSK_MOPT_CLEAR: m->flags &= ~opt->value; m->clear_flags |= opt->value; break;
			case HUSK_MOPT_PROPAGATION: m->propagation = opt->value; break;
			case HUSK_MOPT_ATTR: m->attr_set |= opt->value; m->attr_clr &= ~opt->value; break;
			case HUSK_MOPT_ATTR_CLEAR: m->attr_clr |= opt->value; m->attr_set &= ~opt->value; break;
			case HUSK_MOPT_HUSK:
				if (strcmp(name, "tmpcopyup") == 0) {
					m->tmpcopyup = true;
				} else {
					fail(c, "mount option \"%s\" is not supported by husk yet", name);
					goto fail;
				}
				break;
			default: break;
			}
		}
		pop(c);
	}
	m->data = data;
	return 0;
fail:
	free(data);
	pop(c);
	return -1;
}

static int parse_mount(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_mount *m = elem;
	json_t *options;
	int rc;
	(void)index;
	(void)data;

	if (get_string(c, item, "destination", true, &m->destination) < 0 ||
	    get_string(c, item, "type", false, &m->type) < 0 || get_string(c, item, "source", false, &m->source) < 0)
		return -1;
	if (m->destination[0] == '\0')
		return fail_key(c, "destination", "must not be empty");
	rc = field(c, item, "options", JSON_ARRAY, false, &options);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		rc = parse_mount_options(c, options, m);
		pop(c);
		if (rc < 0)
			return -1;
	}
	if (m->type && strcmp(m->type, "bind") == 0)
		m->flags |= MS_BIND;
	if (!(m->flags & MS_BIND) && (m->type == NULL || m->type[0] == '\0'))
		return fail(c, "a mount needs a \"type\" unless it is a bind mount");
	if ((m->flags & MS_BIND) && m->source == NULL)
		return fail(c, "a bind mount needs a \"source\"");
	return 0;
}

static int parse_idmap(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_idmap *m = elem;
	long long n;
	(void)index;
	(void)data;

	if (get_int(c, item, "containerID", true, 0, UINT32_MAX, &n) < 0)
		return -1;
	m->container_id = (uint32_t)n;
	if (get_int(c, item, "hostID", true, 0, UINT32_MAX, &n) < 0)
		return -1;
	m->host_id = (uint32_t)n;
	if (get_int(c, item, "size", true, 1, UINT32_MAX, &n) < 0)
		return -1;
	m->size = (uint32_t)n;
	return 0;
}

static int parse_namespace(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_namespace *ns = elem;
	struct husk_spec *spec = data;
	const char *type = NULL;
	(void)index;

	if (get_string(c, item, "type", true, &type) < 0 || get_string(c, item, "path", false, &ns->path) < 0)
		return -1;
	ns->type = husk_namespace_from_name(type);
	if (ns->type == 0)
		return fail_key(c, "type", "unknown namespace type \"%s\"", type);
	if ((spec->ns_new | spec->ns_join) & ns->type)
		return fail_key(c, "type", "namespace \"%s\" is given twice", type);
	if (ns->path && ns->path[0] == '\0')
		ns->path = NULL;
	if (ns->path && !is_absolute(ns->path))
		return fail_key(c, "path", "\"%s\" is not an absolute path", ns->path);
	if (ns->path)
		spec->ns_join |= ns->type;
	else
		spec->ns_new |= ns->type;
	return 0;
}

static int parse_time_offset(struct ctx *c, json_t *offsets, const char *key, struct husk_time_offset *t)
{
	json_t *o;
	long long n;
	int rc = field(c, offsets, key, JSON_OBJECT, false, &o);

	if (rc <= 0)
		return rc;
	if (get_int(c, o, "secs", false, INT64_MIN, INT64_MAX, &n) < 0)
		goto fail;
	t->secs = n;
	n = 0;
	if (get_int(c, o, "nanosecs", false, 0, 999999999, &n) < 0)
		goto fail;
	t->nanosecs = (uint32_t)n;
	t->set = true;
	pop(c);
	return 1;
fail:
	pop(c);
	return -1;
}

static int parse_device(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_device *d = elem;
	const char *type = NULL;
	long long n = 0;
	int rc;
	(void)index;
	(void)data;

	if (get_string(c, item, "type", true, &type) < 0 || get_string(c, item, "path", true, &d->path) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return fail_key(c, "type", "unknown device type \"%s\" (expected c, b, u or p)", type);
	d->type = type[0];
	if (strncmp(d->path, "/dev/", 5) != 0 || d->path[5] == '\0')
		return fail_key(c, "path", "\"%s\" is not a path under /dev", d->path);
	if (d->type != 'p') {
		if (get_int(c, item, "major", true, 0, 4095, &n) < 0)
			return -1;
		d->major = n;
		if (get_int(c, item, "minor", true, 0, 1048575, &n) < 0)
			return -1;
		d->minor = n;
	}
	if ((rc = get_int(c, item, "fileMode", false, 0, 07777, &n)) < 0)
		return -1;
	d->has_mode = rc > 0;
	d->mode = (uint32_t)n;
	if ((rc = get_int(c, item, "uid", false, 0, UINT32_MAX, &n)) < 0)
		return -1;
	d->has_uid = rc > 0;
	d->uid = (uint32_t)n;
	if ((rc = get_int(c, item, "gid", false, 0, UINT32_MAX, &n)) < 0)
		return -1;
	d->has_gid = rc > 0;
	d->gid = (uint32_t)n;
	return 0;
}

static int parse_device_rule(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_device_rule *r = elem;
	const char *type = "a", *access = "rwm";
	long long n;
	int rc;
	(void)index;
	(void)data;

	if (!json_is_boolean(json_object_get(item, "allow")))
		return fail_key(c, "allow", "expected a boolean");
	r->allow = json_is_true(json_object_get(item, "allow"));
	if (get_string(c, item, "type", false, &type) < 0 || get_string(c, item, "access", false, &access) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("acb", type[0]))
		return fail_key(c, "type", "unknown device type \"%s\" (expected a, c or b)", type);
	r->type = type[0];
	if (strlen(access) > 3 || strspn(access, "rwm") != strlen(access))
		return fail_key(c, "access", "\"%s\" is not made of r, w and m", access);
	strcpy(r->access, *access ? access : "rwm");
	r->major = r->minor = -1;
	if ((rc = get_int(c, item, "major", false, -1, 4095, &n)) < 0)
		return -1;
	if (rc > 0)
		r->major = n;
	if ((rc = get_int(c, item, "minor", false, -1, 1048575, &n)) < 0)
		return -1;
	if (rc > 0)
		r->minor = n;
	return 0;
}

static int parse_path_list(struct ctx *c, json_t *linux_obj, const char *key, const char ***out, size_t *n)
{
	int rc = get_string_array(c, linux_obj, key, false, out, n);

	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < *n; i++)
		if (!is_absolute((*out)[i])) {
			push_key(c, key);
			push_index(c, i);
			fail(c, "\"%s\" is not an absolute path", (*out)[i]);
			pop(c);
			pop(c);
			return -1;
		}
	return 1;
}

static bool has_dotdot(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, "..")) != NULL) {
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return true;
		p += 2;
	}
	return false;
}

static int parse_sysctl(struct ctx *c, json_t *linux_obj, struct husk_spec *spec)
{
	json_t *obj, *value;
	const char *key;
	size_t i = 0;
	int rc = field(c, linux_obj, "sysctl", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	spec->n_sysctl = json_object_size(obj);
	spec->sysctl_keys = husk_xcalloc(spec->n_sysctl, sizeof(char *));
	spec->sysctl_values = husk_xcalloc(spec->n_sysctl, sizeof(char *));
	json_object_foreach(obj, key, value) {
		push_key(c, key);
		if (!json_is_string(value)) {
			fail(c, "expected a string, got %s", type_name(value));
			goto fail;
		}
		if (key[0] == '\0' || strchr(key, '/') || has_dotdot(key) || key[0] == '.') {
			fail(c, "\"%s\" is not a sysctl name", key);
			goto fail;
		}
		spec->sysctl_keys[i] = key;
		spec->sysctl_values[i] = json_string_value(value);
		i++;
		pop(c);
	}
	pop(c);
	return 1;
fail:
	pop(c);
	pop(c);
	return -1;
}

static int parse_seccomp_arg(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_seccomp_arg *a = elem;
	const char *op = NULL;
	long long n;
	(void)index;
	(void)data;

	if (get_int(c, item, "index", true, 0, 5, &n) < 0)
		return -1;
	a->index = (unsigned)n;
	if (get_u64(c, item, "value", true, &a->value) < 0 || get_u64(c, item, "valueTwo", false, &a->value_two) < 0 ||
	    get_string(c, item, "op", true, &op) < 0)
		return -1;
	a->op = husk_seccomp_op_from_name(op);
	if (a->op < 0)
		return fail_key(c, "op", "unknown operator \"%s\"", op);
	return 0;
}

static int parse_seccomp_rule(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_seccomp_rule *r = elem;
	const char *action = NULL;
	int64_t a;
	long long n;
	int rc;
	(void)index;
	(void)data;

	if (get_string_array(c, item, "names", true, &r->names, &r->n_names) < 0 ||
	    get_string(c, item, "action", true, &action) < 0)
		return -1;
	if (r->n_names == 0)
		return fail_key(c, "names", "must name at least one system call");
	a = husk_seccomp_action_from_name(action);
	if (a < 0)
		return fail_key(c, "action", "unknown action \"%s\"", action);
	r->action = (uint32_t)a;
	if ((rc = get_int(c, item, "errnoRet", false, 0, 4095, &n)) < 0)
		return -1;
	r->has_errno = rc > 0;
	r->errno_ret = (uint32_t)n;
	return parse_object_array(c, item, "args", sizeof(struct husk_seccomp_arg), (void **)&r->args, &r->n_args,
				  parse_seccomp_arg, NULL) < 0 ? -1 : 0;
}

static int parse_seccomp(struct ctx *c, json_t *linux_obj, struct husk_seccomp *sc)
{
	const char *action = NULL;
	const char **names = NULL;
	size_t n_names = 0;
	json_t *obj;
	int64_t v;
	long long n;
	int rc = field(c, linux_obj, "seccomp", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	sc->json = obj;
	if (get_string(c, obj, "defaultAction", true, &action) < 0)
		goto fail;
	if ((v = husk_seccomp_action_from_name(action)) < 0) {
		fail_key(c, "defaultAction", "unknown action \"%s\"", action);
		goto fail;
	}
	sc->default_action = (uint32_t)v;
	if ((rc = get_int(c, obj, "defaultErrnoRet", false, 0, 4095, &n)) < 0)
		goto fail;
	sc->has_default_errno = rc > 0;
	sc->default_errno = (uint32_t)n;
	if (get_string_array(c, obj, "architectures", false, &names, &n_names) < 0)
		goto fail;
	sc->arches = husk_xcalloc(n_names, sizeof(uint32_t));
	for (size_t i = 0; i < n_names; i++) {
		if ((v = husk_seccomp_arch_from_name(names[i])) < 0) {
			push_key(c, "architectures");
			push_index(c, i);
			fail(c, "unknown architecture \"%s\"", names[i]);
			pop(c);
			pop(c);
			goto fail;
		}
		sc->arches[sc->n_arches++] = (uint32_t)v;
	}
	free(steal_pointer(&names));
	if (get_string_array(c, obj, "flags", false, &names, &n_names) < 0)
		goto fail;
	for (size_t i = 0; i < n_names; i++) {
		if ((v = husk_seccomp_flag_from_name(names[i])) < 0) {
			push_key(c, "flags");
			push_index(c, i);
			fail(c, "unknown seccomp flag \"%s\"", names[i]);
			pop(c);
			pop(c);
			goto fail;
		}
		sc->flags |= (unsigned)v;
	}
	free(steal_pointer(&names));
	if (get_string(c, obj, "listenerPath", false, &sc->listener_path) < 0 ||
	    get_string(c, obj, "listenerMetadata", false, &sc->listener_metadata) < 0 ||
	    parse_object_array(c, obj, "syscalls", sizeof(struct husk_seccomp_rule), (void **)&sc->rules, &sc->n_rules,
			       parse_seccomp_rule, NULL) < 0)
		goto fail;
	pop(c);
	return 1;
fail:
	free(names);
	pop(c);
	return -1;
}

static int get_opt(struct ctx *c, json_t *obj, const char *key, long long min, long long max, struct husk_opt_i64 *o)
{
	long long n;
	int rc = get_int(c, obj, key, false, min, max, &n);

	if (rc > 0) {
		o->set = true;
		o->v = n;
	}
	return rc;
}

/* uint64 fields where the spec allows the whole range: kept as int64, above that refused */
#define BIG INT64_MAX

static int parse_blkio_device(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_blkio_device *d = elem;
	bool weights = data != NULL;
	long long n;
	(void)index;

	if (get_int(c, item, "major", true, 0, 4095, &n) < 0)
		return -1;
	d->major = n;
	if (get_int(c, item, "minor", true, 0, 1048575, &n) < 0)
		return -1;
	d->minor = n;
	if (weights)
		return get_opt(c, item, "weight", 10, 1000, &d->weight) < 0 ||
		       get_opt(c, item, "leafWeight", 10, 1000, &d->leaf_weight) < 0 ? -1 : 0;
	if (get_opt(c, item, "rate", 0, BIG, &d->rate) < 0)
		return -1;
	if (!d->rate.set)
		return fail_key(c, "rate", "missing required field \"rate\"");
	return 0;
}

static int parse_hugepage(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_named_value *h = elem;
	long long n;
	(void)index;
	(void)data;

	if (get_string(c, item, "pageSize", true, &h->name) < 0 || get_int(c, item, "limit", true, 0, BIG, &n) < 0)
		return -1;
	/* "2MB", "1GB", "64KB": the hugetlb file names use these */
	size_t len = strlen(h->name);
	if (len < 3 || strspn(h->name, "0123456789") != len - 2 ||
	    (strcmp(h->name + len - 2, "KB") && strcmp(h->name + len - 2, "MB") && strcmp(h->name + len - 2, "GB")))
		return fail_key(c, "pageSize", "\"%s\" is not a page size like 2MB or 1GB", h->name);
	h->number = n;
	return 0;
}

static int parse_net_priority(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_named_value *p = elem;
	long long n;
	(void)index;
	(void)data;

	if (get_string(c, item, "name", true, &p->name) < 0 || get_int(c, item, "priority", true, 0, UINT32_MAX, &n) < 0)
		return -1;
	if (!*p->name || strpbrk(p->name, " \n/"))
		return fail_key(c, "name", "\"%s\" is not an interface name", p->name);
	p->number = n;
	return 0;
}

static bool plain_name(const char *s)
{
	return *s && !strpbrk(s, " \n/") && !has_dotdot(s);
}

static int parse_resources_obj(struct ctx *c, json_t *obj, struct husk_resources *r)
{
	json_t *sub, *value;
	const char *key;
	int rc;

	r->present = true;
	if ((rc = field(c, obj, "memory", JSON_OBJECT, false, &sub)) < 0)
		return -1;
	if (rc > 0) {
		/* -1 is "no limit", as in runc */
		if (get_opt(c, sub, "limit", -1, BIG, &r->memory.limit) < 0 ||
		    get_opt(c, sub, "reservation", -1, BIG, &r->memory.reservation) < 0 ||
		    get_opt(c, sub, "swap", -1, BIG, &r->memory.swap) < 0 ||
		    get_opt(c, sub, "kernel", -1, BIG, &r->memory.kernel) < 0 ||
		    get_opt(c, sub, "kernelTCP", -1, BIG, &r->memory.kernel_tcp) < 0 ||
		    get_opt(c, sub, "swappiness", 0, 100, &r->memory.swappiness) < 0)
			goto fail;
		if ((rc = get_bool(c, sub, "disableOOMKiller", &r->memory.disable_oom_killer)) < 0)
			goto fail;
		r->memory.has_disable_oom_killer = rc > 0;
		if ((rc = get_bool(c, sub, "useHierarchy", &r->memory.use_hierarchy)) < 0)
			goto fail;
		r->memory.has_use_hierarchy = rc > 0;
		if (get_bool(c, sub, "checkBeforeUpdate", &r->memory.check_before_update) < 0)
			goto fail;
		if (r->memory.limit.set && r->memory.swap.set && r->memory.limit.v > 0 && r->memory.swap.v > 0 &&
		    r->memory.swap.v < r->memory.limit.v) {
			fail_key(c, "swap", "memory+swap (%lld) is below the memory limit (%lld)",
				 (long long)r->memory.swap.v, (long long)r->memory.limit.v);
			goto fail;
		}
		pop(c);
	}
	if ((rc = field(c, obj, "cpu", JSON_OBJECT, false, &sub)) < 0)
		return -1;
	if (rc > 0) {
		if (get_opt(c, sub, "shares", 0, 262144, &r->cpu.shares) < 0 ||
		    get_opt(c, sub, "quota", -1, BIG, &r->cpu.quota) < 0 ||
		    get_opt(c, sub, "period", 0, 1000000, &r->cpu.period) < 0 ||
		    get_opt(c, sub, "burst", 0, BIG, &r->cpu.burst) < 0 ||
		    get_opt(c, sub, "realtimeRuntime", -1, BIG, &r->cpu.realtime_runtime) < 0 ||
		    get_opt(c, sub, "realtimePeriod", 0, BIG, &r->cpu.realtime_period) < 0 ||
		    get_opt(c, sub, "idle", 0, 1, &r->cpu.idle) < 0 ||
		    get_string(c, sub, "cpus", false, &r->cpu.cpus) < 0 || get_string(c, sub, "mems", false, &r->cpu.mems) < 0)
			goto fail;
		/* the kernel takes periods of 1 ms .. 1 s, and quotas of at least 1 ms */
		if (r->cpu.period.set && r->cpu.period.v != 0 && r->cpu.period.v < 1000) {
			fail_key(c, "period", "%lld us is below the kernel's minimum of 1000 us", (long long)r->cpu.period.v);
			goto fail;
		}
		if (r->cpu.quota.set && r->cpu.quota.v > 0 && r->cpu.quota.v < 1000) {
			fail_key(c, "quota", "%lld us is below the kernel's minimum of 1000 us", (long long)r->cpu.quota.v);
			goto fail;
		}
		if ((r->cpu.cpus && strspn(r->cpu.cpus, "0123456789,-") != strlen(r->cpu.cpus)) ||
		    (r->cpu.mems && strspn(r->cpu.mems, "0123456789,-") != strlen(r->cpu.mems))) {
			fail(c, "cpus and mems are lists like \"0-2,4\"");
			goto fail;
		}
		pop(c);
	}
	if ((rc = field(c, obj, "pids", JSON_OBJECT, false, &sub)) < 0)
		return -1;
	if (rc > 0) {
		if (get_opt(c, sub, "limit", -1, BIG, &r->pids_limit) < 0)
			goto fail;
		pop(c);
	}
	if ((rc = field(c, obj, "blockIO", JSON_OBJECT, false, &sub)) < 0)
		return -1;
	if (rc > 0) {
		static const char *const throttles[4] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
							 "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
		if (get_opt(c, sub, "weight", 10, 1000, &r->blkio.weight) < 0 ||
		    get_opt(c, sub, "leafWeight", 10, 1000, &r->blkio.leaf_weight) < 0 ||
		    parse_object_array(c, sub, "weightDevice", sizeof(struct husk_blkio_device),
				       (void **)&r->blkio.weight_device, &r->blkio.n_weight_device, parse_blkio_device, r) < 0)
			goto fail;
		for (int t = 0; t < 4; t++)
			if (parse_object_array(c, sub, throttles[t], sizeof(struct husk_blkio_device),
					       (void **)&r->blkio.throttle[t], &r->blkio.n_throttle[t], parse_blkio_device, NULL) < 0)
				goto fail;
		pop(c);
	}
	if (parse_object_array(c, obj, "hugepageLimits", sizeof(struct husk_named_value), (void **)&r->hugepages,
			       &r->n_hugepages, parse_hugepage, NULL) < 0)
		return -1;
	if ((rc = field(c, obj, "network", JSON_OBJECT, false, &sub)) < 0)
		return -1;
	if (rc > 0) {
		if (get_opt(c, sub, "classID", 0, UINT32_MAX, &r->net_class_id) < 0 ||
		    parse_object_array(c, sub, "priorities", sizeof(struct husk_named_value), (void **)&r->net_priorities,
				       &r->n_net_priorities, parse_net_priority, NULL) < 0)
			goto fail;
		pop(c);
	}
	if ((rc = field(c, obj, "rdma", JSON_OBJECT, false, &sub)) < 0)
		return -1;
	if (rc > 0) {
		r->rdma = husk_xcalloc(json_object_size(sub), sizeof(*r->rdma));
		json_object_foreach(sub, key, value) {
			struct husk_named_value *d = &r->rdma[r->n_rdma++];
			push_key(c, key);
			d->name = key;
			if (!json_is_object(value) || !plain_name(key)) {
				fail(c, "expected an object for an RDMA device");
				pop(c);
				goto fail;
			}
			if (get_opt(c, value, "hcaHandles", 0, UINT32_MAX, &d->hca_handles) < 0 ||
			    get_opt(c, value, "hcaObjects", 0, UINT32_MAX, &d->hca_objects) < 0) {
				pop(c);
				goto fail;
			}
			pop(c);
		}
		pop(c);
	}
	if ((rc = field(c, obj, "unified", JSON_OBJECT, false, &sub)) < 0)
		return -1;
	if (rc > 0) {
		r->unified = husk_xcalloc(json_object_size(sub), sizeof(*r->unified));
		json_object_foreach(sub, key, value) {
			struct husk_named_value *u = &r->unified[r->n_unified++];
			push_key(c, key);
			/* a file of the container's own cgroup, never a path out of it */
			if (!plain_name(key) || !strchr(key, '.') || strncmp(key, "cgroup.", 7) == 0) {
				fail(c, "\"%s\" is not a controller file of the container's cgroup", key);
				pop(c);
				goto fail;
			}
			if (!json_is_string(value)) {
				fail(c, "expected a string, got %s", type_name(value));
				pop(c);
				goto fail;
			}
			u->name = key;
			u->value = json_string_value(value);
			pop(c);
		}
		pop(c);
	}
	return 0;
fail:
	pop(c);
	return -1;
}

void husk_resources_free(struct husk_resources *r)
{
	free(r->blkio.weight_device);
	for (int t = 0; t < 4; t++)
		free(r->blkio.throttle[t]);
	free(r->hugepages);
	free(r->net_priorities);
	free(r->rdma);
	free(r->unified);
	memset(r, 0, sizeof(*r));
}

int husk_resources_parse(const char *file, const char *text, size_t len, json_t **json,
			 struct husk_resources *res, struct husk_err *err)
{
	struct ctx c = {.file = file, .text = text, .len = len, .err = err};
	json_error_t jerr;

	memset(res, 0, sizeof(*res));
	*json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*json)
		return husk_err_set(err, 0, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(*json) || parse_resources_obj(&c, *json, res) < 0) {
		if (!json_is_object(*json))
			fail(&c, "expected an object, got %s", type_name(*json));
		husk_resources_free(res);
		json_decref(*json);
		*json = NULL;
		return -1;
	}
	return 0;
}

const char *const husk_hook_kind_names[HUSK_HOOK_KINDS] = {
	[HUSK_HOOK_PRESTART] = "prestart", [HUSK_HOOK_CREATE_RUNTIME] = "createRuntime",
	[HUSK_HOOK_CREATE_CONTAINER] = "createContainer", [HUSK_HOOK_START_CONTAINER] = "startContainer",
	[HUSK_HOOK_POSTSTART] = "poststart", [HUSK_HOOK_POSTSTOP] = "poststop",
};

static int parse_hook(struct ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_hook *h = elem;
	long long n = 0;
	(void)index;
	(void)data;

	if (get_string(c, item, "path", true, &h->path) < 0 || get_string_array(c, item, "args", false, &h->args, &h->n_args) < 0 ||
	    get_string_array(c, item, "env", false, &h->env, &h->n_env) < 0 || get_int(c, item, "timeout", false, 1, 86400, &n) < 0)
		return -1;
	if (!is_absolute(h->path))
		return fail_key(c, "path", "\"%s\" is not an absolute path", h->path);
	h->timeout = (int)n;
	return 0;
}

static int parse_hooks(struct ctx *c, json_t *root, struct husk_spec *spec)
{
	json_t *obj;
	int rc = field(c, root, "hooks", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	for (int k = 0; k < HUSK_HOOK_KINDS; k++)
		if (parse_object_array(c, obj, husk_hook_kind_names[k], sizeof(struct husk_hook), (void **)&spec->hooks[k],
				       &spec->n_hooks[k], parse_hook, NULL) < 0) {
			pop(c);
			return -1;
		}
	pop(c);
	return 1;
}

static int parse_linux(struct ctx *c, json_t *root, struct husk_spec *spec)
{
	static const struct { const char *name; unsigned long flags; } propagations[] = {
		{"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"rshared", MS_SHARED | MS_REC},
		{"rslave", MS_SLAVE | MS_REC}, {"runbindable", MS_UNBINDABLE | MS_REC}, {"shared", MS_SHARED},
		{"slave", MS_SLAVE}, {"unbindable", MS_UNBINDABLE},
	};
	json_t *linux_obj, *offsets, *resources;
	const char *propagation = NULL;
	int rc = field(c, root, "linux", JSON_OBJECT, false, &linux_obj);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	if (parse_object_array(c, linux_obj, "namespaces", sizeof(struct husk_namespace), (void **)&spec->namespaces,
			       &spec->n_namespaces, parse_namespace, spec) < 0 ||
	    parse_object_array(c, linux_obj, "uidMappings", sizeof(struct husk_idmap), (void **)&spec->uid_mappings,
			       &spec->n_uid_mappings, parse_idmap, NULL) < 0 ||
	    parse_object_array(c, linux_obj, "gidMappings", sizeof(struct husk_idmap), (void **)&spec->gid_mappings,
			       &spec->n_gid_mappings, parse_idmap, NULL) < 0 ||
	    parse_object_array(c, linux_obj, "devices", sizeof(struct husk_device), (void **)&spec->devices,
			       &spec->n_devices, parse_device, NULL) < 0 ||
	    get_string(c, linux_obj, "cgroupsPath", false, &spec->cgroups_path) < 0 ||
	    parse_path_list(c, linux_obj, "maskedPaths", &spec->masked_paths, &spec->n_masked_paths) < 0 ||
	    parse_path_list(c, linux_obj, "readonlyPaths", &spec->readonly_paths, &spec->n_readonly_paths) < 0 ||
	    parse_sysctl(c, linux_obj, spec) < 0 || parse_seccomp(c, linux_obj, &spec->seccomp) < 0 ||
	    parse_personality(c, linux_obj, spec) < 0 ||
	    get_string(c, linux_obj, "rootfsPropagation", false, &propagation) < 0 ||
	    get_string(c, linux_obj, "mountLabel", false, &spec->mount_label) < 0)
		goto fail;
	rc = field(c, linux_obj, "resources", JSON_OBJECT, false, &resources);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		rc = parse_object_array(c, resources, "devices", sizeof(struct husk_device_rule),
					(void **)&spec->device_rules, &spec->n_device_rules, parse_device_rule, NULL);
		if (rc >= 0)
			rc = parse_resources_obj(c, resources, &spec->resources);
		pop(c);
		if (rc < 0)
			goto fail;
	}
	rc = field(c, linux_obj, "timeOffsets", JSON_OBJECT, false, &offsets);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		if (parse_time_offset(c, offsets, "monotonic", &spec->time_monotonic) < 0 ||
		    parse_time_offset(c, offsets, "boottime", &spec->time_boottime) < 0) {
			pop(c);
			goto fail;
		}
		pop(c);
	}
	if (spec->cgroups_path && has_dotdot(spec->cgroups_path)) {
		fail_key(c, "cgroupsPath", "\"%s\" must not contain \"..\"", spec->cgroups_path);
		goto fail;
	}
	if (propagation) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(propagations); i++)
			if (strcmp(propagation, propagations[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(propagations)) {
			fail_key(c, "rootfsPropagation", "unknown propagation \"%s\"", propagation);
			goto fail;
		}
		spec->rootfs_propagation = propagations[i].flags;
	}
	pop(c);
	return 1;
fail:
	pop(c);
	return -1;
}

/* Rules that tie fields together, checked once everything is read. */
static int cross_check(struct ctx *c, json_t *root, struct husk_spec *spec)
{
	bool new_user = spec->ns_new & CLONE_NEWUSER;

	c->depth = 0;
	/* a uts namespace joined by path is the container's as much as a new one: its names
	 * may be set (another container sharing it sees them, as it would with runc) */
	if (spec->hostname && spec->hostname[0] && !((spec->ns_new | spec->ns_join) & CLONE_NEWUTS)) {
		return fail_key(c, "hostname", "setting the hostname needs a uts namespace (new or joined)");
	}
	if (spec->domainname && spec->domainname[0] && !((spec->ns_new | spec->ns_join) & CLONE_NEWUTS)) {
		return fail_key(c, "domainname", "setting the domainname needs a uts namespace (new or joined)");
	}
	/* with no mount namespace the process lives in husk's own mount table (the host's): the
	 * container is entered by chroot, and what would mount there is refused, not done on the
	 * host and not dropped (a masked path quietly left unmasked is a hole) */
	if (!((spec->ns_new | spec->ns_join) & CLONE_NEWNS)) {
		static const char why[] = "needs a mount namespace (linux.namespaces has none: husk mounts nothing in the host's)";
		if (spec->n_mounts)
			return fail_key(c, "mounts", "%s", why);
		if (spec->root_readonly) {
			push_key(c, "root");
			return fail_key(c, "readonly", "%s", why);
		}
		push_key(c, "linux");
		if (spec->n_masked_paths)
			return fail_key(c, "maskedPaths", "%s", why);
		if (spec->n_readonly_paths)
			return fail_key(c, "readonlyPaths", "%s", why);
		if (spec->n_devices)
			return fail_key(c, "devices", "%s", why);
		if (spec->rootfs_propagation)
			return fail_key(c, "rootfsPropagation", "%s", why);
		/* written through the container's /proc, which nothing mounts */
		if (spec->n_sysctl)
			return fail_key(c, "sysctl", "%s", why);
		pop(c);
	}
	/* asked-for protections husk cannot give yet are refused, never skipped: a container
	 * must not run unconfined because its seccomp filter or label was quietly dropped */
	if (json_object_get(root, "linux") == NULL)
		return 0;
	push_key(c, "linux");
	if (spec->seccomp.listener_path && !spec->seccomp.listener_path[0])
		spec->seccomp.listener_path = NULL;
	{
		bool notify = spec->seccomp.json && spec->seccomp.default_action == 0x7fc00000U; /* SCMP_ACT_NOTIFY */
		for (size_t i = 0; i < spec->seccomp.n_rules; i++)
			notify = notify || spec->seccomp.rules[i].action == 0x7fc00000U;
		if (notify && !spec->seccomp.listener_path)
			return fail_key(c, "seccomp", "SCMP_ACT_NOTIFY needs a listenerPath");
	}

	if (new_user && (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0))
		return fail(c, "a new user namespace needs uidMappings and gidMappings");
	if (!new_user && (spec->n_uid_mappings || spec->n_gid_mappings))
		return fail(c, "uidMappings and gidMappings need a new user namespace");
	if ((spec->time_monotonic.set || spec->time_boottime.set) && !(spec->ns_new & CLONE_NEWTIME)) {
		return fail_key(c, "timeOffsets", "time offsets need a new time namespace");
	}
	if (spec->n_sysctl && !(spec->ns_new & (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS))) {
		return fail_key(c, "sysctl", "namespaced sysctls need a new network, ipc or uts namespace");
	}
	return 0;
}

int husk_spec_parse(const char *file, const char *text, size_t len, struct husk_spec *spec,
		    struct husk_err *err)
{
	struct ctx c = {.file = file, .text = text, .len = len, .err = err};
	json_error_t jerr;
	json_t *root_obj;
	int rc;

	memset(spec, 0, sizeof(*spec));
	/* REJECT_DUPLICATES: two "uid" keys must not silently pick one */
	spec->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (spec->json == NULL)
		return husk_err_set(err, 0, "%s:%d:%d: %s%s", file, jerr.line, jerr.column, jerr.text,
				    json_error_code(&jerr) == json_error_invalid_utf8 ? " (not valid UTF-8)" : "");
	if (!json_is_object(spec->json)) {
		fail(&c, "expected an object, got %s", type_name(spec->json));
		goto fail;
	}
	if (get_string(&c, spec->json, "ociVersion", true, &spec->oci_version) < 0)
		goto fail;
	if (strncmp(spec->oci_version, "1.", 2) != 0) {
		push_key(&c, "ociVersion");
		fail(&c, "unsupported version \"%s\" (husk implements 1.x)", spec->oci_version);
		goto fail;
	}
	rc = field(&c, spec->json, "root", JSON_OBJECT, true, &root_obj);
	if (rc <= 0)
		goto fail;
	if (get_string(&c, root_obj, "path", true, &spec->root_path) < 0 ||
	    get_bool(&c, root_obj, "readonly", &spec->root_readonly) < 0)
		goto fail;
	pop(&c);
	if (get_string(&c, spec->json, "hostname", false, &spec->hostname) < 0 ||
	    get_string(&c, spec->json, "domainname", false, &spec->domainname) < 0)
		goto fail;
	/* optional until start (the runtime-spec): create makes the container without it */
	rc = parse_process(&c, spec->json, &spec->process, false);
	if (rc < 0)
		goto fail;
	spec->has_process = rc > 0;
	if (!spec->has_process)
		spec->process.cwd = "/";
	if (parse_object_array(&c, spec->json, "mounts", sizeof(struct husk_mount), (void **)&spec->mounts,
			       &spec->n_mounts, parse_mount, NULL) < 0 ||
	    parse_linux(&c, spec->json, spec) < 0 || parse_hooks(&c, spec->json, spec) < 0)
		goto fail;
	rc = field(&c, spec->json, "annotations", JSON_OBJECT, false, &spec->annotations);
	if (rc < 0)
		goto fail;
	if (rc > 0)
		pop(&c);
	if (cross_check(&c, spec->json, spec) < 0)
		goto fail;
	return 0;
fail:
	husk_spec_free(spec);
	return -1;
}

int husk_spec_load(const char *bundle, struct husk_spec *spec, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *path = husk_xasprintf("%s/config.json", bundle);
	size_t len;

	if (husk_read_file_at(AT_FDCWD, path, &text, &len, err) < 0)
		return -1;
	return husk_spec_parse("config.json", text, len, spec, err);
}

void husk_spec_free(struct husk_spec *spec)
{
	free(spec->process.args);
	free(spec->process.env);
	free(spec->process.additional_gids);
	free(spec->process.rlimits);
	for (size_t i = 0; i < spec->n_mounts; i++)
		free(spec->mounts[i].data);
	free(spec->mounts);
	free(spec->uid_mappings);
	free(spec->gid_mappings);
	free(spec->devices);
	free(spec->namespaces);
	free(spec->device_rules);
	husk_resources_free(&spec->resources);
	for (int k = 0; k < HUSK_HOOK_KINDS; k++) {
		for (size_t i = 0; i < spec->n_hooks[k]; i++) {
			free(spec->hooks[k][i].args);
			free(spec->hooks[k][i].env);
		}
		free(spec->hooks[k]);
	}
	for (size_t i = 0; i < spec->seccomp.n_rules; i++) {
		free(spec->seccomp.rules[i].names);
		free(spec->seccomp.rules[i].args);
	}
	free(spec->seccomp.rules);
	free(spec->seccomp.arches);
	free(spec->masked_paths);
	free(spec->readonly_paths);
	free(spec->sysctl_keys);
	free(spec->sysctl_values);
	if (spec->json)
		json_decref(spec->json);
	memset(spec, 0, sizeof(*spec));
}

const struct husk_namespace *husk_spec_namespace(const struct husk_spec *spec, unsigned long type)
{
	for (size_t i = 0; i < spec->n_namespaces; i++)
		if (spec->namespaces[i].type == type)
			return &spec->namespaces[i];
	return NULL;
}

int husk_process_parse(const char *file, const char *text, size_t len, json_t **json, struct husk_process *p,
		       struct husk_err *err)
{
	struct ctx c = {.file = file, .text = text, .len = len, .err = err};
	json_error_t jerr;
	json_t *wrapper, *obj;

	memset(p, 0, sizeof(*p));
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return husk_err_set(err, 0, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
	/* parse_process reads root.process: wrap the object so the same checks apply (positions
	 * then point at the file's start, as "process" is not in its text) */
	wrapper = json_pack("{s:O}", "process", obj);
	if (!json_is_object(obj) || parse_process(&c, wrapper, p, true) < 0) {
		if (!json_is_object(obj))
			fail(&c, "expected an object, got %s", type_name(obj));
		json_decref(wrapper);
		json_decref(obj);
		husk_process_free(p);
		return -1;
	}
	json_decref(wrapper);
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
