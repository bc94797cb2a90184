/* config.json's mounts and hooks. */
#define _GNU_SOURCE
#include "spec.h"

#include <string.h>
#include <sys/mount.h>

#include "names.h"
#include "spec_walk.h"
#include "util.h"

#define HOOK_TIMEOUT_MAX 86400 /* seconds: a day, husk's own bound (the spec sets none) */

/* options: flags and propagation into m, the filesystem's own options (and unknown "k=v"
 * ones) joined into m->data */
static int parse_mount_options(struct spec_ctx *c, json_t *options, struct husk_mount *m)
{
	json_t *item;
	size_t i, data_len = 0;
	_cleanup_free_ char *data = NULL;

	json_array_foreach(options, i, item) {
		const struct husk_mount_opt *opt;
		const char *name;
		PATH_INDEX(c, i);
		if (!json_is_string(item))
			return spec_fail(c, "expected a mount option, got %s", spec_type_name(item));
		name = json_string_value(item);
		opt = husk_mount_opt_lookup(name);
		if (opt == NULL && strchr(name, '=') == NULL)
			return spec_fail(c, "unknown mount option \"%s\"", name);
		if (opt == NULL || opt->kind == HUSK_MOPT_DATA) {
			size_t n = strlen(name);
			data = husk_xrealloc(data, data_len + n + 2);
			if (data_len)
				data[data_len++] = ',';
			memcpy(data + data_len, name, n + 1);
			data_len += n;
			continue;
		}
		switch (opt->kind) {
		case HUSK_MOPT_FLAG: m->flags |= opt->value; m->clear_flags &= ~opt->value; break;
		case HUSK_MOPT_CLEAR: m->flags &= ~opt->value; m->clear_flags |= opt->value; break;
		case HUSK_MOPT_PROPAGATION: m->propagation = opt->value; break;
		case HUSK_MOPT_ATTR: m->attr_set |= opt->value; m->attr_clr &= ~opt->value; break;
		case HUSK_MOPT_ATTR_CLEAR: m->attr_clr |= opt->value; m->attr_set &= ~opt->value; break;
		case HUSK_MOPT_HUSK:
			if (strcmp(name, "tmpcopyup") != 0)
				return spec_fail(c, "mount option \"%s\" is not supported by husk yet", name);
			m->tmpcopyup = true;
			break;
		default: break;
		}
	}
	m->data = steal_pointer(&data);
	return 0;
}

static int parse_mount(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_mount *m = elem;
	json_t *options;
	int rc;
	(void)index;
	(void)data;

	if (spec_get_string(c, item, "destination", true, &m->destination) < 0 ||
	    spec_get_string(c, item, "type", false, &m->type) < 0 ||
	    spec_get_string(c, item, "source", false, &m->source) < 0)
		return -1;
	if (m->destination[0] == '\0')
		return spec_fail_key(c, "destination", "must not be empty");
	rc = spec_field(c, item, "options", JSON_ARRAY, false, &options);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		PATH_KEY(c, "options");
		if (parse_mount_options(c, options, m) < 0)
			return -1;
	}
	if (m->type && strcmp(m->type, "bind") == 0)
		m->flags |= MS_BIND;
	if (!(m->flags & MS_BIND) && (m->type == NULL || m->type[0] == '\0'))
		return spec_fail(c, "a mount needs a \"type\" unless it is a bind mount");
	if ((m->flags & MS_BIND) && m->source == NULL)
		return spec_fail(c, "a bind mount needs a \"source\"");
	return 0;
}

int spec_parse_mounts(struct spec_ctx *c, json_t *root, struct husk_spec *spec)
{
	return spec_parse_object_array(c, root, "mounts", sizeof(struct husk_mount), (void **)&spec->mounts,
				       &spec->n_mounts, parse_mount, NULL);
}

const char *const husk_hook_kind_names[HUSK_HOOK_KINDS] = {
	[HUSK_HOOK_PRESTART] = "prestart", [HUSK_HOOK_CREATE_RUNTIME] = "createRuntime",
	[HUSK_HOOK_CREATE_CONTAINER] = "createContainer", [HUSK_HOOK_START_CONTAINER] = "startContainer",
	[HUSK_HOOK_POSTSTART] = "poststart", [HUSK_HOOK_POSTSTOP] = "poststop",
};

static int parse_hook(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_hook *h = elem;
	long long n = 0;
	(void)index;
	(void)data;

	if (spec_get_string(c, item, "path", true, &h->path) < 0 ||
	    spec_get_string_array(c, item, "args", false, &h->args, &h->n_args) < 0 ||
	    spec_get_string_array(c, item, "env", false, &h->env, &h->n_env) < 0 ||
	    spec_get_int(c, item, "timeout", false, 1, HOOK_TIMEOUT_MAX, &n) < 0)
		return -1;
	if (!spec_is_absolute(h->path))
		return spec_fail_key(c, "path", "\"%s\" is not an absolute path", h->path);
	h->timeout = (int)n;
	return 0;
}

int spec_parse_hooks(struct spec_ctx *c, json_t *root, struct husk_spec *spec)
{
	json_t *obj;
	int rc = spec_field(c, root, "hooks", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "hooks");
	for (int k = 0; k < HUSK_HOOK_KINDS; k++)
		if (spec_parse_object_array(c, obj, husk_hook_kind_names[k], sizeof(struct husk_hook),
					    (void **)&spec->hooks[k], &spec->n_hooks[k], parse_hook, NULL) < 0)
			return -1;
	return 1;
}
