/* The operator's token actions (actions.h). */
#include "actions.h"

#include "base/err.h"
#include "base/hex.h"
#include "enrol/token.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int
say(char *msg, size_t msgsz, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msgsz, fmt, ap);
	va_end(ap);
	return code;
}

int
pkm_enrol_issue(struct pkm *p, const char *idtext, uint32_t valid_ms, struct dpk_buf *token_text,
    struct pkm_enrolled *out, char *msg, size_t msgsz)
{
	static const uint8_t zero[20];
	struct dpk_identity id;
	struct dpk_token t;
	struct pkm_token_row row;
	uint64_t now = (uint64_t)time(NULL);
	int r;

	memset(out, 0, sizeof(*out));
	if (memcmp(p->cfg.contract, zero, 20) == 0)
		return say(msg, msgsz, PKM_FAILED, "%s has no contract address", p->config_path);
	if ((r = dpk_identity_parse(idtext, strlen(idtext), &id)) != 0)
		return say(msg, msgsz, PKM_REFUSED, "'%s' is not a DPK identity (a domain name, IPv4 or IPv6 address, "
		    "or UUID): %s", idtext, dpk_strerror(r));
	dpk_identity_format(&id, out->identity, sizeof(out->identity));
	out->kind = id.kind;
	if ((r = dpk_token_new(&t, out->identity, p->cfg.chain_id, p->cfg.contract, p->sd.wallet.addr,
	    p->cfg.public_endpoint, now + valid_ms / 1000)) != 0 ||
	    (r = dpk_token_sign(&t, p->sd.idkey)) != 0) {
		dpk_token_clear(&t);
		return say(msg, msgsz, PKM_FAILED, "cannot make a token: %s", dpk_strerror(r));
	}
	memset(&row, 0, sizeof(row));
	memcpy(row.id, t.id, 16);
	memcpy(row.identity, out->identity, strlen(out->identity) + 1);
	memcpy(row.secret, t.secret, 32);
	dpk_token_hash(&t, row.token_hash);
	row.created = now;
	row.expires = t.expires;
	row.state = PKM_TOKEN_ISSUED;
	out->expires = t.expires;
	dpk_hex_encode(t.id, 16, 0, out->token_hex, sizeof(out->token_hex));
	if ((r = dpk_token_format(&t, token_text)) != 0)
		r = say(msg, msgsz, PKM_FAILED, "cannot write the token: %s", dpk_strerror(r));
	else if ((r = pkm_store_add_token(p->store, &row)) != 0)
		r = say(msg, msgsz, PKM_FAILED, "cannot record the token: %s", dpk_strerror(r));
	dpk_token_clear(&t);
	explicit_bzero(&row, sizeof(row));
	return r;
}

int
pkm_uuid_new(char out[37])
{
	uint8_t b[16];
	char hex[33];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return DPK_ERR_CRYPTO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
	dpk_hex_encode(b, 16, 0, hex, sizeof(hex));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

int
pkm_revoke_token(struct pkm *p, const char *idhex, char *msg, size_t msgsz)
{
	struct pkm_token_row t;
	uint8_t id[16];
	int used;

	if (dpk_hex_decode_exact(idhex, id, 16) != 0)
		return say(msg, msgsz, PKM_REFUSED, "'%.64s' is not a token id (32 hex digits)", idhex);
	if (pkm_store_get_token(p->store, id, &t) != 0)
		return say(msg, msgsz, PKM_REFUSED, "no token %s", idhex);
	used = t.state == PKM_TOKEN_APPROVED;
	explicit_bzero(&t, sizeof(t));
	if (used)
		return say(msg, msgsz, PKM_REFUSED, "token %s was used already; revoke the identity on chain instead", idhex);
	if (pkm_store_set_state(p->store, id, PKM_TOKEN_REVOKED) != 0)
		return say(msg, msgsz, PKM_FAILED, "cannot record that token %s is revoked", idhex);
	return 0;
}
