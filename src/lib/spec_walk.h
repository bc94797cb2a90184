/* The walk through a config.json (internal to the spec parser, not installed): the path to the
 * value being read, for error messages, and typed accessors that check and report.
 *
 * The path is a stack that only scope guards change: PATH_KEY / PATH_INDEX push a step and
 * restore the depth they found when the enclosing block is left, by any path (return, goto,
 * break, continue). There is no pop to forget, so an early return cannot leave a stale step
 * that would then prefix every later error message. Accessors (spec_field, spec_get_*) leave
 * nothing pushed: a caller that descends into the value it got declares a guard for the key in
 * the block where it uses the value. */
#ifndef HUSK_SPEC_WALK_H
#define HUSK_SPEC_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "error.h"
#include "jsonpos.h"

/* Deeper than any config.json field (linux.seccomp.syscalls[i].args[j].valueTwo is 7 steps);
 * past it the steps are counted but not recorded, and messages name the first 32. */
#define SPEC_MAX_PATH_DEPTH 32

/* Kernel limits the spec's numbers are checked against (the range shows in the messages). */
#define SPEC_DEV_MAJOR_MAX ((1 << 12) - 1)  /* 4095: the kernel's dev_t has 12 bits of major (32 - MINORBITS) */
#define SPEC_DEV_MINOR_MAX ((1 << 20) - 1)  /* 1048575: and 20 bits of minor (MINORBITS, linux/kdev_t.h) */
#define SPEC_ERRNO_MAX 4095                 /* MAX_ERRNO (linux/err.h): the largest errno a syscall returns */
#define SPEC_MODE_MAX 07777                 /* S_IALLUGO: permission bits with setuid, setgid and sticky */
#define SPEC_PERM_MAX 0777                  /* S_IRWXUGO: permission bits alone (umask) */
#define SPEC_NSEC_MAX 999999999             /* NSEC_PER_SEC - 1: a timespec's tv_nsec */

/* The walk through one document. */
struct spec_ctx {
	const char *file;
	const char *text;
	size_t len;
	struct husk_json_step path[SPEC_MAX_PATH_DEPTH];
	size_t depth;
	struct husk_err *err;
};

/* A guard's record: the depth to restore when its scope ends. */
struct spec_path_mark {
	struct spec_ctx *c;
	size_t depth;
};

static inline void spec_path_restore(struct spec_path_mark *m)
{
	m->c->depth = m->depth;
}

static inline struct spec_path_mark spec_path_step_(struct spec_ctx *c, struct husk_json_step step)
{
	struct spec_path_mark m = {c, c->depth};

	if (c->depth < SPEC_MAX_PATH_DEPTH)
		c->path[c->depth] = step;
	c->depth++;
	return m;
}

#define SPEC_CONCAT_(a, b) a##b
#define SPEC_CONCAT(a, b) SPEC_CONCAT_(a, b)
#define SPEC_PATH_GUARD_(c, step)                                                                      \
	__attribute__((cleanup(spec_path_restore), unused)) struct spec_path_mark SPEC_CONCAT(           \
		path_mark_, __COUNTER__) = spec_path_step_((c), (step))
/* The path names obj's member key (or the element at index) until the enclosing block ends. */
#define PATH_KEY(c, key) SPEC_PATH_GUARD_(c, ((struct husk_json_step){(key), 0}))
#define PATH_INDEX(c, index) SPEC_PATH_GUARD_(c, ((struct husk_json_step){NULL, (index)}))

/* At the end of a parse every guard has restored its depth: anything else is a bug in the
 * walk, reported as an error (the library never aborts); rc otherwise. */
int spec_walk_done(struct spec_ctx *c, int rc);

/* "file:line:col: a.b[2].c: message"; always returns -1 */
int spec_fail(struct spec_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* spec_fail() about obj's member key (which need not exist: then the position is obj's) */
int spec_fail_key(struct spec_ctx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "an object", "a string", ... for messages */
const char *spec_type_name(const json_t *v);

/* obj[key] with an expected type (JSON_TRUE means a boolean). Returns 1 if present, 0 if absent
 * (an error if required), -1 on error. */
int spec_field(struct spec_ctx *c, json_t *obj, const char *key, json_type type, bool required, json_t **out);
int spec_get_string(struct spec_ctx *c, json_t *obj, const char *key, bool required, const char **out);
int spec_get_bool(struct spec_ctx *c, json_t *obj, const char *key, bool *out);
/* An integer in [min, max]; the message names the range like "0..4294967295". */
int spec_get_int(struct spec_ctx *c, json_t *obj, const char *key, bool required, long long min, long long max,
		 long long *out);
/* 0..UINT64_MAX (rlimits, seccomp argument values) */
int spec_get_u64(struct spec_ctx *c, json_t *obj, const char *key, bool required, uint64_t *out);
/* An array of strings as a NULL-terminated calloc'ed vector of borrowed pointers. */
int spec_get_string_array(struct spec_ctx *c, json_t *obj, const char *key, bool required, const char ***out,
			  size_t *n_out);
/* Like spec_get_string_array, each string checked to be an absolute path. */
int spec_get_path_array(struct spec_ctx *c, json_t *obj, const char *key, const char ***out, size_t *n_out);

/* obj[key], an array of objects, into a calloc'ed array of elem_size elements, each filled by
 * one(); the path names the element ("mounts[3]") while one() runs. */
typedef int (*spec_element_parser)(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data);
int spec_parse_object_array(struct spec_ctx *c, json_t *obj, const char *key, size_t elem_size, void **out,
			    size_t *n_out, spec_element_parser one, void *data);

struct spec_name_int {
	const char *name;
	long value;
};
/* table's value for name, -1 if it has none */
long spec_lookup_name(const struct spec_name_int *table, size_t n, const char *name);

bool spec_is_absolute(const char *p);
/* a ".." component */
bool spec_has_dotdot(const char *path);

/* The parts of the document, one file each. */
struct husk_spec;
struct husk_process;
struct husk_resources;
/* root.process: 1 when there and valid, 0 when absent and not required, -1 on error */
int spec_parse_process(struct spec_ctx *c, json_t *root, struct husk_process *p, bool required);   /* spec_process.c */
int spec_parse_mounts(struct spec_ctx *c, json_t *root, struct husk_spec *spec);                   /* spec_mounts.c */
int spec_parse_hooks(struct spec_ctx *c, json_t *root, struct husk_spec *spec);                    /* spec_mounts.c */
int spec_parse_linux(struct spec_ctx *c, json_t *root, struct husk_spec *spec);                    /* spec_linux.c */
/* linux.resources (obj) with its devices rules */
int spec_parse_linux_resources(struct spec_ctx *c, json_t *obj, struct husk_spec *spec);           /* spec_resources.c */

#endif
