/* The one path by which the PKM's transactions reach the chain. Nonces are
 * allocated, transactions signed and journalled, and fresh ones sent, under
 * one mutex, so two devices served at once never get the same nonce and the
 * nonces reach the node in order; the wait for a receipt happens outside it. */
#include "serve.h"

#include "base/err.h"
#include "base/hex.h"
#include "daemon/conffile.h"
#include "registry/registry.h"
#include "eth/fees.h"
#include "eth/tx.h"

#include <time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
pkm_chain_init(struct pkm_chain *ch, struct pkm *p)
{
	ch->p = p;
	pthread_mutex_init(&ch->mu, NULL);
}

void
pkm_chain_destroy(struct pkm_chain *ch)
{
	pthread_mutex_destroy(&ch->mu);
}

int
pkm_rpc_new(const struct pkm *p, struct dpk_rpc **out)
{
	int r = dpk_conffile_rpc_client(out, p->cfg.rpc_url, p->cfg.n_rpc, p->cfg.rpc_timeout_ms);

	if (r == 0)
		dpk_rpc_set_depth(*out, &p->cfg.depth);
	return r;
}

/* Test hook for the crash tests (tests/integration/test_pkm.c): with
 * DPK_PKM_TEST_CRASH=after-journal in the environment, the process dies
 * (exit status 99) right after a signed transaction is journalled and before
 * it is sent: the moment where a crash could fund a device twice if the
 * journal were wrong; with after-replace-journal, the same for a
 * replacement. Without the variable it does nothing. */
static void
test_crash_point(const char *where)
{
	const char *v = getenv("DPK_PKM_TEST_CRASH");

	if (v != NULL && strcmp(v, where) == 0)
		_exit(99);
}

/* Why a mined transaction reverted: the receipt does not say, so run the
 * same call again at the latest block and decode its revert. */
static void
revert_reason(struct pkm *p, struct dpk_rpc *rpc, const uint8_t *raw, size_t len, char *out, size_t outsz)
{
	struct dpk_tx_signed tx;
	struct dpk_buf ret;

	snprintf(out, outsz, "reason unknown");
	if (dpk_tx_decode(raw, len, &tx) != 0 || !tx.tx.has_to)
		return;
	struct dpk_rpc_callmsg m = {.from = p->sd.wallet.addr, .to = tx.tx.to, .value = &tx.tx.value,
		.data = tx.tx.data, .data_len = tx.tx.data_len};
	dpk_buf_init(&ret, 64 * 1024);
	if (dpk_rpc_call(rpc, &m, DPK_RPC_LATEST, &ret) == DPK_ERR_REVERT)
		dpk_registry_last_revert(rpc, out, outsz);
	dpk_buf_free(&ret);
}

/* Bytes of the largest registration transaction a device sends (addClient
 * or register with an RSA-4096 key), for the L1 data fee. */
#define FUND_TX_BYTES 1024
#define POLL_MS 500

/* wall-clock milliseconds (whole seconds): journalled send times survive a restart */
static uint64_t
wall_ms(void)
{
	return (uint64_t)time(NULL) * 1000;
}

static void
fee_policy(const struct pkm *p, struct dpk_fee_policy *pol)
{
	pol->max_fee = p->cfg.max_fee_per_gas;
	pol->max_tip = p->cfg.max_priority_fee_per_gas;
}

int
pkm_fund_estimate(const struct pkm *p, struct dpk_rpc *rpc, struct dpk_u256 *amount, char *msg, size_t msgsz)
{
	/* at the network's fee, within this PKM's cap: a node that lies about
	 * fees (or a spike) cannot make it give more than fund_gas x the cap */
	struct dpk_fee_policy pol;
	struct dpk_u256 max;
	char dec[79];
	int r;

	fee_policy(p, &pol);
	if ((r = dpk_fees_cost(rpc, &pol, p->cfg.fund_gas, FUND_TX_BYTES, p->cfg.fund_margin, amount, NULL, msg,
	    msgsz)) != 0)
		return r == DPK_ERR_RANGE ? DPK_ERR_BUSY : r; /* the base fee is above the cap: later */
	dpk_u256_from_dec(&max, "1000000000000000000");
	if (dpk_u256_cmp(amount, &max) > 0) {
		dpk_u256_to_dec(amount, dec);
		snprintf(msg, msgsz, "registering costs %s wei at the network's fees now, above the 1 ether a PKM gives: "
		    "set fund_amount", dec);
		return DPK_ERR_RANGE;
	}
	return 0;
}

static void
log_offer(const char *token_hex, const char *purpose, const char *what, const uint8_t hash[32], uint64_t nonce,
    const struct dpk_fee_offer *o)
{
	char hex[67], max[48], tip[48];

	dpk_hex_encode(hash, 32, 1, hex, sizeof(hex));
	dpk_fee_format(o->max_fee, max, sizeof(max));
	dpk_fee_format(o->tip, tip, sizeof(tip));
	fprintf(stderr, "dpk-pkm: token %s: %s transaction %s (nonce %llu) %s: maxFeePerGas %s, tip %s\n", token_hex,
	    purpose, hex, (unsigned long long)nonce, what, max, tip);
}

/* Replace the row's transaction if its last version was sent replace_after
 * ago: sign the bump, journal it, send it. 0 if replaced or not due yet. */
static int
maybe_replace(struct pkm_chain *ch, struct dpk_rpc *rpc, struct pkm_tx_row *row, uint64_t last_sent_ms,
    uint64_t *last_refusal_ms, char *msg, size_t msgsz)
{
	struct pkm *p = ch->p;
	struct dpk_fee_policy pol;
	struct dpk_fee_offer next;
	struct pkm_tx_row cur;
	struct dpk_buf raw;
	uint8_t hash[32], got[32];
	char idhex[33];
	int r;

	if (wall_ms() < last_sent_ms + p->cfg.replace_after_ms)
		return 0;
	fee_policy(p, &pol);
	dpk_hex_encode(row->token_id, 16, 0, idhex, sizeof(idhex));
	memset(&cur, 0, sizeof(cur));
	dpk_buf_init(&cur.raw, DPK_TX_MAX_RAW);
	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	pthread_mutex_lock(&ch->mu);
	/* another request may have replaced it meanwhile: bump what is journalled now */
	if ((r = pkm_store_get_tx(p->store, row->token_id, row->purpose, &cur)) != 0 || cur.state != PKM_TX_SIGNED ||
	    memcmp(cur.hash, row->hash, 32) != 0) {
		pthread_mutex_unlock(&ch->mu);
		r = 0;
		goto out;
	}
	r = dpk_txsend_replace(rpc, &p->sd.wallet, &pol, cur.raw.data, cur.raw.len, &raw, hash, &next, msg, msgsz);
	if (r == 0 && (r = pkm_store_replace_tx(p->store, row->token_id, row->purpose, hash, raw.data, raw.len)) != 0)
		snprintf(msg, msgsz, "cannot journal the replacement: %s", dpk_strerror(r));
	pthread_mutex_unlock(&ch->mu);
	if (r != 0) {
		if (wall_ms() >= *last_refusal_ms + 30000) {
			*last_refusal_ms = wall_ms();
			fprintf(stderr, "dpk-pkm: token %s: %s transaction (nonce %llu) pending: %s\n", idhex, row->purpose,
			    (unsigned long long)row->nonce, msg);
		}
		goto out;
	}
	log_offer(idhex, row->purpose, "replaces the pending one", hash, row->nonce, &next);
	test_crash_point("after-replace-journal");
	memcpy(row->hash, hash, 32);
	dpk_buf_reset(&row->raw);
	dpk_buf_put(&row->raw, raw.data, raw.len);
	if (dpk_rpc_send_raw(rpc, raw.data, raw.len, got) != 0)
		fprintf(stderr, "dpk-pkm: token %s: the node did not take the replacement (yet): %s\n", idhex,
		    dpk_rpc_last_error(rpc));
out:
	dpk_buf_free(&cur.raw);
	dpk_buf_free(&raw);
	return r;
}

/* Wait up to wait_ms for any version of the journalled row (token_id set,
 * state signed) to be mined; replace it when due. The current version is
 * sent first (again). Records the outcome: 0 with out->mined, 0 not mined
 * yet, DPK_ERR_REVERT (msg says why). */
static int
follow_row(struct pkm_chain *ch, struct dpk_rpc *rpc, struct pkm_tx_row *row, uint64_t wait_ms,
    struct pkm_sent *out, char *msg, size_t msgsz)
{
	struct pkm *p = ch->p;
	struct pkm_tx_version v[PKM_TX_MAX_VERSIONS];
	uint64_t deadline = wall_ms() + wait_ms, last_refusal = 0;
	uint8_t got[32];
	char hex[67], why[256];
	size_t n;
	int r;

	dpk_rpc_send_raw(rpc, row->raw.data, row->raw.len, got); /* known, mined or refused: the receipts tell */
	for (;;) {
		if ((r = pkm_store_tx_versions(p->store, row->token_id, row->purpose, v, PKM_TX_MAX_VERSIONS, &n)) != 0)
			n = 0;
		if (n == 0) { /* a row journalled before versions were: its one version */
			memcpy(v[0].hash, row->hash, 32);
			v[0].sent_ms = deadline - wait_ms;
			n = 1;
		}
		for (size_t i = 0; i < n; i++) {
			struct dpk_rpc_receipt rc;
			int ok;

			if (dpk_rpc_receipt(rpc, v[i].hash, &rc) != 0)
				continue;
			ok = rc.status != 0;
			dpk_rpc_receipt_free(&rc);
			pkm_store_set_tx_mined(p->store, row->token_id, row->purpose, v[i].hash, ok ? PKM_TX_MINED : PKM_TX_FAILED);
			memcpy(out->hash, v[i].hash, 32);
			dpk_hex_encode(v[i].hash, 32, 1, hex, sizeof(hex));
			if (ok) {
				out->mined = 1;
				return 0;
			}
			revert_reason(p, rpc, row->raw.data, row->raw.len, why, sizeof(why));
			snprintf(msg, msgsz, "transaction %s was mined but reverted: %s", hex, why);
			return DPK_ERR_REVERT;
		}
		if (n < PKM_TX_MAX_VERSIONS &&
		    maybe_replace(ch, rpc, row, v[n - 1].sent_ms, &last_refusal, msg, msgsz) == 0)
			msg[0] = '\0';
		memcpy(out->hash, row->hash, 32);
		if (wall_ms() >= deadline)
			return 0;
		usleep(POLL_MS * 1000);
	}
}

/* Sign and journal a new transaction; send it. Called with ch->mu held. */
static int
sign_new(struct pkm_chain *ch, struct dpk_rpc *rpc, const uint8_t *token_id, const char *purpose,
    const struct dpk_txsend *req, struct pkm_tx_row *row, char *msg, size_t msgsz)
{
	struct pkm *p = ch->p;
	struct dpk_txsend tx = *req;
	struct dpk_fee_policy pol;
	struct dpk_fee_offer offer;
	uint64_t pending, jmax;
	uint8_t got[32];
	char why[256], hex[67];
	int r;

	if ((r = dpk_rpc_nonce(rpc, p->sd.wallet.addr, DPK_RPC_PENDING, &pending)) != 0) {
		snprintf(msg, msgsz, "cannot read the PKM's nonce from the chain: %s", dpk_rpc_last_error(rpc));
		return r;
	}
	/* a journalled transaction the node has not seen (crash before sending,
	 * node restarted) still owns its nonce */
	if ((r = pkm_store_max_nonce(p->store, &jmax)) == 0) {
		if (jmax + 1 > pending)
			pending = jmax + 1;
	} else if (r != DPK_ERR_NOTFOUND) {
		snprintf(msg, msgsz, "cannot read the PKM's journal: %s", dpk_strerror(r));
		return r;
	}
	tx.has_nonce = 1;
	tx.nonce = pending;
	fee_policy(p, &pol);
	if ((r = dpk_fees_offer(rpc, &pol, &offer, msg, msgsz)) != 0)
		return r == DPK_ERR_RANGE ? DPK_ERR_BUSY : r; /* the device asks again later */
	tx.fees = &offer;
	r = dpk_txsend_prepare(rpc, &p->sd.wallet, p->cfg.chain_id, &tx, &row->raw, row->hash, &row->nonce);
	if (r == DPK_ERR_REVERT) {
		dpk_registry_last_revert(rpc, why, sizeof(why));
		snprintf(msg, msgsz, "the registry refuses it: %s", why);
		return r;
	}
	if (r != 0) {
		snprintf(msg, msgsz, "cannot prepare the transaction: %s (%s)", dpk_strerror(r), dpk_rpc_last_error(rpc));
		return r;
	}
	if (token_id != NULL) {
		memcpy(row->token_id, token_id, 16);
		snprintf(row->purpose, sizeof(row->purpose), "%s", purpose);
		row->state = PKM_TX_SIGNED;
		if ((r = pkm_store_add_tx(p->store, row)) != 0) {
			snprintf(msg, msgsz, "cannot record the transaction in the journal: %s", dpk_strerror(r));
			return r;
		}
		test_crash_point("after-journal");
		dpk_hex_encode(token_id, 16, 0, hex, sizeof(hex));
		log_offer(hex, purpose, "sent", row->hash, row->nonce, &offer);
	}
	r = dpk_rpc_send_raw(rpc, row->raw.data, row->raw.len, got);
	if (r == DPK_ERR_RPC) {
		/* a fresh transaction, sent to one node, refused by it: it is in no
		 * mempool, so it may be dropped and made again on the next request */
		dpk_hex_encode(row->hash, 32, 1, hex, sizeof(hex));
		snprintf(msg, msgsz, "the node refuses transaction %s: %s", hex, dpk_rpc_error_message(rpc));
		if (token_id != NULL)
			pkm_store_set_tx_state(p->store, token_id, purpose, PKM_TX_FAILED);
		return r;
	}
	/* a transport failure leaves it unknown whether the node got it: the
	 * wait below sends it again */
	return 0;
}

/* Does the token have a row of purpose that is not failed? Called with ch->mu held. */
static int
live_row(struct pkm_store *st, const uint8_t token_id[16], const char *purpose)
{
	struct pkm_tx_row row;
	int r;

	memset(&row, 0, sizeof(row));
	dpk_buf_init(&row.raw, DPK_TX_MAX_RAW);
	r = pkm_store_get_tx(st, token_id, purpose, &row);
	dpk_buf_free(&row.raw);
	if (r == DPK_ERR_NOTFOUND)
		return 0;
	return r != 0 || row.state != PKM_TX_FAILED; /* unreadable counts as live: refuse */
}

int
pkm_chain_record_approval(struct pkm_chain *ch, const struct pkm_tx_row *row)
{
	int r;

	pthread_mutex_lock(&ch->mu);
	if (live_row(ch->p->store, row->token_id, PKM_PURPOSE_APPROVE))
		r = DPK_ERR_EXISTS;
	else
		r = pkm_store_add_tx(ch->p->store, row);
	pthread_mutex_unlock(&ch->mu);
	return r;
}

int
pkm_chain_send(struct pkm_chain *ch, struct dpk_rpc *rpc, const uint8_t *token_id,
    const char *purpose, const char *excl, const struct dpk_txsend *req, uint64_t wait_ms,
    struct pkm_sent *out, char *msg, size_t msgsz)
{
	struct pkm *p = ch->p;
	struct pkm_tx_row row;
	struct dpk_rpc_receipt rc;
	char hex[67], why[256];
	int r, have = 0;

	memset(out, 0, sizeof(*out));
	msg[0] = '\0';
	memset(&row, 0, sizeof(row));
	dpk_buf_init(&row.raw, DPK_TX_MAX_RAW);
	pthread_mutex_lock(&ch->mu);
	if (token_id != NULL) {
		r = pkm_store_get_tx(p->store, token_id, purpose, &row);
		if (r == 0 && row.state == PKM_TX_FAILED) {
			/* refused or reverted: nothing was transferred or approved */
			r = pkm_store_delete_failed_tx(p->store, token_id, purpose);
			if (r != 0) {
				pthread_mutex_unlock(&ch->mu);
				snprintf(msg, msgsz, "cannot update the journal: %s", dpk_strerror(r));
				goto out;
			}
		} else if (r == 0) {
			have = 1;
		} else if (r != DPK_ERR_NOTFOUND) {
			pthread_mutex_unlock(&ch->mu);
			snprintf(msg, msgsz, "cannot read the journal: %s", dpk_strerror(r));
			goto out;
		}
	}
	if (!have && token_id != NULL && excl != NULL && live_row(p->store, token_id, excl)) {
		pthread_mutex_unlock(&ch->mu);
		snprintf(msg, msgsz, "the token was used already (%s)", excl);
		r = DPK_ERR_EXISTS;
		goto out;
	}
	if (!have) {
		dpk_buf_reset(&row.raw);
		r = sign_new(ch, rpc, token_id, purpose, req, &row, msg, msgsz);
		if (r != 0) {
			pthread_mutex_unlock(&ch->mu);
			goto out;
		}
	}
	pthread_mutex_unlock(&ch->mu);

	memcpy(out->hash, row.hash, 32);
	out->nonce = row.nonce;
	{
		struct dpk_tx_signed st;

		if (dpk_tx_decode(row.raw.data, row.raw.len, &st) == 0)
			out->value = st.tx.value;
	}
	if (have && row.state == PKM_TX_MINED) {
		out->mined = 1;
		r = 0;
		goto out;
	}
	if (token_id != NULL) {
		r = follow_row(ch, rpc, &row, wait_ms, out, msg, msgsz);
		goto out;
	}
	dpk_hex_encode(row.hash, 32, 1, hex, sizeof(hex));
	r = dpk_txsend_submit(rpc, row.raw.data, row.raw.len, row.hash, wait_ms, NULL, NULL, &rc);
	if (r == 0) {
		int ok = rc.status != 0;

		dpk_rpc_receipt_free(&rc);
		if (token_id != NULL)
			pkm_store_set_tx_state(p->store, token_id, purpose, ok ? PKM_TX_MINED : PKM_TX_FAILED);
		if (ok) {
			out->mined = 1;
		} else {
			revert_reason(p, rpc, row.raw.data, row.raw.len, why, sizeof(why));
			snprintf(msg, msgsz, "transaction %s was mined but reverted: %s", hex, why);
			r = DPK_ERR_REVERT;
		}
	} else if (r == DPK_ERR_TIMEOUT || r == DPK_ERR_NET) {
		r = 0; /* journalled and (probably) sent: the device asks again */
	} else {
		/* kept as signed: it may still be in some node's pool, and making
		 * another could pay twice; asked again, it is sent again */
		snprintf(msg, msgsz, "the node refuses transaction %s: %s", hex, dpk_rpc_last_error(rpc));
	}
out:
	dpk_buf_free(&row.raw);
	return r;
}

struct resume_item {
	uint8_t token_id[16];
	char purpose[16];
	uint8_t hash[32];
	uint64_t nonce;
	struct dpk_buf raw;
};

struct resume_list {
	struct resume_item *v;
	size_t n, cap;
	int err;
};

static void
collect(void *ctx, const struct pkm_tx_row *tx)
{
	struct resume_list *l = ctx;
	struct resume_item *it;

	if (strcmp(tx->purpose, PKM_PURPOSE_EIP712) == 0 || l->err)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct resume_item *v = cap < 100000 ? realloc(l->v, cap * sizeof(*v)) : NULL;

		if (v == NULL) {
			l->err = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	it = &l->v[l->n];
	memcpy(it->token_id, tx->token_id, 16);
	memcpy(it->purpose, tx->purpose, sizeof(it->purpose));
	memcpy(it->hash, tx->hash, 32);
	it->nonce = tx->nonce;
	dpk_buf_init(&it->raw, DPK_TX_MAX_RAW);
	if (dpk_buf_put(&it->raw, tx->raw.data, tx->raw.len) != 0) {
		dpk_buf_free(&it->raw);
		l->err = 1;
		return;
	}
	l->n++;
}

void
pkm_chain_resume(struct pkm_chain *ch, struct dpk_rpc *rpc, uint64_t wait_ms)
{
	struct pkm *p = ch->p;
	struct resume_list l = {0};
	char hex[67], idhex[33];

	if (pkm_store_list_tx(p->store, PKM_TX_SIGNED, collect, &l) != 0 || l.err)
		fprintf(stderr, "dpk-pkm: cannot read all of the journal; unsent transactions are sent when asked for\n");
	for (size_t i = 0; i < l.n; i++) {
		struct resume_item *it = &l.v[i];
		struct pkm_tx_row row;
		struct pkm_sent sent;
		char msg[512];
		int r;

		memset(&row, 0, sizeof(row));
		memset(&sent, 0, sizeof(sent));
		memcpy(row.token_id, it->token_id, 16);
		memcpy(row.purpose, it->purpose, sizeof(row.purpose));
		memcpy(row.hash, it->hash, 32);
		row.nonce = it->nonce;
		row.state = PKM_TX_SIGNED;
		row.raw = it->raw; /* follow_row may replace it: it->raw is freed below either way */
		msg[0] = '\0';
		dpk_hex_encode(it->token_id, 16, 0, idhex, sizeof(idhex));
		r = follow_row(ch, rpc, &row, wait_ms, &sent, msg, sizeof(msg));
		it->raw = row.raw;
		dpk_hex_encode(sent.hash, 32, 1, hex, sizeof(hex));
		if (r == 0 && sent.mined)
			fprintf(stderr, "dpk-pkm: token %s: journalled %s transaction %s (nonce %llu) sent again: mined\n",
			    idhex, it->purpose, hex, (unsigned long long)it->nonce);
		else if (r == DPK_ERR_REVERT)
			fprintf(stderr, "dpk-pkm: token %s: journalled %s transaction %s (nonce %llu) sent again: reverted\n",
			    idhex, it->purpose, hex, (unsigned long long)it->nonce);
		else
			fprintf(stderr, "dpk-pkm: token %s: journalled %s transaction %s (nonce %llu) not mined yet%s%s\n",
			    idhex, it->purpose, hex, (unsigned long long)it->nonce, msg[0] ? ": " : "", msg);
		dpk_buf_free(&it->raw);
	}
	free(l.v);
}

int
pkm_chain_publish_key(struct pkm_chain *ch, struct dpk_rpc *rpc, int only_if_needed,
    uint64_t wait_ms, int *sent, struct pkm_sent *out, char *msg, size_t msgsz)
{
	struct pkm *p = ch->p;
	struct dpk_buf key, cur, data;
	int r;

	*sent = 0;
	memset(out, 0, sizeof(*out));
	dpk_buf_init(&key, 4096);
	dpk_buf_init(&cur, 4096);
	dpk_buf_init(&data, 8192);
	if ((r = dpk_idkey_public_onchain(p->sd.idkey, &key)) != 0) {
		snprintf(msg, msgsz, "cannot encode the PKM's identity key: %s", dpk_strerror(r));
		goto out;
	}
	if (only_if_needed) {
		r = dpk_registry_get_pkm_key(rpc, p->cfg.contract, p->sd.wallet.addr, &cur);
		if (r == 0 && cur.len == key.len && memcmp(cur.data, key.data, key.len) == 0)
			goto out; /* already there */
		if (r != 0 && r != DPK_ERR_NOTFOUND) {
			snprintf(msg, msgsz, "cannot read the PKM's key from the registry: %s (%s)", dpk_strerror(r),
			    dpk_rpc_last_error(rpc));
			goto out;
		}
	}
	if ((r = dpk_registry_encode_store_pkm_key(&data, key.data, key.len)) != 0) {
		snprintf(msg, msgsz, "cannot encode storePKMKey: %s", dpk_strerror(r));
		goto out;
	}
	struct dpk_txsend req = {.to = p->cfg.contract, .data = data.data, .data_len = data.len};
	/* storePKMKey is idempotent: no journal row (and no token) needed */
	r = pkm_chain_send(ch, rpc, NULL, "publish", NULL, &req, wait_ms, out, msg, msgsz);
	*sent = r == 0;
out:
	dpk_buf_free(&key);
	dpk_buf_free(&cur);
	dpk_buf_free(&data);
	return r;
}
