#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/run.h"
#include "../lib/terminal.h"
#include "../lib/util.h"


/* Signals husk passes on to the container while it waits for it, as runc does. */
const int husk_cmd_forwarded[13] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
				SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGALRM};

int husk_cmd_wait_forwarding(pid_t pid, const sigset_t *set)
{
	siginfo_t info;
	int status;

	for (;;) {
		if (sigwaitinfo(set, &info) < 0)
			continue;
		if (info.si_signo != SIGCHLD) {
			kill(pid, info.si_signo);
			continue;
		}
		/* SIGCHLD may stand for several children; reap only the init here */
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
	}
	return husk_cmd_exit_code(status);
}

void husk_cmd_block_forwarded(sigset_t *set, sigset_t *old)
{
	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(husk_cmd_forwarded); i++)
		sigaddset(set, husk_cmd_forwarded[i]);
	sigaddset(set, SIGCHLD);
	sigprocmask(SIG_BLOCK, set, old);
}

int husk_cmd_exit_code(int wstatus)
{
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}

int husk_cmd_wait(pid_t pid, int terminal_fd, const sigset_t *set, struct husk_err *err)
{
	int wstatus = 0;

	if (terminal_fd < 0)
		return husk_cmd_wait_forwarding(pid, set);
	husk_terminal_relay(terminal_fd, pid, set, &wstatus, err);
	close(terminal_fd);
	return husk_cmd_exit_code(wstatus);
}

int husk_cmd_run(struct husk_globals *g, int argc, char **argv)
{
	struct husk_create_opts o = {0};
	struct husk_container c;
	struct husk_err err = {0};
	bool detach = false, keep = false;
	sigset_t set, old;
	int status;

	if (husk_parse_create_flags(g, argc, argv, &o, &detach, &keep) != 0)
		return 1;
	if (detach) {
		/* the same as create + start: the init outlives this process */
		if (husk_container_create(&o, &c, &err) < 0)
			return husk_cmd_fail(g, &err);
		close(c.sync_fd);
		close(c.lock_fd);
		switch (husk_container_start(o.root, o.id, &err)) {
		case 0: return 0;
		case 1: return husk_cmd_warn(g, &err);
		default:
			/* a run that failed leaves nothing behind, as without --detach */
			husk_cmd_fail(g, &err);
			husk_err_clear(&err);
			if (husk_container_delete(o.root, o.id, true, &err) < 0)
				husk_cmd_fail(g, &err);
			return 1;
		}
	}
	o.run = true;
	o.relay_terminal = o.console_socket == NULL;
	/* blocked before the clone, so none arrives unhandled in between; the init unblocks */
	husk_cmd_block_forwarded(&set, &old);
	int started = husk_container_run(&o, &c, NULL, NULL, &err);
	if (started < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return husk_cmd_fail(g, &err);
	}
	if (started == 1) {
		husk_cmd_warn(g, &err);
		husk_err_clear(&err);
	}
	status = husk_cmd_wait(c.pid, c.terminal_fd, &set, &err);
	close(c.sync_fd);
	if (!keep) {
		int deleted = husk_container_delete(o.root, o.id, true, &err);
		if (deleted == 1)
			husk_cmd_warn(g, &err);
		else if (deleted < 0)
			husk_cmd_fail(g, &err);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}
