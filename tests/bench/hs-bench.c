/* PSK handshake and ticket costs (lib/psk/handshake.c, lib/psk/ticket.c), in
 * memory, no network: CPU time each side spends per handshake, median and
 * 90th percentile, and the four message sizes, for P-256 and RSA-2048
 * identity keys; then ticket issue and redeem. Prints figures only.
 * Usage: hs-bench [runs] (default 200). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "psk/handshake.h"
#include "crypto/idkey.h"
#include "psk/ticket.h"

struct party {
	struct dpk_idkey *key;
	struct dpk_identity id;
	struct dpk_buf pub;
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
make(struct party *p, enum dpk_idkey_alg alg, const char *name)
{
	if (dpk_idkey_generate(alg, 2048, &p->key) != 0 || dpk_identity_parse(name, strlen(name), &p->id) != 0)
		exit(1);
	dpk_buf_init(&p->pub, 4096);
	if (dpk_idkey_public_onchain(p->key, &p->pub) != 0)
		exit(1);
}

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
	printf("  %-28s p50 %8.0f us   p90 %8.0f us\n", what, v[n / 2], v[n * 9 / 10]);
}

#define STEP(hs, in, inlen, want, t)                                              \
	do {                                                                      \
		double s0_ = now_us();                                            \
		if (dpk_hs_step(hs, in, inlen, &out) != (want))                  \
			exit(2);                                                  \
		t += now_us() - s0_;                                              \
	} while (0)

static void
bench(const char *name, struct party *a, struct party *b, int runs)
{
	double *ti = calloc((size_t)runs, sizeof(double)), *tr = calloc((size_t)runs, sizeof(double));
	size_t sizes[4] = {0};
	struct dpk_buf out, m;

	dpk_buf_init(&out, DPK_HS_MSG_MAX);
	dpk_buf_init(&m, DPK_HS_MSG_MAX);
	for (int k = 0; k < runs; k++) {
		struct dpk_hs *i = dpk_hs_new(DPK_HS_INITIATOR, a->key, &a->id, NULL);
		struct dpk_hs *r = dpk_hs_new(DPK_HS_RESPONDER, b->key, &b->id, NULL);
		double t_i = 0, t_r = 0, t0;

		t0 = now_us();
		if (dpk_hs_set_peer(i, &b->id) != 0 ||
		    dpk_hs_set_peer_key(i, dpk_idkey_alg(b->key), b->pub.data, b->pub.len) != 0)
			exit(2);
		t_i += now_us() - t0;
		STEP(i, NULL, 0, DPK_HS_SEND, t_i);
		sizes[0] = out.len;
		dpk_buf_reset(&m);
		dpk_buf_put(&m, out.data, out.len);
		STEP(i, NULL, 0, DPK_HS_RECV, t_i);
		STEP(r, m.data, m.len, DPK_HS_NEED_KEY, t_r);
		t0 = now_us();
		if (dpk_hs_set_peer_key(r, dpk_idkey_alg(a->key), a->pub.data, a->pub.len) != 0)
			exit(2);
		t_r += now_us() - t0;
		STEP(r, NULL, 0, DPK_HS_SEND, t_r);
		sizes[1] = out.len;
		dpk_buf_reset(&m);
		dpk_buf_put(&m, out.data, out.len);
		STEP(r, NULL, 0, DPK_HS_RECV, t_r);
		STEP(i, m.data, m.len, DPK_HS_SEND, t_i);
		sizes[2] = out.len;
		dpk_buf_reset(&m);
		dpk_buf_put(&m, out.data, out.len);
		STEP(i, NULL, 0, DPK_HS_RECV, t_i);
		STEP(r, m.data, m.len, DPK_HS_SEND, t_r);
		sizes[3] = out.len;
		dpk_buf_reset(&m);
		dpk_buf_put(&m, out.data, out.len);
		STEP(r, NULL, 0, DPK_HS_DONE, t_r);
		STEP(i, m.data, m.len, DPK_HS_DONE, t_i);
		ti[k] = t_i;
		tr[k] = t_r;
		dpk_hs_free(i);
		dpk_hs_free(r);
	}
	printf("%s (%d handshakes; M1..M4 = %zu, %zu, %zu, %zu bytes)\n", name, runs, sizes[0], sizes[1], sizes[2],
	    sizes[3]);
	report("initiator CPU per handshake", ti, runs);
	report("responder CPU per handshake", tr, runs);
	free(ti);
	free(tr);
	dpk_buf_free(&out);
	dpk_buf_free(&m);
}

static void
bench_ticket(const char *name, struct party *g, struct party *s, struct party *d, int runs)
{
	double *ti = calloc((size_t)runs, sizeof(double)), *tr = calloc((size_t)runs, sizeof(double));
	struct dpk_buf t;
	struct dpk_ticket_psk p;
	struct dpk_ticket_info info;
	size_t len = 0;

	dpk_buf_init(&t, DPK_TICKET_MAX);
	for (int k = 0; k < runs; k++) {
		double t0 = now_us();

		dpk_buf_reset(&t);
		t.len = 0;
		if (dpk_ticket_issue(g->key, &g->id, &d->id, &s->id, dpk_idkey_alg(s->key), s->pub.data, s->pub.len,
		    1900000000, 300, NULL, &t, &p) != 0)
			exit(3);
		ti[k] = now_us() - t0;
		t0 = now_us();
		if (dpk_ticket_redeem(s->key, &s->id, dpk_idkey_alg(g->key), g->pub.data, g->pub.len, t.data, t.len,
		    1900000001, &info, &p) != 0)
			exit(3);
		tr[k] = now_us() - t0;
		len = t.len;
	}
	printf("%s (%d tickets of %zu bytes)\n", name, runs, len);
	report("gateway: issue", ti, runs);
	report("server: redeem", tr, runs);
	free(ti);
	free(tr);
	dpk_buf_free(&t);
}

int
main(int argc, char **argv)
{
	struct party a, b, ra, rb;
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 200;

	if (runs < 10 || runs > 100000)
		runs = 200;
	make(&a, DPK_IDKEY_P256, "a.example");
	make(&b, DPK_IDKEY_P256, "b.example");
	make(&ra, DPK_IDKEY_RSA, "ra.example");
	make(&rb, DPK_IDKEY_RSA, "rb.example");
	bench("P-256 -> P-256", &a, &b, runs);
	bench("P-256 -> RSA-2048", &a, &rb, runs);
	bench("RSA-2048 -> RSA-2048", &ra, &rb, runs);
	bench_ticket("ticket, P-256 gateway and server", &a, &b, &ra, runs);
	bench_ticket("ticket, P-256 gateway, RSA-2048 server", &a, &rb, &ra, runs);
	return 0;
}
