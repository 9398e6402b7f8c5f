/* Delegated-mode tickets (lib/psk/ticket.c): issue and redeem between P-256 and
 * RSA keys, expiry, the lifetime cap, another server, tampering, a foreign
 * gateway key, malformed tickets, and a stable replay id that a malleated
 * ECDSA signature does not change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ec.h>

#include "base/err.h"
#include "psk/handshake.h"
#include "harness.h"
#include "base/hex.h"
#include "crypto/idkey.h"
#include "crypto/pke.h"
#include "pskvec.h"
#include "psk/ticket.h"

static struct dpk_test_party gw, gw_rsa, dev, srv, srv_rsa, other;
static const uint64_t NOW = 1900000000;

static int
setup(void **state)
{
	dpk_test_party_make(&gw, DPK_IDKEY_P256, "gw.example");
	dpk_test_party_make(&gw_rsa, DPK_IDKEY_RSA, "gw2.example");
	dpk_test_party_make(&dev, DPK_IDKEY_P256, "urn:uuid:0e4a2b7c-1111-4a2b-9c3d-1234567890ab");
	dpk_test_party_make(&srv, DPK_IDKEY_P256, "server.example");
	dpk_test_party_make(&srv_rsa, DPK_IDKEY_RSA, "2001:db8::1");
	dpk_test_party_make(&other, DPK_IDKEY_P256, "other.example");
	return 0;
}

static int
teardown(void **state)
{
	struct dpk_test_party *all[] = {&gw, &gw_rsa, &dev, &srv, &srv_rsa, &other};

	for (size_t i = 0; i < 6; i++)
		dpk_test_party_free(all[i]);
	return 0;
}

static void
issue(const struct dpk_test_party *g, const struct dpk_test_party *s, uint32_t lifetime, struct dpk_buf *t, struct dpk_ticket_psk *psk)
{
	dpk_buf_init(t, DPK_TICKET_MAX);
	assert_int_equal(dpk_ticket_issue(g->key, &g->id, &dev.id, &s->id, dpk_idkey_alg(s->key), s->pub.data,
	    s->pub.len, NOW, lifetime, NULL, t, psk), 0);
}

static int
redeem(const struct dpk_test_party *g, const struct dpk_test_party *s, const uint8_t *t, size_t len, uint64_t now,
    struct dpk_ticket_info *info, struct dpk_ticket_psk *psk)
{
	return dpk_ticket_redeem(s->key, &s->id, dpk_idkey_alg(g->key), g->pub.data, g->pub.len, t, len, now, info,
	    psk);
}

static void
round_trip(const struct dpk_test_party *g, const struct dpk_test_party *s)
{
	struct dpk_buf t;
	struct dpk_ticket_psk dpsk, spsk, dpsk2;
	struct dpk_ticket_info info, pinfo;

	issue(g, s, 300, &t, &dpsk);
	assert_int_equal(dpk_ticket_parse(t.data, t.len, &pinfo), 0);
	assert_true(dpk_hs_identity_equal(&pinfo.gateway, &g->id));
	assert_true(dpk_hs_identity_equal(&pinfo.device, &dev.id));
	assert_true(dpk_hs_identity_equal(&pinfo.server, &s->id));
	assert_int_equal(pinfo.expiry, NOW + 300);
	assert_int_equal(redeem(g, s, t.data, t.len, NOW + 10, &info, &spsk), 0);
	assert_memory_equal(&info, &pinfo, sizeof(info));
	/* the device's PSK is the server's */
	assert_memory_equal(dpsk.psk, spsk.psk, DPK_HS_PSK_LEN);
	assert_string_equal(dpsk.psk_identity, spsk.psk_identity);
	assert_int_equal(strlen(spsk.psk_identity), 38);
	assert_memory_equal(spsk.psk_identity, "dpk1t-", 6);
	assert_int_equal(strspn(spsk.psk_identity + 6, "0123456789abcdef"), 32);
	/* a second ticket: another nonce, id and PSK */
	struct dpk_buf t2;
	struct dpk_ticket_info info2;
	issue(g, s, 300, &t2, &dpsk2);
	assert_int_equal(dpk_ticket_parse(t2.data, t2.len, &info2), 0);
	assert_memory_not_equal(info2.nonce, info.nonce, 16);
	assert_memory_not_equal(info2.id, info.id, 32);
	assert_memory_not_equal(dpsk2.psk, dpsk.psk, DPK_HS_PSK_LEN);
	dpk_buf_free(&t);
	dpk_buf_free(&t2);
}

static void
test_issue_redeem(void **state)
{
	round_trip(&gw, &srv);
	round_trip(&gw, &srv_rsa);
	round_trip(&gw_rsa, &srv);
}

static void
test_expiry(void **state)
{
	struct dpk_buf t, out;
	struct dpk_ticket_psk psk;
	struct dpk_ticket_info info;

	issue(&gw, &srv, 60, &t, &psk);
	assert_int_equal(redeem(&gw, &srv, t.data, t.len, NOW + 59, &info, &psk), 0);
	assert_int_equal(redeem(&gw, &srv, t.data, t.len, NOW + 60, &info, &psk), DPK_ERR_EXPIRED);
	assert_int_equal(redeem(&gw, &srv, t.data, t.len, NOW + 100000, &info, &psk), DPK_ERR_EXPIRED);
	/* the PSK is wiped on failure */
	static const struct dpk_ticket_psk zero;
	assert_memory_equal(&psk, &zero, sizeof(psk));
	/* a ticket that claims to live longer than any gateway may issue */
	assert_int_equal(redeem(&gw, &srv, t.data, t.len, NOW + 60 - DPK_TICKET_LIFETIME_MAX - 1, &info, &psk),
	    DPK_ERR_RANGE);
	/* lifetimes the gateway refuses to issue */
	dpk_buf_init(&out, DPK_TICKET_MAX);
	assert_int_equal(dpk_ticket_issue(gw.key, &gw.id, &dev.id, &srv.id, DPK_IDKEY_P256, srv.pub.data, srv.pub.len,
	    NOW, 0, NULL, &out, &psk), DPK_ERR_INVALID);
	assert_int_equal(dpk_ticket_issue(gw.key, &gw.id, &dev.id, &srv.id, DPK_IDKEY_P256, srv.pub.data, srv.pub.len,
	    NOW, DPK_TICKET_LIFETIME_MAX + 1, NULL, &out, &psk), DPK_ERR_INVALID);
	assert_int_equal(out.len, 0);
	dpk_buf_free(&out);
	dpk_buf_free(&t);
}

static void
test_other_server_and_keys(void **state)
{
	struct dpk_buf t;
	struct dpk_ticket_psk psk;
	struct dpk_ticket_info info;

	issue(&gw, &srv, 300, &t, &psk);
	/* another server (with its own identity) refuses it */
	assert_int_equal(redeem(&gw, &other, t.data, t.len, NOW, &info, &psk), DPK_ERR_PERM);
	/* another server's key under this server's name cannot open Ks */
	assert_int_equal(dpk_ticket_redeem(other.key, &srv.id, DPK_IDKEY_P256, gw.pub.data, gw.pub.len, t.data,
	    t.len, NOW, &info, &psk), DPK_ERR_BADMAC);
	/* a gateway key that did not sign it */
	assert_int_equal(redeem(&other, &srv, t.data, t.len, NOW, &info, &psk), DPK_ERR_BADSIG);
	assert_int_equal(redeem(&gw_rsa, &srv, t.data, t.len, NOW, &info, &psk), DPK_ERR_BADSIG);
	dpk_buf_free(&t);
}

static void
test_tampered(void **state)
{
	struct dpk_buf t;
	struct dpk_ticket_psk psk;
	struct dpk_ticket_info info;

	issue(&gw, &srv, 300, &t, &psk);
	for (size_t i = 0; i < t.len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			t.data[i] ^= (uint8_t)(1u << bit);
			assert_true(redeem(&gw, &srv, t.data, t.len, NOW, &info, &psk) < 0);
			t.data[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(redeem(&gw, &srv, t.data, t.len, NOW, &info, &psk), 0);
	dpk_buf_free(&t);
}

static void
test_malformed(void **state)
{
	struct dpk_buf t;
	struct dpk_ticket_psk psk;
	struct dpk_ticket_info info;
	uint8_t big[DPK_TICKET_MAX + 1];

	issue(&gw, &srv, 300, &t, &psk);
	/* cut anywhere: an error, never a shorter valid ticket */
	for (size_t n = 0; n < t.len; n++) {
		int r = dpk_ticket_parse(t.data, n, &info);

		assert_true(r == DPK_ERR_TRUNCATED || r == DPK_ERR_SYNTAX);
	}
	assert_int_equal(dpk_ticket_parse(t.data, 1, &info), DPK_ERR_TRUNCATED);
	assert_int_equal(dpk_ticket_parse(t.data, t.len - 1, &info), DPK_ERR_TRUNCATED);
	assert_int_equal(dpk_buf_put_u8(&t, 0), 0);
	assert_int_equal(dpk_ticket_parse(t.data, t.len, &info), DPK_ERR_TRAILING);
	assert_int_equal(redeem(&gw, &srv, t.data, t.len, NOW, &info, &psk), DPK_ERR_TRAILING);
	t.len--;
	memset(big, 0, sizeof(big));
	memcpy(big, t.data, t.len);
	assert_int_equal(dpk_ticket_parse(big, sizeof(big), &info), DPK_ERR_TOOBIG);
	t.data[0] = 2;
	assert_int_equal(dpk_ticket_parse(t.data, t.len, &info), DPK_ERR_UNSUPPORTED);
	t.data[0] = 1;
	t.data[1] = 0x11;
	assert_int_equal(dpk_ticket_parse(t.data, t.len, &info), DPK_ERR_SYNTAX);
	t.data[1] = 0x10;
	/* a non-canonical identity (upper case domain) */
	t.data[4] = 'G';
	assert_int_equal(dpk_ticket_parse(t.data, t.len, &info), DPK_ERR_SYNTAX);
	t.data[4] = 'g';
	assert_int_equal(dpk_ticket_parse(t.data, t.len, &info), 0);
	/* an embedded NUL in an identity */
	t.data[5] = 0;
	assert_int_equal(dpk_ticket_parse(t.data, t.len, &info), DPK_ERR_SYNTAX);
	dpk_buf_free(&t);
}

/* The replay id ignores the signature: (r, n - s) is an equally valid ECDSA
 * signature that anyone can make from a ticket, and it must not look new. */
static void
test_replay_id_stable(void **state)
{
	struct dpk_buf t, m;
	struct dpk_ticket_psk psk;
	struct dpk_ticket_info i1, i2;
	ECDSA_SIG *sig;
	BIGNUM *n, *ns;
	const BIGNUM *r, *s;
	unsigned char *der = NULL;
	int derlen;

	issue(&gw, &srv, 300, &t, &psk);
	assert_int_equal(redeem(&gw, &srv, t.data, t.len, NOW, &i1, &psk), 0);
	/* the signature is the tail: u16 length | DER */
	size_t siglen = 0, off = 0;
	for (size_t cand = 8; cand <= 72; cand++)
		if (t.len > cand + 2 && t.data[t.len - cand - 2] == 0 && t.data[t.len - cand - 1] == cand &&
		    t.data[t.len - cand] == 0x30)
			siglen = cand;
	assert_true(siglen > 0);
	off = t.len - siglen;
	const unsigned char *pp = t.data + off;
	assert_non_null(sig = d2i_ECDSA_SIG(NULL, &pp, (long)siglen));
	ECDSA_SIG_get0(sig, &r, &s);
	n = BN_new();
	ns = BN_new();
	assert_true(BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551") > 0);
	assert_int_equal(BN_sub(ns, n, s), 1);
	assert_int_equal(ECDSA_SIG_set0(sig, BN_dup(r), ns), 1);
	assert_true((derlen = i2d_ECDSA_SIG(sig, &der)) > 0);
	dpk_buf_init(&m, DPK_TICKET_MAX);
	assert_int_equal(dpk_buf_put(&m, t.data, off - 2), 0);
	assert_int_equal(dpk_buf_put_u8(&m, (uint8_t)(derlen >> 8)), 0);
	assert_int_equal(dpk_buf_put_u8(&m, (uint8_t)derlen), 0);
	assert_int_equal(dpk_buf_put(&m, der, (size_t)derlen), 0);
	assert_memory_not_equal(m.data + off, t.data + off, siglen < (size_t)derlen ? siglen : (size_t)derlen);
	assert_int_equal(redeem(&gw, &srv, m.data, m.len, NOW, &i2, &psk), 0); /* still valid ... */
	assert_memory_equal(i1.id, i2.id, 32);                              /* ... and the same id */
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	BN_free(n);
	dpk_buf_free(&m);
	dpk_buf_free(&t);
}

/* Fixed randomness: the nonce and Ks come from it, so two tickets with the
 * same bytes share nonce, id and PSK (the signature still differs). */
static void
test_fixed_rand(void **state)
{
	uint8_t bytes[80];
	struct dpk_hs_rand r1 = {bytes, sizeof(bytes), 0}, r2 = {bytes, sizeof(bytes), 0}, r3 = {bytes, 20, 0};
	struct dpk_buf t1, t2;
	struct dpk_ticket_psk p1, p2;
	struct dpk_ticket_info i1, i2;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
	dpk_buf_init(&t1, DPK_TICKET_MAX);
	dpk_buf_init(&t2, DPK_TICKET_MAX);
	assert_int_equal(dpk_ticket_issue(gw.key, &gw.id, &dev.id, &srv.id, DPK_IDKEY_P256, srv.pub.data, srv.pub.len,
	    NOW, 300, &r1, &t1, &p1), 0);
	assert_int_equal(dpk_ticket_issue(gw.key, &gw.id, &dev.id, &srv.id, DPK_IDKEY_P256, srv.pub.data, srv.pub.len,
	    NOW, 300, &r2, &t2, &p2), 0);
	assert_int_equal(r1.used, 80);
	assert_int_equal(dpk_ticket_parse(t1.data, t1.len, &i1), 0);
	assert_int_equal(dpk_ticket_parse(t2.data, t2.len, &i2), 0);
	assert_memory_equal(i1.nonce, bytes, 16);
	assert_memory_equal(i1.id, i2.id, 32);
	assert_memory_equal(p1.psk, p2.psk, DPK_HS_PSK_LEN);
	/* too few fixed bytes: refused, nothing written */
	dpk_buf_reset(&t1);
	t1.len = 0;
	assert_int_equal(dpk_ticket_issue(gw.key, &gw.id, &dev.id, &srv.id, DPK_IDKEY_P256, srv.pub.data, srv.pub.len,
	    NOW, 300, &r3, &t1, &p1), DPK_ERR_INVALID);
	assert_int_equal(t1.len, 0);
	dpk_buf_free(&t1);
	dpk_buf_free(&t2);
}

/* ---- the document's ticket vector (tests/data/psk/ticket-vectors.txt) ----
 * Gateway key a.pem, server key b.pem, fixed randomness 00 01 .. 4f (nonce,
 * Ks, HPKE ikm), fixed time. Everything but the gateway's (randomised
 * ECDSA) signature is regenerated byte for byte; the recorded ticket is
 * redeemed; the id and the PSK are recomputed with SHA-256 here and
 * openssl kdf. DPK_TICKET_WRITE_VECTORS=path writes a new file (and fails). */

#define TV_NOW 1767225600 /* 2026-01-01T00:00:00Z */
#define TV_LIFETIME 300

static char tv_dir[128];

/* Offsets in a ticket: end of the AAD part, the sealed Ks, end of the signed part. */
static void
tv_layout(const uint8_t *t, size_t len, size_t *aad_end, size_t *sealed_off, size_t *sealed_len, size_t *signed_end)
{
	size_t o = 2;

	for (int i = 0; i < 3; i++)
		o += 2 + (size_t)t[o + 1];
	o += 8 + 16;
	*aad_end = o;
	*sealed_len = ((size_t)t[o] << 8) | t[o + 1];
	*sealed_off = o + 2;
	*signed_end = o + 2 + *sealed_len;
	assert_true(*signed_end + 2 < len);
}

/* id, Ks and the PSK from a ticket without lib/psk/ticket.c. */
static void
tv_independent(const struct dpk_test_party *g, const struct dpk_test_party *d, const struct dpk_test_party *s, const uint8_t *t, size_t len,
    uint8_t id[32], uint8_t ks[32], struct dpk_ticket_psk *psk)
{
	size_t aad_end, sealed_off, sealed_len, signed_end;
	struct dpk_buf pt, sd, ctx;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char key[80], salt[80], info[1200], keyarg[90], saltarg[90], infoarg[1210];
	uint8_t ib[16];

	tv_layout(t, len, &aad_end, &sealed_off, &sealed_len, &signed_end);
	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, "DPK-TICKET-v1 id", 16), 1);
	assert_int_equal(EVP_DigestUpdate(c, t, signed_end), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, id, NULL), 1);
	EVP_MD_CTX_free(c);
	dpk_buf_init(&pt, 64);
	assert_int_equal(dpk_pke_open(s->key, (const uint8_t *)"DPK-TICKET-v1 Ks", 16, t, aad_end, t + sealed_off,
	    sealed_len, &pt), 0);
	assert_int_equal(pt.len, 32);
	memcpy(ks, pt.data, 32);
	dpk_buf_init(&sd, 2 * DPK_TICKET_MAX);
	assert_int_equal(dpk_buf_put(&sd, "DPK-TICKET-v1 gateway signature", 31), 0);
	assert_int_equal(dpk_buf_put(&sd, t, signed_end), 0);
	size_t siglen = ((size_t)t[signed_end] << 8) | t[signed_end + 1];
	assert_int_equal(signed_end + 2 + siglen, len);
	assert_int_equal(dpk_idkey_verify(DPK_IDKEY_P256, g->pub.data, g->pub.len, sd.data, sd.len, t + signed_end + 2,
	    siglen), 0);
	dpk_buf_init(&ctx, 1024);
	assert_int_equal(dpk_hs_put_identity(&ctx, &g->id), 0);
	assert_int_equal(dpk_hs_put_identity(&ctx, &d->id), 0);
	assert_int_equal(dpk_hs_put_identity(&ctx, &s->id), 0);
	assert_int_equal(dpk_hex_encode(ks, 32, 0, key, sizeof(key)), 0);
	assert_int_equal(dpk_hex_encode(id, 32, 0, salt, sizeof(salt)), 0);
	snprintf(keyarg, sizeof(keyarg), "hexkey:%s", key);
	snprintf(saltarg, sizeof(saltarg), "hexsalt:%s", salt);
	const char *labels[2] = {"DPK-TICKET-v1 psk", "DPK-TICKET-v1 identity"};
	for (int k = 0; k < 2; k++) {
		uint8_t inf[600];
		size_t ln = strlen(labels[k]);

		memcpy(inf, labels[k], ln);
		memcpy(inf + ln, ctx.data, ctx.len);
		assert_int_equal(dpk_hex_encode(inf, ln + ctx.len, 0, info, sizeof(info)), 0);
		snprintf(infoarg, sizeof(infoarg), "hexinfo:%s", info);
		char *argv[] = {(char *)"/usr/bin/openssl", (char *)"kdf", (char *)"-keylen", (char *)(k == 0 ? "32" : "16"),
			(char *)"-kdfopt", (char *)"digest:SHA256", (char *)"-kdfopt", keyarg, (char *)"-kdfopt", saltarg,
			(char *)"-kdfopt", infoarg, (char *)"HKDF", NULL};
		dpk_test_openssl_out(argv, 0, k == 0 ? psk->psk : ib, k == 0 ? 32 : 16);
	}
	memcpy(psk->psk_identity, "dpk1t-", 6);
	assert_int_equal(dpk_hex_encode(ib, 16, 0, psk->psk_identity + 6, sizeof(psk->psk_identity) - 6), 0);
	dpk_buf_free(&pt);
	dpk_buf_free(&sd);
	dpk_buf_free(&ctx);
}

static void
test_vectors(void **state)
{
	struct dpk_test_party g, d, s;
	uint8_t bytes[80], id[32], ks[32], want[DPK_TICKET_MAX], val[32];
	struct dpk_hs_rand rnd = {bytes, sizeof(bytes), 0};
	struct dpk_buf t, file;
	struct dpk_ticket_psk psk, calc, red;
	struct dpk_ticket_info info;
	size_t aad_end, sealed_off, sealed_len, signed_end, wlen;
	const char *w = getenv("DPK_TICKET_WRITE_VECTORS");

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
	dpk_test_tmpdir(tv_dir, sizeof(tv_dir));
	dpk_test_party_load(&g, tv_dir, "a.pem", "gateway.example");
	dpk_test_party_load(&s, tv_dir, "b.pem", "server.example");
	assert_int_equal(dpk_identity_parse("fd00::17", 8, &d.id), 0);
	d.key = NULL;
	dpk_buf_init(&d.pub, 16);
	dpk_buf_init(&t, DPK_TICKET_MAX);
	assert_int_equal(dpk_ticket_issue(g.key, &g.id, &d.id, &s.id, DPK_IDKEY_P256, s.pub.data, s.pub.len, TV_NOW,
	    TV_LIFETIME, &rnd, &t, &psk), 0);
	assert_int_equal(rnd.used, sizeof(bytes));
	tv_layout(t.data, t.len, &aad_end, &sealed_off, &sealed_len, &signed_end);

	if (w != NULL && *w != '\0') {
		FILE *f = fopen(w, "w");
		char h[2 * DPK_TICKET_MAX + 1];

		tv_independent(&g, &d, &s, t.data, t.len, id, ks, &calc);
		assert_memory_equal(calc.psk, psk.psk, 32);
		assert_string_equal(calc.psk_identity, psk.psk_identity);
		assert_non_null(f);
		fprintf(f, "# DPK delegated-mode ticket vector (doc/psk-protocol.md, \"Test vectors\").\n"
			   "# Gateway gateway.example with a.pem, server server.example with b.pem, device fd00::17,\n"
			   "# now %d, lifetime %d s, fixed randomness 00 01 .. 4f (nonce, Ks, HPKE ikm).\n"
			   "# signed_part is everything before the signature's length; ticket is one recorded\n"
			   "# whole ticket (the ECDSA signature is randomised). Checked by tests/unit/psk/test_ticket.c.\n",
		    TV_NOW, TV_LIFETIME);
		assert_int_equal(dpk_hex_encode(t.data, signed_end, 0, h, sizeof(h)), 0);
		fprintf(f, "signed_part: %s\n", h);
		assert_int_equal(dpk_hex_encode(t.data, t.len, 0, h, sizeof(h)), 0);
		fprintf(f, "ticket: %s\n", h);
		assert_int_equal(dpk_hex_encode(id, 32, 0, h, sizeof(h)), 0);
		fprintf(f, "id: %s\n", h);
		assert_int_equal(dpk_hex_encode(ks, 32, 0, h, sizeof(h)), 0);
		fprintf(f, "ks: %s\n", h);
		assert_int_equal(dpk_hex_encode(psk.psk, 32, 0, h, sizeof(h)), 0);
		fprintf(f, "psk: %s\n", h);
		fprintf(f, "psk_identity: %s\n", psk.psk_identity);
		fclose(f);
		fail_msg("ticket vectors written to %s: check them, copy to tests/data/psk/ticket-vectors.txt", w);
	}

	dpk_buf_init(&file, 1 << 20);
	dpk_test_read_data("psk/ticket-vectors.txt", &file);
	/* the library against the file: the signed part, the PSK and identity */
	dpk_test_vec_hex(&file, "signed_part", want, sizeof(want), &wlen);
	assert_int_equal(signed_end, wlen);
	assert_memory_equal(t.data, want, wlen);
	dpk_test_vec_hex(&file, "psk", val, 32, NULL);
	assert_memory_equal(psk.psk, val, 32);
	dpk_test_vec_field(&file, "psk_identity", calc.psk_identity, sizeof(calc.psk_identity));
	assert_string_equal(psk.psk_identity, calc.psk_identity);
	/* the recorded ticket redeems to the same, with the same id */
	dpk_test_vec_hex(&file, "ticket", want, sizeof(want), &wlen);
	assert_int_equal(dpk_ticket_redeem(s.key, &s.id, DPK_IDKEY_P256, g.pub.data, g.pub.len, want, wlen, TV_NOW + 1,
	    &info, &red), 0);
	assert_memory_equal(red.psk, psk.psk, 32);
	dpk_test_vec_hex(&file, "id", val, 32, NULL);
	assert_memory_equal(info.id, val, 32);
	/* the file against independent computations */
	tv_independent(&g, &d, &s, want, wlen, id, ks, &calc);
	assert_memory_equal(id, val, 32);
	dpk_test_vec_hex(&file, "ks", val, 32, NULL);
	assert_memory_equal(ks, val, 32);
	assert_memory_equal(ks, bytes + 16, 32);
	assert_memory_equal(calc.psk, psk.psk, 32);
	assert_string_equal(calc.psk_identity, psk.psk_identity);

	dpk_buf_free(&file);
	dpk_buf_free(&t);
	dpk_test_party_free(&g);
	dpk_test_party_free(&s);
	dpk_buf_free(&d.pub);
	dpk_test_rmtree(tv_dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_redeem),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_other_server_and_keys),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_replay_id_stable),
		cmocka_unit_test(test_fixed_rand),
		cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
