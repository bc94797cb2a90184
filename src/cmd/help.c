/* --help for the engine's commands and groups, and the oci verbs' usage texts.
 *
 * Every command answers --help on stdout with exit status 0; a usage error is reported on
 * stderr and (in the engine) exits 125, docker's status for the engine's own errors. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "../lib/util.h"

bool husk_cmd_help_asked(int argc, char **argv)
{
	/* past a "--", --help belongs to something else (a container's command, ps's options) */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

int husk_cmd_no_options(struct husk_globals *g, int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (argv[i][0] == '-' && argv[i][1])
			return husk_cmd_usage(g, "unknown option %s\n%s", argv[i], usage), -1;
	return 0;
}

int husk_cmd_help(const char *usage)
{
	fputs(usage, stdout);
	if (usage[0] && usage[strlen(usage) - 1] != '\n')
		putchar('\n');
	return 0;
}

int husk_cmd_group_usage(FILE *out, const char *group, const struct husk_cmd *subs, size_t n)
{
	fprintf(out, "usage: husk %s COMMAND [ARGS...]\n\ncommands:\n", group);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-10s %s\n", subs[i].name, subs[i].summary);
	fprintf(out, "\nhusk %s COMMAND --help describes one.\n", group);
	return out == stdout ? 0 : 125;
}

/* husk oci VERB --help: runc's verbs, their flags as husk takes them. One table, so that a verb
 * without a row is seen at once (husk_oci_verb_usage returns NULL). */
static const struct {
	const char *verb;
	const char *usage;
} oci_usages[] = {
	{"create",
	 "usage: husk oci create [OPTIONS] ID\n\n"
	 "Create a container from a bundle; its init waits until husk oci start ID.\n"
	 "  -b, --bundle DIR            the bundle (config.json and the root), default: .\n"
	 "      --pid-file FILE         write the init's pid to FILE\n"
	 "      --console-socket SOCK   send the terminal's master fd (process.terminal) over SOCK\n"
	 "      --preserve-fds N        pass N fds beyond stdio (3 .. 3+N-1) on to the process\n"
	 "      --no-pivot              move the root with MS_MOVE instead of pivot_root\n"
	 "      --no-new-keyring        keep the caller's session keyring\n"},
	{"delete",
	 "usage: husk oci delete [-f|--force] ID\n\n"
	 "Delete a stopped container: its cgroup, state and what it created on the host.\n"
	 "  -f, --force   kill it first if it is running; a container already gone is not an error\n"},
	{"events",
	 "usage: husk oci events [--stats] [--interval DURATION] ID\n\n"
	 "The container's resource usage and OOM events as JSON lines, every interval (5s).\n"
	 "      --stats                print the statistics once and exit\n"
	 "      --interval DURATION    the interval of the stream (5s, 500ms, ...)\n"},
	{"exec",
	 "usage: husk oci exec [OPTIONS] ID [COMMAND [ARGS...]]\n\n"
	 "Run another process in a running container.\n"
	 "  -p, --process FILE          the process as a runtime-spec process JSON\n"
	 "  -w, --cwd DIR               working directory (absolute)\n"
	 "  -e, --env K=V               add an environment variable\n"
	 "  -u, --user UID[:GID]        user and group ids\n"
	 "      --additional-gids GID   more groups\n"
	 "  -c, --cap CAP               add a capability\n"
	 "      --no-new-privs          set no_new_privs\n"
	 "      --apparmor PROFILE      accepted (AppArmor is not applied)\n"
	 "      --process-label LABEL   accepted (SELinux is not applied)\n"
	 "  -t, --tty                   a terminal for the process\n"
	 "      --console-socket SOCK   send the terminal's master fd over SOCK\n"
	 "  -d, --detach                do not wait for the process\n"
	 "      --pid-file FILE         write the process's pid to FILE\n"
	 "      --preserve-fds N        pass N fds beyond stdio on\n"
	 "      --cgroup PATH           join this sub-cgroup of the container's\n"},
	{"features", "usage: husk oci features\n\nPrint what this runtime supports, as JSON (runtime-spec features.json).\n"},
	{"kill",
	 "usage: husk oci kill [-a|--all] ID [SIGNAL]\n\n"
	 "Send SIGNAL (name or number; SIGTERM) to the container's init.\n"
	 "  -a, --all   to every process in the container\n"},
	{"list",
	 "usage: husk oci list [-f|--format table|json] [-q|--quiet]\n\n"
	 "List the containers under --root.\n"
	 "  -f, --format table|json  the output format (table)\n"
	 "  -q, --quiet              the ids only\n"},
	{"pause", "usage: husk oci pause ID\n\nFreeze every process of the container (its cgroup's freezer).\n"},
	{"ps",
	 "usage: husk oci ps [-f|--format table|json] ID [-- PS_ARGS...]\n\n"
	 "The container's processes: the host's ps (-ef, or PS_ARGS) cut down to them; json: their pids.\n"},
	{"resume", "usage: husk oci resume ID\n\nThaw a paused container.\n"},
	{"run",
	 "usage: husk oci run [OPTIONS] ID\n\n"
	 "Create and start a container, wait for it; the exit status is its.\n"
	 "  (create's options, and)\n"
	 "  -d, --detach   do not wait: husk exits once the container runs\n"
	 "      --keep     do not delete the container when it exits\n"},
	{"spec",
	 "usage: husk oci spec [-b|--bundle DIR] [--rootless]\n\n"
	 "Write a default config.json (husk's hardened defaults) into the bundle.\n"
	 "  -b, --bundle DIR  where (default: .)\n"
	 "      --rootless    for a user namespace owned by the caller\n"},
	{"start", "usage: husk oci start ID\n\nStart a created container's process.\n"},
	{"state", "usage: husk oci state ID\n\nPrint the container's state (runtime-spec state JSON).\n"},
	{"update",
	 "usage: husk oci update [OPTIONS] ID\n\n"
	 "Change the container's resource limits.\n"
	 "  -r, --resources FILE   a runtime-spec LinuxResources JSON (- for stdin)\n"
	 "      --memory, --memory-reservation, --memory-swap, --kernel-memory, --kernel-memory-tcp BYTES\n"
	 "      --cpu-period, --cpu-quota, --cpu-shares, --cpu-rt-period, --cpu-rt-runtime N\n"
	 "      --cpuset-cpus, --cpuset-mems LIST\n"
	 "      --pids-limit N, --blkio-weight N\n"},
};

const char *husk_oci_verb_usage(const char *verb)
{
	for (size_t i = 0; i < ARRAY_SIZE(oci_usages); i++)
		if (strcmp(oci_usages[i].verb, verb) == 0)
			return oci_usages[i].usage;
	return NULL;
}
