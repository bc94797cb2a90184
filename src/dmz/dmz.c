/* husk-dmz: the last step before the container's program, exec'd from a sealed memfd.
 *
 * Between husk's set-up and the container's program, /proc/self/exe of the container's init is
 * whatever it last exec'd. If that were husk's own binary, a program that is "#!/proc/self/exe"
 * (or a process watching /proc/PID/exe) would get a handle on the host's husk and could write
 * it once husk exits (CVE-2019-5736). husk exec's this instead, from a memfd sealed against
 * writes. Its argv is [program path, the container's args...]: it exec's argv[0] with argv[1..]
 * (so the program sees its configured argv[0]) and the environment. No libc: it must be tiny,
 * as it is copied into a memfd for every container. */

#if defined(__x86_64__)
static long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}
#define NR_WRITE 1
#define NR_EXECVE 59
#define NR_EXIT 60
__asm__(".text\n.globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall dmz_main\n\thlt\n");
#elif defined(__aarch64__)
static long sys3(long nr, long a, long b, long c)
{
	register long x8 __asm__("x8") = nr, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
}
#define NR_WRITE 64
#define NR_EXECVE 221
#define NR_EXIT 93
__asm__(".text\n.globl _start\n_start:\n\tmov x0, sp\n\tbl dmz_main\n");
#else
#error "husk-dmz: no system call stub for this architecture"
#endif

static unsigned long length(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	sys3(NR_WRITE, 2, (long)s, (long)length(s));
}

__attribute__((used, noreturn)) void dmz_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	char digits[24], *d = digits + sizeof(digits) - 1;
	long rc;

	if (argc < 2) {
		say("husk-dmz: nothing to exec\n");
		sys3(NR_EXIT, 127, 0, 0);
	}
	rc = sys3(NR_EXECVE, (long)argv[0], (long)(argv + 1), (long)envp);
	/* husk checked the program before `create` returned: this is a race, say what we can */
	*d = '\0';
	for (rc = -rc; rc > 0 || d == digits + sizeof(digits) - 1; rc /= 10)
		*--d = (char)('0' + rc % 10);
	say("husk: exec \"");
	say(argv[0]);
	say("\": errno ");
	say(d);
	say("\n");
	sys3(NR_EXIT, 127, 0, 0);
	for (;;)
		;
}
