/* Fair shares on a real dpk-agent against a real anvil: no
 * caller can use up what the others need.
 *
 * Covered: an unprivileged uid holding as many connections as it can, one
 * byte every few seconds, while root's getpwnam (through libnss_dpk) and
 * STATUS (what dpkctl status asks) keep succeeding, and the refusals are
 * logged a line a minute, not a line each; a flood of login challenges for
 * made-up names from one host and from none, and then a real user's login
 * from another host; a client finding the listen backlog full waits within
 * its deadline; the agent's CPU time with a hung JSON-RPC node (a chain poll
 * slower than poll_interval) and with a waiting client that hung up; one
 * waiter's deadline does not end another's wait; an unprivileged uid's
 * chain reads are capped (BUSY), a read many wait for counts once, and root
 * still gets its reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <nss.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "chain.h"
#include "dpk/client.h"
#include "flood.h"
#include "harness.h"
#include "rpcproxy.h"

#define NOBODY 65534
#define IO_TIMEOUT_MS 1000

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64];
	struct dpk_test_agent host, alice;
	struct dpk_test_rpcproxy proxy;
	pid_t child;
};

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);

/* The socket file appears at bind(), a moment before listen(): wait until
 * the agent takes connections. */
static void
wait_ready(const char *sock)
{
	struct dpk_client *c;
	int64_t end = dpk_test_now_ms() + 5000;

	while (dpk_client_open(sock, 1000, 0, &c) != 0) {
		if (dpk_test_now_ms() > end)
			fail_msg("the agent at %s takes no connections", sock);
		dpk_test_sleep_ms(20);
	}
	dpk_client_close(c);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char extra[512];

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	assert_int_equal(chmod(e->dir, 0755), 0); /* uid nobody reaches the socket */
	dpk_test_agent_start(&e->alice, e->dir, "alice", e->anvil.url, e->contract, "identity = alice.example.org\n");
	dpk_test_agent_register(&e->alice, e->rpc, e->contract, &e->approver, &e->device, "alice.example.org");
	snprintf(extra, sizeof(extra), "identity = host.example.org\nnss_allow = alice.example.org\n"
	    "nss_allow_suffix = .flood.example\nclient_io_timeout = %dms\nclient_idle_timeout = 2s\n", IO_TIMEOUT_MS);
	dpk_test_agent_start(&e->host, e->dir, "host", e->anvil.url, e->contract, extra);
	wait_ready(e->host.sock);
	/* a device answers only a challenge of a host registered on chain */
	dpk_test_agent_register(&e->host, e->rpc, e->contract, &e->approver, &e->device, "host.example.org");
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->child > 0) {
		kill(e->child, SIGKILL);
		waitpid(e->child, NULL, 0);
	}
	if (e->host.pid > 0)
		kill(e->host.pid, SIGCONT);
	dpk_test_agent_stop(&e->host);
	dpk_test_agent_stop(&e->alice);
	dpk_test_rpcproxy_stop(&e->proxy);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static int
unix_connect(const char *path, int nonblock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send one request frame: type, then a body of one string. */
static void
send_string_request(int fd, uint8_t type, const char *s)
{
	uint8_t f[512];
	size_t n = strlen(s), flen = 1 + 4 + n;

	assert_true(n < sizeof(f) - 9);
	f[0] = (uint8_t)(flen >> 24), f[1] = (uint8_t)(flen >> 16), f[2] = (uint8_t)(flen >> 8), f[3] = (uint8_t)flen;
	f[4] = type;
	f[5] = (uint8_t)(n >> 24), f[6] = (uint8_t)(n >> 16), f[7] = (uint8_t)(n >> 8), f[8] = (uint8_t)n;
	memcpy(f + 9, s, n);
	assert_true(send(fd, f, 9 + n, MSG_NOSIGNAL) == (ssize_t)(9 + n));
}

/* The reply's type (0x7f FAILURE) within timeout_ms, or -1 (none yet or closed);
 * for a FAILURE, its code in *code. */
static int
read_reply(int fd, int timeout_ms, uint32_t *code)
{
	uint8_t b[4096];
	struct pollfd p = {fd, POLLIN, 0};
	size_t have = 0;
	int64_t end = dpk_test_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = end - dpk_test_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		if ((n = recv(fd, b + have, sizeof(b) - have, 0)) <= 0)
			return -1;
		have += (size_t)n;
		if (have >= 5) {
			size_t flen = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];

			if (have >= 4 + flen) {
				if (b[4] == 0x7f && have >= 9 && code != NULL)
					*code = (uint32_t)b[5] << 24 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 8 | b[8];
				return b[4];
			}
		}
	}
}

/* The agent's CPU time (all its threads), in ms. */
static int64_t
cpu_ms(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long t = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_non_null(p = strrchr(buf, ')'));
	/* after the name: fields 3 (state) to 13, then utime (14) and stime (15) */
	for (int field = 3; field <= 15; field++) {
		char *end;

		p = strchr(p, ' ');
		assert_non_null(p);
		p++;
		if (field >= 14) {
			t += strtoull(p, &end, 10);
			assert_true(end != p);
		}
	}
	return (int64_t)t * 1000 / sysconf(_SC_CLK_TCK);
}

/* CPU time the agent uses over 2 s, in ms; at most 5% of a core passes. */
static void
expect_idle_cpu(pid_t pid, const char *what)
{
	int64_t c0 = cpu_ms(pid), c1;

	dpk_test_sleep_ms(2000);
	c1 = cpu_ms(pid);
	if (c1 - c0 > 100)
		fail_msg("%s: the agent used %lld ms of CPU in 2 s (more than 5%% of a core)", what, (long long)(c1 - c0));
}

/* While uid nobody floods the socket, root's getpwnam and STATUS succeed
 * every time, quickly; nobody's connections are closed by the I/O deadline
 * although it sends a byte every 3 s; the refusals make a line or two in
 * the log, not one each. */
static void
test_flood_root_served(void **state)
{
	struct env *e = *state;
	char so[4096], buf[2048];
	struct passwd pw;
	pwnam_fn pwnam;
	int64_t worst = 0, t_end;
	void *h;
	int err = 0, rounds = 0;

	dpk_test_built("nss_dpk/.libs/libnss_dpk.so.2", so, sizeof(so));
	assert_non_null(h = dlopen(so, RTLD_NOW | RTLD_LOCAL));
	*(void **)&pwnam = dlsym(h, "_nss_dpk_getpwnam_r");
	assert_non_null(pwnam);
	setenv("DPK_AGENT_SOCKET", e->host.sock, 1);
	setenv("DPK_NSS_CACHE", "/nonexistent/dpk-nss-cache", 1);

	e->child = dpk_test_flood(e->host.sock, NOBODY, 300, 3000, 1);
	/* past the I/O deadline of the first batch, so that nobody is reconnecting too */
	t_end = dpk_test_now_ms() + 3 * IO_TIMEOUT_MS + 2000;
	while (dpk_test_now_ms() < t_end) {
		struct dpk_client_status st;
		struct dpk_client *c;
		int64_t t0 = dpk_test_now_ms(), dt;

		assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
		assert_int_equal(dpk_client_open(e->host.sock, 1000, 0, &c), 0);
		assert_int_equal(dpk_client_status(c, &st), 0);
		dpk_client_close(c);
		dt = dpk_test_now_ms() - t0;
		if (dt > worst)
			worst = dt;
		rounds++;
		dpk_test_sleep_ms(50);
	}
	print_message("root: %d rounds of getpwnam + STATUS during the flood, slowest %lld ms\n", rounds, (long long)worst);
	assert_true(worst < 1000);
	/* nobody kept reconnecting at full speed: a first line and no more (a minute has not passed) */
	assert_true(dpk_test_count_lines(e->host.log, "refusing a connection from uid 65534") == 1);
	assert_true(dpk_test_count_lines(e->host.log, "uid 65534") <= 2);
	kill(e->child, SIGKILL);
	waitpid(e->child, NULL, 0);
	e->child = 0;
	unsetenv("DPK_AGENT_SOCKET");
	unsetenv("DPK_NSS_CACHE");
	dlclose(h);
}

/* One byte at a time does not keep a connection: it is closed when the
 * request is not complete within client_io_timeout; and an idle one after
 * client_idle_timeout. */
static void
test_slow_client_evicted(void **state)
{
	struct env *e = *state;
	static const uint8_t header[] = {0, 0, 0, 100}; /* a 100-byte request, sent a byte at a time */
	int fd = unix_connect(e->host.sock, 0), idle = unix_connect(e->host.sock, 0);
	int64_t t0 = dpk_test_now_ms(), closed = -1;
	char b;

	assert_true(fd >= 0 && idle >= 0);
	assert_int_equal(send(fd, header, sizeof(header), MSG_NOSIGNAL), 4);
	while (dpk_test_now_ms() - t0 < 6000) {
		dpk_test_sleep_ms(200);
		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1 || recv(fd, &b, 1, MSG_DONTWAIT) == 0) {
			closed = dpk_test_now_ms() - t0;
			break;
		}
	}
	assert_true(closed >= IO_TIMEOUT_MS - 100 && closed < IO_TIMEOUT_MS + 2000);
	struct pollfd p = {idle, POLLIN, 0};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(recv(idle, &b, 1, 0), 0); /* closed: idle past 2 s */
	close(fd);
	close(idle);
}

/* Login challenges from one remote host and from none, thousands of them,
 * and then a real user's login from another host succeeds, although the
 * flood goes on meanwhile. A made-up name gets no challenge at all (the
 * admission decision refuses it before a slot is taken); the flood that
 * takes slots asks for a real user's challenges from its own hosts. */
static void
test_challenge_flood(void **state)
{
	struct env *e = *state;
	struct dpk_client_login_challenge ch, mine;
	struct dpk_client_login_response resp;
	struct dpk_client *c, *dev;
	char name[64], ident[254];
	int i;

	assert_int_equal(dpk_client_open(e->host.sock, 5000, 1, &c), 0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "u%d.flood.example", i);
		assert_int_equal(dpk_client_login_challenge_from(c, name, "sshd", i % 2 ? "203.0.113.66" : NULL, &ch),
		    DPK_CLIENT_EAGENT);
		assert_int_equal(dpk_client_agent_error(c, NULL), 19);
	}
	for (i = 0; i < 3000; i++)
		assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", i % 2 ? "203.0.113.66" :
		    NULL, &ch), 0);
	assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", "198.51.100.7", &mine), 0);
	for (; i < 5000; i++)
		assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", i % 2 ? "203.0.113.66" :
		    NULL, &ch), 0);
	assert_int_equal(dpk_client_open(e->alice.sock, 5000, 0, &dev), 0);
	assert_int_equal(dpk_client_login_respond(dev, mine.challenge, &resp), 0);
	dpk_client_close(dev);
	assert_int_equal(dpk_client_login_verify(c, mine.challenge, resp.response, ident, sizeof(ident)), 0);
	assert_string_equal(ident, "alice.example.org");
	dpk_client_close(c);
	/* the forgetting is logged, not once per challenge */
	assert_true(dpk_test_count_lines(e->host.log, "login challenges:") <= 1);
}

/* With the agent stopped and its listen backlog full, a client's connect
 * fails with EAGAIN: libdpkclient tries again within its deadline, and
 * gets through once the agent takes connections again. */
static void
test_full_backlog(void **state)
{
	struct env *e = *state;
	struct dpk_client_status st;
	struct dpk_client *c;
	int fill[512], n = 0, r;
	pid_t waker;
	int64_t t0;

	kill(e->host.pid, SIGSTOP);
	while (n < 512 && (fill[n] = unix_connect(e->host.sock, 1)) >= 0)
		n++;
	assert_true(n < 512); /* the backlog filled up */
	assert_true((waker = fork()) >= 0);
	if (waker == 0) {
		dpk_test_sleep_ms(700);
		kill(e->host.pid, SIGCONT);
		_exit(0);
	}
	t0 = dpk_test_now_ms();
	r = dpk_client_open(e->host.sock, 5000, 0, &c);
	int64_t dt = dpk_test_now_ms() - t0;
	assert_int_equal(r, 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	dpk_client_close(c);
	assert_true(dt >= 500 && dt < 5000);
	waitpid(waker, NULL, 0);
	for (int i = 0; i < n; i++)
		close(fill[i]);
	/* a deadline that passes while the backlog stays full is a timeout, in time */
	kill(e->host.pid, SIGSTOP);
	n = 0;
	while (n < 512 && (fill[n] = unix_connect(e->host.sock, 1)) >= 0)
		n++;
	t0 = dpk_test_now_ms();
	assert_int_equal(dpk_client_open(e->host.sock, 400, 0, &c), DPK_CLIENT_ETIMEOUT);
	dt = dpk_test_now_ms() - t0;
	assert_true(dt >= 350 && dt < 1500);
	kill(e->host.pid, SIGCONT);
	for (int i = 0; i < n; i++)
		close(fill[i]);
}

/* An agent whose JSON-RPC node hangs: the event poll takes longer than
 * poll_interval, and the loop must sleep meanwhile; a client that asks for
 * an identity and hangs up while it waits must not be served again and
 * again. Each: under 5% of a core over 2 s. Then one waiter's deadline
 * (an NSS request, 750 ms) is kept, and does not end another's (a LOOKUP,
 * 10 s): when the node answers, the LOOKUP gets its record. */
static void
test_no_busy_loops(void **state)
{
	struct env *e = *state;
	struct dpk_test_agent slow = {0};
	uint32_t code = 0;
	int fd, nfd;

	dpk_test_rpcproxy_start(&e->proxy, e->dir, e->anvil.port);
	dpk_test_agent_start(&slow, e->dir, "slow", e->proxy.url, e->contract,
	    "nss_allow = alice.example.org\npoll_interval = 100ms\nrpc_timeout = 20s\nrequest_timeout = 10s\n");
	wait_ready(slow.sock);
	dpk_test_sleep_ms(500); /* its first poll is through */
	dpk_test_rpcproxy_hang(&e->proxy, 1);
	dpk_test_sleep_ms(500); /* the next one hangs */
	expect_idle_cpu(slow.pid, "a chain poll that hangs");

	assert_true((fd = unix_connect(slow.sock, 0)) >= 0);
	send_string_request(fd, 0x03, "gone.hangup.example"); /* LOOKUP */
	dpk_test_sleep_ms(200);
	close(fd);
	dpk_test_sleep_ms(200);
	expect_idle_cpu(slow.pid, "a waiting client that hung up");

	/* two waiters for alice: a LOOKUP (10 s), then getpwnam (750 ms) */
	assert_true((fd = unix_connect(slow.sock, 0)) >= 0);
	send_string_request(fd, 0x03, "alice.example.org");
	assert_true((nfd = unix_connect(slow.sock, 0)) >= 0);
	int64_t t0 = dpk_test_now_ms();
	send_string_request(nfd, 0x06, "alice.example.org"); /* GETPWNAM */
	assert_int_equal(read_reply(nfd, 3000, &code), 0x7f); /* its deadline: FAILURE */
	/* answered at its deadline (750 ms), not at the loop's next wake-up a second later */
	assert_true(dpk_test_now_ms() - t0 < 1600);
	assert_int_equal(read_reply(fd, 300, NULL), -1);      /* the LOOKUP still waits */
	dpk_test_rpcproxy_hang(&e->proxy, 0);
	assert_int_equal(read_reply(fd, 25000, &code), 0x83); /* the LOOKUP's reply */
	close(fd);
	close(nfd);
	dpk_test_agent_stop(&slow);
	dpk_test_rpcproxy_stop(&e->proxy);
}

/* With the node hung, uid nobody starts chain reads of many identities:
 * max_chain_reads_per_uid (16) of them wait, the rest are refused at once
 * as busy; asking again for one under way waits (it counts once); root's
 * read of another identity still waits for the chain, not refused. */
static void
test_chain_reads_bounded(void **state)
{
	struct env *e = *state;
	struct dpk_test_agent slow = {0};
	uint32_t code = 0;
	int status, fd;
	pid_t pid;

	dpk_test_rpcproxy_start(&e->proxy, e->dir, e->anvil.port);
	dpk_test_agent_start(&slow, e->dir, "slow", e->proxy.url, e->contract,
	    "rpc_timeout = 20s\nrequest_timeout = 10s\nmax_connections_per_uid = 64\n"); /* 40 readers of one uid */
	wait_ready(slow.sock);
	dpk_test_sleep_ms(500);
	dpk_test_rpcproxy_hang(&e->proxy, 1);
	dpk_test_sleep_ms(300);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		int fds[40], waiting = 0, busy = 0;
		char id[64];

		if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
			_exit(3);
		/* all asked first, then the answers looked at: a BUSY comes at once,
		 * a waiting read never (the node hangs), however slow this machine */
		for (int i = 0; i < 20; i++) {
			snprintf(id, sizeof(id), "n%d.reads.example", i);
			if ((fds[i] = unix_connect(slow.sock, 0)) < 0)
				_exit(4);
			send_string_request(fds[i], 0x03, id);
			usleep(20000); /* in order: the first 16 are the ones that wait */
		}
		usleep(1500000);
		for (int i = 0; i < 20; i++) {
			uint32_t c = 0;
			int t = read_reply(fds[i], 50, &c);

			if (t == -1)
				waiting++;
			else if (t == 0x7f && c == 28) /* DPK_ERR_BUSY */
				busy++;
		}
		/* the same identity as one under way: joins it */
		for (int i = 20; i < 40; i++) {
			if ((fds[i] = unix_connect(slow.sock, 0)) < 0)
				_exit(5);
			send_string_request(fds[i], 0x03, "n0.reads.example");
		}
		usleep(1000000);
		for (int i = 20; i < 40; i++)
			if (read_reply(fds[i], 50, NULL) == -1)
				waiting++;
		_exit(waiting == 16 + 20 && busy == 4 ? 0 : 10);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* root is not refused */
	assert_true((fd = unix_connect(slow.sock, 0)) >= 0);
	send_string_request(fd, 0x03, "root.reads.example");
	assert_int_equal(read_reply(fd, 500, &code), -1);
	close(fd);
	dpk_test_agent_stop(&slow);
	dpk_test_rpcproxy_stop(&e->proxy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flood_root_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenge_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_busy_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_reads_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
