/* The PSK exchange end to end: a real anvil with the registry, real
 * dpk-agents (each with its own socket, state and loopback port) whose
 * identity keys are registered on chain, dpkctl, and the stock openssl
 * s_server / s_client.
 *
 * Covered: dpkctl psk from A to B; both agents hold the same PSK under the
 * same PSK identity (psk-get --show-key on each, by peer and by identity);
 * openssl s_server -psk and s_client -psk complete TLS 1.3 and TLS 1.2
 * (PSK-AES128-GCM-SHA256) handshakes with it and exchange data, and fail
 * with a wrong key; examples/psk-server (which asks its agent for the PSK
 * in OpenSSL's PSK callbacks) serves s_client with ECDHE-PSK and DHE-PSK
 * suites and TLS 1.3, never with a plain PSK suite; a peer not on chain and a
 * revoked one are refused in
 * both roles; oversized, zero-length, truncated and garbage frames sent to
 * the listener are refused while an honest handshake running at the same
 * time succeeds; the cap on concurrent handshakes refuses the excess with
 * an ERROR and recovers, and one source address gets only a quarter of it; malformed PSK and ticket requests on the local
 * socket (truncated, trailing bytes, embedded NUL, oversized, bad values)
 * get a syntax failure and change nothing; an ordinary user gets PSK
 * identities but neither keys nor handshakes to an endpoint of its choice;
 * without an endpoint a peer is reached at its identity's own address
 * (a name through the resolver, an IP address as it is). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "psk_env.h"
#include "chain.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/registry.h"

#define OPENSSL "/usr/bin/openssl"

/* s_server says ACCEPT when it listens (a probe connection would use up its -naccept). */
static void
wait_accept(const char *log)
{
	for (int i = 0; i < 200; i++) {
		char *cat[] = {(char *)"/bin/cat", (char *)log, NULL};
		struct dpk_buf b;
		int found;

		dpk_test_run(cat, NULL, &b);
		found = b.data != NULL && strstr((const char *)b.data, "ACCEPT") != NULL;
		dpk_buf_free(&b);
		if (found)
			return;
		psk_sleep_ms(50);
	}
	fail_msg("openssl s_server did not start (see %s)", log);
}

/* openssl s_server -rev (sends each line back reversed) with key/identity;
 * s_client sends a line with its own key/identity; 1 if the reversed line
 * came back. tls: "-tls1_3" or "-tls1_2". */
static int
openssl_session(const char *tls, const char *srv_key, const char *srv_id, const char *cli_key, const char *cli_id)
{
	char port[16], accept[32], connect[32], log[] = "/tmp/dpk-psk-sserver-XXXXXX";
	int p = dpk_test_free_port(), fd, ok;
	struct dpk_buf out;

	snprintf(port, sizeof(port), "%d", p);
	snprintf(accept, sizeof(accept), "127.0.0.1:%d", p);
	snprintf(connect, sizeof(connect), "127.0.0.1:%d", p);
	fd = mkstemp(log);
	assert_true(fd >= 0);
	close(fd);
	char *srv[] = {(char *)OPENSSL, (char *)"s_server", (char *)"-accept", accept, (char *)"-nocert",
		(char *)"-psk", (char *)srv_key, (char *)"-psk_identity", (char *)srv_id, (char *)tls, (char *)"-rev",
		(char *)"-naccept", (char *)"1", (char *)"-cipher", (char *)"PSK-AES128-GCM-SHA256", NULL};
	if (strcmp(tls, "-tls1_3") == 0)
		srv[13] = NULL; /* TLS 1.3 ciphersuites are separate; the default set is fine */
	pid_t sp = dpk_test_spawn(srv, log);

	wait_accept(log);
	char *cli[] = {(char *)OPENSSL, (char *)"s_client", (char *)"-connect", connect, (char *)"-psk", (char *)cli_key,
		(char *)"-psk_identity", (char *)cli_id, (char *)tls, (char *)"-quiet", (char *)"-ign_eof",
		(char *)"-cipher", (char *)"PSK-AES128-GCM-SHA256", NULL};
	if (strcmp(tls, "-tls1_3") == 0)
		cli[11] = NULL;
	dpk_test_run(cli, "dpk-psk-data-0123\nCLOSE\n", &out); /* -rev ends the session on CLOSE */
	ok = out.data != NULL && strstr((const char *)out.data, "3210-atad-ksp-kpd") != NULL;
	dpk_buf_free(&out);
	kill(sp, SIGTERM);
	dpk_test_wait_exit(sp, 5000);
	unlink(log);
	(void)port;
	return ok;
}

/* examples/psk-server, asking agent g for keys, serves s_client with
 * key/identity (TLS 1.2: offering only cipher): 1 if its answer came back. */
static int
example_session_cipher(const struct agent_proc *g, const char *tls, const char *cipher, const char *key, const char *id)
{
	char prog[512], accept[32], log[] = "/tmp/dpk-psk-example-XXXXXX";
	int p = dpk_test_free_port(), fd, ok = 0;
	struct dpk_buf out, b;

	snprintf(accept, sizeof(accept), "127.0.0.1:%d", p);
	fd = mkstemp(log);
	assert_true(fd >= 0);
	close(fd);
	dpk_test_built("examples/psk-server", prog, sizeof(prog));
	char *srv[] = {prog, (char *)"-s", (char *)g->sock, (char *)"-n", (char *)"1", accept, NULL};
	pid_t sp = dpk_test_spawn(srv, log);
	for (int i = 0; i < 200 && !ok; i++) {
		char *cat[] = {(char *)"/bin/cat", log, NULL};

		dpk_test_run(cat, NULL, &b);
		ok = b.data != NULL && strstr((const char *)b.data, "listening on") != NULL;
		dpk_buf_free(&b);
		if (!ok)
			psk_sleep_ms(50);
	}
	assert_true(ok);
	char *cli[] = {(char *)OPENSSL, (char *)"s_client", (char *)"-connect", accept, (char *)"-psk", (char *)key,
		(char *)"-psk_identity", (char *)id, (char *)tls, (char *)"-quiet", (char *)"-ign_eof",
		(char *)"-cipher", (char *)cipher, NULL};
	if (strcmp(tls, "-tls1_3") == 0)
		cli[11] = NULL;
	dpk_test_run(cli, "hello-example\nCLOSE\n", &out);
	ok = out.data != NULL && strstr((const char *)out.data, "dpk-psk-server: hello-example") != NULL;
	dpk_buf_free(&out);
	dpk_test_wait_exit(sp, 5000);
	unlink(log);
	return ok;
}

static int
example_session(const struct agent_proc *g, const char *tls, const char *key, const char *id)
{
	return example_session_cipher(g, tls, "ECDHE-PSK-CHACHA20-POLY1305", key, id);
}

static void
test_psk_and_openssl(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk pa, pb, pc;
	struct dpk_buf out;
	char id[256], key[256], ep[64], keyb[256], wrong[65];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, NULL);

	/* dpkctl psk prints the PSK identity; the key only with --show-key */
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", e->ag[1].port);
	assert_int_equal(psk_dpkctl(&e->ag[0], &out, "psk", "b.example.org", "--connect", ep, NULL, NULL), 0);
	psk_field(&out, "psk_identity:", id, sizeof(id));
	assert_null(strstr((const char *)out.data, "key:"));
	dpk_buf_free(&out);
	assert_int_equal(psk_dpkctl(&e->ag[0], &out, "psk", "b.example.org", "--connect", ep, "--show-key", NULL), 0);
	psk_field(&out, "psk_identity:", id, sizeof(id));
	psk_field(&out, "key:", key, sizeof(key));
	assert_int_equal(strlen(key), 64);
	dpk_buf_free(&out);

	/* B holds the same PSK under the same identity, by peer and by identity */
	assert_int_equal(psk_dpkctl(&e->ag[1], &out, "psk-get", "--identity", id, "--show-key", NULL, NULL), 0);
	psk_field(&out, "key:", keyb, sizeof(keyb));
	assert_string_equal(key, keyb);
	psk_field(&out, "peer:", keyb, sizeof(keyb));
	assert_string_equal(keyb, "a.example.org");
	dpk_buf_free(&out);
	assert_int_equal(psk_env_get(&e->ag[1], "a.example.org", NULL, &pb), 0);
	assert_int_equal(psk_env_get(&e->ag[0], "b.example.org", NULL, &pa), 0);
	assert_string_equal(pa.identity, id);
	assert_string_equal(pb.identity, id);
	assert_int_equal(pa.keylen, 32);
	assert_int_equal(pb.keylen, 32);
	assert_memory_equal(pa.key, pb.key, 32);
	assert_int_equal(pa.origin, 1);
	assert_int_equal(pb.origin, 2);
	assert_true(pa.expires > (uint64_t)time(NULL) + 3000);
	/* a second handshake gives a fresh PSK under another identity */
	assert_int_equal(psk_handshake(e, 0, 1, &pc, NULL, 0), 0);
	assert_string_not_equal(pc.identity, pa.identity);
	assert_memory_not_equal(pc.key, pa.key, 32);
	dpk_client_psk_clear(&pc);
	dpk_client_psk_clear(&pa);
	dpk_client_psk_clear(&pb);

	/* the stock openssl tools with the negotiated key: TLS 1.3 and TLS 1.2 */
	assert_true(openssl_session("-tls1_3", key, id, key, id));
	assert_true(openssl_session("-tls1_2", key, id, key, id));
	/* a wrong key fails */
	memcpy(wrong, key, 65);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	assert_false(openssl_session("-tls1_3", key, id, wrong, id));
	assert_false(openssl_session("-tls1_2", key, id, wrong, id));
	/* the example server gets the key from B's agent in OpenSSL's PSK callbacks */
	assert_true(example_session(&e->ag[1], "-tls1_3", key, id));
	assert_true(example_session(&e->ag[1], "-tls1_2", key, id));
	assert_true(example_session_cipher(&e->ag[1], "-tls1_2", "DHE-PSK-AES128-GCM-SHA256", key, id));
	/* no plain PSK suite (no forward secrecy): a client offering only that gets no session */
	assert_false(example_session_cipher(&e->ag[1], "-tls1_2", "PSK-AES128-GCM-SHA256", key, id));
	assert_false(example_session(&e->ag[1], "-tls1_3", wrong, id));
	assert_false(example_session(&e->ag[1], "-tls1_3", key, "dpk1-00000000000000000000000000000000"));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(keyb, sizeof(keyb));
}

static void
test_unknown_and_revoked_peers(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk psk;
	char msg[512];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, NULL);
	psk_start_agent(e, 2, "c.example.org", 0, NULL); /* not on chain */

	/* an unregistered peer: refused as initiator target and as a responder's caller */
	assert_int_equal(psk_handshake(e, 0, 2, &psk, msg, sizeof(msg)), DPK_CLIENT_EAGENT);
	assert_non_null(strstr(msg, "not registered"));
	assert_int_equal(psk_handshake(e, 2, 1, &psk, msg, sizeof(msg)), DPK_CLIENT_EAGENT);
	assert_int_not_equal(psk_env_get(&e->ag[1], "c.example.org", NULL, &psk), 0);

	/* works, then A is revoked: B refuses A, and A's own requests to B fail */
	assert_int_equal(psk_handshake(e, 0, 1, &psk, NULL, 0), 0);
	dpk_client_psk_clear(&psk);
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "a.example.org");
	int refused = 0;
	for (int i = 0; i < 30 && !refused; i++) { /* within a few poll intervals */
		psk_sleep_ms(200);
		refused = psk_handshake(e, 0, 1, &psk, msg, sizeof(msg)) == DPK_CLIENT_EAGENT;
		dpk_client_psk_clear(&psk);
	}
	assert_true(refused);
	/* and B as the initiator refuses the revoked A before connecting */
	assert_int_equal(psk_handshake(e, 1, 0, &psk, msg, sizeof(msg)), DPK_CLIENT_EAGENT);
	assert_non_null(strstr(msg, "revoked"));
}

/* 1 if the agent closed fd (after at most an ERROR frame) within ms. */
static int
closed_within(int fd, int ms)
{
	uint8_t buf[8192];
	int64_t total = 0;

	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&pf, 1, ms) <= 0)
			return 0;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return total < 4200; /* nothing, or one short ERROR frame */
		total += n;
	}
}

static void
test_malformed_frames(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk psk;
	uint8_t big[4] = {0, 0, 0x10, 0x01}; /* 4097: one over the cap */
	uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
	uint8_t zero[4] = {0, 0, 0, 0};
	uint8_t garbage[64];
	int fds[6];
	char msg[512];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, NULL);
	memset(garbage, 0xa5, sizeof(garbage));
	garbage[0] = 0;
	garbage[1] = 0;
	garbage[2] = 0;
	garbage[3] = 60;

	/* hostile connections first, left open while an honest handshake runs */
	assert_true((fds[0] = psk_connect(e->ag[1].port)) >= 0);
	assert_int_equal(send(fds[0], big, 4, 0), 4);
	assert_true((fds[1] = psk_connect(e->ag[1].port)) >= 0);
	assert_int_equal(send(fds[1], huge, 4, 0), 4);
	assert_true((fds[2] = psk_connect(e->ag[1].port)) >= 0);
	assert_int_equal(send(fds[2], zero, 4, 0), 4);
	assert_true((fds[3] = psk_connect(e->ag[1].port)) >= 0);
	assert_int_equal(send(fds[3], garbage, sizeof(garbage), 0), (ssize_t)sizeof(garbage));
	assert_true((fds[4] = psk_connect(e->ag[1].port)) >= 0); /* truncated: a header promising more, then silence */
	assert_int_equal(send(fds[4], garbage, 20, 0), 20);
	assert_true((fds[5] = psk_connect(e->ag[1].port)) >= 0); /* silent */

	assert_int_equal(psk_handshake(e, 0, 1, &psk, msg, sizeof(msg)), 0);
	dpk_client_psk_clear(&psk);
	assert_int_equal(psk_env_get(&e->ag[1], "a.example.org", NULL, &psk), 0);
	dpk_client_psk_clear(&psk);

	/* the oversized, zero and garbage ones were refused at once */
	for (int i = 0; i < 4; i++)
		if (!closed_within(fds[i], 2000))
			fail_msg("malformed connection %d was not closed", i);
	/* the truncated and silent ones end at the handshake timeout (5 s here) */
	assert_true(closed_within(fds[4], 8000));
	assert_true(closed_within(fds[5], 8000));
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	/* and the agent still works */
	assert_int_equal(psk_handshake(e, 0, 1, &psk, msg, sizeof(msg)), 0);
	dpk_client_psk_clear(&psk);
}

static void
test_handshake_cap(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk psk;
	int fds[4];
	uint8_t buf[64];
	char msg[512];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, "psk_max_handshakes = 3\n");
	/* three silent connections (from three addresses: one address may hold only a quarter)
	 * fill B's cap; the fourth is refused with an ERROR at once */
	static const char *const src[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.6"};
	for (int i = 0; i < 3; i++)
		fds[i] = psk_connect_from(src[i], "127.0.0.1", e->ag[1].port);
	psk_sleep_ms(200);
	fds[3] = psk_connect_from(src[3], "127.0.0.1", e->ag[1].port);
	struct pollfd pf = {fds[3], POLLIN, 0};
	assert_int_equal(poll(&pf, 1, 2000), 1);
	ssize_t n = recv(fds[3], buf, sizeof(buf), 0);
	assert_true(n > 4); /* an ERROR frame */
	assert_int_equal(buf[5], 0x0f);
	assert_int_equal(psk_handshake(e, 0, 1, &psk, msg, sizeof(msg)), DPK_CLIENT_EAGENT);
	/* once they go, handshakes work again */
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	psk_sleep_ms(300);
	assert_int_equal(psk_handshake(e, 0, 1, &psk, msg, sizeof(msg)), 0);
	dpk_client_psk_clear(&psk);
}

/* One raw request to agent g; the FAILURE code (0 if it succeeded). */
static int
raw_request(const struct agent_proc *g, uint8_t type, const void *body, size_t len)
{
	struct dpk_client *c;
	uint8_t reply[4096], rtype;
	size_t n;
	int r, code = 0;

	assert_int_equal(dpk_client_open(g->sock, 5000, 0, &c), 0);
	r = dpk_client_call(c, type, body, len, &rtype, reply, sizeof(reply), &n);
	if (r == DPK_CLIENT_EAGENT)
		code = dpk_client_agent_error(c, NULL);
	else
		assert_int_equal(r, 0);
	dpk_client_close(c);
	return code;
}

static void
test_malformed_requests(void **state)
{
	struct env *e = *state;
	/* u32 len | "b.example.org" | u32 len | endpoint | u8 want_key */
	static const uint8_t ok_hs[] = {0, 0, 0, 13, 'b', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0, 0, 0, 0, 0};
	uint8_t b[600];
	struct dpk_client_psk psk;

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	/* PSK_HANDSHAKE (0x10): truncated, trailing garbage, embedded NUL, bad flag, bad endpoints */
	assert_int_equal(raw_request(&e->ag[0], 0x10, ok_hs, sizeof(ok_hs) - 1), 10);
	memcpy(b, ok_hs, sizeof(ok_hs));
	b[sizeof(ok_hs)] = 0;
	assert_int_equal(raw_request(&e->ag[0], 0x10, b, sizeof(ok_hs) + 1), 10);
	memcpy(b, ok_hs, sizeof(ok_hs));
	b[6] = 0;
	assert_int_equal(raw_request(&e->ag[0], 0x10, b, sizeof(ok_hs)), 10);
	memcpy(b, ok_hs, sizeof(ok_hs));
	b[sizeof(ok_hs) - 1] = 2;
	assert_int_equal(raw_request(&e->ag[0], 0x10, b, sizeof(ok_hs)), 10);
	static const char *const bad_ep[] = {"host", ":7443", "host:", "host:0", "host:65536", "host:12a", "::1:7443",
		"[::1:7443", "host:123456"};
	for (size_t i = 0; i < sizeof(bad_ep) / sizeof(bad_ep[0]); i++) {
		struct dpk_client *c;

		assert_int_equal(dpk_client_open(e->ag[0].sock, 5000, 0, &c), 0);
		assert_int_equal(dpk_client_psk_handshake(c, "b.example.org", bad_ep[i], 0, &psk), DPK_CLIENT_EAGENT);
		assert_int_equal(dpk_client_agent_error(c, NULL), 10);
		dpk_client_close(c);
	}
	/* an endpoint over the cap */
	memcpy(b, ok_hs, 17);
	b[17] = 0;
	b[18] = 0;
	b[19] = 0x01;
	b[20] = 0x2c; /* 300 */
	memset(b + 21, 'x', 300);
	b[21 + 300] = 0;
	assert_int_equal(raw_request(&e->ag[0], 0x10, b, 21 + 300 + 1), 10);
	/* PSK_GET (0x11): bad selector, truncated, trailing, not an identity */
	static const uint8_t get_bad_by[] = {3, 0, 0, 0, 1, 'x', 0};
	static const uint8_t get_short[] = {1, 0, 0, 0, 9, 'x'};
	static const uint8_t get_trailing[] = {2, 0, 0, 0, 1, 'x', 0, 0};
	static const uint8_t get_notid[] = {1, 0, 0, 0, 3, 'a', ' ', 'b', 0};
	assert_int_equal(raw_request(&e->ag[0], 0x11, get_bad_by, sizeof(get_bad_by)), 10);
	assert_int_equal(raw_request(&e->ag[0], 0x11, get_short, sizeof(get_short)), 10);
	assert_int_equal(raw_request(&e->ag[0], 0x11, get_trailing, sizeof(get_trailing)), 10);
	assert_int_equal(raw_request(&e->ag[0], 0x11, get_notid, sizeof(get_notid)), 10);
	/* TICKET_ISSUE (0x12) with lifetime 0, TICKET_REDEEM (0x13) of garbage */
	static const uint8_t issue0[] = {0, 0, 0, 3, 'd', '.', 'e', 0, 0, 0, 3, 's', '.', 'e', 0, 0, 0, 0};
	static const uint8_t redeem_junk[] = {0, 0, 0, 4, 1, 2, 3, 4, 0};
	assert_int_equal(raw_request(&e->ag[0], 0x12, issue0, sizeof(issue0)), 10);
	assert_int_not_equal(raw_request(&e->ag[0], 0x13, redeem_junk, sizeof(redeem_junk)), 0);
	assert_int_equal(raw_request(&e->ag[0], 0x13, redeem_junk, sizeof(redeem_junk) - 1), 10);
	/* and the agent still answers */
	assert_int_equal(raw_request(&e->ag[0], 0x11, get_notid, 5), 10);
	struct dpk_client *c;
	assert_int_equal(dpk_client_open(e->ag[0].sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_psk_get(c, "b.example.org", 0, &psk), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), 19);
	dpk_client_close(c);
}

/* No endpoint: the agent goes to the peer identity's own address on
 * psk_port, a domain through the resolver (localhost: ::1 is tried and
 * refused, then 127.0.0.1), an IPv4 identity as it is. */
static void
test_default_endpoint(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk psk, other;
	struct dpk_client *c;
	char extra[64];

	psk_start_agent(e, 2, "127.0.0.1", 1, NULL);
	snprintf(extra, sizeof(extra), "psk_port = %d\n", e->ag[2].port);
	psk_start_agent(e, 1, "localhost", 1, extra);
	snprintf(extra, sizeof(extra), "psk_port = %d\n", e->ag[1].port);
	psk_start_agent(e, 0, "a.example.org", 1, extra);

	assert_int_equal(dpk_client_open(e->ag[0].sock, 15000, 0, &c), 0);
	assert_int_equal(dpk_client_psk_handshake(c, "localhost", NULL, 1, &psk), 0);
	dpk_client_close(c);
	assert_int_equal(psk_env_get(&e->ag[1], "a.example.org", NULL, &other), 0);
	assert_memory_equal(psk.key, other.key, 32);

	assert_int_equal(dpk_client_open(e->ag[1].sock, 15000, 0, &c), 0);
	assert_int_equal(dpk_client_psk_handshake(c, "127.0.0.1", NULL, 1, &psk), 0);
	dpk_client_close(c);
	assert_int_equal(psk_env_get(&e->ag[2], "localhost", NULL, &other), 0);
	assert_memory_equal(psk.key, other.key, 32);
	dpk_client_psk_clear(&psk);
	dpk_client_psk_clear(&other);
}

/* As uid/gid 65534 (nobody), in a child: the codes of a handshake with an
 * endpoint, of asking for the key, and whether the PSK identity alone is given. */
static void
test_unprivileged_caller(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk psk;
	char ep[64];
	int st[2];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, NULL);
	assert_int_equal(psk_handshake(e, 0, 1, &psk, NULL, 0), 0);
	dpk_client_psk_clear(&psk);
	/* the socket is 0666; let nobody reach it */
	assert_int_equal(chmod(e->dir, 0755), 0);
	assert_int_equal(chmod(e->ag[0].dir, 0755), 0);
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", e->ag[1].port);
	assert_int_equal(pipe(st), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct dpk_client *c;
		int out[4] = {-1, -1, -1, -1};

		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		if (dpk_client_open(e->ag[0].sock, 15000, 0, &c) == 0) {
			out[0] = dpk_client_psk_handshake(c, "b.example.org", ep, 0, &psk) == DPK_CLIENT_EAGENT ?
			    dpk_client_agent_error(c, NULL) : 0;
			out[1] = dpk_client_psk_get(c, "b.example.org", 1, &psk) == DPK_CLIENT_EAGENT ?
			    dpk_client_agent_error(c, NULL) : 0;
			out[2] = dpk_client_psk_get(c, "b.example.org", 0, &psk);
			out[3] = out[2] == 0 && !psk.has_key && psk.keylen == 0 && strncmp(psk.identity, "dpk1-", 5) == 0;
			dpk_client_close(c);
		}
		_exit(write(st[1], out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	int got[4], status;
	close(st[1]);
	assert_int_equal(read(st[0], got, sizeof(got)), (ssize_t)sizeof(got));
	close(st[0]);
	waitpid(pid, &status, 0);
	assert_int_equal(got[0], 23); /* no arbitrary endpoints for an ordinary user */
	assert_int_equal(got[1], 23); /* nor the key */
	assert_int_equal(got[2], 0);  /* but the PSK identity, yes */
	assert_int_equal(got[3], 1);
}

/* One address may take only a quarter of psk_max_handshakes: a host that
 * opens connections and stays silent cannot lock others out. */
static void
test_per_address_cap(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk psk;
	uint8_t buf[64];
	int fds[5];

	psk_start_agent(e, 0, "a.example.org", 1, NULL);
	psk_start_agent(e, 1, "b.example.org", 1, "psk_max_handshakes = 16\n");
	for (int i = 0; i < 4; i++)
		fds[i] = psk_connect_from("127.0.0.5", "127.0.0.1", e->ag[1].port);
	psk_sleep_ms(200);
	fds[4] = psk_connect_from("127.0.0.5", "127.0.0.1", e->ag[1].port);
	struct pollfd pf = {fds[4], POLLIN, 0};
	assert_int_equal(poll(&pf, 1, 2000), 1);
	assert_true(recv(fds[4], buf, sizeof(buf), 0) > 4 && buf[5] == 0x0f); /* ERROR (busy) */
	/* while those four wait, A (from 127.0.0.1) gets through */
	assert_int_equal(psk_handshake(e, 0, 1, &psk, NULL, 0), 0);
	dpk_client_psk_clear(&psk);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_psk_and_openssl, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_revoked_peers, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_frames, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_handshake_cap, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_caller, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_default_endpoint, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_per_address_cap, psk_setup, psk_teardown),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
