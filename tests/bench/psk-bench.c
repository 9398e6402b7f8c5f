/* PSK exchange between two real dpk-agents on loopback (tests/bench/psk-bench.sh):
 * handshake latency through the client API (p50, p99), CPU per handshake
 * of both agents together and handshakes per second per core; in the same
 * run, openssl s_time full TLS 1.3 handshakes (-new) against s_server with a
 * throwaway P-256 certificate, CPU of s_server and s_time together; the
 * ratio. Then the agent's resident memory with 64 handshakes in flight
 * (each stopped after M2, waiting for M3), per handshake.
 *
 * Uses the integration tests' set-up (anvil, registry, registered agents),
 * run as one cmocka test so that a failing step stops with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "chain.h"
#include "psk/handshake.h"
#include "harness.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "psk_env.h"

static int runs = 300;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of pid in seconds */
static double
cpu_s(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	p += 2;
	for (int field = 3; field < 14 && p != NULL; field++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (p == NULL)
		return 0;
	ut = strtoul(p, &p, 10);
	st = strtoul(p, NULL, 10);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
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

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* openssl s_time -new for secs against a fresh s_server with a P-256
 * certificate: connections made and CPU seconds of both processes. */
static void
tls13_baseline(struct env *e, int secs, long *conns, double *cpu)
{
	char key[256], crt[256], accept[32], connect[32], secstr[16], log[256];
	struct rusage ru;
	struct dpk_buf out;
	int status, port = dpk_test_free_port();
	pid_t srv, st;

	snprintf(key, sizeof(key), "%s/bench.key", e->dir);
	snprintf(crt, sizeof(crt), "%s/bench.crt", e->dir);
	snprintf(log, sizeof(log), "%s/s_server.log", e->dir);
	snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
	snprintf(connect, sizeof(connect), "127.0.0.1:%d", port);
	snprintf(secstr, sizeof(secstr), "%d", secs);
	char *req[] = {(char *)"/usr/bin/openssl", (char *)"req", (char *)"-x509", (char *)"-newkey", (char *)"ec",
		(char *)"-pkeyopt", (char *)"ec_paramgen_curve:P-256", (char *)"-nodes", (char *)"-keyout", key,
		(char *)"-out", crt, (char *)"-subj", (char *)"/CN=bench", (char *)"-days", (char *)"1", NULL};
	assert_int_equal(dpk_test_run(req, NULL, NULL), 0);
	char *sv[] = {(char *)"/usr/bin/openssl", (char *)"s_server", (char *)"-accept", accept, (char *)"-cert", crt,
		(char *)"-key", key, (char *)"-tls1_3", (char *)"-www", (char *)"-quiet", NULL};
	srv = dpk_test_spawn(sv, log);
	psk_sleep_ms(500);
	double c0 = cpu_s(srv);
	char *tm[] = {(char *)"/usr/bin/openssl", (char *)"s_time", (char *)"-connect", connect, (char *)"-new",
		(char *)"-tls1_3", (char *)"-time", secstr, NULL};
	int p[2];
	assert_int_equal(pipe(p), 0);
	if ((st = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(tm[0], tm);
		_exit(127);
	}
	close(p[1]);
	dpk_buf_init(&out, 1 << 20);
	for (;;) {
		char chunk[4096];
		ssize_t n = read(p[0], chunk, sizeof(chunk));

		if (n <= 0)
			break;
		dpk_buf_put(&out, chunk, (size_t)n);
	}
	close(p[0]);
	dpk_buf_cstr(&out);
	assert_int_equal(wait4(st, &status, 0, &ru), st);
	*cpu = cpu_s(srv) - c0 + ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	    ru.ru_stime.tv_usec / 1e6;
	kill(srv, SIGTERM);
	dpk_test_wait_exit(srv, 3000);
	/* "NNN connections in X.XXs; ..." (the first, -new, block) */
	const char *q = strstr((const char *)out.data, " connections in ");
	*conns = 0;
	if (q != NULL) {
		while (q > (const char *)out.data && q[-1] >= '0' && q[-1] <= '9')
			q--;
		*conns = strtol(q, NULL, 10);
	}
	if (*conns <= 0)
		fail_msg("openssl s_time printed no count: %s", (const char *)out.data);
	dpk_buf_free(&out);
}

static void
bench(void **state)
{
	struct env *e = *state;
	struct dpk_client *c;
	struct dpk_client_psk psk;
	double *lat = calloc((size_t)runs, sizeof(double));
	char ep[64];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, "psk_max_handshakes = 256\n");
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", e->ag[1].port);
	assert_int_equal(dpk_client_open(e->ag[0].sock, 15000, 0, &c), 0);
	for (int i = 0; i < 20; i++) { /* warm: keys cached, code paged in */
		assert_int_equal(dpk_client_psk_handshake(c, "b.example.org", ep, 0, &psk), 0);
	}
	double ca = cpu_s(e->ag[0].pid), cb = cpu_s(e->ag[1].pid), t0 = now_s();
	for (int i = 0; i < runs; i++) {
		double s = now_s();

		assert_int_equal(dpk_client_psk_handshake(c, "b.example.org", ep, 0, &psk), 0);
		lat[i] = now_s() - s;
	}
	double wall = now_s() - t0;
	double cpu_a = cpu_s(e->ag[0].pid) - ca, cpu_b = cpu_s(e->ag[1].pid) - cb;
	dpk_client_close(c);
	qsort(lat, (size_t)runs, sizeof(double), cmp_double);
	double per_hs = (cpu_a + cpu_b) / runs;

	printf("DPK PSK handshakes, agent A -> agent B on loopback (P-256 identity keys), %d sequential runs:\n", runs);
	printf("  latency through the client API: p50 %.2f ms, p99 %.2f ms (wall %.2f s, %.0f handshakes/s)\n",
	    lat[runs / 2] * 1e3, lat[(runs * 99) / 100] * 1e3, wall, runs / wall);
	printf("  CPU per handshake: initiator agent %.3f ms, responder agent %.3f ms, both %.3f ms\n",
	    cpu_a / runs * 1e3, cpu_b / runs * 1e3, per_hs * 1e3);
	printf("  handshakes per second per core (both sides' CPU): %.0f\n", 1.0 / per_hs);

	long conns;
	double tls_cpu;
	tls13_baseline(e, 5, &conns, &tls_cpu);
	double per_tls = tls_cpu / conns;
	printf("openssl s_time -new, full TLS 1.3 handshakes, P-256 certificate, same machine, 5 s:\n");
	printf("  %ld handshakes; CPU per handshake (s_server + s_time) %.3f ms; %.0f per second per core\n", conns,
	    per_tls * 1e3, 1.0 / per_tls);
	printf("ratio: DPK PSK handshake CPU / TLS 1.3 handshake CPU = %.2f (target: at most 1.5)\n", per_hs / per_tls);

	/* memory: 64 handshakes held after M2 (B waits for M3) */
	struct dpk_idkey *k;
	struct dpk_buf pub, out;
	struct dpk_identity self, peer;
	struct dpk_client_pubkey bp;
	int fds[64];

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, "mem.example.org", 1, pub.data, pub.len);
	assert_int_equal(dpk_client_open(e->ag[1].sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &bp), 0);
	dpk_client_close(c);
	dpk_identity_parse("mem.example.org", 15, &self);
	dpk_identity_parse("b.example.org", 13, &peer);
	psk_sleep_ms(300);
	long rss0 = rss_kb(e->ag[1].pid);
	dpk_buf_init(&out, DPK_HS_MSG_MAX);
	for (int i = 0; i < 64; i++) {
		struct dpk_hs *hs = dpk_hs_new(DPK_HS_INITIATOR, k, &self, NULL);
		uint8_t len[4];

		assert_non_null(hs);
		assert_int_equal(dpk_hs_set_peer(hs, &peer), 0);
		assert_int_equal(dpk_hs_set_peer_key(hs, bp.algorithm, bp.onchain, bp.onchain_len), 0);
		dpk_buf_reset(&out);
		assert_int_equal(dpk_hs_step(hs, NULL, 0, &out), DPK_HS_SEND);
		len[0] = 0;
		len[1] = 0;
		len[2] = (uint8_t)(out.len >> 8);
		len[3] = (uint8_t)out.len;
		assert_true((fds[i] = psk_connect(e->ag[1].port)) >= 0);
		assert_int_equal(send(fds[i], len, 4, 0), 4);
		assert_int_equal(send(fds[i], out.data, out.len, 0), (ssize_t)out.len);
		dpk_hs_free(hs);
	}
	/* every one answered with M2: all 64 hold their state now */
	for (int i = 0; i < 64; i++) {
		struct pollfd pf = {fds[i], POLLIN, 0};

		assert_int_equal(poll(&pf, 1, 5000), 1);
	}
	long rss1 = rss_kb(e->ag[1].pid);
	printf("memory: responder agent RSS %ld kB idle, %ld kB with 64 handshakes in flight: %.1f kB per handshake\n",
	    rss0, rss1, (rss1 - rss0) / 64.0);
	for (int i = 0; i < 64; i++)
		close(fds[i]);
	dpk_buf_free(&out);
	dpk_buf_free(&pub);
	dpk_client_pubkey_free(&bp);
	dpk_idkey_free(k);
	free(lat);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bench, psk_setup, psk_teardown),
	};

	if (argc > 1 && (runs = (int)strtol(argv[1], NULL, 10)) < 10)
		runs = 10;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
