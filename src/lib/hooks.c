#define _GNU_SOURCE
#include "hooks.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/close_range.h>

#include "util.h"

bool husk_hooks_during_create(const struct husk_spec *spec)
{
	return spec->n_hooks[HUSK_HOOK_PRESTART] || spec->n_hooks[HUSK_HOOK_CREATE_RUNTIME] ||
	       spec->n_hooks[HUSK_HOOK_CREATE_CONTAINER] || spec->n_hooks[HUSK_HOOK_START_CONTAINER];
}

static int run_one(const struct husk_hook *h, const char *what, const char *state, struct husk_err *err)
{
	const char *solo[2] = {h->path, NULL};
	int fds[2], status = 0;
	pid_t pid;
	uint64_t deadline = h->timeout ? husk_now_ns() + (uint64_t)h->timeout * 1000000000ull : 0;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return husk_err_sys(err, "hook %s: pipe", what);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return husk_err_sys(err, "hook %s: fork", what);
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(fds[0], STDIN_FILENO);
		syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC);
		execve(h->path, (char *const *)(h->args && h->n_args ? h->args : solo),
		       (char *const *)(h->env ? h->env : (const char *[]){NULL}));
		dprintf(STDERR_FILENO, "husk: hook %s: exec %s: %s\n", what, h->path, strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	/* a hook that does not read its stdin is fine: EPIPE, not SIGPIPE. The old disposition
	 * comes back at once: an ignored SIGPIPE would survive into the container's program */
	{
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		husk_write_all(fds[1], state, strlen(state));
		signal(SIGPIPE, old);
	}
	close(fds[1]);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return husk_err_sys(err, "hook %s: wait", what);
		if (deadline && husk_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return husk_err_set(err, ETIMEDOUT, "hook %s (%s) did not finish within %d s", what, h->path, h->timeout);
		}
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	if (WIFSIGNALED(status))
		return husk_err_set(err, 0, "hook %s (%s) was killed by signal %d", what, h->path, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return husk_err_set(err, 0, "hook %s (%s) exited with status %d", what, h->path, WEXITSTATUS(status));
	return 0;
}

int husk_hooks_run(const struct husk_spec *spec, enum husk_hook_kind kind, const char *state_json, struct husk_err *err)
{
	for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
		char what[64];
		snprintf(what, sizeof(what), "%s[%zu]", husk_hook_kind_names[kind], i);
		if (run_one(&spec->hooks[kind][i], what, state_json, err) < 0)
			return -1;
	}
	return 0;
}
