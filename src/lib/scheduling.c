#define _GNU_SOURCE
#include "scheduling.h"

#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/ioprio.h>
#include <linux/sched/types.h>

#include "util.h"

int husk_sched_apply(const struct husk_spec *spec, struct husk_err *err)
{
	const struct husk_process *p = &spec->process;

	if (spec->has_personality && personality(spec->personality) < 0)
		return husk_err_sys(err, "personality %#lx", spec->personality);
	if (p->has_io_priority &&
	    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(p->io_class, p->io_priority)) < 0)
		return husk_err_sys(err, "process.ioPriority class %d priority %d", p->io_class, p->io_priority);
	if (p->has_scheduler) {
		struct sched_attr attr = {
			.size = sizeof(attr),
			.sched_policy = (uint32_t)p->scheduler.policy,
			.sched_flags = p->scheduler.flags,
			.sched_nice = p->scheduler.nice,
			.sched_priority = (uint32_t)p->scheduler.priority,
			.sched_runtime = p->scheduler.runtime,
			.sched_deadline = p->scheduler.deadline,
			.sched_period = p->scheduler.period,
		};
		if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
			return husk_err_sys(err, "process.scheduler policy %d", p->scheduler.policy);
	}
	return 0;
}
