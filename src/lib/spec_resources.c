/* linux.resources of config.json, and update's --resources file: the cgroup limits. */
#define _GNU_SOURCE
#include "spec.h"

#include <string.h>

#include "spec_walk.h"
#include "util.h"

/* uint64 fields where the spec allows the whole range: kept as int64, above that refused */
#define BIG INT64_MAX
/* Kernel ranges of the cgroup files these fields are written to. */
#define BLKIO_WEIGHT_MIN 10         /* blkio.weight (CFQ/BFQ): 10..1000 */
#define BLKIO_WEIGHT_MAX 1000
#define SWAPPINESS_MAX 100          /* memory.swappiness */
#define CPU_SHARES_MAX (1 << 18)    /* MAX_SHARES (kernel/sched/sched.h): 262144 */
#define CFS_PERIOD_MAX_US 1000000   /* max_cfs_quota_period: 1 s */
#define CFS_PERIOD_MIN_US 1000      /* min_cfs_quota_period: 1 ms, the least quota too */

static int get_opt(struct spec_ctx *c, json_t *obj, const char *key, long long min, long long max,
		   struct husk_opt_i64 *o)
{
	long long n;
	int rc = spec_get_int(c, obj, key, false, min, max, &n);

	if (rc > 0) {
		o->set = true;
		o->v = n;
	}
	return rc;
}

static int parse_device_rule(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_device_rule *r = elem;
	const char *type = "a", *access = "rwm";
	long long n;
	int rc;
	(void)index;
	(void)data;

	if (!json_is_boolean(json_object_get(item, "allow")))
		return spec_fail_key(c, "allow", "expected a boolean");
	r->allow = json_is_true(json_object_get(item, "allow"));
	if (spec_get_string(c, item, "type", false, &type) < 0 || spec_get_string(c, item, "access", false, &access) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("acb", type[0]))
		return spec_fail_key(c, "type", "unknown device type \"%s\" (expected a, c or b)", type);
	r->type = type[0];
	if (strlen(access) >= sizeof(r->access) || strspn(access, "rwm") != strlen(access))
		return spec_fail_key(c, "access", "\"%s\" is not made of r, w and m", access);
	strcpy(r->access, *access ? access : "rwm");
	r->major = r->minor = -1;
	if ((rc = spec_get_int(c, item, "major", false, -1, SPEC_DEV_MAJOR_MAX, &n)) < 0)
		return -1;
	if (rc > 0)
		r->major = n;
	if ((rc = spec_get_int(c, item, "minor", false, -1, SPEC_DEV_MINOR_MAX, &n)) < 0)
		return -1;
	if (rc > 0)
		r->minor = n;
	return 0;
}

/* data: non-NULL for weightDevice (weights), NULL for the throttle lists (a rate) */
static int parse_blkio_device(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_blkio_device *d = elem;
	bool weights = data != NULL;
	long long n;
	(void)index;

	if (spec_get_int(c, item, "major", true, 0, SPEC_DEV_MAJOR_MAX, &n) < 0)
		return -1;
	d->major = n;
	if (spec_get_int(c, item, "minor", true, 0, SPEC_DEV_MINOR_MAX, &n) < 0)
		return -1;
	d->minor = n;
	if (weights)
		return get_opt(c, item, "weight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &d->weight) < 0 ||
		       get_opt(c, item, "leafWeight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &d->leaf_weight) < 0 ? -1 : 0;
	if (get_opt(c, item, "rate", 0, BIG, &d->rate) < 0)
		return -1;
	if (!d->rate.set)
		return spec_fail_key(c, "rate", "missing required field \"rate\"");
	return 0;
}

static int parse_hugepage(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_named_value *h = elem;
	long long n;
	(void)index;
	(void)data;

	if (spec_get_string(c, item, "pageSize", true, &h->name) < 0 || spec_get_int(c, item, "limit", true, 0, BIG, &n) < 0)
		return -1;
	/* "2MB", "1GB", "64KB": the hugetlb file names use these */
	size_t len = strlen(h->name);
	if (len < 3 || strspn(h->name, "0123456789") != len - 2 ||
	    (strcmp(h->name + len - 2, "KB") && strcmp(h->name + len - 2, "MB") && strcmp(h->name + len - 2, "GB")))
		return spec_fail_key(c, "pageSize", "\"%s\" is not a page size like 2MB or 1GB", h->name);
	h->number = n;
	return 0;
}

static int parse_net_priority(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_named_value *p = elem;
	long long n;
	(void)index;
	(void)data;

	if (spec_get_string(c, item, "name", true, &p->name) < 0 ||
	    spec_get_int(c, item, "priority", true, 0, UINT32_MAX, &n) < 0)
		return -1;
	if (!*p->name || strpbrk(p->name, " \n/"))
		return spec_fail_key(c, "name", "\"%s\" is not an interface name", p->name);
	p->number = n;
	return 0;
}

static bool plain_name(const char *s)
{
	return *s && !strpbrk(s, " \n/") && !spec_has_dotdot(s);
}

static int parse_memory(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	json_t *sub;
	int rc = spec_field(c, obj, "memory", JSON_OBJECT, false, &sub);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "memory");
	/* -1 is "no limit", as in runc */
	if (get_opt(c, sub, "limit", -1, BIG, &r->memory.limit) < 0 ||
	    get_opt(c, sub, "reservation", -1, BIG, &r->memory.reservation) < 0 ||
	    get_opt(c, sub, "swap", -1, BIG, &r->memory.swap) < 0 ||
	    get_opt(c, sub, "kernel", -1, BIG, &r->memory.kernel) < 0 ||
	    get_opt(c, sub, "kernelTCP", -1, BIG, &r->memory.kernel_tcp) < 0 ||
	    get_opt(c, sub, "swappiness", 0, SWAPPINESS_MAX, &r->memory.swappiness) < 0)
		return -1;
	if ((rc = spec_get_bool(c, sub, "disableOOMKiller", &r->memory.disable_oom_killer)) < 0)
		return -1;
	r->memory.has_disable_oom_killer = rc > 0;
	if ((rc = spec_get_bool(c, sub, "useHierarchy", &r->memory.use_hierarchy)) < 0)
		return -1;
	r->memory.has_use_hierarchy = rc > 0;
	if (spec_get_bool(c, sub, "checkBeforeUpdate", &r->memory.check_before_update) < 0)
		return -1;
	if (r->memory.limit.set && r->memory.swap.set && r->memory.limit.v > 0 && r->memory.swap.v > 0 &&
	    r->memory.swap.v < r->memory.limit.v)
		return spec_fail_key(c, "swap", "memory+swap (%lld) is below the memory limit (%lld)",
				     (long long)r->memory.swap.v, (long long)r->memory.limit.v);
	return 1;
}

static int parse_cpu(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	json_t *sub;
	int rc = spec_field(c, obj, "cpu", JSON_OBJECT, false, &sub);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "cpu");
	if (get_opt(c, sub, "shares", 0, CPU_SHARES_MAX, &r->cpu.shares) < 0 ||
	    get_opt(c, sub, "quota", -1, BIG, &r->cpu.quota) < 0 ||
	    get_opt(c, sub, "period", 0, CFS_PERIOD_MAX_US, &r->cpu.period) < 0 ||
	    get_opt(c, sub, "burst", 0, BIG, &r->cpu.burst) < 0 ||
	    get_opt(c, sub, "realtimeRuntime", -1, BIG, &r->cpu.realtime_runtime) < 0 ||
	    get_opt(c, sub, "realtimePeriod", 0, BIG, &r->cpu.realtime_period) < 0 ||
	    get_opt(c, sub, "idle", 0, 1, &r->cpu.idle) < 0 ||
	    spec_get_string(c, sub, "cpus", false, &r->cpu.cpus) < 0 ||
	    spec_get_string(c, sub, "mems", false, &r->cpu.mems) < 0)
		return -1;
	/* the kernel takes periods of 1 ms .. 1 s, and quotas of at least 1 ms */
	if (r->cpu.period.set && r->cpu.period.v != 0 && r->cpu.period.v < CFS_PERIOD_MIN_US)
		return spec_fail_key(c, "period", "%lld us is below the kernel's minimum of %d us",
				     (long long)r->cpu.period.v, CFS_PERIOD_MIN_US);
	if (r->cpu.quota.set && r->cpu.quota.v > 0 && r->cpu.quota.v < CFS_PERIOD_MIN_US)
		return spec_fail_key(c, "quota", "%lld us is below the kernel's minimum of %d us",
				     (long long)r->cpu.quota.v, CFS_PERIOD_MIN_US);
	if ((r->cpu.cpus && strspn(r->cpu.cpus, "0123456789,-") != strlen(r->cpu.cpus)) ||
	    (r->cpu.mems && strspn(r->cpu.mems, "0123456789,-") != strlen(r->cpu.mems)))
		return spec_fail(c, "cpus and mems are lists like \"0-2,4\"");
	return 1;
}

static int parse_pids(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	json_t *sub;
	int rc = spec_field(c, obj, "pids", JSON_OBJECT, false, &sub);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "pids");
	return get_opt(c, sub, "limit", -1, BIG, &r->pids_limit) < 0 ? -1 : 1;
}

static int parse_block_io(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	/* in the order of husk_resources.blkio.throttle */
	static const char *const throttles[] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
						 "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
	json_t *sub;
	int rc = spec_field(c, obj, "blockIO", JSON_OBJECT, false, &sub);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "blockIO");
	if (get_opt(c, sub, "weight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &r->blkio.weight) < 0 ||
	    get_opt(c, sub, "leafWeight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &r->blkio.leaf_weight) < 0 ||
	    spec_parse_object_array(c, sub, "weightDevice", sizeof(struct husk_blkio_device),
				    (void **)&r->blkio.weight_device, &r->blkio.n_weight_device, parse_blkio_device, r) < 0)
		return -1;
	_Static_assert(ARRAY_SIZE(throttles) == ARRAY_SIZE(r->blkio.throttle), "one name per throttle list");
	for (size_t t = 0; t < ARRAY_SIZE(throttles); t++)
		if (spec_parse_object_array(c, sub, throttles[t], sizeof(struct husk_blkio_device),
					    (void **)&r->blkio.throttle[t], &r->blkio.n_throttle[t], parse_blkio_device,
					    NULL) < 0)
			return -1;
	return 1;
}

static int parse_network(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	json_t *sub;
	int rc = spec_field(c, obj, "network", JSON_OBJECT, false, &sub);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "network");
	if (get_opt(c, sub, "classID", 0, UINT32_MAX, &r->net_class_id) < 0 ||
	    spec_parse_object_array(c, sub, "priorities", sizeof(struct husk_named_value), (void **)&r->net_priorities,
				    &r->n_net_priorities, parse_net_priority, NULL) < 0)
		return -1;
	return 1;
}

static int parse_rdma(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	json_t *sub, *value;
	const char *key;
	int rc = spec_field(c, obj, "rdma", JSON_OBJECT, false, &sub);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "rdma");
	r->rdma = husk_xcalloc(json_object_size(sub), sizeof(*r->rdma));
	json_object_foreach(sub, key, value) {
		struct husk_named_value *d = &r->rdma[r->n_rdma++];
		PATH_KEY(c, key);
		d->name = key;
		if (!json_is_object(value) || !plain_name(key))
			return spec_fail(c, "expected an object for an RDMA device");
		if (get_opt(c, value, "hcaHandles", 0, UINT32_MAX, &d->hca_handles) < 0 ||
		    get_opt(c, value, "hcaObjects", 0, UINT32_MAX, &d->hca_objects) < 0)
			return -1;
	}
	return 1;
}

static int parse_unified(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	json_t *sub, *value;
	const char *key;
	int rc = spec_field(c, obj, "unified", JSON_OBJECT, false, &sub);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "unified");
	r->unified = husk_xcalloc(json_object_size(sub), sizeof(*r->unified));
	json_object_foreach(sub, key, value) {
		struct husk_named_value *u = &r->unified[r->n_unified++];
		PATH_KEY(c, key);
		/* a file of the container's own cgroup, never a path out of it */
		if (!plain_name(key) || !strchr(key, '.') || strncmp(key, "cgroup.", strlen("cgroup.")) == 0)
			return spec_fail(c, "\"%s\" is not a controller file of the container's cgroup", key);
		if (!json_is_string(value))
			return spec_fail(c, "expected a string, got %s", spec_type_name(value));
		u->name = key;
		u->value = json_string_value(value);
	}
	return 1;
}

static int parse_resources_obj(struct spec_ctx *c, json_t *obj, struct husk_resources *r)
{
	r->present = true;
	if (parse_memory(c, obj, r) < 0 || parse_cpu(c, obj, r) < 0 || parse_pids(c, obj, r) < 0 ||
	    parse_block_io(c, obj, r) < 0 ||
	    spec_parse_object_array(c, obj, "hugepageLimits", sizeof(struct husk_named_value), (void **)&r->hugepages,
				    &r->n_hugepages, parse_hugepage, NULL) < 0 ||
	    parse_network(c, obj, r) < 0 || parse_rdma(c, obj, r) < 0 || parse_unified(c, obj, r) < 0)
		return -1;
	return 0;
}

int spec_parse_linux_resources(struct spec_ctx *c, json_t *obj, struct husk_spec *spec)
{
	if (spec_parse_object_array(c, obj, "devices", sizeof(struct husk_device_rule), (void **)&spec->device_rules,
				    &spec->n_device_rules, parse_device_rule, NULL) < 0)
		return -1;
	return parse_resources_obj(c, obj, &spec->resources);
}

void husk_resources_free(struct husk_resources *r)
{
	free(r->blkio.weight_device);
	for (size_t t = 0; t < ARRAY_SIZE(r->blkio.throttle); t++)
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
	struct spec_ctx c = {.file = file, .text = text, .len = len, .err = err};
	json_error_t jerr;
	int rc;

	memset(res, 0, sizeof(*res));
	*json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*json)
		return husk_err_set(err, 0, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(*json))
		rc = spec_fail(&c, "expected an object, got %s", spec_type_name(*json));
	else
		rc = parse_resources_obj(&c, *json, res);
	rc = spec_walk_done(&c, rc);
	if (rc < 0) {
		husk_resources_free(res);
		json_decref(*json);
		*json = NULL;
		return -1;
	}
	return 0;
}
