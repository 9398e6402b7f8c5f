#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int tool_skipped;

/* Skipping is opt-in (debian/rules sets it): scripts/test and CI run every
 * test and fail on a missing tool. */
static int
may_skip(void)
{
	const char *e = getenv("DPK_TEST_ALLOW_SKIP");

	return e != NULL && strcmp(e, "1") == 0;
}

static const char *
tool_or_skip(const char *envvar, int whole_program)
{
	const char *p = getenv(envvar);

	if (p != NULL && *p != '\0' && access(p, X_OK) == 0)
		return p;
	if (!may_skip())
		fail_msg("%s is not set to an executable (run scripts/setup, or set it): got '%s'",
		    envvar, p ? p : "(unset)");
	fprintf(stderr, "SKIP: %s is not set to an executable (DPK_TEST_ALLOW_SKIP=1)\n", envvar);
	if (whole_program)
		exit(77); /* every test here needs it */
	tool_skipped = 1;
	skip();
	return NULL;
}

const char *
dpk_test_tool(const char *envvar)
{
	return tool_or_skip(envvar, 0);
}

void
dpk_test_skip_unless_root(void)
{
	if (geteuid() == 0 || !may_skip())
		return;
	fprintf(stderr, "SKIP: needs root (a root-owned agent socket or cache file; DPK_TEST_ALLOW_SKIP=1)\n");
	exit(77);
}

int
dpk_test_exit_status(int failures)
{
	return failures == 0 && tool_skipped ? 77 : failures;
}

void
dpk_test_read_data(const char *rel, struct dpk_buf *out)
{
	const char *dir = getenv("DPK_TEST_DATA");
	char path[4096];
	uint8_t chunk[8192];
	size_t n;
	FILE *f;

	if (dir == NULL)
		fail_msg("DPK_TEST_DATA is not set (run the tests through make check)");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path))
		fail_msg("test data path too long");
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open test data %s: %s", path, strerror(errno));
	dpk_buf_init(out, 16u << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (dpk_buf_put(out, chunk, n) != 0)
			fail_msg("test data %s is too large", path);
	fclose(f);
	if (dpk_buf_cstr(out) != 0)
		fail_msg("out of memory");
}

int
dpk_test_run_words(struct dpk_buf *out, char *const *prefix, ...)
{
	char *argv[32];
	size_t n = 0;
	va_list ap;
	int r;

	while (n < 30 && prefix[n] != NULL) {
		argv[n] = prefix[n];
		n++;
	}
	va_start(ap, prefix);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	dpk_buf_init(out, 1 << 20);
	r = dpk_test_run(argv, NULL, out);
	assert_int_equal(dpk_buf_cstr(out), 0);
	return r;
}

int
dpk_test_run(char *const argv[], const char *stdin_text, struct dpk_buf *out)
{
	int inp[2], outp[2], status;
	size_t inlen = stdin_text ? strlen(stdin_text) : 0, inoff = 0;
	pid_t pid;

	if (out != NULL)
		dpk_buf_init(out, 4u << 20);
	if (pipe2(inp, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	if (inlen == 0) {
		close(inp[1]);
		inp[1] = -1;
	}
	for (;;) {
		struct pollfd pf[2] = {{outp[0], POLLIN, 0}, {inp[1], POLLOUT, 0}};
		char chunk[4096];
		ssize_t n;

		if (poll(pf, inp[1] >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (inp[1] >= 0 && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(inp[1], stdin_text + inoff, inlen - inoff);
			if (n > 0)
				inoff += (size_t)n;
			if (n <= 0 || inoff == inlen) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(outp[0], chunk, sizeof(chunk));
			if (n <= 0)
				break;
			if (out != NULL && dpk_buf_put(out, chunk, (size_t)n) != 0)
				break;
		}
	}
	if (inp[1] >= 0)
		close(inp[1]);
	close(outp[0]);
	if (out != NULL)
		dpk_buf_cstr(out);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
dpk_test_chomp(struct dpk_buf *b)
{
	while (b->len > 0 && strchr(" \t\r\n", b->data[b->len - 1]) != NULL)
		b->len--;
	dpk_buf_cstr(b);
}

static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd, port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
port_open(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd, ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int
dpk_test_node_is_ganache(void)
{
	const char *node = getenv("DPK_TEST_NODE");

	if (node == NULL || *node == '\0' || strcmp(node, "anvil") == 0)
		return 0;
	if (strcmp(node, "ganache") != 0)
		fail_msg("DPK_TEST_NODE='%s': give anvil (the default) or ganache", node);
	return 1;
}

/* ganache (@ethereumjs VM, its own RPC server) set up as anvil is by default:
 * chain id 31337, the same dev accounts ("test ... junk") with 10,000 ether,
 * instant blocks. anvil's --block-time N is ganache's --miner.blockTime N;
 * any other anvil argument has no translation here and fails the test. */
static size_t
ganache_argv(const char **argv, const char *prog, const char *portstr, const char *const *extra_args)
{
	size_t n = 0;

	argv[n++] = prog;
	argv[n++] = "--server.host=127.0.0.1";
	argv[n++] = "--server.port";
	argv[n++] = portstr;
	argv[n++] = "--chain.chainId=31337";
	argv[n++] = "--wallet.mnemonic=test test test test test test test test test test test junk";
	argv[n++] = "--wallet.defaultBalance=10000";
	argv[n++] = "--logging.quiet";
	for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && n < 62; i++) {
		if (strcmp(extra_args[i], "--block-time") == 0 && extra_args[i + 1] != NULL) {
			argv[n++] = "--miner.blockTime";
			argv[n++] = extra_args[++i];
		} else {
			fail_msg("DPK_TEST_NODE=ganache: no ganache equivalent of anvil's %s", extra_args[i]);
		}
	}
	return n;
}

/* DPK_TEST_BLOCK_TIME=N: a block every N seconds instead of one per
 * transaction, unless the test asks for a block time itself, or for
 * "--instant" (not passed on): a chain whose height the test controls (reorgs,
 * confirmations, a stopped chain) makes blocks only for transactions and
 * when told, whatever the pace of the run. */
static const char *const *
with_block_time(const char *const *extra_args, const char **buf, size_t bufn)
{
	const char *bt = getenv("DPK_TEST_BLOCK_TIME");
	size_t n = 0;

	if (extra_args != NULL && extra_args[0] != NULL && strcmp(extra_args[0], "--instant") == 0)
		return extra_args[1] != NULL ? &extra_args[1] : NULL;
	if (bt == NULL || *bt == '\0')
		return extra_args;
	if (strspn(bt, "0123456789") != strlen(bt) || strlen(bt) > 3)
		fail_msg("DPK_TEST_BLOCK_TIME='%s': give seconds", bt);
	for (; extra_args != NULL && extra_args[n] != NULL && n + 3 < bufn; n++) {
		if (strcmp(extra_args[n], "--block-time") == 0)
			return extra_args;
		buf[n] = extra_args[n];
	}
	buf[n++] = "--block-time";
	buf[n++] = bt;
	buf[n] = NULL;
	return buf;
}

void
dpk_test_anvil_start(struct dpk_test_anvil *a, const char *const *extra_args)
{
	int ganache = dpk_test_node_is_ganache();
	const char *anvil = tool_or_skip(ganache ? "DPK_GANACHE" : "DPK_ANVIL", 1);
	const char *bt_args[40];

	extra_args = with_block_time(extra_args, bt_args, sizeof(bt_args) / sizeof(bt_args[0]));

	for (int attempt = 0; attempt < 5; attempt++) {
		char portstr[16];
		const char *argv[64];
		size_t n = 0;
		pid_t pid;
		int port = free_port();

		if (port < 0)
			fail_msg("no free loopback port: %s", strerror(errno));
		snprintf(portstr, sizeof(portstr), "%d", port);
		if (ganache) {
			n = ganache_argv(argv, anvil, portstr, extra_args);
		} else {
			argv[n++] = anvil;
			argv[n++] = "--host";
			argv[n++] = "127.0.0.1";
			argv[n++] = "--port";
			argv[n++] = portstr;
			argv[n++] = "--silent";
			for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && n < 63; i++)
				argv[n++] = extra_args[i];
		}
		argv[n] = NULL;

		if ((pid = fork()) < 0)
			fail_msg("fork: %s", strerror(errno));
		if (pid == 0) {
			int devnull = open("/dev/null", O_RDWR);

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			dup2(devnull, 0);
			dup2(devnull, 1);
			execv(anvil, (char *const *)argv);
			_exit(127);
		}
		for (int i = 0; i < 300; i++) { /* 30 s */
			int status;
			struct timespec ts = {0, 100 * 1000 * 1000};

			if (waitpid(pid, &status, WNOHANG) == pid)
				break; /* exited: port taken meanwhile, or a bad argument */
			if (port_open(port)) {
				a->pid = pid;
				a->port = port;
				snprintf(a->url, sizeof(a->url), "http://127.0.0.1:%d", port);
				return;
			}
			nanosleep(&ts, NULL);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	fail_msg("%s (%s) did not start listening on loopback", ganache ? "ganache" : "anvil", anvil);
}

void
dpk_test_anvil_stop(struct dpk_test_anvil *a)
{
	if (a->pid > 0) {
		kill(a->pid, SIGTERM);
		waitpid(a->pid, NULL, 0);
	}
	a->pid = 0;
}

void
dpk_test_tmpdir(char *out, size_t outsz)
{
	const char *base = getenv("TMPDIR");

	if ((size_t)snprintf(out, outsz, "%s/dpk-test.XXXXXX", base ? base : "/tmp") >= outsz ||
	    mkdtemp(out) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
}

void
dpk_test_rmtree(const char *path)
{
	char *argv[] = {(char *)"/bin/rm", (char *)"-rf", (char *)"--", (char *)path, NULL};

	dpk_test_run(argv, NULL, NULL);
}

pid_t
dpk_test_spawn(char *const argv[], const char *logpath)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		int log = logpath ? open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(devnull, 0);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int
dpk_test_wait_exit(pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		int status;
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int
dpk_test_wait_path(const char *path, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (access(path, F_OK) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

void
dpk_test_built(const char *rel, char *out, size_t outsz)
{
	const char *top = getenv("DPK_TOP_BUILDDIR");

	if (top == NULL)
		fail_msg("DPK_TOP_BUILDDIR is not set (run the tests through make check)");
	if ((size_t)snprintf(out, outsz, "%s/%s", top, rel) >= outsz)
		fail_msg("path too long");
}

int
dpk_test_free_port(void)
{
	return free_port();
}

int
dpk_test_wait_port(int port, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (port_open(port))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

void
dpk_test_write_file(const char *path, const char *text, unsigned mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

int64_t
dpk_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
dpk_test_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

size_t
dpk_test_count_lines(const char *path, const char *needle)
{
	char line[1024];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}
