#define _GNU_SOURCE
#include "profile.h"

#include <errno.h>
#include <linux/capability.h>

#include "util.h"

/* What ordinary programs use. Not here, so refused with EPERM: keyctl, add_key, request_key,
 * userfaultfd, io_uring_*, kexec_*, open_by_handle_at, bpf, perf_event_open, the mount API,
 * pivot_root, unshare, setns, swapon/off, modules, reboot, acct, quotactl, time setting, ...
 * unless the capability they stand for is granted (capability_syscalls below). */
static const char *const allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat",
	"capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_getres", "clock_getres_time64",
	"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close",
	"close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
	"fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
	"fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
	"futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
	"getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
	"getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
	"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
	"getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
	"getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
	"getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
	"io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
	"ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
	"landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
	"linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
	"lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
	"mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
	"mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
	"mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
	"msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
	"name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
	"pause", "pidfd_getfd", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
	"preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "ptrace",
	"pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
	"recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
	"removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
	"semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
	"sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
	"setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
	"setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
	"set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
	"setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
	"signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketpair", "splice", "stat", "stat64",
	"statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
	"sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
	"timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
	"tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
	"utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
	"waitpid", "write", "writev",
};

/* Syscalls that are a capability's business: allowed only when the process holds it. */
static const struct {
	int cap;
	const char *names[16];
} capability_syscalls[] = {
	{CAP_SYS_ADMIN, {"bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
			 "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
			 "setdomainname", "sethostname", "setns"}},
	{CAP_SYS_ADMIN, {"swapoff", "swapon", "umount", "umount2", "unshare", "pivot_root", "quotactl_fd"}},
	{CAP_SYS_BOOT, {"kexec_file_load", "kexec_load", "reboot"}},
	{CAP_SYS_CHROOT, {"chroot"}},
	{CAP_SYS_MODULE, {"delete_module", "finit_module", "init_module"}},
	{CAP_SYS_PACCT, {"acct"}},
	{CAP_SYS_PTRACE, {"kcmp", "process_madvise", "process_vm_readv", "process_vm_writev"}},
	{CAP_SYS_RAWIO, {"ioperm", "iopl"}},
	{CAP_SYS_TIME, {"clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday", "stime"}},
	{CAP_SYS_TTY_CONFIG, {"vhangup"}},
	{CAP_SYS_NICE, {"get_mempolicy", "mbind", "migrate_pages", "move_pages", "set_mempolicy"}},
	{CAP_SYSLOG, {"syslog"}},
	{CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
	{CAP_BPF, {"bpf"}},
	{CAP_PERFMON, {"perf_event_open"}},
};

#define CLONE_NEW_FLAGS 0x7E020000ull /* CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
#define AF_ALG_FAMILY 38
#define AF_VSOCK_FAMILY 40

static json_t *rule(json_t *names, const char *action)
{
	return json_pack("{s:o, s:s}", "names", names, "action", action);
}

static json_t *arg(unsigned index, unsigned long long value, unsigned long long value_two, const char *op)
{
	return json_pack("{s:i, s:I, s:I, s:s}", "index", index, "value", (json_int_t)value, "valueTwo",
			 (json_int_t)value_two, "op", op);
}

static bool has(uint64_t caps, int cap)
{
	return cap < 64 && (caps & (1ull << cap));
}

json_t *husk_default_seccomp(uint64_t caps)
{
	/* personalities a program may ask for: linux, linux32, and the unchanged query */
	static const unsigned long long personalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
	json_t *names = json_array(), *rules = json_array(), *r;
	const char *arches[] =
#if defined(__x86_64__)
		{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
		{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
		{};
#endif
	json_t *arch_list = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		json_array_append_new(arch_list, json_string(arches[i]));
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		json_array_append_new(names, json_string(allowed[i]));
	for (size_t i = 0; i < ARRAY_SIZE(capability_syscalls); i++)
		if (has(caps, capability_syscalls[i].cap))
			for (size_t j = 0; j < 16 && capability_syscalls[i].names[j]; j++)
				json_array_append_new(names, json_string(capability_syscalls[i].names[j]));
	json_array_append_new(rules, rule(names, "SCMP_ACT_ALLOW"));

	if (has(caps, CAP_SYS_ADMIN)) {
		json_array_append_new(rules, rule(json_pack("[s, s]", "clone", "clone3"), "SCMP_ACT_ALLOW"));
	} else {
		/* clone without namespace flags only; clone3 hides its flags in memory where a
		 * filter cannot look, so it reports ENOSYS and libc falls back to clone */
		r = rule(json_pack("[s]", "clone"), "SCMP_ACT_ALLOW");
		json_object_set_new(r, "args", json_pack("[o]", arg(0, CLONE_NEW_FLAGS, 0, "SCMP_CMP_MASKED_EQ")));
		json_array_append_new(rules, r);
		r = rule(json_pack("[s]", "clone3"), "SCMP_ACT_ERRNO");
		json_object_set_new(r, "errnoRet", json_integer(ENOSYS));
		json_array_append_new(rules, r);
	}
	/* every address family but AF_ALG (38) and AF_VSOCK (40): one comparison a rule */
	r = rule(json_pack("[s]", "socket"), "SCMP_ACT_ALLOW");
	json_object_set_new(r, "args", json_pack("[o]", arg(0, AF_ALG_FAMILY, 0, "SCMP_CMP_LT")));
	json_array_append_new(rules, r);
	r = rule(json_pack("[s]", "socket"), "SCMP_ACT_ALLOW");
	json_object_set_new(r, "args", json_pack("[o]", arg(0, AF_ALG_FAMILY + 1, 0, "SCMP_CMP_EQ")));
	json_array_append_new(rules, r);
	r = rule(json_pack("[s]", "socket"), "SCMP_ACT_ALLOW");
	json_object_set_new(r, "args", json_pack("[o]", arg(0, AF_VSOCK_FAMILY, 0, "SCMP_CMP_GT")));
	json_array_append_new(rules, r);
	for (size_t i = 0; i < ARRAY_SIZE(personalities); i++) {
		r = rule(json_pack("[s]", "personality"), "SCMP_ACT_ALLOW");
		json_object_set_new(r, "args", json_pack("[o]", arg(0, personalities[i], 0, "SCMP_CMP_EQ")));
		json_array_append_new(rules, r);
	}
	return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM,
			 "architectures", arch_list, "syscalls", rules);
}
