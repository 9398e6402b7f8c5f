/* Handshake messages are untrusted network input (lib/psk/handshake.c).
 *
 * The first input byte picks where the rest goes: bits 0-1 the message
 * (0: M1 to a responder, 1: M2 to an initiator that sent M1, 2: M3 to a
 * responder that sent M2, 3: M4 to an initiator that sent M3); bit 2 makes
 * the rest a plaintext that the harness seals properly (so the fuzzer
 * reaches the parsers behind the encryption); bit 3 gives the responder an
 * RSA key. Honest parties are driven to that state with the test-vector
 * keys and fixed randomness (tests/data/psk), so the seed corpus (the
 * vectors' messages) is valid input. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "psk/handshake.h"
#include "crypto/idkey.h"
#include "crypto/pke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pem_a[] = "-----BEGIN PRIVATE KEY-----\n"
			    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLhpU6CgoCKR7wK1M\n"
			    "RSb3DQOZxb/EbW6npSpeXAzvFCihRANCAAQ7F50YuP6bMSw/HL3hVaekv1LIDnPx\n"
			    "hk3MyLstRb0DcXE3RL5hVweyX9eVqxAZC8RMoX+YXf9hMc0nqk7utOGJ\n"
			    "-----END PRIVATE KEY-----\n";
static const char pem_b[] = "-----BEGIN PRIVATE KEY-----\n"
			    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZHuK/vJ8KP0zwoNO\n"
			    "hwDFw6eSj8hK7/Sy3/gtfpoVscOhRANCAASyWc9xp9YypYLM7pA8B7FRPjNfbTF/\n"
			    "kuYDbg3sLNrg/cQ1NkvQvoVRMb47q2GJKHtfGSjA3PEdMk+F8lIpFa11\n"
			    "-----END PRIVATE KEY-----\n";

struct party {
	struct dpk_idkey *key;
	struct dpk_identity id;
	uint8_t pub[2048];
	size_t publen;
};

static struct party a, b, b_rsa;
static uint8_t fixed_i[160], fixed_r[96];

static void
load(struct party *p, const char *pem, const char *name)
{
	char path[] = "/tmp/fuzz_handshake.XXXXXX";
	struct dpk_buf pub;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, pem, strlen(pem)) != (ssize_t)strlen(pem))
		abort();
	close(fd);
	if (dpk_idkey_load(path, &p->key) != 0)
		abort();
	unlink(path);
	if (dpk_identity_parse(name, strlen(name), &p->id) != 0)
		abort();
	dpk_buf_init(&pub, sizeof(p->pub));
	if (dpk_idkey_public_onchain(p->key, &pub) != 0)
		abort();
	memcpy(p->pub, pub.data, pub.len);
	p->publen = pub.len;
	dpk_buf_free(&pub);
}

static void
init(void)
{
	struct dpk_buf pub;

	load(&a, pem_a, "a.example");
	load(&b, pem_b, "b.example");
	if (dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &b_rsa.key) != 0)
		abort();
	b_rsa.id = b.id;
	dpk_buf_init(&pub, sizeof(b_rsa.pub));
	if (dpk_idkey_public_onchain(b_rsa.key, &pub) != 0)
		abort();
	memcpy(b_rsa.pub, pub.data, pub.len);
	b_rsa.publen = pub.len;
	dpk_buf_free(&pub);
	for (size_t i = 0; i < sizeof(fixed_i); i++)
		fixed_i[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(fixed_r); i++)
		fixed_r[i] = (uint8_t)(0xa0 + i);
}

/* Seal pt as message type k (1..3) for the receiver's key. */
static int
seal(int k, const struct party *to, const uint8_t *pt, size_t ptlen, struct dpk_buf *m)
{
	static const char *labels[] = {"DPK-PSK-v1 M1", "DPK-PSK-v1 M2", "DPK-PSK-v1 M3"};
	uint8_t hdr[4 + 253];
	size_t hlen = 2;

	hdr[0] = DPK_HS_VERSION;
	hdr[1] = (uint8_t)k;
	if (k == 1) {
		hdr[2] = to->id.kind;
		hdr[3] = to->id.len;
		memcpy(hdr + 4, to->id.value, to->id.len);
		hlen = 4 + (size_t)to->id.len;
	}
	if (dpk_buf_put(m, hdr, hlen) != 0)
		return -1;
	return dpk_pke_seal(dpk_idkey_alg(to->key), to->pub, to->publen, (const uint8_t *)labels[k - 1],
	    strlen(labels[k - 1]), hdr, hlen, pt, ptlen, m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct dpk_hs_rand ri = {fixed_i, sizeof(fixed_i), 0}, rr = {fixed_r, sizeof(fixed_r), 0};
	struct dpk_hs *i = NULL, *r = NULL, *target;
	struct dpk_buf out, m, in;
	const struct party *rb;
	int k, st;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	k = (data[0] & 3) + 1;
	rb = data[0] & 8 ? &b_rsa : &b;
	data++;
	size--;
	dpk_buf_init(&out, DPK_HS_MSG_MAX);
	dpk_buf_init(&m, DPK_HS_MSG_MAX);
	dpk_buf_init(&in, 2 * DPK_HS_MSG_MAX);
	if ((i = dpk_hs_new(DPK_HS_INITIATOR, a.key, &a.id, &ri)) == NULL ||
	    (r = dpk_hs_new(DPK_HS_RESPONDER, rb->key, &rb->id, &rr)) == NULL || dpk_hs_set_peer(i, &rb->id) != 0 ||
	    dpk_hs_set_peer_key(i, dpk_idkey_alg(rb->key), rb->pub, rb->publen) != 0)
		abort();
	/* the honest run up to message k */
	if (dpk_hs_step(i, NULL, 0, &m) != DPK_HS_SEND || dpk_hs_step(i, NULL, 0, &out) != DPK_HS_RECV)
		abort();
	if (k >= 2) {
		if (dpk_hs_step(r, m.data, m.len, &out) != DPK_HS_NEED_KEY ||
		    dpk_hs_set_peer_key(r, DPK_IDKEY_P256, a.pub, a.publen) != 0 ||
		    dpk_hs_step(r, NULL, 0, &m) != DPK_HS_SEND || dpk_hs_step(r, NULL, 0, &out) != DPK_HS_RECV)
			abort();
	}
	if (k >= 3) {
		if (dpk_hs_step(i, m.data, m.len, &out) != DPK_HS_SEND)
			abort();
		dpk_buf_reset(&m);
		if (dpk_buf_put(&m, out.data, out.len) != 0 || dpk_hs_step(i, NULL, 0, &out) != DPK_HS_RECV)
			abort();
	}
	if (k >= 4) {
		if (dpk_hs_step(r, m.data, m.len, &out) != DPK_HS_SEND || dpk_hs_step(r, NULL, 0, &out) != DPK_HS_DONE)
			abort();
	}
	target = k % 2 ? r : i;
	if ((data[-1] & 4) && k <= 3) {
		if (seal(k, k % 2 ? rb : &a, data, size, &in) != 0)
			goto out;
	} else if (dpk_buf_put(&in, data, size) != 0) {
		goto out;
	}
	st = dpk_hs_step(target, in.data, in.len, &out);
	if (st < 0) {
		/* dead: every later call is refused, no result, an ERROR (or none) out */
		struct dpk_hs_result res;

		if ((st != DPK_ERR_PEER && (out.len != 3 || out.data[1] != DPK_HS_ERROR)) ||
		    dpk_hs_step(target, NULL, 0, &out) != DPK_ERR_STATE || dpk_hs_result(target, &res) != DPK_ERR_STATE)
			__builtin_trap();
	} else if (st == DPK_HS_NEED_KEY) {
		/* whoever M1 claims to come from: give it a's key and go on */
		if (dpk_hs_set_peer_key(target, DPK_IDKEY_P256, a.pub, a.publen) == 0)
			(void)dpk_hs_step(target, NULL, 0, &out);
	} else if (st == DPK_HS_DONE && k == 4) {
		__builtin_trap(); /* a forged confirmation was accepted */
	}
out:
	dpk_hs_free(i);
	dpk_hs_free(r);
	dpk_buf_free(&out);
	dpk_buf_free(&m);
	dpk_buf_free(&in);
	return 0;
}
