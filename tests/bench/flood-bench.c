/* Fair shares, timed: a local anvil with the registry, a host agent whose
 * nss_allow admits a registered identity, and uid nobody flooding its
 * socket (tests/harness/flood.h: as many connections as it can, one byte
 * every 3 s, reconnecting at once whenever one is closed). Root meanwhile
 * does what getent and dpkctl status do: getpwnam through libnss_dpk, and
 * STATUS through libdpkclient, each a fresh connection with the modules'
 * timeouts. Prints the success rate and the latency (p50, p99, max) of each
 * without and with the flood, beside the target (every one succeeds, p99
 * under 50 ms), and the agent's refusal log lines. Run by
 * tests/bench/socket-flood.sh (needs root: the flood runs as nobody). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <nss.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "dpk/client.h"
#include "agent.h"
#include "chain.h"
#include "flood.h"
#include "harness.h"

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);

struct series {
	double ms[20000];
	int n, ok;
};

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, struct series *s)
{
	qsort(s->ms, (size_t)s->n, sizeof(s->ms[0]), cmp);
	printf("  %-34s %5d/%-5d %6.1f%%  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms   %s\n", what, s->ok, s->n,
	    s->n ? 100.0 * s->ok / s->n : 0.0, s->n ? s->ms[s->n / 2] : 0, s->n ? s->ms[(s->n * 99) / 100] : 0,
	    s->n ? s->ms[s->n - 1] : 0,
	    s->ok == s->n && s->n > 0 && s->ms[(s->n * 99) / 100] < 50 ? "meets the target" : "MISSES the target");
}

static double
now_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Rounds of getpwnam and STATUS for seconds. */
static void
run(const char *sock, pwnam_fn pwnam, int seconds, struct series *pw, struct series *st)
{
	double end = now_f() + seconds * 1000.0;

	pw->n = pw->ok = st->n = st->ok = 0;
	while (now_f() < end && pw->n < 20000) {
		struct dpk_client_status s;
		struct dpk_client *c;
		struct passwd p;
		char buf[2048];
		int err = 0;
		double t0 = now_f();

		pw->ok += pwnam("bench.example.org", &p, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS;
		pw->ms[pw->n++] = now_f() - t0;
		t0 = now_f();
		if (dpk_client_open(sock, 2000, 0, &c) == 0) {
			st->ok += dpk_client_status(c, &s) == 0;
			dpk_client_close(c);
		}
		st->ms[st->n++] = now_f() - t0;
		dpk_test_sleep_ms(20);
	}
}

static int seconds = 10;

static void
bench(void **state)
{
	static struct series pw, st;
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	struct dpk_test_agent host;
	uint8_t contract[20];
	char dir[64], so[4096];
	pwnam_fn pwnam;
	void *h;
	pid_t flood;

	(void)state;
	dpk_test_chain_up(&anvil, &rpc, &owner, &approver, &device, contract);
	dpk_test_tmpdir(dir, sizeof(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	dpk_test_agent_start(&host, dir, "host", anvil.url, contract,
	    "identity = bench.example.org\nnss_allow = bench.example.org\ncache_ttl = 1h\n");
	dpk_test_agent_register(&host, rpc, contract, &approver, &device, "bench.example.org");
	dpk_test_built("nss_dpk/.libs/libnss_dpk.so.2", so, sizeof(so));
	assert_non_null(h = dlopen(so, RTLD_NOW | RTLD_LOCAL));
	*(void **)&pwnam = dlsym(h, "_nss_dpk_getpwnam_r");
	assert_non_null(pwnam);
	setenv("DPK_AGENT_SOCKET", host.sock, 1);
	setenv("DPK_NSS_CACHE", "/nonexistent/dpk-nss-cache", 1);

	printf("socket flood benchmark: %d s per phase; root: getpwnam via libnss_dpk (what getent does), then STATUS\n"
	    "via libdpkclient (what dpkctl status does), a new connection each, every 20 ms\n"
	    "target: 100%% success, p99 < 50 ms\n\n", seconds);
	run(host.sock, pwnam, seconds, &pw, &st);
	printf("no flood:\n");
	report("root getpwnam (getent passwd)", &pw);
	report("root STATUS (dpkctl status)", &st);
	flood = dpk_test_flood(host.sock, 65534, 400, 3000, 1);
	run(host.sock, pwnam, seconds, &pw, &st);
	kill(flood, SIGKILL);
	waitpid(flood, NULL, 0);
	printf("uid 65534 flooding (400 connections wanted, one byte every 3 s, reconnecting at once):\n");
	report("root getpwnam (getent passwd)", &pw);
	report("root STATUS (dpkctl status)", &st);
	printf("agent log: %zu line(s) about uid 65534 (refused connections, protocol errors; rate-limited)\n",
	    dpk_test_count_lines(host.log, "uid 65534"));
	dlclose(h);
	dpk_test_agent_stop(&host);
	dpk_test_chain_down(&anvil, rpc);
	dpk_test_rmtree(dir);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bench),
	};

	if (argc > 1)
		seconds = (int)strtol(argv[1], NULL, 10);
	if (seconds < 1 || seconds > 600)
		seconds = 10;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
