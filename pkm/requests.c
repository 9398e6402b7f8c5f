/* The requests of the device-to-PKM channel (doc/protocol.md): FUND,
 * APPROVE, SIGN_REGISTRATION, RELAY. The peer has proved the token's secret in the
 * TLS-PSK handshake; everything in its requests is still untrusted and read
 * through client/wire.h with exact lengths. */
#include "serve.h"

#include "base/err.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "eth/keccak.h"
#include "eth/tx.h"
#include "proto.h"
#include "registry/registry.h"
#include "wire.h"

#include <openssl/crypto.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define REPLY_MAX 2048

struct req {
	struct pkm_conn *c;
	const char *name;
	char wallet_text[43];     /* "-" until the request names one */
	char msg[512];            /* the refusal, for the reply and the log */
	char done[512];           /* what was done, for the log */
};

static int
refuse(struct req *q, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->msg, sizeof(q->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* The milliseconds a request may spend waiting for a receipt: the rest of
 * request_timeout is left for the reply to reach a device that waits that long. */
static uint64_t
wait_budget(const struct pkm *p)
{
	return (uint64_t)p->cfg.request_timeout_ms * 2 / 3;
}

static int
read_wallet(struct req *q, struct dpk_wire_r *in, uint8_t wallet[20])
{
	size_t n;
	const uint8_t *w = dpk_wire_get_string(in, &n);

	if (w == NULL || n != 20)
		return refuse(q, DPK_ERR_SYNTAX, "malformed %s request: the wallet must be a 20-byte string", q->name);
	memcpy(wallet, w, 20);
	dpk_wallet_address_format(wallet, q->wallet_text);
	return 0;
}

/* The connection's token, still usable, bound to wallet (bound now on first use). */
static int
token_for(struct req *q, const uint8_t wallet[20], struct pkm_token_row *t)
{
	struct pkm *p = q->c->p;
	char bound[43];
	int r;

	if ((r = pkm_store_get_token(p->store, q->c->token_id, t)) != 0)
		return refuse(q, r, "token %s cannot be read from the PKM's database: %s", q->c->token_hex, dpk_strerror(r));
	if (t->state == PKM_TOKEN_REVOKED)
		return refuse(q, DPK_ERR_INVALID, "token %s was revoked by the PKM's operator", q->c->token_hex);
	r = pkm_store_bind_wallet(p->store, q->c->token_id, wallet);
	if (r == DPK_ERR_EXISTS) {
		struct pkm_token_row cur;

		if (pkm_store_get_token(p->store, q->c->token_id, &cur) == 0 && cur.has_wallet)
			dpk_wallet_address_format(cur.wallet, bound);
		else
			snprintf(bound, sizeof(bound), "another wallet");
		explicit_bzero(&cur, sizeof(cur));
		return refuse(q, r, "token %s is bound to wallet %s; it cannot be used for wallet %s", q->c->token_hex,
		    bound, q->wallet_text);
	}
	if (r != 0)
		return refuse(q, r, "cannot bind token %s to wallet %s: %s", q->c->token_hex, q->wallet_text, dpk_strerror(r));
	return 0;
}

static int
token_identity(struct req *q, const struct pkm_token_row *t, struct dpk_identity *id, uint8_t h[32])
{
	if (dpk_identity_parse(t->identity, strlen(t->identity), id) != 0 || dpk_identity_hash(id, h) != 0)
		return refuse(q, DPK_ERR_INVALID, "token %s holds an identity that does not parse ('%s')", q->c->token_hex,
		    t->identity);
	return 0;
}

static void
reply_tx(struct dpk_wire_w *out, const struct pkm_sent *s)
{
	dpk_wire_put_string(out, s->hash, 32);
	dpk_wire_put_u8(out, s->mined ? 1 : 0);
}

static void
describe_tx(struct req *q, const char *what, const struct pkm_sent *s)
{
	char hex[67];

	dpk_hex_encode(s->hash, 32, 1, hex, sizeof(hex));
	snprintf(q->done, sizeof(q->done), "%s transaction %s (nonce %llu, %s)", what, hex, (unsigned long long)s->nonce,
	    s->mined ? "mined" : "not mined yet");
}

static int
do_fund(struct req *q, struct dpk_wire_r *in, struct dpk_wire_w *out)
{
	struct pkm *p = q->c->p;
	struct pkm_token_row t;
	struct pkm_sent sent;
	uint8_t wallet[20];
	char amount[79], prefix[120];
	int r;

	if ((r = read_wallet(q, in, wallet)) != 0)
		return r;
	if (dpk_wire_r_done(in) != 0)
		return refuse(q, DPK_ERR_TRAILING, "malformed FUND request: bytes after the wallet");
	if (!p->cfg.fund_auto && dpk_u256_is_zero(&p->cfg.fund_amount))
		return refuse(q, DPK_ERR_UNSUPPORTED, "this PKM does not fund wallets (fund_amount is 0)");
	r = token_for(q, wallet, &t);
	explicit_bzero(&t, sizeof(t));
	if (r != 0)
		return r;
	struct dpk_txsend req = {.to = wallet, .value = p->cfg.fund_amount};
	if (p->cfg.fund_auto && (r = pkm_fund_estimate(p, q->c->rpc, &req.value, q->msg, sizeof(q->msg))) != 0)
		return r;
	r = pkm_chain_send(q->c->chain, q->c->rpc, q->c->token_id, PKM_PURPOSE_FUND, NULL, &req, wait_budget(p),
	    &sent, q->msg, sizeof(q->msg));
	if (r != 0)
		return r;
	dpk_u256_to_dec(&sent.value, amount);
	snprintf(prefix, sizeof(prefix), "funded with %s wei:", amount);
	describe_tx(q, prefix, &sent);
	reply_tx(out, &sent);
	return 0;
}

/* A public key the registry may store: the PKM vouches for it, so it must
 * be a real key of its algorithm (point on the curve, RSA of 2048+ bits). */
static int
check_key(struct req *q, uint8_t alg, const uint8_t *pub, size_t publen)
{
	struct dpk_buf tmp;
	int r;

	if (alg != DPK_REGISTRY_ALG_P256 && alg != DPK_REGISTRY_ALG_RSA)
		return refuse(q, DPK_ERR_UNSUPPORTED, "unknown key algorithm %u (1 is ECDSA P-256, 2 is RSA)", alg);
	dpk_buf_init(&tmp, 16384);
	r = dpk_idkey_onchain_to_openssh((enum dpk_idkey_alg)alg, pub, publen, "", &tmp);
	dpk_buf_free(&tmp);
	if (r != 0)
		return refuse(q, DPK_ERR_INVALID, "the public key (%zu bytes) is not a valid %s key: %s", publen,
		    alg == DPK_REGISTRY_ALG_P256 ? "ECDSA P-256 (65-byte uncompressed point)" :
		    "RSA (DER SubjectPublicKeyInfo, 2048 bits or more)", dpk_strerror(r));
	return 0;
}

/* Send the registry transaction data that approves the token's identity
 * (once per token and purpose; excl: the purpose that rules it out, whose
 * refusal is "token <hex> <used>"); the token is used once it is mined. */
static int
send_approval(struct req *q, const char *purpose, const char *excl, const struct dpk_buf *data, const char *used,
    const char *what, const char *identity, struct dpk_wire_w *out)
{
	struct pkm *p = q->c->p;
	struct dpk_txsend req = {.to = p->cfg.contract, .data = data->data, .data_len = data->len};
	struct pkm_sent sent;
	char prefix[300];
	int r;

	r = pkm_chain_send(q->c->chain, q->c->rpc, q->c->token_id, purpose, excl, &req, wait_budget(p), &sent, q->msg,
	    sizeof(q->msg));
	if (r == DPK_ERR_EXISTS)
		return refuse(q, r, "token %s %s", q->c->token_hex, used);
	if (r != 0)
		return r;
	if (sent.mined)
		pkm_store_set_state(p->store, q->c->token_id, PKM_TOKEN_APPROVED);
	snprintf(prefix, sizeof(prefix), "%s %s:", what, identity);
	describe_tx(q, prefix, &sent);
	reply_tx(out, &sent);
	return 0;
}

static int
do_approve(struct req *q, struct dpk_wire_r *in, struct dpk_wire_w *out)
{
	struct pkm *p = q->c->p;
	struct pkm_token_row t;
	struct pkm_tx_row row;
	struct dpk_registry_pending pend;
	struct dpk_identity id;
	struct dpk_buf data;
	uint8_t wallet[20], id_hash[32], rh[32];
	int r, have;

	memset(&pend, 0, sizeof(pend));
	memset(&row, 0, sizeof(row));
	dpk_buf_init(&row.raw, 1024 * 1024);
	dpk_buf_init(&data, 8192);
	if ((r = read_wallet(q, in, wallet)) != 0)
		goto out;
	if (dpk_wire_r_done(in) != 0) {
		r = refuse(q, DPK_ERR_TRAILING, "malformed APPROVE request: bytes after the wallet");
		goto out;
	}
	if ((r = token_for(q, wallet, &t)) != 0 || (r = token_identity(q, &t, &id, id_hash)) != 0)
		goto out;
	r = pkm_store_get_tx(p->store, q->c->token_id, PKM_PURPOSE_APPROVE, &row);
	have = r == 0 && row.state != PKM_TX_FAILED;
	if (!have) {
		/* check the pending record now; pkm_chain_send refuses, under its
		 * mutex, a token that meanwhile signed a registration */
		if (t.state == PKM_TOKEN_APPROVED) {
			r = refuse(q, DPK_ERR_EXISTS, "token %s was used already; it cannot approve another request",
			    q->c->token_hex);
			goto out;
		}
		r = dpk_registry_get_pending(q->c->rpc, p->cfg.contract, wallet, &pend);
		if (r == DPK_ERR_NOTFOUND) {
			r = refuse(q, r, "wallet %s has no pending request in the registry: send addClient first",
			    q->wallet_text);
			goto out;
		}
		if (r != 0) {
			r = refuse(q, r, "cannot read the pending request of %s: %s (%s)", q->wallet_text, dpk_strerror(r),
			    dpk_rpc_last_error(q->c->rpc));
			goto out;
		}
		if (memcmp(pend.id_hash, id_hash, 32) != 0) {
			r = refuse(q, DPK_ERR_INVALID, "the pending request of %s is for another identity than the token's (%s); "
			    "nothing approved", q->wallet_text, t.identity);
			goto out;
		}
		if (CRYPTO_memcmp(pend.token_hash, t.token_hash, 32) != 0) {
			r = refuse(q, DPK_ERR_INVALID, "the pending request of %s carries another token hash than token %s; "
			    "nothing approved", q->wallet_text, q->c->token_hex);
			goto out;
		}
		if ((r = check_key(q, pend.alg, pend.pubkey, pend.publen)) != 0)
			goto out;
		/* the approval names the record as checked here, not as the
		 * registry reported it */
		if ((r = dpk_registry_record_hash(id_hash, pend.alg, pend.pubkey, pend.publen, t.token_hash, wallet, rh)) != 0) {
			r = refuse(q, r, "cannot compute the record hash: %s", dpk_strerror(r));
			goto out;
		}
		if (memcmp(rh, pend.record_hash, 32) != 0) {
			r = refuse(q, DPK_ERR_INVALID, "the registry's record hash for %s does not match its pending request; "
			    "nothing approved", q->wallet_text);
			goto out;
		}
	} else {
		memset(rh, 0, sizeof(rh)); /* journalled: the record hash is in its bytes */
	}
	if (!have && (r = dpk_registry_encode_approve_client(&data, wallet, rh)) != 0) {
		r = refuse(q, r, "cannot encode approveClient: %s", dpk_strerror(r));
		goto out;
	}
	r = send_approval(q, PKM_PURPOSE_APPROVE, PKM_PURPOSE_EIP712, &data,
	    "was used already for a signed registration; it cannot approve a request too", "approved the pending request for",
	    t.identity, out);
out:
	explicit_bzero(&t, sizeof(t));
	dpk_registry_pending_free(&pend);
	dpk_buf_free(&row.raw);
	dpk_buf_free(&data);
	return r;
}

/* Parse a journalled approval. */
static int
parse_approval(const struct dpk_buf *raw, uint64_t *expiry, const uint8_t **nonce, const uint8_t **kh,
    const uint8_t **sig)
{
	struct dpk_cursor c;

	dpk_cursor_init(&c, raw->data, raw->len);
	return dpk_cursor_get_be64(&c, expiry) != 0 || dpk_cursor_take(&c, 32, nonce) != 0 ||
	    dpk_cursor_take(&c, 32, kh) != 0 || dpk_cursor_take(&c, 65, sig) != 0 || dpk_cursor_done(&c) != 0 ?
	    DPK_ERR_TRUNCATED : 0;
}

/* Answer from a journalled approval if it is for kh; refuse it otherwise. */
static int
reply_approval(struct req *q, const struct pkm_tx_row *row, const uint8_t kh[32], const char *identity,
    struct dpk_wire_w *out, int fresh)
{
	const uint8_t *nonce, *jkh, *sig;
	uint64_t expiry;

	if (parse_approval(&row->raw, &expiry, &nonce, &jkh, &sig) != 0)
		return refuse(q, DPK_ERR_IO, "the journalled approval of token %s is damaged", q->c->token_hex);
	if (memcmp(jkh, kh, 32) != 0)
		return refuse(q, DPK_ERR_EXISTS, "token %s already approved another key for %s; it cannot approve a second one",
		    q->c->token_hex, identity);
	dpk_wire_put_u64(out, expiry);
	dpk_wire_put_string(out, nonce, 32);
	dpk_wire_put_string(out, sig, 65);
	snprintf(q->done, sizeof(q->done), "%s registration approval for %s, valid until %llu",
	    fresh ? "signed a" : "returned the journalled", identity, (unsigned long long)expiry);
	return 0;
}

static int
do_sign_registration(struct req *q, struct dpk_wire_r *in, struct dpk_wire_w *out)
{
	struct pkm *p = q->c->p;
	struct pkm_token_row t;
	struct pkm_tx_row row;
	struct dpk_identity id;
	struct dpk_u256 nonce;
	uint8_t wallet[20], id_hash[32], kh[32], sig[65], alg, *dst;
	const uint8_t *pub;
	size_t publen;
	uint64_t expiry;
	int r, yes = 0;

	memset(&t, 0, sizeof(t));
	memset(&row, 0, sizeof(row));
	dpk_buf_init(&row.raw, 1024);
	if ((r = read_wallet(q, in, wallet)) != 0)
		goto out;
	alg = dpk_wire_get_u8(in);
	pub = dpk_wire_get_string(in, &publen);
	if (pub == NULL || dpk_wire_r_done(in) != 0) {
		r = refuse(q, DPK_ERR_SYNTAX, "malformed SIGN_REGISTRATION request: expected wallet, algorithm, public key "
		    "and nothing after");
		goto out;
	}
	if (publen == 0 || publen > DPK_REGISTRY_KEY_MAX) {
		r = refuse(q, DPK_ERR_TOOBIG, "the public key is %zu bytes; the registry takes 1 to %d", publen,
		    DPK_REGISTRY_KEY_MAX);
		goto out;
	}
	if ((r = check_key(q, alg, pub, publen)) != 0 || (r = token_for(q, wallet, &t)) != 0 ||
	    (r = token_identity(q, &t, &id, id_hash)) != 0)
		goto out;
	dpk_keccak256(pub, publen, kh);
	r = pkm_store_get_tx(p->store, q->c->token_id, PKM_PURPOSE_EIP712, &row);
	if (r == 0) {
		r = reply_approval(q, &row, kh, t.identity, out, 0);
		goto out;
	}
	if (r != DPK_ERR_NOTFOUND) {
		r = refuse(q, r, "cannot read the journal: %s", dpk_strerror(r));
		goto out;
	}
	if (t.state == PKM_TOKEN_APPROVED) {
		r = refuse(q, DPK_ERR_EXISTS, "token %s was used already; it cannot approve another key", q->c->token_hex);
		goto out;
	}
	/* a signature from a PKM that is not an approver would only fail on chain */
	if ((r = dpk_registry_is_approver(q->c->rpc, p->cfg.contract, p->sd.wallet.addr, &yes)) != 0) {
		r = refuse(q, r, "cannot ask the registry whether this PKM is an approver: %s (%s)", dpk_strerror(r),
		    dpk_rpc_last_error(q->c->rpc));
		goto out;
	}
	if (!yes) {
		char me[43];

		dpk_wallet_address_format(p->sd.wallet.addr, me);
		r = refuse(q, DPK_ERR_UNSUPPORTED, "this PKM (%s) is not an approver of the registry; ask its owner to add it",
		    me);
		goto out;
	}
	expiry = (uint64_t)time(NULL) + p->cfg.approval_validity_ms / 1000;
	dpk_buf_reset(&row.raw);
	if (dpk_buf_reserve(&row.raw, PKM_APPROVAL_LEN, &dst) != 0) {
		r = refuse(q, DPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < 8; i++)
		dst[i] = (uint8_t)(expiry >> (56 - 8 * i));
	/* a random 256-bit nonce: single use per approver on chain, and never
	 * guessable, so nobody can pre-empt it */
	if (getrandom(dst + 8, 32, 0) != 32) {
		r = refuse(q, DPK_ERR_CRYPTO, "no random bytes for the approval's nonce");
		goto out;
	}
	dpk_u256_from_be(&nonce, dst + 8, 32);
	if ((r = dpk_registry_sign_registration(&p->sd.wallet, p->cfg.chain_id, p->cfg.contract, id_hash, pub, publen,
	    alg, wallet, expiry, &nonce, sig)) != 0 ||
	    (r = dpk_registry_registration_digest(p->cfg.chain_id, p->cfg.contract, id_hash, pub, publen, alg, wallet,
	    expiry, &nonce, row.hash)) != 0) {
		r = refuse(q, r, "cannot sign the registration: %s", dpk_strerror(r));
		goto out;
	}
	memcpy(dst + 40, kh, 32);
	memcpy(dst + 72, sig, 65);
	memcpy(row.token_id, q->c->token_id, 16);
	snprintf(row.purpose, sizeof(row.purpose), "%s", PKM_PURPOSE_EIP712);
	row.state = PKM_TX_MINED; /* nothing to send: complete once recorded */
	r = pkm_chain_record_approval(q->c->chain, &row);
	if (r == DPK_ERR_EXISTS) {
		/* another connection of this token got there first */
		if (pkm_store_get_tx(p->store, q->c->token_id, PKM_PURPOSE_EIP712, &row) == 0)
			r = reply_approval(q, &row, kh, t.identity, out, 0);
		else
			r = refuse(q, r, "token %s is being used to approve a pending request (APPROVE); it cannot sign "
			    "a registration too", q->c->token_hex);
		goto out;
	}
	if (r != 0) {
		r = refuse(q, r, "cannot record the approval in the journal: %s", dpk_strerror(r));
		goto out;
	}
	pkm_store_set_state(p->store, q->c->token_id, PKM_TOKEN_APPROVED);
	r = reply_approval(q, &row, kh, t.identity, out, 1);
out:
	explicit_bzero(&t, sizeof(t));
	dpk_buf_free(&row.raw);
	return r;
}

/* The device's signature of its RelayedRegistration: by the wallet it names,
 * for this PKM. Checked before any gas is spent; the contract checks it again. */
static int
check_relay_signature(struct req *q, const uint8_t id_hash[32], uint8_t alg, const uint8_t *pub, size_t publen,
    const uint8_t wallet[20], uint64_t expiry, const struct dpk_u256 *nonce, const uint8_t sig[65])
{
	struct pkm *p = q->c->p;
	uint8_t digest[32], rs[65], got[20];
	int r;

	memcpy(rs, sig, 65);
	if (rs[64] != 27 && rs[64] != 28)
		return refuse(q, DPK_ERR_BADSIG, "the request's signature has v = %u (27 or 28 expected)", rs[64]);
	rs[64] = (uint8_t)(rs[64] - 27);
	if ((r = dpk_registry_relayed_digest(p->cfg.chain_id, p->cfg.contract, id_hash, pub, publen, alg, wallet,
	    p->sd.wallet.addr, expiry, nonce, digest)) != 0)
		return refuse(q, r, "cannot compute the request's digest: %s", dpk_strerror(r));
	if (dpk_wallet_recover(digest, rs, got) != 0 || memcmp(got, wallet, 20) != 0)
		return refuse(q, DPK_ERR_BADSIG, "the request is not signed by wallet %s for this PKM, chain and registry; "
		    "nothing sent", q->wallet_text);
	if (expiry <= (uint64_t)time(NULL))
		return refuse(q, DPK_ERR_EXPIRED, "the request expired at %llu; sign a new one", (unsigned long long)expiry);
	return 0;
}

/* RELAY (the one-block flow, the agent's default): the device signed its
 * registration; this PKM checks the token and sends registerRelayed, once
 * per token (asked again, the journalled transaction is sent again). */
static int
do_relay(struct req *q, struct dpk_wire_r *in, struct dpk_wire_w *out)
{
	struct pkm *p = q->c->p;
	struct pkm_token_row t;
	struct pkm_tx_row row;
	struct dpk_identity id;
	struct dpk_u256 nonce;
	struct dpk_buf data;
	uint8_t wallet[20], id_hash[32], alg;
	const uint8_t *pub, *nb, *sig;
	size_t publen, nn, ns;
	uint64_t expiry;
	int r;

	memset(&t, 0, sizeof(t));
	memset(&row, 0, sizeof(row));
	dpk_buf_init(&row.raw, DPK_TX_MAX_RAW);
	dpk_buf_init(&data, 8192);
	if ((r = read_wallet(q, in, wallet)) != 0)
		goto out;
	alg = dpk_wire_get_u8(in);
	pub = dpk_wire_get_string(in, &publen);
	expiry = dpk_wire_get_u64(in);
	nb = dpk_wire_get_string(in, &nn);
	sig = dpk_wire_get_string(in, &ns);
	if (pub == NULL || nb == NULL || nn != 32 || sig == NULL || ns != 65 || dpk_wire_r_done(in) != 0) {
		r = refuse(q, DPK_ERR_SYNTAX, "malformed RELAY request: expected wallet, algorithm, public key, expiry, "
		    "nonce (32 bytes), signature (65 bytes) and nothing after");
		goto out;
	}
	if (publen == 0 || publen > DPK_REGISTRY_KEY_MAX) {
		r = refuse(q, DPK_ERR_TOOBIG, "the public key is %zu bytes; the registry takes 1 to %d", publen,
		    DPK_REGISTRY_KEY_MAX);
		goto out;
	}
	dpk_u256_from_be(&nonce, nb, 32);
	if ((r = check_key(q, alg, pub, publen)) != 0 || (r = token_for(q, wallet, &t)) != 0 ||
	    (r = token_identity(q, &t, &id, id_hash)) != 0 ||
	    (r = check_relay_signature(q, id_hash, alg, pub, publen, wallet, expiry, &nonce, sig)) != 0)
		goto out;
	if ((r = dpk_registry_encode_register_relayed(&data, &id, alg, pub, publen, wallet, expiry, &nonce, sig)) != 0) {
		r = refuse(q, r, "cannot encode registerRelayed: %s", dpk_strerror(r));
		goto out;
	}
	r = pkm_store_get_tx(p->store, q->c->token_id, PKM_PURPOSE_RELAY, &row);
	if (r == 0 && row.state != PKM_TX_FAILED) {
		/* journalled: only the same request is answered (with that transaction) */
		struct dpk_tx_signed tx;

		if (dpk_tx_decode(row.raw.data, row.raw.len, &tx) != 0 || tx.tx.data_len != data.len ||
		    memcmp(tx.tx.data, data.data, data.len) != 0) {
			r = refuse(q, DPK_ERR_EXISTS, "token %s already relayed another registration request; it cannot "
			    "relay a second one", q->c->token_hex);
			goto out;
		}
	} else if (r != 0 && r != DPK_ERR_NOTFOUND) {
		r = refuse(q, r, "cannot read the journal: %s", dpk_strerror(r));
		goto out;
	} else if (t.state == PKM_TOKEN_APPROVED ||
	    pkm_store_get_tx(p->store, q->c->token_id, PKM_PURPOSE_EIP712, &row) == 0) {
		r = refuse(q, DPK_ERR_EXISTS, "token %s was used already; it cannot register another key", q->c->token_hex);
		goto out;
	}
	r = send_approval(q, PKM_PURPOSE_RELAY, PKM_PURPOSE_APPROVE, &data,
	    "is being used to approve a pending request (APPROVE); it cannot relay a registration too",
	    "relayed the registration of", t.identity, out);
out:
	explicit_bzero(&t, sizeof(t));
	dpk_buf_free(&row.raw);
	dpk_buf_free(&data);
	return r;
}

static const char *
request_name(uint8_t type)
{
	switch (type) {
	case PKM_MSG_FUND: return "FUND";
	case PKM_MSG_APPROVE: return "APPROVE";
	case PKM_MSG_SIGN_REGISTRATION: return "SIGN_REGISTRATION";
	case PKM_MSG_RELAY: return "RELAY";
	default: return NULL;
	}
}

void
pkm_request_handle(struct pkm_conn *c, uint8_t type, const uint8_t *body, size_t len,
    uint8_t *reply_type, struct dpk_buf *reply)
{
	struct req q = {.c = c, .wallet_text = "-"};
	struct dpk_wire_r in;
	struct dpk_wire_w out;
	uint8_t buf[REPLY_MAX];
	char unknown[32];
	int r;

	q.name = request_name(type);
	if (q.name == NULL) {
		snprintf(unknown, sizeof(unknown), "request 0x%02x", type);
		q.name = unknown;
	}
	dpk_wire_r_init(&in, body, len);
	dpk_wire_w_init(&out, buf, sizeof(buf));
	switch (type) {
	case PKM_MSG_FUND: r = do_fund(&q, &in, &out); break;
	case PKM_MSG_APPROVE: r = do_approve(&q, &in, &out); break;
	case PKM_MSG_SIGN_REGISTRATION: r = do_sign_registration(&q, &in, &out); break;
	case PKM_MSG_RELAY: r = do_relay(&q, &in, &out); break;
	default:
		r = refuse(&q, DPK_ERR_UNSUPPORTED, "unknown request type 0x%02x (FUND 0x11, APPROVE 0x12, "
		    "SIGN_REGISTRATION 0x13, RELAY 0x14)", type);
	}
	if (r == 0 && out.err)
		r = refuse(&q, DPK_ERR_TOOBIG, "the reply does not fit in a frame");
	dpk_buf_reset(reply);
	if (r == 0) {
		*reply_type = DPK_MSG_REPLY(type);
		dpk_buf_put(reply, buf, out.len);
		fprintf(stderr, "dpk-pkm: token %s wallet %s %s: %s\n", c->token_hex, q.wallet_text, q.name, q.done);
	} else {
		if (q.msg[0] == '\0')
			snprintf(q.msg, sizeof(q.msg), "%s", dpk_strerror(r));
		dpk_wire_w_init(&out, buf, sizeof(buf));
		dpk_wire_put_u32(&out, (uint32_t)-r);
		dpk_wire_put_string(&out, q.msg, strlen(q.msg));
		*reply_type = DPK_MSG_FAILURE;
		dpk_buf_put(reply, buf, out.len);
		fprintf(stderr, "dpk-pkm: token %s wallet %s %s refused: %s\n", c->token_hex, q.wallet_text, q.name, q.msg);
	}
	explicit_bzero(buf, sizeof(buf));
}
