/* The PSK listener under load, with real agents on a real anvil: inbound
 * and outbound handshakes have budgets of their own, so peers that connect
 * and stay silent never block the handshakes this host starts
 * (psk_max_handshakes, psk_max_outbound); one source gets at most
 * psk_max_per_source inbound handshakes, where a source is an IPv4 address
 * or a whole IPv6 /64 (in a private network namespace with addresses of
 * two /64s on its loopback, when run as root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpk/client.h"
#include "harness.h"
#include "psk_env.h"

static int have_v6; /* the private namespace with 2001:db8:1:2::1, ::2 and 2001:db8:1:3::1 is up */

/* 1 if the listener refused fd at once with an ERROR (busy) frame; 0 if it
 * kept it open and silent for wait_ms. */
static int
refused(int fd, int wait_ms)
{
	uint8_t buf[64];
	struct pollfd pf = {fd, POLLIN, 0};

	if (poll(&pf, 1, wait_ms) != 1)
		return 0;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	return n > 5 && buf[5] == 0x0f;
}

/* Four silent peers fill B's inbound budget; B still starts its own
 * handshakes, up to psk_max_outbound at once. */
static void
test_inbound_flood_does_not_block_outbound(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk psk;
	char msg[512];
	int fds[5];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, "psk_max_handshakes = 4\npsk_max_per_source = 4\npsk_max_outbound = 1\n");
	for (int i = 0; i < 4; i++)
		fds[i] = psk_connect_from("127.0.0.1", "127.0.0.1", e->ag[1].port);
	psk_sleep_ms(200);
	fds[4] = psk_connect_from("127.0.0.1", "127.0.0.1", e->ag[1].port);
	assert_true(refused(fds[4], 2000)); /* inbound is full */
	/* B's own handshake with A is not held up by them */
	assert_int_equal(psk_handshake(e, 1, 0, &psk, msg, sizeof(msg)), 0);
	dpk_client_psk_clear(&psk);

	/* the outbound budget is B's own: one handshake to a silent endpoint
	 * holds it (psk_max_outbound = 1), so the next is refused, saying why */
	int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(silent, 4), 0);
	getsockname(silent, (struct sockaddr *)&sa, &sl);
	pid_t pid = fork();
	if (pid == 0) {
		struct dpk_client *c;
		char ep[64];

		snprintf(ep, sizeof(ep), "127.0.0.1:%d", ntohs(sa.sin_port));
		if (dpk_client_open(e->ag[1].sock, 15000, 0, &c) != 0)
			_exit(2);
		dpk_client_psk_handshake(c, "a.example.org", ep, 0, &psk);
		_exit(0);
	}
	psk_sleep_ms(500);
	assert_int_equal(psk_handshake(e, 1, 0, &psk, msg, sizeof(msg)), DPK_CLIENT_EAGENT);
	assert_non_null(strstr(msg, "psk_max_outbound"));
	/* and the silent endpoint's handshake ends at psk_handshake_timeout (5 s), freeing it */
	assert_int_equal(dpk_test_wait_exit(pid, 10000), 0);
	close(silent);
	assert_int_equal(psk_handshake(e, 1, 0, &psk, msg, sizeof(msg)), 0);
	dpk_client_psk_clear(&psk);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
}

/* psk_max_per_source for IPv4: per address. */
static void
test_per_source_ipv4(void **state)
{
	struct env *e = *state;
	int fds[4];

	psk_start_agent(e, 1, "b.example.org", 1, "psk_max_per_source = 2\n");
	fds[0] = psk_connect_from("127.0.0.2", "127.0.0.1", e->ag[1].port);
	fds[1] = psk_connect_from("127.0.0.2", "127.0.0.1", e->ag[1].port);
	psk_sleep_ms(200);
	fds[2] = psk_connect_from("127.0.0.2", "127.0.0.1", e->ag[1].port);
	assert_true(refused(fds[2], 2000));
	fds[3] = psk_connect_from("127.0.0.3", "127.0.0.1", e->ag[1].port);
	assert_false(refused(fds[3], 300)); /* another address: served */
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}

/* psk_max_per_source for IPv6: a /64 is one source, whatever the address in it. */
static void
test_per_source_ipv6_64(void **state)
{
	struct env *e = *state;
	char extra[128];
	int fds[5];

	if (!have_v6)
		skip();
	snprintf(extra, sizeof(extra), "psk_listen = [::]:%d\npsk_max_per_source = 2\n", dpk_test_free_port());
	psk_start_agent(e, 1, "b.example.org", 1, extra);
	fds[0] = psk_connect_from("2001:db8:1:2::1", "2001:db8:1:2::1", e->ag[1].port);
	fds[1] = psk_connect_from("2001:db8:1:2::1", "2001:db8:1:2::1", e->ag[1].port);
	psk_sleep_ms(200);
	/* another address of the same /64: the same source, so refused */
	fds[2] = psk_connect_from("2001:db8:1:2::2", "2001:db8:1:2::1", e->ag[1].port);
	assert_true(refused(fds[2], 2000));
	/* another /64: served */
	fds[3] = psk_connect_from("2001:db8:1:3::1", "2001:db8:1:2::1", e->ag[1].port);
	assert_false(refused(fds[3], 300));
	/* IPv4 through the same dual-stack listener counts apart */
	fds[4] = psk_connect_from("127.0.0.1", "127.0.0.1", e->ag[1].port);
	assert_false(refused(fds[4], 300));
	for (int i = 0; i < 5; i++)
		close(fds[i]);
}

/* As root: a private network namespace with its loopback up and three
 * IPv6 addresses in two /64s. Everything the test starts (anvil, agents)
 * runs inside it. */
static void
private_network(void)
{
	static const char *const addrs[] = {"2001:db8:1:2::1/64", "2001:db8:1:2::2/64", "2001:db8:1:3::1/64"};
	char *up[] = {(char *)"/usr/sbin/ip", (char *)"link", (char *)"set", (char *)"lo", (char *)"up", NULL};

	if (geteuid() != 0 || access("/usr/sbin/ip", X_OK) != 0 || unshare(CLONE_NEWNET) != 0)
		return;
	if (dpk_test_run(up, NULL, NULL) != 0)
		return;
	for (size_t i = 0; i < 3; i++) {
		char *add[] = {(char *)"/usr/sbin/ip", (char *)"-6", (char *)"addr", (char *)"add", (char *)addrs[i],
			(char *)"dev", (char *)"lo", (char *)"nodad", NULL};

		if (dpk_test_run(add, NULL, NULL) != 0)
			return;
	}
	have_v6 = 1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inbound_flood_does_not_block_outbound, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_per_source_ipv4, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_per_source_ipv6_64, psk_setup, psk_teardown),
	};

	private_network();
	if (!have_v6)
		fprintf(stderr, "test_psk_load: no private network namespace (needs root and ip): the IPv6 /64 case is skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
