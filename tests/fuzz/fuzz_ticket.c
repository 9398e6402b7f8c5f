/* Tickets are untrusted input to the server's agent (lib/psk/ticket.c).
 *
 * First byte 0: the rest is a whole ticket, parsed and redeemed. First byte
 * 1: the rest is the part before the sealed Ks (version .. nonce); the
 * harness seals a Ks to the server and signs it as the gateway would, so
 * the fuzzer reaches the checks behind the signature. Whatever redeems must
 * parse to the same fields and id. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "psk/handshake.h"
#include "crypto/idkey.h"
#include "crypto/pke.h"
#include "psk/ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dpk_idkey *gw, *srv;
static uint8_t gw_pub[65], srv_pub[65];
static struct dpk_identity srv_id;
static const uint64_t NOW = 1900000000;

static void
init(void)
{
	struct dpk_buf p;

	if (dpk_idkey_generate(DPK_IDKEY_P256, 0, &gw) != 0 || dpk_idkey_generate(DPK_IDKEY_P256, 0, &srv) != 0 ||
	    dpk_identity_parse("server.example", 14, &srv_id) != 0)
		abort();
	dpk_buf_init(&p, 65);
	if (dpk_idkey_public_onchain(gw, &p) != 0 || p.len != 65)
		abort();
	memcpy(gw_pub, p.data, 65);
	dpk_buf_reset(&p);
	p.len = 0;
	if (dpk_idkey_public_onchain(srv, &p) != 0 || p.len != 65)
		abort();
	memcpy(srv_pub, p.data, 65);
	dpk_buf_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static const uint8_t ks[32] = {1, 2, 3};
	struct dpk_ticket_info info, again;
	struct dpk_ticket_psk psk;
	struct dpk_buf t, sd, sig;
	int r;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	dpk_buf_init(&t, 2 * DPK_TICKET_MAX);
	dpk_buf_init(&sd, 3 * DPK_TICKET_MAX);
	dpk_buf_init(&sig, 1024);
	if (data[0] == 1) {
		static const char lseal[] = "DPK-TICKET-v1 Ks", lsig[] = "DPK-TICKET-v1 gateway signature";
		size_t at;

		if (dpk_buf_put(&t, data + 1, size - 1) != 0)
			goto out;
		at = t.len;
		if (dpk_buf_put(&t, "\0\0", 2) != 0 ||
		    dpk_pke_seal(DPK_IDKEY_P256, srv_pub, 65, (const uint8_t *)lseal, strlen(lseal), data + 1, size - 1,
		    ks, sizeof(ks), &t) != 0)
			goto out;
		t.data[at] = (uint8_t)((t.len - at - 2) >> 8);
		t.data[at + 1] = (uint8_t)(t.len - at - 2);
		if (dpk_buf_put(&sd, lsig, strlen(lsig)) != 0 || dpk_buf_put(&sd, t.data, t.len) != 0 ||
		    dpk_idkey_sign(gw, sd.data, sd.len, &sig) != 0 || dpk_buf_put_u8(&t, (uint8_t)(sig.len >> 8)) != 0 ||
		    dpk_buf_put_u8(&t, (uint8_t)sig.len) != 0 || dpk_buf_put(&t, sig.data, sig.len) != 0)
			goto out;
	} else if (dpk_buf_put(&t, data + 1, size - 1) != 0) {
		goto out;
	}
	r = dpk_ticket_parse(t.data, t.len, &info);
	if (dpk_ticket_redeem(srv, &srv_id, DPK_IDKEY_P256, gw_pub, 65, t.data, t.len, NOW, &again, &psk) == 0) {
		if (r != 0 || memcmp(&info, &again, sizeof(info)) != 0 || again.expiry <= NOW ||
		    memcmp(psk.psk_identity, "dpk1t-", 6) != 0 || strlen(psk.psk_identity) != 38)
			__builtin_trap();
	}
out:
	dpk_buf_free(&t);
	dpk_buf_free(&sd);
	dpk_buf_free(&sig);
	return 0;
}
