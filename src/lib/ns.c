#define _GNU_SOURCE
#include "ns.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>

#include "procfs.h"
#include "names.h"
#include "util.h"

int husk_ns_open_joins(const struct husk_spec *spec, struct husk_ns_joins *joins, struct husk_err *err)
{
	memset(joins, 0, sizeof(*joins));
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		const struct husk_namespace *ns = &spec->namespaces[i];
		int fd, type;
		if (!ns->path)
			continue;
		fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, "open %s namespace %s", husk_namespace_name(ns->type), ns->path);
		joins->type[joins->n] = ns->type;
		joins->fd[joins->n++] = fd;
		type = ioctl(fd, NS_GET_NSTYPE);
		if (type < 0)
			return husk_err_sys(err, "%s is not a namespace", ns->path);
		if ((unsigned long)type != ns->type)
			return husk_err_set(err, EINVAL, "%s is a %s namespace, not a %s namespace", ns->path,
					    husk_namespace_name((unsigned long)type), husk_namespace_name(ns->type));
	}
	return 0;
}

int husk_ns_join(const struct husk_ns_joins *joins, unsigned long mask, struct husk_err *err)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < joins->n; i++) {
			bool user = joins->type[i] == CLONE_NEWUSER;
			if (!(joins->type[i] & mask) || user != (pass == 0))
				continue;
			if (setns(joins->fd[i], (int)joins->type[i]) < 0)
				return husk_err_sys(err, "join %s namespace", husk_namespace_name(joins->type[i]));
		}
	}
	return 0;
}

void husk_ns_close_joins(struct husk_ns_joins *joins)
{
	for (size_t i = 0; i < joins->n; i++)
		close(joins->fd[i]);
	joins->n = 0;
}

char *husk_ns_format_idmap(const struct husk_idmap *maps, size_t n)
{
	char *out = husk_xcalloc(n * 36 + 1, 1);
	size_t off = 0;

	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(out + off, "%u %u %u\n", maps[i].container_id, maps[i].host_id, maps[i].size);
	return out;
}

static int write_proc(pid_t pid, const char *file, const char *text, struct husk_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return husk_write_file_at(AT_FDCWD, path, text, strlen(text), err);
}

int husk_ns_write_idmaps(pid_t pid, const struct husk_spec *spec, struct husk_err *err)
{
	_cleanup_free_ char *uids = husk_ns_format_idmap(spec->uid_mappings, spec->n_uid_mappings);
	_cleanup_free_ char *gids = husk_ns_format_idmap(spec->gid_mappings, spec->n_gid_mappings);

	if (write_proc(pid, "uid_map", uids, err) < 0 || write_proc(pid, "gid_map", gids, err) < 0)
		return husk_err_wrap(err, "user namespace mappings");
	return 0;
}

int husk_ns_write_time_offsets(const struct husk_spec *spec, struct husk_err *err)
{
	char text[128];
	int off = 0;

	if (spec->time_monotonic.set)
		off += snprintf(text + off, sizeof(text) - (size_t)off, "monotonic %lld %u\n",
				(long long)spec->time_monotonic.secs, spec->time_monotonic.nanosecs);
	if (spec->time_boottime.set)
		off += snprintf(text + off, sizeof(text) - (size_t)off, "boottime %lld %u\n",
				(long long)spec->time_boottime.secs, spec->time_boottime.nanosecs);
	if (off == 0)
		return 0;
	/* one line per write: the kernel parses a single offset per write() */
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (husk_procfs_write_self("self/timens_offsets", line, (size_t)(nl - line + 1), err) < 0)
			return husk_err_wrap(err, "time namespace offsets");
	}
	return 0;
}
