/* Attacks on the PSK exchange between two real dpk-agents (real anvil, keys
 * registered on chain), played by this test with the library the agents
 * use (lib/crypto/pke.h) and raw sockets.
 *
 * Lowe's man in the middle (1995): M is a registered device. Honest A
 * starts a handshake with M; M opens A's M1 with its own key, seals the
 * same contents to B under B's identity and sends it to B, claiming to be
 * A; B answers with an M2 sealed to A, which M relays to A as its own. A
 * must refuse (M2 names B, not M: the NSL fix), so M never learns B's
 * nonce, B never gets an M3, and nobody holds a PSK from the run.
 *
 * Replays: a proxy records an honest run between A and B; M1 replayed to B
 * gets a fresh M2, and the recorded M3 that follows is refused; M3 alone
 * is out of turn; a replayed M1 sent to another device is refused at once.
 * B's store keeps only the honest PSK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "chain.h"
#include "base/err.h"
#include "psk/handshake.h"
#include "harness.h"
#include "crypto/idkey.h"
#include "crypto/pke.h"
#include "psk_env.h"

#define A 0
#define B 1

static int
listen_port(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int
send_frame(int fd, const uint8_t *m, size_t n)
{
	uint8_t f[4 + DPK_HS_MSG_MAX];

	if (n > DPK_HS_MSG_MAX)
		return -1;
	f[0] = (uint8_t)(n >> 24);
	f[1] = (uint8_t)(n >> 16);
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	memcpy(f + 4, m, n);
	return send(fd, f, 4 + n, MSG_NOSIGNAL) == (ssize_t)(4 + n) ? 0 : -1;
}

static int
recv_exact(int fd, uint8_t *p, size_t n, int timeout_ms)
{
	while (n > 0) {
		struct pollfd pf = {fd, POLLIN, 0};
		ssize_t got;

		if (poll(&pf, 1, timeout_ms) <= 0)
			return -1;
		if ((got = recv(fd, p, n, 0)) <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* One frame's message into m; its length, or -1 (closed, timeout, too big). */
static ssize_t
recv_frame(int fd, uint8_t *m, int timeout_ms)
{
	uint8_t h[4];
	size_t n;

	if (recv_exact(fd, h, 4, timeout_ms) != 0)
		return -1;
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (n == 0 || n > DPK_HS_MSG_MAX || recv_exact(fd, m, n, timeout_ms) != 0)
		return -1;
	return (ssize_t)n;
}

struct attack {
	struct env *e;
	int lfd;
	struct dpk_idkey *mkey;
	uint8_t bpub[65];
	/* what happened */
	int reencrypted;     /* M opened A's M1 and sealed it to B */
	int b_answered_m2;   /* B answered the forged M1 with an M2 */
	int a_refused;       /* A answered the relayed M2 with ERROR code 23 (or hung up) */
	int a_sent_m3;       /* A answered with an M3: the attack would have worked */
	int m_opened_m2;     /* M could open B's M2 with its own key: must not happen */
	int b_refused;       /* B answered M's made-up M3 with ERROR code 23 */
};

static void *
lowe(void *arg)
{
	struct attack *t = arg;
	uint8_t m1[DPK_HS_MSG_MAX], m2[DPK_HS_MSG_MAX], reply[DPK_HS_MSG_MAX];
	static const char info1[] = "DPK-PSK-v1 M1", info2[] = "DPK-PSK-v1 M2";
	struct dpk_identity bid;
	struct dpk_buf pt, fwd, junk;
	ssize_t n, n2, nr;
	int fa, fb;
	size_t hdr;

	if ((fa = accept(t->lfd, NULL, NULL)) < 0 || (n = recv_frame(fa, m1, 8000)) < 4)
		return NULL;
	/* M1 = 01 01 | idR (u8 kind, u8 len, value) | sealed(idI | nI | eI) with aad = 01 01 | idR */
	hdr = 2 + 2 + m1[3];
	dpk_buf_init(&pt, DPK_HS_MSG_MAX);
	dpk_buf_init(&fwd, DPK_HS_MSG_MAX);
	dpk_buf_init(&junk, DPK_HS_MSG_MAX);
	if (m1[0] != 1 || m1[1] != 1 || hdr >= (size_t)n ||
	    dpk_pke_open(t->mkey, (const uint8_t *)info1, strlen(info1), m1, hdr, m1 + hdr, (size_t)n - hdr, &pt) != 0)
		goto out;
	/* the same contents (A's identity, nonce, ephemeral) for B */
	dpk_identity_parse("b.example.org", 13, &bid);
	dpk_buf_put_u8(&fwd, 1);
	dpk_buf_put_u8(&fwd, 1);
	dpk_hs_put_identity(&fwd, &bid);
	size_t aadlen = fwd.len;
	uint8_t aad[300];

	memcpy(aad, fwd.data, aadlen);
	if (dpk_pke_seal(DPK_IDKEY_P256, t->bpub, 65, (const uint8_t *)info1, strlen(info1), aad, aadlen, pt.data,
	    pt.len, &fwd) != 0)
		goto out;
	t->reencrypted = 1;
	if ((fb = psk_connect(t->e->ag[B].port)) < 0)
		goto out;
	send_frame(fb, fwd.data, fwd.len);
	n2 = recv_frame(fb, m2, 8000);
	t->b_answered_m2 = n2 > 2 && m2[0] == 1 && m2[1] == 2;
	if (t->b_answered_m2) {
		/* M cannot read it: it is sealed to A */
		static const uint8_t aad2[] = {1, 2};

		t->m_opened_m2 = dpk_pke_open(t->mkey, (const uint8_t *)info2, strlen(info2), aad2, 2, m2 + 2,
		    (size_t)n2 - 2, &junk) == 0;
		/* relay it to A as M's own M2 */
		send_frame(fa, m2, (size_t)n2);
		nr = recv_frame(fa, reply, 8000);
		t->a_sent_m3 = nr > 2 && reply[1] == 3;
		t->a_refused = nr < 0 || (nr == 3 && reply[1] == 0x0f && reply[2] == 23);
		/* without nR M can only guess: an M3 properly sealed to B with a guessed nR, its own
		 * Ks and a signature of M's; B opens it and refuses it */
		static const char info3[] = "DPK-PSK-v1 M3";
		static const uint8_t aad3[] = {1, 3};
		uint8_t pt3[32 + 32 + 2 + 72];
		struct dpk_buf m3;

		for (size_t i = 0; i < sizeof(pt3); i++)
			pt3[i] = (uint8_t)rand();
		pt3[64] = 0;
		pt3[65] = 72;
		dpk_buf_init(&m3, DPK_HS_MSG_MAX);
		dpk_buf_put(&m3, aad3, 2);
		if (dpk_pke_seal(DPK_IDKEY_P256, t->bpub, 65, (const uint8_t *)info3, strlen(info3), aad3, 2, pt3,
		    sizeof(pt3), &m3) == 0)
			send_frame(fb, m3.data, m3.len);
		dpk_buf_free(&m3);
		nr = recv_frame(fb, reply, 8000);
		t->b_refused = nr == 3 && reply[1] == 0x0f && reply[2] == 23;
		if (!t->b_refused)
			fprintf(stderr, "B answered the made-up M3 with %zd bytes: %02x %02x %02x\n", nr, reply[0], reply[1], reply[2]);
	}
	close(fb);
out:
	close(fa);
	dpk_buf_free(&pt);
	dpk_buf_free(&fwd);
	dpk_buf_free(&junk);
	return NULL;
}

/* Register M's key as m.example.org. */
static struct dpk_idkey *
make_m(struct env *e)
{
	struct dpk_idkey *k;
	struct dpk_buf pub;

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, "m.example.org", 1, pub.data, pub.len);
	dpk_buf_free(&pub);
	return k;
}

static void
agent_pub(const struct agent_proc *g, uint8_t out[65])
{
	struct dpk_client *c;
	struct dpk_client_pubkey pk;

	assert_int_equal(dpk_client_open(g->sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &pk), 0);
	assert_int_equal(pk.onchain_len, 65);
	memcpy(out, pk.onchain, 65);
	dpk_client_pubkey_free(&pk);
	dpk_client_close(c);
}

static void
test_lowe(void **state)
{
	struct env *e = *state;
	struct attack t = {.e = e};
	struct dpk_client *c;
	struct dpk_client_psk psk;
	pthread_t th;
	char ep[64];
	int port, r;

	psk_start_agent(e, A, "a.example.org", 1, NULL);
	psk_start_agent(e, B, "b.example.org", 1, NULL);
	t.mkey = make_m(e);
	agent_pub(&e->ag[B], t.bpub);
	t.lfd = listen_port(&port);
	assert_int_equal(pthread_create(&th, NULL, lowe, &t), 0);

	/* honest A wants a PSK with M, a registered device */
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", port);
	assert_int_equal(dpk_client_open(e->ag[A].sock, 15000, 0, &c), 0);
	r = dpk_client_psk_handshake(c, "m.example.org", ep, 1, &psk);
	dpk_client_close(c);
	pthread_join(th, NULL);
	close(t.lfd);
	dpk_idkey_free(t.mkey);

	assert_true(t.reencrypted);    /* the attacker did its part ... */
	assert_true(t.b_answered_m2);  /* ... and B took the forged M1 for A's */
	assert_false(t.m_opened_m2);   /* B's nonce stays secret from M */
	assert_false(t.a_sent_m3);     /* A refused the relayed M2 */
	assert_true(t.a_refused);
	assert_true(t.b_refused);      /* and B refuses what M can make up instead */
	assert_int_equal(r, DPK_CLIENT_EAGENT);
	/* nobody holds a PSK from the run */
	assert_int_not_equal(psk_env_get(&e->ag[B], "a.example.org", NULL, &psk), 0);
	assert_int_not_equal(psk_env_get(&e->ag[A], "m.example.org", NULL, &psk), 0);
	assert_int_not_equal(psk_env_get(&e->ag[A], "b.example.org", NULL, &psk), 0);
}

struct proxy {
	int lfd, to;
	uint8_t m[4][DPK_HS_MSG_MAX];
	ssize_t n[4];
};

/* Relay one honest run, recording M1..M4. */
static void *
proxy(void *arg)
{
	struct proxy *p = arg;
	int fa = accept(p->lfd, NULL, NULL), fb = psk_connect(p->to);

	for (int i = 0; i < 4 && fa >= 0 && fb >= 0; i++) {
		int from = i % 2 == 0 ? fa : fb, to = i % 2 == 0 ? fb : fa;

		if ((p->n[i] = recv_frame(from, p->m[i], 8000)) < 0 || send_frame(to, p->m[i], (size_t)p->n[i]) != 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return NULL;
}

static void
test_replays(void **state)
{
	struct env *e = *state;
	struct proxy *p = calloc(1, sizeof(*p));
	struct dpk_client_psk honest, after;
	uint8_t m[DPK_HS_MSG_MAX];
	struct dpk_client *c;
	pthread_t th;
	char ep[64];
	int port, fd;
	ssize_t n;

	psk_start_agent(e, A, "a.example.org", 1, NULL);
	psk_start_agent(e, B, "b.example.org", 1, NULL);
	psk_start_agent(e, 2, "c.example.org", 1, NULL);
	p->lfd = listen_port(&port);
	p->to = e->ag[B].port;
	assert_int_equal(pthread_create(&th, NULL, proxy, p), 0);
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", port);
	assert_int_equal(dpk_client_open(e->ag[A].sock, 15000, 0, &c), 0);
	assert_int_equal(dpk_client_psk_handshake(c, "b.example.org", ep, 1, &honest), 0);
	dpk_client_close(c);
	pthread_join(th, NULL);
	close(p->lfd);
	for (int i = 0; i < 4; i++)
		assert_true(p->n[i] > 2 && p->m[i][1] == i + 1);

	/* M1 replayed: B answers with a fresh M2 (a new nonce) ... */
	assert_true((fd = psk_connect(e->ag[B].port)) >= 0);
	assert_int_equal(send_frame(fd, p->m[0], (size_t)p->n[0]), 0);
	n = recv_frame(fd, m, 8000);
	assert_true(n > 2 && m[1] == 2);
	assert_false(n == p->n[1] && memcmp(m, p->m[1], (size_t)n) == 0);
	/* ... and the recorded M3 does not fit it: refused */
	assert_int_equal(send_frame(fd, p->m[2], (size_t)p->n[2]), 0);
	n = recv_frame(fd, m, 8000);
	assert_true(n == 3 && m[1] == 0x0f && m[2] == 23);
	close(fd);

	/* M3 alone is out of turn */
	assert_true((fd = psk_connect(e->ag[B].port)) >= 0);
	assert_int_equal(send_frame(fd, p->m[2], (size_t)p->n[2]), 0);
	n = recv_frame(fd, m, 8000);
	assert_true(n == 3 && m[1] == 0x0f && m[2] == 27);
	close(fd);

	/* A's M1 for B sent to C: C is not the responder it names */
	assert_true((fd = psk_connect(e->ag[2].port)) >= 0);
	assert_int_equal(send_frame(fd, p->m[0], (size_t)p->n[0]), 0);
	n = recv_frame(fd, m, 8000);
	assert_true(n == 3 && m[1] == 0x0f);
	close(fd);

	/* B keeps the honest PSK, and only it */
	assert_int_equal(psk_env_get(&e->ag[B], "a.example.org", NULL, &after), 0);
	assert_string_equal(after.identity, honest.identity);
	assert_memory_equal(after.key, honest.key, 32);
	assert_int_not_equal(psk_env_get(&e->ag[2], "a.example.org", NULL, &after), 0);
	dpk_client_psk_clear(&honest);
	dpk_client_psk_clear(&after);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lowe, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_replays, psk_setup, psk_teardown),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
