#include "chain/register.h"
#include "common/clock.h"

#include "base/err.h"
#include "base/hex.h"
#include "proto.h"
#include "registry/registry.h"
#include "enrol/tlspsk.h"
#include "enrol/token.h"
#include "eth/tx.h"
#include "eth/txsend.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_MAGIC "dpk-registration-v1"
#define JOURNAL_MAX (256 * 1024)
#define PKM_TIMEOUT_MS 10000
/* RELAY is answered once the transaction is mined, or at the PKM's
 * request_timeout * 2/3 (20 s by default): wait a little longer than that */
#define PKM_RELAY_TIMEOUT_MS 35000
#define RELAY_VALIDITY_S 3600
#define STEP_WAIT_MS 3000
/* how long a token's PKM may be without a key on chain before the
 * registration fails: its key's transaction, sent when the PKM was set up,
 * is mined within a few blocks */
#define PKM_KEY_WAIT_MS (5 * 60 * 1000)

/* PKM request types (doc/protocol.md) */
#define PKM_FUND 0x11
#define PKM_APPROVE 0x12
#define PKM_SIGN_REGISTRATION 0x13
#define PKM_RELAY 0x14

static const char *const step_names[] = {
	"none", "checking the token", "waiting for funding", "getting the approval", "sending the registration",
	"waiting for the PKM's approval", "verifying on chain", "registered", "failed",
};

const char *
reg_step_name(enum reg_step s)
{
	return s <= REG_FAILED ? step_names[s] : "unknown";
}

static void set_detail(struct reg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_detail(struct reg *g, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g->mu);
	va_start(ap, fmt);
	vsnprintf(g->detail, sizeof(g->detail), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&g->mu);
}

/* wall-clock milliseconds (whole seconds): journalled send times survive a restart */
static uint64_t
wall_ms(void)
{
	return (uint64_t)time(NULL) * 1000;
}

/* --- the journal --- */

static int
journal_write(struct reg *g)
{
	char tmp[PATH_MAX + 16], hex[2 * 65 + 3], idtext[DPK_IDENTITY_FORMAT_SIZE];
	FILE *f;
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", g->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return DPK_ERR_IO;
	}
	dpk_identity_format(&g->id, idtext, sizeof(idtext));
	fprintf(f, "%s\nstep: %d\nflow: %d\nidentity: %s\ntoken-file: %s\nchain-id: %llu\n", JOURNAL_MAGIC,
	    (int)g->step, (int)g->flow, idtext, g->token_file, (unsigned long long)g->chain_id);
	dpk_hex_encode(g->contract, 20, 0, hex, sizeof(hex));
	fprintf(f, "contract: %s\n", hex);
	if (g->has_fund_tx) {
		dpk_hex_encode(g->fund_tx, 32, 0, hex, sizeof(hex));
		fprintf(f, "fund-tx: %s\n", hex);
	}
	if (g->has_approval) {
		fprintf(f, "approval-expiry: %llu\n", (unsigned long long)g->appr_expiry);
		dpk_hex_encode(g->appr_nonce, 32, 0, hex, sizeof(hex));
		fprintf(f, "approval-nonce: %s\n", hex);
		dpk_hex_encode(g->appr_sig, 65, 0, hex, sizeof(hex));
		fprintf(f, "approval-sig: %s\n", hex);
	}
	if (g->has_relay) {
		fprintf(f, "relay-expiry: %llu\nrelay-nonce: %llu\n", (unsigned long long)g->relay_expiry,
		    (unsigned long long)g->relay_nonce);
		dpk_hex_encode(g->relay_sig, 65, 0, hex, sizeof(hex));
		fprintf(f, "relay-sig: %s\n", hex);
	}
	if (g->has_tx) {
		char *raw = malloc(2 * g->tx_raw.len + 1);

		fprintf(f, "tx-nonce: %llu\n", (unsigned long long)g->tx_nonce);
		for (size_t i = 0; i < g->n_tx_prev; i++) {
			dpk_hex_encode(g->tx_prev[i], 32, 0, hex, sizeof(hex));
			fprintf(f, "tx-replaced: %s\n", hex);
		}
		fprintf(f, "tx-sent-at: %llu\n", (unsigned long long)g->tx_sent_ms);
		dpk_hex_encode(g->tx_hash, 32, 0, hex, sizeof(hex));
		fprintf(f, "tx-hash: %s\n", hex);
		if (raw != NULL) {
			dpk_hex_encode(g->tx_raw.data, g->tx_raw.len, 0, raw, 2 * g->tx_raw.len + 1);
			fprintf(f, "tx-raw: %s\n", raw);
			free(raw);
		}
	}
	fprintf(f, "detail: %s\n", g->detail);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, g->path) != 0) {
		unlink(tmp);
		return DPK_ERR_IO;
	}
	return 0;
}

static void
advance(struct reg *g, enum reg_step step)
{
	pthread_mutex_lock(&g->mu);
	g->step = step;
	pthread_mutex_unlock(&g->mu);
	if (journal_write(g) != 0)
		set_detail(g, "cannot write the registration journal %s: %s", g->path, strerror(errno));
}

static void fail_with(struct reg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail_with(struct reg *g, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g->mu);
	va_start(ap, fmt);
	vsnprintf(g->detail, sizeof(g->detail), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&g->mu);
	advance(g, REG_FAILED);
}

/* Read the journal; unknown or malformed lines make it unusable (the agent
 * then refuses to guess and reports it). */
static int
journal_read(struct reg *g)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = DPK_ERR_SYNTAX, seen_magic = 0;

	if ((fd = open(g->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? DPK_ERR_NOTFOUND : DPK_ERR_IO;
	if ((text = malloc(JOURNAL_MAX + 1)) == NULL) {
		close(fd);
		return DPK_ERR_NOMEM;
	}
	while (len < JOURNAL_MAX && (n = read(fd, text + len, JOURNAL_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL)
		goto out;
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strstr(line, ": "), *v;
		unsigned long long u;
		size_t got;

		if (!seen_magic) {
			if (strcmp(line, JOURNAL_MAGIC) != 0)
				goto out;
			seen_magic = 1;
			continue;
		}
		if (colon == NULL)
			goto out;
		*colon = '\0';
		v = colon + 2;
		if (strcmp(line, "step") == 0) {
			u = strtoull(v, NULL, 10);
			if (u > REG_FAILED)
				goto out;
			g->step = (enum reg_step)u;
		} else if (strcmp(line, "flow") == 0) {
			u = strtoull(v, NULL, 10);
			if (u > REG_FLOW_RELAY)
				goto out;
			g->flow = (enum reg_flow)u;
		} else if (strcmp(line, "identity") == 0) {
			if (dpk_identity_parse(v, strlen(v), &g->id) != 0)
				goto out;
		} else if (strcmp(line, "token-file") == 0) {
			if (strlen(v) >= sizeof(g->token_file))
				goto out;
			memcpy(g->token_file, v, strlen(v) + 1);
		} else if (strcmp(line, "chain-id") == 0) {
			g->chain_id = strtoull(v, NULL, 10);
		} else if (strcmp(line, "contract") == 0) {
			if (dpk_hex_decode_exact(v, g->contract, 20) != 0)
				goto out;
		} else if (strcmp(line, "fund-tx") == 0) {
			if (dpk_hex_decode_exact(v, g->fund_tx, 32) != 0)
				goto out;
			g->has_fund_tx = 1;
		} else if (strcmp(line, "approval-expiry") == 0) {
			g->appr_expiry = strtoull(v, NULL, 10);
		} else if (strcmp(line, "approval-nonce") == 0) {
			if (dpk_hex_decode_exact(v, g->appr_nonce, 32) != 0)
				goto out;
		} else if (strcmp(line, "approval-sig") == 0) {
			if (dpk_hex_decode_exact(v, g->appr_sig, 65) != 0)
				goto out;
			g->has_approval = 1;
		} else if (strcmp(line, "relay-expiry") == 0) {
			g->relay_expiry = strtoull(v, NULL, 10);
		} else if (strcmp(line, "relay-nonce") == 0) {
			g->relay_nonce = strtoull(v, NULL, 10);
		} else if (strcmp(line, "relay-sig") == 0) {
			if (dpk_hex_decode_exact(v, g->relay_sig, 65) != 0)
				goto out;
			g->has_relay = 1;
		} else if (strcmp(line, "tx-nonce") == 0) {
			g->tx_nonce = strtoull(v, NULL, 10);
		} else if (strcmp(line, "tx-replaced") == 0) {
			if (g->n_tx_prev >= REG_MAX_REPLACEMENTS || dpk_hex_decode_exact(v, g->tx_prev[g->n_tx_prev], 32) != 0)
				goto out;
			g->n_tx_prev++;
		} else if (strcmp(line, "tx-sent-at") == 0) {
			g->tx_sent_ms = strtoull(v, NULL, 10);
		} else if (strcmp(line, "tx-hash") == 0) {
			if (dpk_hex_decode_exact(v, g->tx_hash, 32) != 0)
				goto out;
		} else if (strcmp(line, "tx-raw") == 0) {
			uint8_t *dst;

			dpk_buf_reset(&g->tx_raw);
			if (dpk_buf_reserve(&g->tx_raw, strlen(v) / 2, &dst) != 0 ||
			    dpk_hex_decode(v, strlen(v), dst, strlen(v) / 2, &got) != 0)
				goto out;
			g->has_tx = 1;
		} else if (strcmp(line, "detail") == 0) {
			snprintf(g->detail, sizeof(g->detail), "%s", v);
		} else {
			goto out;
		}
	}
	r = seen_magic ? 0 : DPK_ERR_SYNTAX;
out:
	free(text);
	return r;
}

int
reg_init(struct reg *g, const char *state_dir, const struct dpk_wallet *w, const struct dpk_idkey *k)
{
	int r;

	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	snprintf(g->path, sizeof(g->path), "%s/registration", state_dir);
	g->wallet = w;
	g->alg = (uint8_t)dpk_idkey_alg(k);
	dpk_buf_init(&g->pub, 8192);
	dpk_buf_init(&g->tx_raw, DPK_TX_MAX_RAW);
	if ((r = dpk_idkey_public_onchain(k, &g->pub)) != 0)
		return r;
	r = journal_read(g);
	if (r == DPK_ERR_NOTFOUND)
		return 0;
	if (r != 0) {
		g->step = REG_FAILED;
		snprintf(g->detail, sizeof(g->detail), "the registration journal %.200s is damaged; move it away and register again",
		    g->path);
		return 0;
	}
	g->started_ms = agent_now_ms();
	if (g->has_tx && g->tx_sent_ms == 0) /* a journal from before replacements: count from now */
		g->tx_sent_ms = wall_ms();
	return g->step != REG_NONE && g->step != REG_DONE && g->step != REG_FAILED;
}

void
reg_free(struct reg *g)
{
	dpk_buf_free(&g->pub);
	dpk_buf_free(&g->tx_raw);
	pthread_mutex_destroy(&g->mu);
}

void
reg_set_fees(struct reg *g, uint64_t max_fee, uint64_t max_tip, uint32_t replace_after_ms)
{
	g->fees.max_fee = max_fee;
	g->fees.max_tip = max_tip;
	g->replace_after_ms = replace_after_ms;
}

int
reg_active(struct reg *g)
{
	int active;

	pthread_mutex_lock(&g->mu);
	active = g->step != REG_NONE && g->step != REG_DONE && g->step != REG_FAILED;
	pthread_mutex_unlock(&g->mu);
	return active;
}

int
reg_begin(struct reg *g, const char *identity, const char *token_file, uint64_t chain_id,
    const uint8_t contract[20], enum reg_flow flow)
{
	struct dpk_identity id;

	if (reg_active(g))
		return 0;
	if (identity == NULL || dpk_identity_parse(identity, strlen(identity), &id) != 0) {
		set_detail(g, "dpk.conf has no valid 'identity' to register");
		return DPK_ERR_INVALID;
	}
	if (token_file == NULL || strlen(token_file) >= sizeof(g->token_file)) {
		set_detail(g, "dpk.conf has no 'token_file': put the token from the PKM on this host and name it there");
		return DPK_ERR_INVALID;
	}
	pthread_mutex_lock(&g->mu);
	if (g->step == REG_DONE && memcmp(&g->id, &id, sizeof(id)) == 0) {
		pthread_mutex_unlock(&g->mu);
		return 0;
	}
	g->id = id;
	memcpy(g->token_file, token_file, strlen(token_file) + 1);
	g->chain_id = chain_id;
	memcpy(g->contract, contract, 20);
	g->flow = flow;
	g->has_fund_tx = g->has_approval = g->has_relay = g->has_tx = 0;
	g->n_tx_prev = 0;
	dpk_buf_reset(&g->tx_raw);
	g->started_ms = agent_now_ms();
	g->pkm_key_missing_ms = 0;
	g->start_block = g->head_block = 0;
	snprintf(g->detail, sizeof(g->detail), "starting");
	pthread_mutex_unlock(&g->mu);
	advance(g, REG_START);
	return 0;
}

/* --- the PKM channel --- */

static int
read_token(struct reg *g, struct dpk_token *t)
{
	char err[4400];
	int r = dpk_token_load(g->token_file, t, err, sizeof(err));

	if (r != 0)
		fail_with(g, "%s", err);
	return r;
}

/* One request to the PKM named in the token; FAILURE replies become the detail. */
static int
pkm_call(struct reg *g, uint8_t type, const void *body, size_t len, int timeout_ms, struct dpk_buf *reply)
{
	struct dpk_token t;
	struct dpk_tlspsk_conn *c = NULL;
	char host[256], ident[43];
	const char *colon;
	uint8_t rtype;
	int r;

	if ((r = read_token(g, &t)) != 0)
		return r;
	colon = strrchr(t.pkm_endpoint, ':');
	if (colon == NULL || (size_t)(colon - t.pkm_endpoint) >= sizeof(host)) {
		dpk_token_clear(&t);
		fail_with(g, "the token's PKM endpoint '%s' is not host:port", t.pkm_endpoint);
		return DPK_ERR_SYNTAX;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - t.pkm_endpoint), t.pkm_endpoint);
	dpk_token_psk_identity(&t, ident);
	r = dpk_tlspsk_connect(host, colon + 1, ident, t.secret, sizeof(t.secret), timeout_ms, &c);
	dpk_token_clear(&t);
	if (r != 0) {
		set_detail(g, "cannot reach the PKM at %s:%s: %s%s", host, colon + 1, dpk_strerror(r),
		    r == DPK_ERR_BADMAC ? " (the PKM does not accept this token: revoked, expired or replaced?)" :
		    "; will retry");
		return r;
	}
	if ((r = dpk_tlspsk_send(c, type, body, len)) == 0)
		r = dpk_tlspsk_recv(c, &rtype, reply);
	dpk_tlspsk_close(c);
	if (r != 0) {
		set_detail(g, "the PKM hung up or answered badly: %s; will retry", dpk_strerror(r));
		return r;
	}
	if (rtype == DPK_MSG_FAILURE) {
		struct dpk_wire_r rd;
		char msg[256];
		uint32_t code;

		dpk_wire_r_init(&rd, reply->data, reply->len);
		code = dpk_wire_get_u32(&rd);
		if (dpk_wire_get_text(&rd, msg, sizeof(msg)) != 0)
			snprintf(msg, sizeof(msg), "(unreadable reason)");
		if (code == (uint32_t)-DPK_ERR_BUSY) /* e.g. the network's fee is above the PKM's cap */
			set_detail(g, "the PKM cannot now: %s; will retry", msg);
		else
			fail_with(g, "the PKM refused: %s (code %u)", msg, code);
		return DPK_ERR_RPC;
	}
	if (rtype != DPK_MSG_REPLY(type)) {
		set_detail(g, "the PKM answered with an unexpected message; will retry");
		return DPK_ERR_SYNTAX;
	}
	return 0;
}

/* --- steps --- */

static void step_verify(struct reg *g, struct dpk_rpc *rpc);

/* Relay flow: sign this host's RelayedRegistration for the token's PKM, for
 * the record's current version, and journal it before it is ever sent. */
static void
relay_sign(struct reg *g, const uint8_t pkm[20], uint32_t version)
{
	struct dpk_u256 n;
	uint8_t idh[32];
	int r;

	g->relay_expiry = (uint64_t)time(NULL) + RELAY_VALIDITY_S;
	g->relay_nonce = version;
	dpk_u256_from_u64(&n, version);
	if ((r = dpk_identity_hash(&g->id, idh)) != 0 ||
	    (r = dpk_registry_sign_relayed(g->wallet, g->chain_id, g->contract, idh, g->pub.data, g->pub.len, g->alg, pkm,
	    g->relay_expiry, &n, g->relay_sig)) != 0) {
		fail_with(g, "cannot sign the registration request: %s", dpk_strerror(r));
		return;
	}
	g->has_relay = 1;
	set_detail(g, "asking the PKM to send the registration");
	advance(g, REG_WAIT_APPROVE);
}

enum rec_state { REC_UNREADABLE = -1, REC_NONE, REC_OURS, REC_TAKEN };

/* What the registry holds for our identity: our key, active, under our
 * wallet (REC_OURS); an active record under another controller (REC_TAKEN);
 * nothing of that (REC_NONE, with its version in *version if any); or
 * REC_UNREADABLE now. */
static enum rec_state
record_state(struct reg *g, struct dpk_rpc *rpc, uint32_t *version)
{
	struct dpk_registry_record rec;
	enum rec_state st = REC_NONE;
	int r = dpk_registry_get_client(rpc, g->contract, &g->id, &rec);

	if (r != 0)
		return r == DPK_ERR_NOTFOUND ? REC_NONE : REC_UNREADABLE;
	if (rec.status == DPK_REGISTRY_ACTIVE && memcmp(rec.controller, g->wallet->addr, 20) != 0)
		st = REC_TAKEN;
	else if (rec.status == DPK_REGISTRY_ACTIVE && rec.publen == g->pub.len &&
	    memcmp(rec.pubkey, g->pub.data, g->pub.len) == 0)
		st = REC_OURS;
	if (version != NULL)
		*version = rec.version;
	dpk_registry_record_free(&rec);
	return st;
}

static void
step_start(struct reg *g, struct dpk_rpc *rpc)
{
	struct dpk_token t;
	struct dpk_identity tid;
	struct dpk_buf pkmkey;
	struct dpk_u256 bal;
	uint64_t head;
	uint32_t version = 0;
	int r;

	if (read_token(g, &t) != 0)
		return;
	if (dpk_identity_parse(t.identity, strlen(t.identity), &tid) != 0 || memcmp(&tid, &g->id, sizeof(tid)) != 0) {
		fail_with(g, "the token is for '%s', not for this host's identity", t.identity);
		goto out;
	}
	if (t.chain_id != g->chain_id || memcmp(t.contract, g->contract, 20) != 0) {
		fail_with(g, "the token is for another chain or registry than dpk.conf names");
		goto out;
	}
	dpk_buf_init(&pkmkey, 4096);
	r = dpk_registry_get_pkm_key(rpc, g->contract, t.pkm_address, &pkmkey);
	if (r == DPK_ERR_NOTFOUND) {
		/* a PKM set up moments ago: its key's transaction may not be
		 * mined (or deep enough) yet; not for ever */
		if (g->pkm_key_missing_ms == 0)
			g->pkm_key_missing_ms = agent_now_ms();
		if (agent_now_ms() - g->pkm_key_missing_ms >= PKM_KEY_WAIT_MS)
			fail_with(g, "the token's PKM has published no key on chain (waited %d s): it cannot be checked",
			    PKM_KEY_WAIT_MS / 1000);
		else
			set_detail(g, "the token's PKM has no key on chain yet (its transaction may not be mined); will retry");
	} else if (r != 0) {
		set_detail(g, "cannot read the PKM's key from the chain: %s; will retry", dpk_rpc_last_error(rpc));
	} else if ((r = dpk_token_verify(&t, pkmkey.len == 65 ? DPK_IDKEY_P256 : DPK_IDKEY_RSA, pkmkey.data, pkmkey.len,
	    (uint64_t)time(NULL))) != 0) {
		fail_with(g, r == DPK_ERR_TIMEOUT ? "the token expired: ask the PKM operator for a new one" :
		    "the token's signature does not verify with its PKM's key on chain: it is not genuine");
	}
	dpk_buf_free(&pkmkey);
	if (r != 0)
		goto out;
	/* already registered with this key? (a restart after the last step) */
	switch (record_state(g, rpc, &version)) {
	case REC_OURS:
		set_detail(g, "already registered with this key");
		advance(g, REG_DONE);
		goto out;
	case REC_TAKEN:
		fail_with(g, "this identity is registered to another controller");
		goto out;
	case REC_UNREADABLE:
		set_detail(g, "cannot read the registry: %s; will retry", dpk_rpc_last_error(rpc));
		goto out;
	case REC_NONE:
		break;
	}
	if (dpk_rpc_block_number(rpc, &head) == 0) {
		pthread_mutex_lock(&g->mu);
		g->start_block = g->head_block = head;
		pthread_mutex_unlock(&g->mu);
	}
	if (g->flow == REG_FLOW_RELAY) {
		relay_sign(g, t.pkm_address, version); /* no funds needed: the PKM sends the transaction */
	} else if (dpk_rpc_balance(rpc, g->wallet->addr, DPK_RPC_SETTLED, &bal) == 0 && !dpk_u256_is_zero(&bal)) {
		set_detail(g, "the wallet has funds already");
		advance(g, REG_APPROVAL);
	} else {
		set_detail(g, "asking the PKM for gas money");
		advance(g, REG_FUNDING);
	}
out:
	dpk_token_clear(&t);
}

static void
step_funding(struct reg *g, struct dpk_rpc *rpc)
{
	struct dpk_u256 bal;
	char hex[67];

	if (dpk_rpc_balance(rpc, g->wallet->addr, DPK_RPC_SETTLED, &bal) == 0 && !dpk_u256_is_zero(&bal)) {
		set_detail(g, "funded");
		advance(g, REG_APPROVAL);
		return;
	}
	if (!g->has_fund_tx) {
		struct dpk_buf reply;
		uint8_t body[32];
		struct dpk_wire_w w;
		struct dpk_wire_r rd;
		const uint8_t *p;
		size_t n;

		dpk_wire_w_init(&w, body, sizeof(body));
		dpk_wire_put_string(&w, g->wallet->addr, 20);
		dpk_buf_init(&reply, 4096);
		if (pkm_call(g, PKM_FUND, body, w.len, PKM_TIMEOUT_MS, &reply) == 0) {
			dpk_wire_r_init(&rd, reply.data, reply.len);
			p = dpk_wire_get_string(&rd, &n);
			dpk_wire_get_u8(&rd);
			if (p != NULL && n == 32 && dpk_wire_r_done(&rd) == 0) {
				memcpy(g->fund_tx, p, 32);
				g->has_fund_tx = 1;
				journal_write(g);
			} else {
				set_detail(g, "the PKM's FUND reply is malformed; will retry");
			}
		}
		dpk_buf_free(&reply);
		if (!g->has_fund_tx)
			return;
	}
	dpk_hex_encode(g->fund_tx, 32, 1, hex, sizeof(hex));
	set_detail(g, "waiting for the PKM's funding transaction %.18s... to be mined", hex);
	struct dpk_rpc_receipt rc;
	if (dpk_rpc_wait_receipt(rpc, g->fund_tx, STEP_WAIT_MS, 250, NULL, NULL, &rc) == 0)
		dpk_rpc_receipt_free(&rc);
}

/* Build, sign and journal the registration transaction, then go to SENDING. */
static void
prepare_tx(struct reg *g, struct dpk_rpc *rpc, const struct dpk_buf *calldata, const char *what)
{
	struct dpk_txsend req = {.to = g->contract, .data = calldata->data, .data_len = calldata->len};
	struct dpk_fee_offer offer;
	char reason[256];
	int r;

	if ((r = dpk_fees_offer(rpc, &g->fees, &offer, reason, sizeof(reason))) != 0) {
		set_detail(g, "cannot send %s yet: %s; will retry", what, reason);
		return;
	}
	req.fees = &offer;
	dpk_buf_reset(&g->tx_raw);
	g->n_tx_prev = 0;
	g->tx_sent_ms = wall_ms();
	r = dpk_txsend_prepare(rpc, g->wallet, g->chain_id, &req, &g->tx_raw, g->tx_hash, &g->tx_nonce);
	if (r == DPK_ERR_REVERT) {
		dpk_registry_last_revert(rpc, reason, sizeof(reason));
		fail_with(g, "the registry would refuse %s: %s", what, reason);
		return;
	}
	if (r != 0) {
		set_detail(g, "cannot prepare %s: %s; will retry", what, dpk_rpc_last_error(rpc));
		return;
	}
	g->has_tx = 1;
	set_detail(g, "sending %s", what);
	advance(g, REG_SENDING); /* journalled before it is ever sent */
}

static void
step_approval(struct reg *g, struct dpk_rpc *rpc)
{
	struct dpk_buf calldata;
	int r;

	dpk_buf_init(&calldata, 16384);
	if (g->flow == REG_FLOW_PAPER) {
		struct dpk_token t;
		uint8_t th[32];

		if (read_token(g, &t) != 0)
			goto out;
		dpk_token_hash(&t, th);
		dpk_token_clear(&t);
		if (dpk_registry_encode_add_client(&calldata, &g->id, g->alg, g->pub.data, g->pub.len, th) == 0)
			prepare_tx(g, rpc, &calldata, "addClient()");
		goto out;
	}
	if (!g->has_approval) {
		uint8_t body[8192];
		struct dpk_wire_w w;
		struct dpk_wire_r rd;
		struct dpk_buf reply;
		const uint8_t *nonce, *sig;
		size_t nn, ns;
		uint64_t expiry;

		dpk_wire_w_init(&w, body, sizeof(body));
		dpk_wire_put_string(&w, g->wallet->addr, 20);
		dpk_wire_put_u8(&w, g->alg);
		dpk_wire_put_string(&w, g->pub.data, g->pub.len);
		dpk_buf_init(&reply, 4096);
		set_detail(g, "asking the PKM for its approval");
		if (w.err == 0 && pkm_call(g, PKM_SIGN_REGISTRATION, body, w.len, PKM_TIMEOUT_MS, &reply) == 0) {
			dpk_wire_r_init(&rd, reply.data, reply.len);
			expiry = dpk_wire_get_u64(&rd);
			nonce = dpk_wire_get_string(&rd, &nn);
			sig = dpk_wire_get_string(&rd, &ns);
			if (nonce != NULL && nn == 32 && sig != NULL && ns == 65 && dpk_wire_r_done(&rd) == 0) {
				g->appr_expiry = expiry;
				memcpy(g->appr_nonce, nonce, 32);
				memcpy(g->appr_sig, sig, 65);
				g->has_approval = 1;
				journal_write(g);
			} else {
				set_detail(g, "the PKM's approval is malformed; will retry");
			}
		}
		dpk_buf_free(&reply);
		if (!g->has_approval)
			goto out;
	}
	if ((uint64_t)time(NULL) >= g->appr_expiry) {
		fail_with(g, "the PKM's approval expired before it could be used; register again with a new token");
		goto out;
	}
	struct dpk_u256 nonce;
	dpk_u256_from_be(&nonce, g->appr_nonce, 32);
	r = dpk_registry_encode_register(&calldata, &g->id, g->alg, g->pub.data, g->pub.len, g->appr_expiry, &nonce,
	    g->appr_sig);
	if (r == 0)
		prepare_tx(g, rpc, &calldata, "register()");
out:
	dpk_buf_free(&calldata);
}

/* Is an earlier version of the transaction (or, with_current, the current
 * one too) mined? Then it is the one: the journal keeps it as the
 * transaction. 0 with *rc filled if so. One that succeeded is taken over one
 * that reverted: on a correct chain only one version of a nonce is ever
 * mined, but ganache 7 mines a second one (its issue 3794), which then
 * reverts (the key is registered already). */
static int
replaced_one_mined(struct reg *g, struct dpk_rpc *rpc, int with_current, struct dpk_rpc_receipt *rc)
{
	uint8_t cur[32], pick[32];
	int found = 0;

	memcpy(cur, g->tx_hash, 32);
	for (size_t i = 0; i < g->n_tx_prev + (with_current ? 1 : 0); i++) {
		const uint8_t *h = i < g->n_tx_prev ? g->tx_prev[i] : cur;
		struct dpk_rpc_receipt r;

		if (dpk_rpc_receipt(rpc, h, &r) != 0)
			continue;
		if (found && !(rc->status != 1 && r.status == 1)) {
			dpk_rpc_receipt_free(&r);
			continue;
		}
		if (found)
			dpk_rpc_receipt_free(rc);
		*rc = r;
		found = 1;
		memcpy(pick, h, 32);
	}
	if (found)
		memcpy(g->tx_hash, pick, 32);
	return found ? 0 : DPK_ERR_NOTFOUND;
}

/* Does the node's refusal say the fees are too low? (geth: "transaction
 * underpriced", "max fee per gas less than block base fee"; anvil and
 * Nethermind word it alike.) */
static int
fee_refusal(const char *why)
{
	return strcasestr(why, "underpriced") != NULL || strcasestr(why, "fee") != NULL;
}

/* Is the wallet's next nonce (mined transactions) still at most tx_nonce? */
static int
nonce_still_ours(struct reg *g, struct dpk_rpc *rpc)
{
	uint64_t n;

	return dpk_rpc_nonce(rpc, g->wallet->addr, DPK_RPC_LATEST, &n) == 0 && n <= g->tx_nonce;
}

/* Pending for replace_after (now: at once): sign a replacement (same nonce, fees bumped
 * within the cap), journal it with the earlier hashes, then send it. */
static int
maybe_replace(struct reg *g, struct dpk_rpc *rpc, int now)
{
	struct dpk_fee_offer next;
	struct dpk_buf raw;
	uint8_t hash[32], got[32];
	char msg[256], hex[67], max[48], tip[48];

	int r;

	if (g->n_tx_prev >= REG_MAX_REPLACEMENTS)
		return DPK_ERR_TOOBIG;
	if (!now && wall_ms() < g->tx_sent_ms + g->replace_after_ms)
		return 0;
	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	if ((r = dpk_txsend_replace(rpc, g->wallet, &g->fees, g->tx_raw.data, g->tx_raw.len, &raw, hash, &next, msg,
	    sizeof(msg))) != 0) {
		set_detail(g, "transaction (nonce %llu) pending: %s", (unsigned long long)g->tx_nonce, msg);
		dpk_buf_free(&raw);
		return r;
	}
	pthread_mutex_lock(&g->mu);
	memcpy(g->tx_prev[g->n_tx_prev++], g->tx_hash, 32);
	memcpy(g->tx_hash, hash, 32);
	dpk_buf_reset(&g->tx_raw);
	dpk_buf_put(&g->tx_raw, raw.data, raw.len);
	g->tx_sent_ms = wall_ms();
	pthread_mutex_unlock(&g->mu);
	dpk_buf_free(&raw);
	dpk_hex_encode(hash, 32, 1, hex, sizeof(hex));
	dpk_fee_format(next.max_fee, max, sizeof(max));
	dpk_fee_format(next.tip, tip, sizeof(tip));
	set_detail(g, "replaced the pending transaction (nonce %llu) with %.18s... at maxFeePerGas %s, tip %s",
	    (unsigned long long)g->tx_nonce, hex, max, tip);
	if (journal_write(g) != 0) { /* not journalled: never sent */
		set_detail(g, "cannot write the registration journal %s: %s", g->path, strerror(errno));
		return DPK_ERR_IO;
	}
	dpk_rpc_send_raw(rpc, g->tx_raw.data, g->tx_raw.len, got); /* the next step waits for any version */
	return 0;
}

static void
step_sending(struct reg *g, struct dpk_rpc *rpc)
{
	struct dpk_rpc_receipt rc;
	char hex[67], why[300] = "";
	int r, ours = REC_NONE;

	dpk_hex_encode(g->tx_hash, 32, 1, hex, sizeof(hex));
	if (replaced_one_mined(g, rpc, 0, &rc) == 0) { /* dpk_txsend_submit reads the current one's */
		r = 0;
	} else {
		set_detail(g, "waiting for transaction %.18s... (nonce %llu) to be mined", hex,
		    (unsigned long long)g->tx_nonce);
		r = dpk_txsend_submit(rpc, g->tx_raw.data, g->tx_raw.len, g->tx_hash, STEP_WAIT_MS, NULL, NULL, &rc);
		if (r == DPK_ERR_RPC) /* the node's reason, before the receipt reads below replace it */
			snprintf(why, sizeof(why), "%s", dpk_rpc_last_error(rpc));
		/* refused (nonce used) because an earlier version was mined meanwhile? */
		if (r == DPK_ERR_RPC && replaced_one_mined(g, rpc, 0, &rc) == 0)
			r = 0;
		/* this version reverted: did another one (mined too: ganache) succeed? */
		if (r == 0 && rc.status != 1 && g->n_tx_prev > 0) {
			dpk_rpc_receipt_free(&rc);
			if (replaced_one_mined(g, rpc, 1, &rc) != 0)
				r = DPK_ERR_NET; /* no receipt now: the next step asks again */
		}
	}
	if (r == DPK_ERR_TIMEOUT || r == DPK_ERR_NET) {
		maybe_replace(g, rpc, 0);
		return; /* the next step tries again with the same bytes */
	}
	if (r == DPK_ERR_RPC && fee_refusal(why) && nonce_still_ours(g, rpc)) {
		/* refused while the nonce is unused: fees below what the node now
		 * takes (a journalled transaction sent again after a fee rise)? A
		 * replacement at today's fees; a cap that forbids it waits */
		r = maybe_replace(g, rpc, 1);
		if (r != 0 && r != DPK_ERR_RANGE)
			fail_with(g, "the node refused the registration transaction: %s", why);
		return;
	}
	if (r != 0) {
		fail_with(g, "the node refused the registration transaction: %s", why[0] ? why : dpk_rpc_last_error(rpc));
		return;
	}
	dpk_hex_encode(g->tx_hash, 32, 1, hex, sizeof(hex));
	/* a reverted receipt is not the last word: ganache 7 can run one
	 * transaction twice in a block, and the receipt is the second run's
	 * (reverted: registered already by the first). The registry is. */
	if (rc.status != 1 && g->flow != REG_FLOW_PAPER && (ours = record_state(g, rpc, NULL)) == REC_UNREADABLE) {
		set_detail(g, "transaction %.18s... reverted; cannot read the registry to see whether it holds our key: %s; "
		    "will retry", hex, dpk_rpc_last_error(rpc));
		dpk_rpc_receipt_free(&rc);
		return;
	}
	if (rc.status != 1 && (g->flow == REG_FLOW_PAPER || ours != REC_OURS)) {
		fail_with(g, "the registration transaction %.18s... reverted in block %llu", hex,
		    (unsigned long long)rc.block_number);
	} else if (g->flow == REG_FLOW_PAPER) {
		set_detail(g, "addClient() mined; asking the PKM to approve");
		advance(g, REG_WAIT_APPROVE);
	} else {
		set_detail(g, "mined in block %llu; checking the registry", (unsigned long long)rc.block_number);
		advance(g, REG_VERIFY);
	}
	dpk_rpc_receipt_free(&rc);
}

/* Relay flow: hand the journalled request to the PKM (the same bytes after a
 * restart: the PKM answers with the transaction it journalled). It answers
 * once the transaction is mined, and then the record is checked at once. */
static void
step_relay(struct reg *g, struct dpk_rpc *rpc)
{
	uint8_t body[DPK_REGISTRY_KEY_MAX + 256], mined;
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	struct dpk_buf reply;
	struct dpk_u256 n;
	const uint8_t *p;
	size_t len;
	char hex[67];

	if (!g->has_relay) {
		fail_with(g, "the registration journal %.200s holds no signed request; register again", g->path);
		return;
	}
	if ((uint64_t)time(NULL) >= g->relay_expiry) {
		fail_with(g, "the signed registration request expired before the PKM sent it; register again");
		return;
	}
	dpk_u256_from_u64(&n, g->relay_nonce);
	dpk_wire_w_init(&w, body, sizeof(body));
	dpk_wire_put_string(&w, g->wallet->addr, 20);
	dpk_wire_put_u8(&w, g->alg);
	dpk_wire_put_string(&w, g->pub.data, g->pub.len);
	dpk_wire_put_u64(&w, g->relay_expiry);
	dpk_wire_put_string(&w, n.be, 32);
	dpk_wire_put_string(&w, g->relay_sig, 65);
	dpk_buf_init(&reply, 4096);
	set_detail(g, "the PKM is sending the registration; waiting for it to be mined");
	if (w.err == 0 && pkm_call(g, PKM_RELAY, body, w.len, PKM_RELAY_TIMEOUT_MS, &reply) == 0) {
		dpk_wire_r_init(&rd, reply.data, reply.len);
		p = dpk_wire_get_string(&rd, &len);
		mined = dpk_wire_get_u8(&rd);
		if (p == NULL || len != 32 || dpk_wire_r_done(&rd) != 0) {
			set_detail(g, "the PKM's RELAY reply is malformed; will retry");
		} else if (mined) {
			advance(g, REG_VERIFY);
			step_verify(g, rpc);
		} else {
			dpk_hex_encode(p, 32, 1, hex, sizeof(hex));
			set_detail(g, "the PKM sent transaction %.18s...; not mined yet, asking again", hex);
		}
	}
	dpk_buf_free(&reply);
}

static void
step_wait_approve(struct reg *g, struct dpk_rpc *rpc)
{
	uint8_t body[32];
	struct dpk_wire_w w;
	struct dpk_buf reply;

	dpk_wire_w_init(&w, body, sizeof(body));
	dpk_wire_put_string(&w, g->wallet->addr, 20);
	dpk_buf_init(&reply, 4096);
	if (pkm_call(g, PKM_APPROVE, body, w.len, PKM_TIMEOUT_MS, &reply) == 0) {
		set_detail(g, "the PKM approved; checking the registry");
		advance(g, REG_VERIFY);
	}
	dpk_buf_free(&reply);
}

/* Was the settled block the registry is read at still below the head seen
 * when REG_VERIFY began (where the transaction was mined, or below)? Then a
 * record not there yet is not missing. Asked before the read: the chain may
 * grow between the two, and a read at a later settled block only sees more. */
static int
settling(struct reg *g, struct dpk_rpc *rpc)
{
	uint64_t settled;

	if (dpk_rpc_settled_block(rpc, &settled) != 0)
		return 1; /* cannot tell yet: ask again */
	return settled < g->verify_head;
}

static void
step_verify(struct reg *g, struct dpk_rpc *rpc)
{
	struct dpk_registry_record rec;
	int r, early;

	if (g->verify_head == 0)
		g->verify_head = g->head_block;
	if (g->verify_head == 0) /* the head could not be read yet */
		return;
	early = settling(g, rpc);
	r = dpk_registry_get_client(rpc, g->contract, &g->id, &rec);
	if (r != 0 && r != DPK_ERR_NOTFOUND) {
		set_detail(g, "cannot read the registry: %s; will retry", dpk_rpc_last_error(rpc));
		return;
	}
	if (r == 0 && rec.status == DPK_REGISTRY_ACTIVE && memcmp(rec.controller, g->wallet->addr, 20) == 0 &&
	    rec.publen == g->pub.len && memcmp(rec.pubkey, g->pub.data, g->pub.len) == 0) {
		set_detail(g, "version %u of this identity's key is on chain, controlled by this host's wallet", rec.version);
		advance(g, REG_DONE);
	} else if (early) {
		set_detail(g, "mined; waiting for confirmations before it counts (head %llu)",
		    (unsigned long long)g->head_block);
	} else {
		fail_with(g, "the transaction was mined but the registry does not hold this key");
	}
	if (r == 0)
		dpk_registry_record_free(&rec);
}

void
reg_step(struct reg *g, struct dpk_rpc *rpc)
{
	uint64_t head;

	if (dpk_rpc_block_number(rpc, &head) == 0) {
		pthread_mutex_lock(&g->mu);
		if (g->start_block == 0)
			g->start_block = head;
		g->head_block = head;
		pthread_mutex_unlock(&g->mu);
	}
	switch (g->step) {
	case REG_START: step_start(g, rpc); break;
	case REG_FUNDING: step_funding(g, rpc); break;
	case REG_APPROVAL: step_approval(g, rpc); break;
	case REG_SENDING: step_sending(g, rpc); break;
	case REG_WAIT_APPROVE:
		if (g->flow == REG_FLOW_RELAY)
			step_relay(g, rpc);
		else
			step_wait_approve(g, rpc);
		break;
	case REG_VERIFY: step_verify(g, rpc); break;
	case REG_NONE:
	case REG_DONE:
	case REG_FAILED:
		break;
	}
}
