/* Namespaces: joining existing ones by path, user namespace id maps, time offsets. */
#ifndef HUSK_NS_H
#define HUSK_NS_H

#include <sys/types.h>

#include "error.h"
#include "spec.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define HUSK_NS_COUNT 8

/* fds of the namespaces the config joins by path, opened (and their type checked) up front so
 * a wrong path fails before anything is created. */
struct husk_ns_joins {
	unsigned long type[HUSK_NS_COUNT];
	int fd[HUSK_NS_COUNT];
	size_t n;
};

int husk_ns_open_joins(const struct husk_spec *spec, struct husk_ns_joins *joins, struct husk_err *err);
/* setns into those of the joined namespaces that are in mask; the user namespace first, since
 * it decides what the others may be entered with. */
int husk_ns_join(const struct husk_ns_joins *joins, unsigned long mask, struct husk_err *err);
void husk_ns_close_joins(struct husk_ns_joins *joins);

/* Write /proc/PID/uid_map and gid_map from the config. */
int husk_ns_write_idmaps(pid_t pid, const struct husk_spec *spec, struct husk_err *err);
/* Write /proc/self/timens_offsets (after unshare(CLONE_NEWTIME), before the first child). */
int husk_ns_write_time_offsets(const struct husk_spec *spec, struct husk_err *err);

/* "0 100000 65536\n..." for a mapping list (pure, unit-tested). */
char *husk_ns_format_idmap(const struct husk_idmap *maps, size_t n);

#endif
