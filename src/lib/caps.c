#define _GNU_SOURCE
#include "caps.h"

#include <ctype.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "util.h"

int husk_caps_apply_bounding(const struct husk_process *p, struct husk_err *err)
{
	int last = (int)cap_max_bits();

	if (!p->has_caps)
		return 0;
	for (int cap = 0; cap < last && cap < 64; cap++) {
		if (p->caps[HUSK_CAP_BOUNDING] & (1ull << cap))
			continue;
		if (cap_drop_bound((cap_value_t)cap) < 0 && errno != EINVAL)
			return husk_err_sys(err, "drop capability %d from the bounding set", cap);
	}
	return 0;
}

int husk_caps_apply(const struct husk_process *p, struct husk_err *err)
{
	static const struct { enum husk_cap_set set; cap_flag_t flag; } sets[] = {
		{HUSK_CAP_EFFECTIVE, CAP_EFFECTIVE}, {HUSK_CAP_PERMITTED, CAP_PERMITTED},
		{HUSK_CAP_INHERITABLE, CAP_INHERITABLE},
	};
	int last = (int)cap_max_bits();
	cap_t caps;

	if (!p->has_caps)
		return 0;
	caps = cap_init();
	if (!caps)
		return husk_err_sys(err, "allocate capability state");
	for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
		for (int cap = 0; cap < last && cap < 64; cap++)
			if (p->caps[sets[s].set] & (1ull << cap)) {
				cap_value_t v = (cap_value_t)cap;
				cap_set_flag(caps, sets[s].flag, 1, &v, CAP_SET);
			}
	if (cap_set_proc(caps) < 0) {
		cap_free(caps);
		return husk_err_sys(err, "set capabilities (a set may hold one the bounding set lacks)");
	}
	cap_free(caps);
	/* ambient capabilities must be permitted and inheritable already: set them last. Those
	 * that are not, the kernel refuses (EPERM): they are left out, as runc and crun do, since
	 * the configs `runc spec` and `crun spec` write list such ones; husk warns about them
	 * (husk_caps_ambient_warning) */
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return husk_err_sys(err, "clear ambient capabilities");
	for (int cap = 0; cap < last && cap < 64; cap++)
		if ((p->caps[HUSK_CAP_AMBIENT] & ~husk_caps_ambient_unraisable(p)) & (1ull << cap))
			if (cap_set_ambient((cap_value_t)cap, CAP_SET) < 0)
				return husk_err_sys(err, "raise ambient capability %d", cap);
	return 0;
}

int husk_cap_from_name(const char *name)
{
	char lower[64];
	cap_value_t cap;
	size_t i;

	if (strncmp(name, "CAP_", 4) != 0 || strlen(name) >= sizeof(lower))
		return -1;
	for (i = 0; name[i]; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	if (cap_from_name(lower, &cap) < 0)
		return -1;
	return (int)cap;
}

uint64_t husk_caps_ambient_unraisable(const struct husk_process *p)
{
	if (!p->has_caps)
		return 0;
	return p->caps[HUSK_CAP_AMBIENT] & ~(p->caps[HUSK_CAP_PERMITTED] & p->caps[HUSK_CAP_INHERITABLE]);
}

int husk_caps_ambient_warning(const struct husk_process *p, struct husk_err *warning)
{
	uint64_t skipped = husk_caps_ambient_unraisable(p);
	char names[HUSK_ERR_MSG_MAX / 2] = "";
	size_t used = 0;

	if (!skipped)
		return 0;
	for (int cap = 0; cap < 64 && used < sizeof(names); cap++) {
		char *name;
		if (!(skipped & (1ull << cap)))
			continue;
		/* libcap says "cap_kill"; the config says "CAP_KILL" */
		name = cap_to_name((cap_value_t)cap);
		for (char *c = name; c && *c; c++)
			*c = (char)toupper((unsigned char)*c);
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
					 name ? name : "?");
		cap_free(name);
	}
	husk_err_set(warning, 0,
		     "process.capabilities.ambient: %s left out: the kernel raises an ambient capability only if it "
		     "is also permitted and inheritable", names);
	return 1;
}
