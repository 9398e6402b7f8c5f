/* pam_dpk's agent side, timed: a local anvil with the registry, a host agent
 * and a user-device agent (P-256 key registered on chain), and N logins
 * through libdpkclient as pam_dpk and dpkctl make them: LOGIN_CHALLENGE on
 * the host, LOGIN_RESPOND on the device, LOGIN_VERIFY on the host. Prints
 * the median and 95th percentile of each step and of a whole login, the
 * first (cold: the key read from the chain) VERIFY, and the host agent's
 * resident memory before and after. Run by hand after scripts/setup:
 *   make -C build tests/bench/login-bench && DPK_TOP_BUILDDIR=$PWD/build \
 *   DPK_ANVIL=tools/node_modules/.bin/anvil build/tests/bench/login-bench [N] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpk/client.h"
#include "agent.h"
#include "chain.h"
#include "harness.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%-28s median %7.3f ms   p95 %7.3f ms\n", what, v[n / 2], v[(n * 95) / 100]);
}

static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void
bench(void **state)
{
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	struct dpk_test_agent host = {0}, dev = {0};
	struct dpk_client *hc, *dc;
	struct dpk_client_login_challenge ch;
	struct dpk_client_login_response resp;
	uint8_t contract[20];
	char dir[64], ident[254];
	const char *url;
	int n = *(int *)*state;
	double *c = calloc((size_t)n, sizeof(double)), *r = calloc((size_t)n, sizeof(double)),
	       *v = calloc((size_t)n, sizeof(double)), *all = calloc((size_t)n, sizeof(double));
	long rss0;

	dpk_test_anvil_start(&anvil, NULL);
	url = anvil.url;
	assert_int_equal(dpk_rpc_new(&rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &owner);
	dpk_test_wallet(DPK_TEST_APPROVER_KEY, &approver);
	dpk_test_wallet(DPK_TEST_DEVICE_KEY, &device);
	dpk_test_deploy(rpc, &owner, &approver, contract);
	dpk_test_tmpdir(dir, sizeof(dir));
	dpk_test_agent_start(&host, dir, "host", anvil.url, contract,
	    "identity = host.example.org\nnss_allow = alice.example.org\n");
	dpk_test_agent_start(&dev, dir, "alice", anvil.url, contract, "identity = alice.example.org\n");
	dpk_test_agent_register(&dev, rpc, contract, &approver, &device, "alice.example.org");
	/* the device answers only a host registered on chain */
	dpk_test_agent_register(&host, rpc, contract, &approver, &device, "host.example.org");
	assert_int_equal(dpk_client_open(host.sock, 5000, 1, &hc), 0);
	assert_int_equal(dpk_client_open(dev.sock, 5000, 0, &dc), 0);
	rss0 = rss_kb(host.pid);

	for (int i = -1; i < n; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_int_equal(dpk_client_login_challenge(hc, "alice.example.org", "sshd", &ch), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double tc = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		assert_int_equal(dpk_client_login_respond(dc, ch.challenge, &resp), 0);
		clock_gettime(CLOCK_MONOTONIC, &a);
		double tr = (a.tv_sec - b.tv_sec) * 1e3 + (a.tv_nsec - b.tv_nsec) / 1e6;
		assert_int_equal(dpk_client_login_verify(hc, ch.challenge, resp.response, ident, sizeof(ident)), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double tv = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		if (i < 0) {
			printf("first login (cold cache: the key read from anvil): VERIFY %.3f ms, whole %.3f ms\n", tv,
			    tc + tr + tv);
			continue;
		}
		c[i] = tc;
		r[i] = tr;
		v[i] = tv;
		all[i] = tc + tr + tv;
	}
	printf("%d warm logins (P-256 device key):\n", n);
	report("LOGIN_CHALLENGE (host)", c, n);
	report("LOGIN_RESPOND (device)", r, n);
	report("LOGIN_VERIFY (host)", v, n);
	report("whole login", all, n);
	printf("host agent RSS: %ld kB before, %ld kB after\n", rss0, rss_kb(host.pid));
	dpk_client_close(hc);
	dpk_client_close(dc);
	dpk_test_agent_stop(&host);
	dpk_test_agent_stop(&dev);
	dpk_test_anvil_stop(&anvil);
	dpk_rpc_free(rpc);
	dpk_test_rmtree(dir);
	free(c);
	free(r);
	free(v);
	free(all);
}

int
main(int argc, char **argv)
{
	static int n;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(bench, &n),
	};

	n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1000;
	if (n < 1 || n > 100000)
		n = 1000;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
