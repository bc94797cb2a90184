#define _GNU_SOURCE
#include "cgroup_limits.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "util.h"

struct plan {
	struct husk_cgroup_write *w;
	size_t n;
};

static struct husk_cgroup_write *add(struct plan *p, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct husk_cgroup_write *add(struct plan *p, const char *file, const char *fmt, ...)
{
	struct husk_cgroup_write *w;
	va_list ap;

	p->w = husk_xrealloc(p->w, (p->n + 1) * sizeof(*p->w));
	w = &p->w[p->n++];
	memset(w, 0, sizeof(*w));
	snprintf(w->file, sizeof(w->file), "%s", file);
	va_start(ap, fmt);
	vsnprintf(w->value, sizeof(w->value), fmt, ap);
	va_end(ap);
	return w;
}

static void limit_or_max(char *buf, size_t len, int64_t v, const char *unlimited)
{
	if (v < 0)
		snprintf(buf, len, "%s", unlimited);
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* runc's conversions, so a config means the same on both versions */
static uint64_t shares_to_weight(int64_t shares)
{
	return shares < 2 ? 1 : 1 + (uint64_t)((shares - 2) * 9999) / 262142;
}

static uint64_t blkio_to_io_weight(int64_t weight)
{
	return 1 + (uint64_t)((weight - 10) * 9999) / 990;
}

/* The files that are the same on v1 and v2 */
static void plan_common(const struct husk_resources *r, struct plan *p)
{
	char v[32];

	if (r->cpu.idle.set)
		add(p, "cpu.idle", "%" PRId64, r->cpu.idle.v);
	if (r->cpu.cpus && *r->cpu.cpus)
		add(p, "cpuset.cpus", "%s", r->cpu.cpus);
	if (r->cpu.mems && *r->cpu.mems)
		add(p, "cpuset.mems", "%s", r->cpu.mems);
	if (r->pids_limit.set) {
		/* 0 and -1 both mean no limit, as runc reads the spec */
		limit_or_max(v, sizeof(v), r->pids_limit.v <= 0 ? -1 : r->pids_limit.v, "max");
		add(p, "pids.max", "%s", v);
	}
}

static int plan_v1(const struct husk_resources *r, struct plan *p, struct husk_err *err)
{
	static const char *const throttle_files[4] = {"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
						      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};

	if (r->n_unified)
		return husk_err_set(err, EINVAL, "linux.resources.unified: cgroup v2 keys cannot be set on this cgroup v1 host");
	/* 0 is "not set" for the memory values, as runc reads them: a 0 limit would be refused */
	if (r->memory.limit.set && r->memory.limit.v)
		add(p, "memory.limit_in_bytes", "%" PRId64, r->memory.limit.v);
	if (r->memory.reservation.set && r->memory.reservation.v)
		add(p, "memory.soft_limit_in_bytes", "%" PRId64, r->memory.reservation.v);
	if (r->memory.swap.set && r->memory.swap.v)
		add(p, "memory.memsw.limit_in_bytes", "%" PRId64, r->memory.swap.v);
	if (r->memory.kernel.set)
		add(p, "memory.kmem.limit_in_bytes", "%" PRId64, r->memory.kernel.v)->optional = true;
	if (r->memory.kernel_tcp.set)
		add(p, "memory.kmem.tcp.limit_in_bytes", "%" PRId64, r->memory.kernel_tcp.v)->optional = true;
	if (r->memory.swappiness.set)
		add(p, "memory.swappiness", "%" PRId64, r->memory.swappiness.v);
	if (r->memory.has_disable_oom_killer)
		add(p, "memory.oom_control", "%d", r->memory.disable_oom_killer ? 1 : 0);
	if (r->memory.has_use_hierarchy)
		add(p, "memory.use_hierarchy", "%d", r->memory.use_hierarchy ? 1 : 0);
	if (r->cpu.shares.set && r->cpu.shares.v)
		add(p, "cpu.shares", "%" PRId64, r->cpu.shares.v);
	if (r->cpu.period.set && r->cpu.period.v)
		add(p, "cpu.cfs_period_us", "%" PRId64, r->cpu.period.v);
	if (r->cpu.quota.set && r->cpu.quota.v)
		add(p, "cpu.cfs_quota_us", "%" PRId64, r->cpu.quota.v);
	if (r->cpu.burst.set)
		add(p, "cpu.cfs_burst_us", "%" PRId64, r->cpu.burst.v);
	if (r->cpu.realtime_period.set && r->cpu.realtime_period.v)
		add(p, "cpu.rt_period_us", "%" PRId64, r->cpu.realtime_period.v);
	if (r->cpu.realtime_runtime.set)
		add(p, "cpu.rt_runtime_us", "%" PRId64, r->cpu.realtime_runtime.v);
	plan_common(r, p);
	if (r->blkio.weight.set) {
		struct husk_cgroup_write *w = add(p, "blkio.weight", "%" PRId64, r->blkio.weight.v);
		snprintf(w->alt_file, sizeof(w->alt_file), "blkio.bfq.weight");
		snprintf(w->alt_value, sizeof(w->alt_value), "%" PRId64, r->blkio.weight.v);
	}
	if (r->blkio.leaf_weight.set)
		add(p, "blkio.leaf_weight", "%" PRId64, r->blkio.leaf_weight.v);
	for (size_t i = 0; i < r->blkio.n_weight_device; i++) {
		const struct husk_blkio_device *d = &r->blkio.weight_device[i];
		if (d->weight.set) {
			struct husk_cgroup_write *w = add(p, "blkio.weight_device", "%" PRId64 ":%" PRId64 " %" PRId64,
							  d->major, d->minor, d->weight.v);
			snprintf(w->alt_file, sizeof(w->alt_file), "blkio.bfq.weight_device");
			snprintf(w->alt_value, sizeof(w->alt_value), "%s", w->value);
		}
		if (d->leaf_weight.set)
			add(p, "blkio.leaf_weight_device", "%" PRId64 ":%" PRId64 " %" PRId64, d->major, d->minor, d->leaf_weight.v);
	}
	for (int t = 0; t < 4; t++)
		for (size_t i = 0; i < r->blkio.n_throttle[t]; i++) {
			const struct husk_blkio_device *d = &r->blkio.throttle[t][i];
			add(p, throttle_files[t], "%" PRId64 ":%" PRId64 " %" PRId64, d->major, d->minor, d->rate.v);
		}
	for (size_t i = 0; i < r->n_hugepages; i++) {
		char file[64];
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", r->hugepages[i].name);
		add(p, file, "%" PRId64, r->hugepages[i].number);
	}
	if (r->net_class_id.set)
		add(p, "net_cls.classid", "%" PRId64, r->net_class_id.v);
	for (size_t i = 0; i < r->n_net_priorities; i++)
		add(p, "net_prio.ifpriomap", "%s %" PRId64, r->net_priorities[i].name, r->net_priorities[i].number);
	return 0;
}

static int plan_v2(const struct husk_resources *r, struct plan *p, struct husk_err *err)
{
	static const char *const io_keys[4] = {"rbps", "wbps", "riops", "wiops"};
	char v[32], period[32];

	if (r->memory.kernel.set || r->memory.kernel_tcp.set)
		return husk_err_set(err, EINVAL, "linux.resources.memory: kernel and kernelTCP limits do not exist on cgroup v2");
	if (r->memory.swappiness.set)
		return husk_err_set(err, EINVAL, "linux.resources.memory.swappiness: not a cgroup v2 setting");
	if (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer)
		return husk_err_set(err, EINVAL, "linux.resources.memory.disableOOMKiller: cgroup v2 cannot turn the OOM killer off");
	if (r->memory.has_use_hierarchy && !r->memory.use_hierarchy)
		return husk_err_set(err, EINVAL, "linux.resources.memory.useHierarchy: cgroup v2 is always hierarchical");
	if (r->cpu.realtime_runtime.set || r->cpu.realtime_period.set)
		return husk_err_set(err, EINVAL, "linux.resources.cpu: realtime runtime and period do not exist on cgroup v2");
	if (r->net_class_id.set || r->n_net_priorities)
		return husk_err_set(err, EINVAL, "linux.resources.network: net_cls and net_prio are cgroup v1 only");
	if (r->blkio.leaf_weight.set)
		return husk_err_set(err, EINVAL, "linux.resources.blockIO.leafWeight: not a cgroup v2 setting");
	/* 0 is "not set", as on v1 */
	if (r->memory.limit.set && r->memory.limit.v) {
		limit_or_max(v, sizeof(v), r->memory.limit.v, "max");
		add(p, "memory.max", "%s", v);
	}
	if (r->memory.reservation.set && r->memory.reservation.v) {
		limit_or_max(v, sizeof(v), r->memory.reservation.v, "max");
		add(p, "memory.low", "%s", v);
	}
	if (r->memory.swap.set && r->memory.swap.v) {
		/* the spec's swap is memory+swap (v1's memsw); v2 limits swap alone */
		if (r->memory.swap.v < 0)
			add(p, "memory.swap.max", "max");
		else if (r->memory.limit.set && r->memory.limit.v > 0)
			add(p, "memory.swap.max", "%" PRId64, r->memory.swap.v - r->memory.limit.v);
		else
			return husk_err_set(err, EINVAL, "linux.resources.memory.swap: on cgroup v2 it needs memory.limit as well");
	} else if (r->memory.limit.set && r->memory.limit.v < 0) {
		/* unlimited memory and swap left alone reads as "both unlimited", as on v1 where
		 * memsw cannot be below the memory limit (runc's conversion does the same) */
		add(p, "memory.swap.max", "max");
	}
	if (r->cpu.shares.set && r->cpu.shares.v)
		add(p, "cpu.weight", "%" PRIu64, shares_to_weight(r->cpu.shares.v));
	if ((r->cpu.quota.set && r->cpu.quota.v) || (r->cpu.period.set && r->cpu.period.v)) {
		snprintf(period, sizeof(period), "%" PRId64, r->cpu.period.set && r->cpu.period.v ? r->cpu.period.v : 100000);
		limit_or_max(v, sizeof(v), r->cpu.quota.set && r->cpu.quota.v > 0 ? r->cpu.quota.v : -1, "max");
		add(p, "cpu.max", "%s %s", v, period);
	}
	if (r->cpu.burst.set)
		add(p, "cpu.max.burst", "%" PRId64, r->cpu.burst.v);
	plan_common(r, p);
	if (r->blkio.weight.set) {
		struct husk_cgroup_write *w = add(p, "io.bfq.weight", "%" PRId64, r->blkio.weight.v);
		snprintf(w->alt_file, sizeof(w->alt_file), "io.weight");
		snprintf(w->alt_value, sizeof(w->alt_value), "default %" PRIu64, blkio_to_io_weight(r->blkio.weight.v));
	}
	for (size_t i = 0; i < r->blkio.n_weight_device; i++) {
		const struct husk_blkio_device *d = &r->blkio.weight_device[i];
		if (d->weight.set) {
			struct husk_cgroup_write *w = add(p, "io.bfq.weight", "%" PRId64 ":%" PRId64 " %" PRId64,
							  d->major, d->minor, d->weight.v);
			snprintf(w->alt_file, sizeof(w->alt_file), "io.weight");
			snprintf(w->alt_value, sizeof(w->alt_value), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
				 blkio_to_io_weight(d->weight.v));
		}
	}
	for (int t = 0; t < 4; t++)
		for (size_t i = 0; i < r->blkio.n_throttle[t]; i++) {
			const struct husk_blkio_device *d = &r->blkio.throttle[t][i];
			add(p, "io.max", "%" PRId64 ":%" PRId64 " %s=%" PRId64, d->major, d->minor, io_keys[t], d->rate.v);
		}
	for (size_t i = 0; i < r->n_hugepages; i++) {
		char file[64];
		snprintf(file, sizeof(file), "hugetlb.%s.max", r->hugepages[i].name);
		add(p, file, "%" PRId64, r->hugepages[i].number);
	}
	for (size_t i = 0; i < r->n_unified; i++)
		add(p, r->unified[i].name, "%s", r->unified[i].value);
	return 0;
}

int husk_cgroup_plan(const struct husk_resources *res, bool v2, struct husk_cgroup_write **writes, size_t *n,
		     struct husk_err *err)
{
	struct plan p = {0};

	for (size_t i = 0; i < res->n_rdma; i++) {
		const struct husk_named_value *d = &res->rdma[i];
		char handles[32] = "max", objects[32] = "max";
		if (d->hca_handles.set)
			snprintf(handles, sizeof(handles), "%" PRId64, d->hca_handles.v);
		if (d->hca_objects.set)
			snprintf(objects, sizeof(objects), "%" PRId64, d->hca_objects.v);
		add(&p, "rdma.max", "%s hca_handle=%s hca_object=%s", d->name, handles, objects);
	}
	if ((v2 ? plan_v2(res, &p, err) : plan_v1(res, &p, err)) < 0) {
		free(p.w);
		return -1;
	}
	*writes = p.w;
	*n = p.n;
	return 0;
}

static const char *dir_with(char *const *dirs, size_t n_dirs, const char *file)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n_dirs; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], file);
		if (access(path, F_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

/* 0: written; 1: the file is nowhere (and optional); -1: failed, errno set */
static int write_one(char *const *dirs, size_t n_dirs, const struct husk_cgroup_write *w, const char **where)
{
	const char *file = w->file, *value = w->value, *dir = dir_with(dirs, n_dirs, w->file);
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;

	if (!dir && w->alt_file[0] && (dir = dir_with(dirs, n_dirs, w->alt_file))) {
		file = w->alt_file;
		value = w->alt_value;
	}
	*where = file;
	if (!dir) {
		if (w->optional)
			return 1;
		errno = ENOENT;
		return -1;
	}
	path = husk_xasprintf("%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		return -1;
	return 0;
}

int husk_cgroup_apply(char *const *dirs, size_t n_dirs, const struct husk_cgroup_write *writes, size_t n,
		      struct husk_err *err)
{
	_cleanup_free_ bool *retry = husk_xcalloc(n ? n : 1, sizeof(bool));
	bool any_retry = false;
	const char *file;

	for (size_t i = 0; i < n; i++)
		if (write_one(dirs, n_dirs, &writes[i], &file) < 0) {
			if (errno == ENOENT)
				return husk_err_set(err, ENOENT, "cgroup file %s: no such file in the container's cgroup "
						    "(is that controller available here?)", writes[i].file);
			retry[i] = any_retry = true;
		}
	/* a limit the kernel refused because of another one not yet written (memory below
	 * memory+swap, quota against period) goes through now that the others are in */
	for (size_t i = 0; any_retry && i < n; i++)
		if (retry[i] && write_one(dirs, n_dirs, &writes[i], &file) < 0)
			return husk_err_sys(err, "write \"%s\" to %s", writes[i].value, file);
	return 0;
}

int husk_cgroup_enable_controllers(char *const *created, size_t n_created, const char *leaf, struct husk_err *err)
{
	for (size_t i = 0; i < n_created; i++) {
		_cleanup_free_ char *avail = NULL, *ctl = NULL, *want = NULL, *path = NULL;
		size_t off = 0;
		if (strcmp(created[i], leaf) == 0)
			continue;
		path = husk_xasprintf("%s/cgroup.controllers", created[i]);
		if (husk_read_file_at(AT_FDCWD, path, &avail, NULL, err) < 0)
			return -1;
		want = husk_xcalloc(1, strlen(avail) * 2 + 2);
		for (char *tok = strtok(avail, " \n"); tok; tok = strtok(NULL, " \n"))
			off += (size_t)sprintf(want + off, "%s+%s", off ? " " : "", tok);
		if (!off)
			continue;
		ctl = husk_xasprintf("%s/cgroup.subtree_control", created[i]);
		if (husk_write_file_at(AT_FDCWD, ctl, want, off, err) < 0)
			return husk_err_wrap(err, "enable controllers \"%s\"", want);
	}
	return 0;
}
