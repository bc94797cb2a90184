/* The walk through a config.json: path-stamped errors and typed accessors (spec_walk.h). */
#include "spec_walk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* JSON integers are signed 64-bit in jansson: values from 2^63 up arrive as reals. */
#define TWO_POW_63 9223372036854775808.0
#define TWO_POW_64 18446744073709551616.0

int spec_fail(struct spec_ctx *c, const char *fmt, ...)
{
	char where[512] = "", what[512];
	size_t depth = c->depth < SPEC_MAX_PATH_DEPTH ? c->depth : SPEC_MAX_PATH_DEPTH, off = 0;
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

int spec_fail_key(struct spec_ctx *c, const char *key, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	PATH_KEY(c, key);
	return spec_fail(c, "%s", what);
}

const char *spec_type_name(const json_t *v)
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

int spec_field(struct spec_ctx *c, json_t *obj, const char *key, json_type type, bool required, json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return spec_fail(c, "missing required field \"%s\"", key);
		return 0;
	}
	if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v))) {
		const char *want = type == JSON_OBJECT ? "an object" : type == JSON_ARRAY ? "an array"
				 : type == JSON_STRING ? "a string" : type == JSON_INTEGER ? "an integer" : "a boolean";
		return spec_fail_key(c, key, "expected %s, got %s", want, spec_type_name(v));
	}
	*out = v;
	return 1;
}

int spec_get_string(struct spec_ctx *c, json_t *obj, const char *key, bool required, const char **out)
{
	json_t *v;
	int rc = spec_field(c, obj, key, JSON_STRING, required, &v);

	if (rc > 0)
		*out = json_string_value(v);
	return rc;
}

int spec_get_bool(struct spec_ctx *c, json_t *obj, const char *key, bool *out)
{
	json_t *v;
	int rc = spec_field(c, obj, key, JSON_TRUE, false, &v);

	if (rc > 0)
		*out = json_is_true(v);
	return rc;
}

int spec_get_int(struct spec_ctx *c, json_t *obj, const char *key, bool required, long long min, long long max,
		 long long *out)
{
	json_t *v = json_object_get(obj, key);
	long long n;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return spec_fail(c, "missing required field \"%s\"", key);
		return 0;
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) < min || n > max)
		return spec_fail_key(c, key, "expected an integer %lld..%lld", min, max);
	*out = n;
	return 1;
}

/* Reals are accepted from 2^63 (where integers stop) to 2^64, which saturates to UINT64_MAX:
 * doubles that large are whole numbers. */
int spec_get_u64(struct spec_ctx *c, json_t *obj, const char *key, bool required, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			return spec_fail(c, "missing required field \"%s\"", key);
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
	} else if (json_is_real(v) && json_real_value(v) >= TWO_POW_63 && json_real_value(v) <= TWO_POW_64) {
		double d = json_real_value(v);
		*out = d >= TWO_POW_64 ? UINT64_MAX : (uint64_t)d;
	} else {
		return spec_fail_key(c, key, "expected an integer 0..%llu", (unsigned long long)UINT64_MAX);
	}
	return 1;
}

int spec_get_string_array(struct spec_ctx *c, json_t *obj, const char *key, bool required, const char ***out,
			  size_t *n_out)
{
	json_t *arr, *item;
	size_t i;
	int rc;

	*out = NULL;
	*n_out = 0;
	rc = spec_field(c, obj, key, JSON_ARRAY, required, &arr);
	if (rc <= 0)
		return rc;
	*n_out = json_array_size(arr);
	*out = husk_xcalloc(*n_out + 1, sizeof(char *));
	json_array_foreach(arr, i, item) {
		if (!json_is_string(item)) {
			PATH_KEY(c, key);
			PATH_INDEX(c, i);
			return spec_fail(c, "expected a string, got %s", spec_type_name(item));
		}
		(*out)[i] = json_string_value(item);
	}
	return 1;
}

int spec_get_path_array(struct spec_ctx *c, json_t *obj, const char *key, const char ***out, size_t *n_out)
{
	int rc = spec_get_string_array(c, obj, key, false, out, n_out);

	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < *n_out; i++)
		if (!spec_is_absolute((*out)[i])) {
			PATH_KEY(c, key);
			PATH_INDEX(c, i);
			return spec_fail(c, "\"%s\" is not an absolute path", (*out)[i]);
		}
	return 1;
}

int spec_parse_object_array(struct spec_ctx *c, json_t *obj, const char *key, size_t elem_size, void **out,
			    size_t *n_out, spec_element_parser one, void *data)
{
	json_t *arr, *item;
	size_t i;
	char *elems;
	int rc = spec_field(c, obj, key, JSON_ARRAY, false, &arr);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, key);
	*n_out = json_array_size(arr);
	*out = elems = husk_xcalloc(*n_out, elem_size);
	json_array_foreach(arr, i, item) {
		PATH_INDEX(c, i);
		if (!json_is_object(item))
			return spec_fail(c, "expected an object, got %s", spec_type_name(item));
		if (one(c, item, elems + i * elem_size, i, data) < 0)
			return -1;
	}
	return 1;
}

long spec_lookup_name(const struct spec_name_int *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].value;
	return -1;
}

bool spec_is_absolute(const char *p)
{
	return p[0] == '/';
}

bool spec_has_dotdot(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, "..")) != NULL) {
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return true;
		p += 2;
	}
	return false;
}

int spec_walk_done(struct spec_ctx *c, int rc)
{
	if (c->depth == 0)
		return rc;
	if (c->err)
		husk_err_clear(c->err);
	return husk_err_set(c->err, EPROTO, "%s: internal error: the field path was left %zu deep", c->file, c->depth);
}
