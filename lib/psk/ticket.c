/* Delegated-mode tickets (doc/psk-protocol.md, "Delegated mode"):
 *
 *   01 10 | gateway | device | server | u64 expiry | nonce(16)
 *         | u16 len | seal(server, "DPK-TICKET-v1 Ks", aad = everything before len, Ks)
 *         | u16 len | gateway signature over "DPK-TICKET-v1 gateway signature" | everything before len
 *
 * The replay-cache id hashes the signed part only: ECDSA signatures are
 * malleable, so a hash over the signature would let a replayed ticket with
 * (r, n - s) pass as new. */
#include "psk/ticket.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/hkdf.h"
#include "crypto/pke.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define TICKET_VERSION 1
#define TICKET_TYPE 0x10
#define KS_LEN 32
#define SIG_MAX 1024

static const char LABEL_SEAL[] = "DPK-TICKET-v1 Ks";
static const char LABEL_SIG[] = "DPK-TICKET-v1 gateway signature";
static const char LABEL_ID[] = "DPK-TICKET-v1 id";
static const char LABEL_PSK[] = "DPK-TICKET-v1 psk";
static const char LABEL_PSKID[] = "DPK-TICKET-v1 identity";

struct parsed {
	struct dpk_ticket_info info;
	size_t aad_len;        /* bytes before the sealed Ks's length */
	const uint8_t *sealed;
	size_t sealed_len;
	size_t signed_len;     /* bytes before the signature's length */
	const uint8_t *sig;
	size_t sig_len;
};

/* SHA-256 over a label and up to two byte strings. */
static int
hash3(const char *label, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	int r = DPK_ERR_CRYPTO;

	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, label, strlen(label)) == 1 && EVP_DigestUpdate(c, a, alen) == 1 &&
	    (blen == 0 || EVP_DigestUpdate(c, b, blen) == 1) && EVP_DigestFinal_ex(c, out, &n) == 1 && n == 32)
		r = 0;
	EVP_MD_CTX_free(c);
	return r;
}

static int
parse(const uint8_t *t, size_t len, struct parsed *p)
{
	struct dpk_cursor c;
	const uint8_t *v;
	uint8_t ver, type;
	uint16_t n;
	int r;

	memset(p, 0, sizeof(*p));
	if (t == NULL)
		return DPK_ERR_INVALID;
	if (len > DPK_TICKET_MAX)
		return DPK_ERR_TOOBIG;
	dpk_cursor_init(&c, t, len);
	if ((r = dpk_cursor_get_u8(&c, &ver)) != 0 || (r = dpk_cursor_get_u8(&c, &type)) != 0)
		return r;
	if (ver != TICKET_VERSION)
		return DPK_ERR_UNSUPPORTED;
	if (type != TICKET_TYPE)
		return DPK_ERR_SYNTAX;
	if ((r = dpk_hs_get_identity(&c, &p->info.gateway)) != 0 ||
	    (r = dpk_hs_get_identity(&c, &p->info.device)) != 0 ||
	    (r = dpk_hs_get_identity(&c, &p->info.server)) != 0 ||
	    (r = dpk_cursor_get_be64(&c, &p->info.expiry)) != 0 || (r = dpk_cursor_take(&c, 16, &v)) != 0)
		return r;
	memcpy(p->info.nonce, v, 16);
	p->aad_len = len - c.len;
	if ((r = dpk_cursor_get_be16(&c, &n)) != 0 || (r = dpk_cursor_take(&c, n, &p->sealed)) != 0)
		return r;
	p->sealed_len = n;
	p->signed_len = len - c.len;
	if ((r = dpk_cursor_get_be16(&c, &n)) != 0)
		return r;
	if (n == 0 || n > SIG_MAX)
		return DPK_ERR_SYNTAX;
	if ((r = dpk_cursor_take(&c, n, &p->sig)) != 0)
		return r;
	p->sig_len = n;
	if ((r = dpk_cursor_done(&c)) != 0)
		return r;
	return hash3(LABEL_ID, t, p->signed_len, NULL, 0, p->info.id);
}

int
dpk_ticket_parse(const uint8_t *t, size_t len, struct dpk_ticket_info *info)
{
	struct parsed p;
	int r = parse(t, len, &p);

	if (info != NULL)
		*info = p.info;
	return r;
}

/* The PSK both ends derive: PRK = HKDF-Extract(ticket id, Ks), then
 * HKDF-Expand(PRK, label | gateway | device | server). */
static int
derive(const struct dpk_ticket_info *info, const uint8_t ks[KS_LEN], struct dpk_ticket_psk *psk)
{
	uint8_t prk[DPK_HKDF_HASH_LEN], idb[16], infobuf[64 + 3 * (2 + DPK_IDENTITY_VALUE_MAX)];
	struct dpk_buf ctx;
	size_t n;
	int r;

	dpk_buf_init(&ctx, 3 * (2 + DPK_IDENTITY_VALUE_MAX));
	if ((r = dpk_hs_put_identity(&ctx, &info->gateway)) != 0 ||
	    (r = dpk_hs_put_identity(&ctx, &info->device)) != 0 ||
	    (r = dpk_hs_put_identity(&ctx, &info->server)) != 0 ||
	    (r = dpk_hkdf_extract(info->id, sizeof(info->id), ks, KS_LEN, prk)) != 0)
		goto out;
	n = strlen(LABEL_PSK);
	memcpy(infobuf, LABEL_PSK, n);
	memcpy(infobuf + n, ctx.data, ctx.len);
	if ((r = dpk_hkdf_expand(prk, infobuf, n + ctx.len, psk->psk, DPK_HS_PSK_LEN)) != 0)
		goto out;
	n = strlen(LABEL_PSKID);
	memcpy(infobuf, LABEL_PSKID, n);
	memcpy(infobuf + n, ctx.data, ctx.len);
	if ((r = dpk_hkdf_expand(prk, infobuf, n + ctx.len, idb, sizeof(idb))) != 0)
		goto out;
	memcpy(psk->psk_identity, "dpk1t-", 6);
	r = dpk_hex_encode(idb, sizeof(idb), 0, psk->psk_identity + 6, sizeof(psk->psk_identity) - 6);
out:
	OPENSSL_cleanse(prk, sizeof(prk));
	dpk_buf_free(&ctx);
	return r;
}

int
dpk_ticket_issue(const struct dpk_idkey *gateway, const struct dpk_identity *gateway_id,
    const struct dpk_identity *device, const struct dpk_identity *server, uint8_t server_alg,
    const uint8_t *server_pub, size_t server_publen, uint64_t now, uint32_t lifetime, struct dpk_hs_rand *rand,
    struct dpk_buf *out, struct dpk_ticket_psk *psk)
{
	struct dpk_buf t, sd, sig;
	struct parsed p;
	uint8_t ks[KS_LEN], nonce[16], ikm[32];
	uint64_t expiry;
	size_t aad_len, old;
	int r;

	if (psk != NULL)
		OPENSSL_cleanse(psk, sizeof(*psk));
	if (gateway == NULL || gateway_id == NULL || device == NULL || server == NULL || server_pub == NULL ||
	    out == NULL || psk == NULL || lifetime == 0 || lifetime > DPK_TICKET_LIFETIME_MAX ||
	    now > UINT64_MAX - lifetime)
		return DPK_ERR_INVALID;
	expiry = now + lifetime;
	dpk_buf_init(&t, DPK_TICKET_MAX);
	dpk_buf_init(&sd, DPK_TICKET_MAX + sizeof(LABEL_SIG));
	dpk_buf_init(&sig, SIG_MAX);
	old = out->len;
	if ((r = dpk_hs_random(rand, nonce, sizeof(nonce))) != 0 || (r = dpk_hs_random(rand, ks, KS_LEN)) != 0)
		goto out;
	if ((r = dpk_buf_put_u8(&t, TICKET_VERSION)) != 0 || (r = dpk_buf_put_u8(&t, TICKET_TYPE)) != 0 ||
	    (r = dpk_hs_put_identity(&t, gateway_id)) != 0 || (r = dpk_hs_put_identity(&t, device)) != 0 ||
	    (r = dpk_hs_put_identity(&t, server)) != 0)
		goto out;
	for (int i = 7; i >= 0; i--)
		if ((r = dpk_buf_put_u8(&t, (uint8_t)(expiry >> (8 * i)))) != 0)
			goto out;
	if ((r = dpk_buf_put(&t, nonce, sizeof(nonce))) != 0 || (r = dpk_buf_put(&sd, t.data, t.len)) != 0)
		goto out;
	aad_len = t.len;
	/* length placeholder, then the sealed Ks; the AAD is a copy (t may move) */
	if ((r = dpk_buf_put(&t, "\0\0", 2)) != 0)
		goto out;
	if (rand != NULL && server_alg == DPK_IDKEY_P256) {
		if ((r = dpk_hs_random(rand, ikm, sizeof(ikm))) != 0)
			goto out;
		r = dpk_pke_seal_derand(server_alg, server_pub, server_publen, ikm, sizeof(ikm),
		    (const uint8_t *)LABEL_SEAL, strlen(LABEL_SEAL), sd.data, aad_len, ks, KS_LEN, &t);
	} else {
		r = dpk_pke_seal(server_alg, server_pub, server_publen, (const uint8_t *)LABEL_SEAL,
		    strlen(LABEL_SEAL), sd.data, aad_len, ks, KS_LEN, &t);
	}
	if (r != 0)
		goto out;
	if (t.len - aad_len - 2 > UINT16_MAX) {
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	t.data[aad_len] = (uint8_t)((t.len - aad_len - 2) >> 8);
	t.data[aad_len + 1] = (uint8_t)(t.len - aad_len - 2);
	dpk_buf_reset(&sd);
	if ((r = dpk_buf_put(&sd, LABEL_SIG, strlen(LABEL_SIG))) != 0 || (r = dpk_buf_put(&sd, t.data, t.len)) != 0 ||
	    (r = dpk_idkey_sign(gateway, sd.data, sd.len, &sig)) != 0)
		goto out;
	if (sig.len > SIG_MAX) {
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	if ((r = dpk_buf_put_u8(&t, (uint8_t)(sig.len >> 8))) != 0 || (r = dpk_buf_put_u8(&t, (uint8_t)sig.len)) != 0 ||
	    (r = dpk_buf_put(&t, sig.data, sig.len)) != 0)
		goto out;
	if ((r = parse(t.data, t.len, &p)) != 0 || (r = derive(&p.info, ks, psk)) != 0)
		goto out;
	r = dpk_buf_put(out, t.data, t.len);
out:
	if (r != 0) {
		OPENSSL_cleanse(psk, sizeof(*psk));
		out->len = old;
	}
	OPENSSL_cleanse(ks, sizeof(ks));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	dpk_buf_free(&t);
	dpk_buf_free(&sd);
	dpk_buf_free(&sig);
	return r;
}

int
dpk_ticket_redeem(const struct dpk_idkey *server, const struct dpk_identity *server_id, uint8_t gw_alg,
    const uint8_t *gw_pub, size_t gw_publen, const uint8_t *t, size_t len, uint64_t now,
    struct dpk_ticket_info *info, struct dpk_ticket_psk *psk)
{
	struct dpk_buf sd, ks;
	struct parsed p;
	int r;

	if (psk != NULL)
		OPENSSL_cleanse(psk, sizeof(*psk));
	if (server == NULL || server_id == NULL || gw_pub == NULL || psk == NULL)
		return DPK_ERR_INVALID;
	if ((r = parse(t, len, &p)) != 0)
		return r;
	if (info != NULL)
		*info = p.info;
	if (!dpk_hs_identity_equal(&p.info.server, server_id))
		return DPK_ERR_PERM;
	if (now >= p.info.expiry)
		return DPK_ERR_EXPIRED;
	if (p.info.expiry - now > DPK_TICKET_LIFETIME_MAX)
		return DPK_ERR_RANGE; /* longer-lived than any gateway may issue */
	dpk_buf_init(&sd, DPK_TICKET_MAX + sizeof(LABEL_SIG));
	dpk_buf_init(&ks, KS_LEN);
	if ((r = dpk_buf_put(&sd, LABEL_SIG, strlen(LABEL_SIG))) != 0 || (r = dpk_buf_put(&sd, t, p.signed_len)) != 0)
		goto out;
	if ((r = dpk_idkey_verify(gw_alg, gw_pub, gw_publen, sd.data, sd.len, p.sig, p.sig_len)) != 0)
		goto out;
	if ((r = dpk_pke_open(server, (const uint8_t *)LABEL_SEAL, strlen(LABEL_SEAL), t, p.aad_len, p.sealed,
	    p.sealed_len, &ks)) != 0)
		goto out;
	if (ks.len != KS_LEN) {
		r = DPK_ERR_SYNTAX;
		goto out;
	}
	r = derive(&p.info, ks.data, psk);
out:
	if (r != 0)
		OPENSSL_cleanse(psk, sizeof(*psk));
	dpk_buf_free(&sd);
	dpk_buf_free(&ks);
	return r;
}
