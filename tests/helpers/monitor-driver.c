/* Test driver for husk-monitor (tests/integration/monitor.bats): sets up what husk's monitor
 * hands the relay, then becomes the relay, so that the container stand-in is its child.
 *
 *   monitor-driver [-t] [-i] -S SOCKET -L LOCKFILE -E EXE -M HUSK_MONITOR -A ARGV_FILE
 *                  -c 'SHELL COMMAND' -- RELAY_ARGS...
 *
 * -t: a pty (the child's stdio is its slave, the relay gets --pty-fd); else pipes for stdout
 * and stderr, and with -i one for stdin (without: the child's stdin is /dev/null).
 * The relay is exec'd as: HUSK_MONITOR --pid P --exe-fd N --lock-fd N --listen-fd N
 * (--stdout-fd N --stderr-fd N | --pty-fd N) [--stdin-fd N] RELAY_ARGS..., and that argv is
 * written one per line to ARGV_FILE first. */
#define _GNU_SOURCE
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char nums[16][16];
static int nnum;
static char *num(int v)
{
	snprintf(nums[nnum], sizeof nums[nnum], "%d", v);
	return nums[nnum++];
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *lockfile = NULL, *exe = NULL, *monitor = NULL, *argv_file = NULL, *cmd = NULL;
	int pty = 0, in = 0, c;
	while ((c = getopt(argc, argv, "tiS:L:E:M:A:c:")) != -1) {
		switch (c) {
		case 't': pty = 1; break;
		case 'i': in = 1; break;
		case 'S': sock = optarg; break;
		case 'L': lockfile = optarg; break;
		case 'E': exe = optarg; break;
		case 'M': monitor = optarg; break;
		case 'A': argv_file = optarg; break;
		case 'c': cmd = optarg; break;
		default: return 2;
		}
	}
	if (!sock || !lockfile || !exe || !monitor || !argv_file || !cmd)
		errx(2, "usage: see the comment at the top of monitor-driver.c");

	int lock = open(lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
		err(2, "lock %s", lockfile);
	int exefd = open(exe, O_PATH | O_CLOEXEC);
	if (exefd < 0)
		err(2, "open %s", exe);
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0)
		err(2, "listen on %s", sock);

	int out[2], errp[2], inp[2] = { -1, -1 }, master = -1, slave = -1;
	if (pty) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
			err(2, "pty");
		slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0)
			err(2, "open pty slave");
	} else {
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || (in && pipe2(inp, O_CLOEXEC) < 0))
			err(2, "pipe");
	}

	pid_t pid = fork();
	if (pid < 0)
		err(2, "fork");
	if (pid == 0) {
		setsid();
		if (pty) {
			if (ioctl(slave, TIOCSCTTY, 0) < 0)
				err(2, "TIOCSCTTY");
			dup2(slave, 0), dup2(slave, 1), dup2(slave, 2);
		} else {
			int null = open("/dev/null", O_RDONLY);
			dup2(in ? inp[0] : null, 0);
			dup2(out[1], 1);
			dup2(errp[1], 2);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		err(127, "exec sh");
	}

	char *margv[64];
	int n = 0;
	margv[n++] = (char *)monitor;
	margv[n++] = "--pid", margv[n++] = num(pid);
	margv[n++] = "--exe-fd", margv[n++] = num(exefd);
	margv[n++] = "--lock-fd", margv[n++] = num(lock);
	margv[n++] = "--listen-fd", margv[n++] = num(lfd);
	if (pty) {
		close(slave);
		margv[n++] = "--pty-fd", margv[n++] = num(master);
	} else {
		close(out[1]), close(errp[1]);
		margv[n++] = "--stdout-fd", margv[n++] = num(out[0]);
		margv[n++] = "--stderr-fd", margv[n++] = num(errp[0]);
		if (in) {
			close(inp[0]);
			margv[n++] = "--stdin-fd", margv[n++] = num(inp[1]);
		}
	}
	for (int i = optind; i < argc && n < 63; i++)
		margv[n++] = argv[i];
	margv[n] = NULL;

	FILE *f = fopen(argv_file, "w");
	if (!f)
		err(2, "%s", argv_file);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\n", margv[i]);
	if (fclose(f) != 0)
		err(2, "%s", argv_file);

	/* what the relay is given is not CLOEXEC (as husk's monitor hands it over); the exe fd
	 * too: the relay decides */
	int give[] = { lock, lfd, exefd, master, out[0], errp[0], inp[1] };
	for (size_t i = 0; i < sizeof give / sizeof give[0]; i++)
		if ((pty ? (i < 4) : (i != 3 && (i < 6 || in))) && fcntl(give[i], F_SETFD, 0) < 0)
			err(2, "fcntl");
	execv(monitor, margv);
	err(127, "exec %s", monitor);
}
