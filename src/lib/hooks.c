#define _GNU_SOURCE
#include "hooks.h"

#include <fcntl.h>
#include <poll.h>
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
	int fds[2], status = 0, rc = -1;
	size_t len = strlen(state), written = 0;
	void (*old_pipe)(int);
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
	/* the state is written as the hook reads it, in the loop that watches the timeout: a state
	 * larger than the pipe (64 KiB of annotations) would otherwise block husk on a hook that
	 * does not read, past its timeout. A hook that does not read its stdin is fine: EPIPE, not
	 * SIGPIPE; the old disposition comes back after, as an ignored SIGPIPE would survive into
	 * the container's program */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	if (fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0) {
		close(fds[1]);
		fds[1] = -1;
	}
	for (;;) {
		pid_t r;
		if (fds[1] >= 0) {
			ssize_t n = write(fds[1], state + written, len - written);
			if (n > 0)
				written += (size_t)n;
			if (written == len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				close(fds[1]);
				fds[1] = -1;
			}
		}
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			husk_err_sys(err, "hook %s: wait", what);
			goto out;
		}
		if (deadline && husk_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			husk_err_set(err, ETIMEDOUT, "hook %s (%s) did not finish within %d s", what, h->path, h->timeout);
			goto out;
		}
		if (fds[1] >= 0)
			poll(&(struct pollfd){.fd = fds[1], .events = POLLOUT}, 1, 1);
		else
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	rc = 0;
out:
	if (fds[1] >= 0)
		close(fds[1]);
	signal(SIGPIPE, old_pipe);
	if (rc < 0)
		return -1;
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

int husk_hooks_run_all(const struct husk_spec *spec, enum husk_hook_kind kind, const char *state_json,
		       struct husk_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
		struct husk_err one = {0};
		char what[64], text[HUSK_ERR_MSG_MAX + 64];
		snprintf(what, sizeof(what), "%s[%zu]", husk_hook_kind_names[kind], i);
		if (run_one(&spec->hooks[kind][i], what, state_json, &one) == 0)
			continue;
		/* every failure is told, in one message: the first sets err, the others follow it */
		if (rc == 0) {
			husk_err_copy(err, &one);
		} else if (err) {
			size_t used = strlen(err->msg);
			husk_err_format(&one, text, sizeof(text));
			snprintf(err->msg + used, sizeof(err->msg) - used, "; %s", text);
		}
		rc = -1;
	}
	return rc;
}
