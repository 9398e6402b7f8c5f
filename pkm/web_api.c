/* The operator interface's actions (web.h): JSON in, JSON out, for
 * /api/v1/ and, through web_pages.c, for the HTML pages. Tokens are made
 * and withdrawn by actions.c, as on the command line, so both refuse the
 * same things with the same sentences. Every state change is audited. */
#include "web.h"
#include "actions.h"
#include "dcv.h"

#include "base/err.h"
#include "base/hex.h"
#include "daemon/conffile.h"
#include "enrol/token.h"
#include "registry/identity.h"
#include "registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *
str(const cJSON *in, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, key));

	return v != NULL && strlen(v) < 1024 ? v : NULL;
}

int
pkm_web_api_login_challenge(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	const char *op = str(in, "operator");
	char ch[401], msg[512], cmd[450];
	uint64_t expiry;
	int r;

	if (pkm_web_rate_ok(q->w, q->source, PKM_WEB_RATE_LOGIN) != 0) {
		pkm_web_audit(q->w, NULL, q->source, "login-challenge", op, "refused: rate limit");
		*out = pkm_web_error("too many logins from %s: wait a minute (web_rate_limit)", q->source);
		return 429;
	}
	if (op == NULL) {
		*out = pkm_web_error("which operator? (\"operator\": your device's DPK identity)");
		return 400;
	}
	if ((r = pkm_web_login_begin(q->w, op, ch, &expiry, msg, sizeof(msg))) != 0) {
		pkm_web_audit(q->w, NULL, q->source, "login-challenge", op, msg);
		*out = pkm_web_error("%s", msg);
		return r == DPK_ERR_PERM ? 403 : r == DPK_ERR_BUSY ? 503 : 400;
	}
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "challenge", ch);
	cJSON_AddNumberToObject(*out, "expires", (double)expiry);
	snprintf(cmd, sizeof(cmd), "dpkctl respond %s", ch);
	cJSON_AddStringToObject(*out, "command", cmd);
	return 200;
}

int
pkm_web_api_login(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	const char *ch = str(in, "challenge"), *resp = str(in, "response");
	char msg[512];
	int r;

	if (pkm_web_rate_ok(q->w, q->source, PKM_WEB_RATE_LOGIN) != 0) {
		pkm_web_audit(q->w, NULL, q->source, "login", NULL, "refused: rate limit");
		*out = pkm_web_error("too many logins from %s: wait a minute (web_rate_limit)", q->source);
		return 429;
	}
	if (ch == NULL || resp == NULL) {
		*out = pkm_web_error("a login needs \"challenge\" and \"response\" (the output of dpkctl respond)");
		return 400;
	}
	if ((r = pkm_web_login_finish(q, ch, resp, msg, sizeof(msg))) != 0) {
		char refused[600];

		snprintf(refused, sizeof(refused), "refused: %s", msg);
		pkm_web_audit(q->w, NULL, q->source, "login", NULL, refused);
		*out = pkm_web_error("%s", msg);
		return r == DPK_ERR_SYNTAX ? 400 : r == DPK_ERR_RPC || r == DPK_ERR_NET ? 503 : 403;
	}
	pkm_web_audit(q->w, q->operator, q->source, "login", q->operator, "ok");
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "operator", q->operator);
	cJSON_AddStringToObject(*out, "csrf", q->csrf);
	cJSON_AddNumberToObject(*out, "lifetime", (double)(q->p->cfg.web_session_ms / 1000));
	return 200;
}

int
pkm_web_api_logout(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	(void)in;
	pkm_web_audit(q->w, q->operator, q->source, "logout", q->operator, "ok");
	pkm_web_logout(q);
	*out = cJSON_CreateObject();
	return 200;
}

int
pkm_web_api_session(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	(void)in;
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "operator", q->operator);
	cJSON_AddStringToObject(*out, "csrf", q->csrf);
	return 200;
}

/* --- devices --- */

struct row {
	uint8_t id[16];
	char identity[DPK_IDENTITY_FORMAT_SIZE];
	uint64_t created, expires;
	int has_wallet;
	uint8_t wallet[20];
	enum pkm_token_state state;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void
collect(void *ctx, const struct pkm_token_row *t)
{
	struct rows *rs = ctx;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 32;
		struct row *v = realloc(rs->v, cap * sizeof(*v));

		if (v == NULL)
			return;
		rs->v = v;
		rs->cap = cap;
	}
	struct row *r = &rs->v[rs->n++];
	memcpy(r->id, t->id, 16);
	snprintf(r->identity, sizeof(r->identity), "%s", t->identity);
	r->created = t->created;
	r->expires = t->expires;
	r->has_wallet = t->has_wallet;
	memcpy(r->wallet, t->wallet, 20);
	r->state = t->state; /* the secret stays behind */
}

/* One device's state, from the token, the journal and the chain:
 * revoked (token withdrawn, or the key revoked on chain), approved (its
 * record is active), pending (a registration waits for approval), funded
 * (its wallet was paid), issued (nothing yet; expired when past its time). */
static cJSON *
device_json(struct pkm_web_req *q, struct dpk_rpc *rpc, const struct row *r, uint64_t now)
{
	cJSON *o = cJSON_CreateObject();
	char hex[33], wallet[43], dec[79], last[32] = "";
	const char *state = "issued";
	struct dpk_identity id;
	struct dpk_registry_record rec;
	int on_chain = 0;

	memset(&rec, 0, sizeof(rec));
	dpk_hex_encode(r->id, 16, 0, hex, sizeof(hex));
	cJSON_AddStringToObject(o, "token", hex);
	cJSON_AddStringToObject(o, "identity", r->identity);
	if (dpk_identity_parse(r->identity, strlen(r->identity), &id) == 0) {
		cJSON_AddStringToObject(o, "kind", dpk_identity_kind_name(id.kind));
		if (rpc != NULL && dpk_registry_get_client(rpc, q->p->cfg.contract, &id, &rec) == 0)
			on_chain = 1;
	}
	if (r->state == PKM_TOKEN_REVOKED) {
		state = "revoked";
	} else if (on_chain && rec.status == DPK_REGISTRY_REVOKED) {
		state = "revoked";
	} else if (on_chain && rec.status == DPK_REGISTRY_ACTIVE && r->has_wallet &&
	    memcmp(rec.controller, r->wallet, 20) == 0) {
		state = "approved";
	} else if (r->state == PKM_TOKEN_APPROVED) {
		state = "approved";
	} else if (r->has_wallet) {
		struct dpk_registry_pending pend;
		struct pkm_tx_row tx;

		memset(&pend, 0, sizeof(pend));
		dpk_buf_init(&tx.raw, 4096);
		if (rpc != NULL && dpk_registry_get_pending(rpc, q->p->cfg.contract, r->wallet, &pend) == 0) {
			state = "pending";
			dpk_registry_pending_free(&pend);
		} else if (pkm_store_get_tx(q->p->store, r->id, PKM_PURPOSE_FUND, &tx) == 0 && tx.state == PKM_TX_MINED) {
			state = "funded";
		}
		dpk_buf_free(&tx.raw);
	} else if (now >= r->expires) {
		state = "expired";
	}
	cJSON_AddStringToObject(o, "state", state);
	if (r->has_wallet) {
		struct dpk_u256 bal;

		dpk_wallet_address_format(r->wallet, wallet);
		cJSON_AddStringToObject(o, "wallet", wallet);
		if (rpc != NULL && dpk_rpc_balance(rpc, r->wallet, DPK_RPC_LATEST, &bal) == 0) {
			dpk_u256_to_dec(&bal, dec);
			cJSON_AddStringToObject(o, "balance_wei", dec);
		}
	}
	if (on_chain) {
		time_t t = (time_t)(rec.status == DPK_REGISTRY_REVOKED ? rec.valid_until : rec.valid_from);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cJSON_AddStringToObject(o, "last_seen_on_chain", last);
		cJSON_AddStringToObject(o, "chain_status", rec.status == DPK_REGISTRY_ACTIVE ? "active" : "revoked");
	}
	cJSON_AddNumberToObject(o, "created", (double)r->created);
	cJSON_AddNumberToObject(o, "expires", (double)r->expires);
	dpk_registry_record_free(&rec);
	return o;
}

int
pkm_web_api_devices(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	struct rows rs = {NULL, 0, 0};
	struct dpk_rpc *rpc = NULL;
	uint64_t now = (uint64_t)time(NULL);
	cJSON *arr;

	(void)in;
	if (pkm_store_list(q->p->store, collect, &rs) != 0) {
		free(rs.v);
		*out = pkm_web_error("cannot read the PKM's database");
		return 500;
	}
	if (pkm_rpc_new(q->p, &rpc) != 0)
		rpc = NULL; /* the page still lists the tokens */
	*out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(*out, "devices");
	for (size_t i = 0; i < rs.n; i++)
		cJSON_AddItemToArray(arr, device_json(q, rpc, &rs.v[i], now));
	dpk_rpc_free(rpc);
	free(rs.v);
	return 200;
}

/* --- DCV and enrolment --- */

int
pkm_web_api_dcv(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	const char *text = str(in, "identity");
	struct dpk_identity id;
	char canon[DPK_IDENTITY_FORMAT_SIZE], token[33], value[65], url[600], name[300];

	if (text == NULL || dpk_identity_parse(text, strlen(text), &id) != 0) {
		*out = pkm_web_error("'%.256s' is not a DPK identity (a domain name, IPv4 or IPv6 address, or UUID)",
		    text != NULL ? text : "");
		return 400;
	}
	dpk_identity_format(&id, canon, sizeof(canon));
	if (id.kind == DPK_IDENTITY_UUID) {
		*out = pkm_web_error("%s is a UUID: it names no address, so there is no control to prove", canon);
		return 400;
	}
	if (pkm_web_dcv_open(q->w, canon, token) != 0 ||
	    pkm_dcv_value(canon, token, q->p->sd.wallet.addr, value) != 0) {
		*out = pkm_web_error("too many open challenges: try again later");
		return 503;
	}
	pkm_web_audit(q->w, q->operator, q->source, "dcv-challenge", canon, token);
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "identity", canon);
	cJSON_AddStringToObject(*out, "token", token);
	cJSON_AddStringToObject(*out, "value", value);
	snprintf(url, sizeof(url), id.kind == DPK_IDENTITY_IPV6 ? "http://[%s]/.well-known/dpk-challenge/%s" :
	    "http://%s/.well-known/dpk-challenge/%s", canon, token);
	cJSON_AddStringToObject(*out, "http_url", url);
	if (id.kind == DPK_IDENTITY_DOMAIN) {
		snprintf(name, sizeof(name), "_dpk-challenge.%s", canon);
		cJSON_AddStringToObject(*out, "dns_name", name);
	}
	return 200;
}

int
pkm_web_api_enrol(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	const char *kind = str(in, "kind"), *text = str(in, "identity"), *token = str(in, "dcv_token"),
		*method = str(in, "method"), *valid = str(in, "valid");
	uint32_t valid_ms = q->p->cfg.token_validity_ms;
	struct dpk_identity id;
	struct pkm_enrolled en;
	struct dpk_buf file;
	char uuid[37], canon[DPK_IDENTITY_FORMAT_SIZE], value[65], why[600], msg[1000];
	int r;

	if (pkm_web_rate_ok(q->w, q->source, PKM_WEB_RATE_ENROL) != 0) {
		pkm_web_audit(q->w, q->operator, q->source, "enrol", text, "refused: rate limit");
		*out = pkm_web_error("too many enrolments from %s: wait a minute (web_rate_limit)", q->source);
		return 429;
	}
	if (valid != NULL && (dpk_conffile_duration(valid, 30u * 24 * 3600 * 1000, &valid_ms) != 0 || valid_ms < 1000)) {
		*out = pkm_web_error("--valid '%.64s' is not a duration from 1s to 30d", valid);
		return 400;
	}
	if (kind != NULL && strcmp(kind, "uuid") == 0 && text == NULL) {
		if (pkm_uuid_new(uuid) != 0) {
			*out = pkm_web_error("no random bytes for a UUID");
			return 500;
		}
		text = uuid;
	}
	if (text == NULL) {
		*out = pkm_web_error("which identity? (a domain, IPv4, IPv6 or UUID; or \"kind\": \"uuid\" for a new UUID)");
		return 400;
	}
	/* an addressable identity is enrolled only with proof that the requester controls it */
	if (dpk_identity_parse(text, strlen(text), &id) == 0 && id.kind != DPK_IDENTITY_UUID) {
		enum pkm_dcv_method m = method != NULL && strcmp(method, "dns") == 0 ? PKM_DCV_DNS : PKM_DCV_HTTP;

		dpk_identity_format(&id, canon, sizeof(canon));
		if (method != NULL && strcmp(method, "dns") != 0 && strcmp(method, "http") != 0) {
			*out = pkm_web_error("method '%.32s' is not http or dns", method);
			return 400;
		}
		if (token == NULL || pkm_web_dcv_find(q->w, canon, token) != 0) {
			snprintf(msg, sizeof(msg), "enrolling %s needs proof of control: ask for a challenge (POST /api/v1/dcv), "
			    "serve it, then enrol with its dcv_token", canon);
			pkm_web_audit(q->w, q->operator, q->source, "enrol", canon, "refused: no open DCV challenge");
			*out = pkm_web_error("%s", msg);
			return 403;
		}
		pkm_dcv_value(canon, token, q->p->sd.wallet.addr, value);
		if (pkm_dcv_check(canon, id.kind, token, value, m, q->p->cfg.dcv_deadline_ms, why, sizeof(why)) != 0) {
			char refused[1100];

			snprintf(msg, sizeof(msg), "control of %s is not proved (%s): %s", canon, m == PKM_DCV_DNS ? "dns" : "http",
			    why);
			snprintf(refused, sizeof(refused), "refused: %s", msg);
			pkm_web_audit(q->w, q->operator, q->source, "enrol", canon, refused);
			*out = pkm_web_error("%s", msg);
			return 403;
		}
		pkm_web_dcv_close(q->w, token);
	}
	dpk_buf_init(&file, 2 * DPK_TOKEN_MAX_FILE);
	r = pkm_enrol_issue(q->p, text, valid_ms, &file, &en, msg, sizeof(msg));
	if (r == 0 && pkm_web_token_keep(q->w, en.token_hex, file.data, file.len) != 0) {
		pkm_revoke_token(q->p, en.token_hex, why, sizeof(why));
		snprintf(msg, sizeof(msg), "too many token files wait for their download: download them first");
		r = PKM_FAILED;
	}
	dpk_buf_free(&file);
	if (r != 0) {
		char refused[1100];

		snprintf(refused, sizeof(refused), "refused: %s", msg);
		pkm_web_audit(q->w, q->operator, q->source, "enrol", text, refused);
		*out = pkm_web_error("%s", msg);
		return r == PKM_REFUSED ? 400 : 500;
	}
	pkm_web_audit(q->w, q->operator, q->source, "enrol", en.identity, en.token_hex);
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "token", en.token_hex);
	cJSON_AddStringToObject(*out, "identity", en.identity);
	cJSON_AddStringToObject(*out, "kind", dpk_identity_kind_name(en.kind));
	cJSON_AddNumberToObject(*out, "expires", (double)en.expires);
	snprintf(msg, sizeof(msg), "/api/v1/tokens/%s", en.token_hex);
	cJSON_AddStringToObject(*out, "download", msg);
	return 200;
}

/* --- withdrawing and revoking --- */

int
pkm_web_api_token_revoke(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	const char *hex = str(in, "token");
	char msg[512], refused[600];
	int r;

	if (hex == NULL) {
		*out = pkm_web_error("which token? (\"token\": its id, 32 hex digits)");
		return 400;
	}
	if ((r = pkm_revoke_token(q->p, hex, msg, sizeof(msg))) != 0) {
		snprintf(refused, sizeof(refused), "refused: %s", msg);
		pkm_web_audit(q->w, q->operator, q->source, "withdraw-token", hex, refused);
		*out = pkm_web_error("%s", msg);
		if (r == PKM_REFUSED && dpk_hex_decode_exact(hex, (uint8_t[16]){0}, 16) != 0)
			return 400;
		return r == PKM_REFUSED ? 409 : 500;
	}
	pkm_web_audit(q->w, q->operator, q->source, "withdraw-token", hex, "ok");
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "token", hex);
	cJSON_AddStringToObject(*out, "state", "revoked");
	return 200;
}

int
pkm_web_api_identity_revoke(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	const char *text = str(in, "identity");
	struct dpk_identity id;
	struct dpk_registry_record rec;
	struct dpk_rpc *rpc = NULL;
	struct dpk_buf data;
	struct pkm_sent sent;
	uint8_t hash[32];
	char canon[DPK_IDENTITY_FORMAT_SIZE], msg[600], appr[43], hex[67], outcome[700];
	int r, status;

	memset(&rec, 0, sizeof(rec));
	if (text == NULL || dpk_identity_parse(text, strlen(text), &id) != 0) {
		*out = pkm_web_error("'%.256s' is not a DPK identity (a domain name, IPv4 or IPv6 address, or UUID)",
		    text != NULL ? text : "");
		return 400;
	}
	dpk_identity_format(&id, canon, sizeof(canon));
	dpk_identity_hash(&id, hash);
	if ((r = pkm_rpc_new(q->p, &rpc)) != 0) {
		*out = pkm_web_error("cannot set up the JSON-RPC client: %s", dpk_strerror(r));
		return 500;
	}
	r = dpk_registry_get_client(rpc, q->p->cfg.contract, &id, &rec);
	if (r == DPK_ERR_NOTFOUND) {
		snprintf(msg, sizeof(msg), "%s is not registered on chain: there is nothing to revoke", canon);
		status = 404;
	} else if (r != 0) {
		snprintf(msg, sizeof(msg), "cannot read %s from the registry: %s (%s)", canon, dpk_strerror(r),
		    dpk_rpc_last_error(rpc));
		status = 503;
	} else if (rec.status == DPK_REGISTRY_REVOKED) {
		snprintf(msg, sizeof(msg), "%s is revoked already", canon);
		status = 409;
	} else if (memcmp(rec.approver, q->p->sd.wallet.addr, 20) != 0) {
		dpk_wallet_address_format(rec.approver, appr);
		snprintf(msg, sizeof(msg), "%s was approved by %s, not by this PKM: only that approver or the registry's "
		    "owner may revoke it", canon, appr);
		status = 403;
	} else {
		dpk_buf_init(&data, 1024);
		r = dpk_registry_encode_revoke(&data, hash);
		struct dpk_txsend req = {.to = q->p->cfg.contract, .data = data.data, .data_len = data.len};
		if (r == 0)
			r = pkm_chain_send(q->chain, rpc, NULL, "revoke", NULL, &req, (uint64_t)q->p->cfg.request_timeout_ms * 2 / 3,
			    &sent, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "cannot encode revoke: %s", dpk_strerror(r));
		dpk_buf_free(&data);
		status = r == 0 ? 200 : r == DPK_ERR_REVERT ? 409 : 503;
	}
	dpk_registry_record_free(&rec);
	dpk_rpc_free(rpc);
	if (status != 200) {
		snprintf(outcome, sizeof(outcome), "refused: %s", msg);
		pkm_web_audit(q->w, q->operator, q->source, "revoke-identity", canon, outcome);
		*out = pkm_web_error("%s", msg);
		return status;
	}
	dpk_hex_encode(sent.hash, 32, 1, hex, sizeof(hex));
	snprintf(outcome, sizeof(outcome), "transaction %s %s", hex, sent.mined ? "mined" : "sent");
	pkm_web_audit(q->w, q->operator, q->source, "revoke-identity", canon, outcome);
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "identity", canon);
	cJSON_AddStringToObject(*out, "transaction", hex);
	cJSON_AddBoolToObject(*out, "mined", sent.mined);
	return 200;
}

/* --- the PKM itself, the audit log --- */

int
pkm_web_api_pkm(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	struct dpk_rpc *rpc = NULL;
	struct dpk_buf pem, key, cur;
	struct dpk_u256 bal;
	char addr[43], contract[43], dec[79];
	cJSON *ops;

	(void)in;
	*out = cJSON_CreateObject();
	dpk_wallet_address_format(q->p->sd.wallet.addr, addr);
	dpk_wallet_address_format(q->p->cfg.contract, contract);
	cJSON_AddStringToObject(*out, "wallet", addr);
	cJSON_AddStringToObject(*out, "contract", contract);
	cJSON_AddNumberToObject(*out, "chain_id", (double)q->p->cfg.chain_id);
	cJSON_AddStringToObject(*out, "endpoint", q->p->cfg.public_endpoint);
	cJSON_AddStringToObject(*out, "web_identity", q->p->cfg.web_identity);
	ops = cJSON_AddArrayToObject(*out, "operators");
	for (size_t i = 0; i < q->p->cfg.n_operators; i++)
		cJSON_AddItemToArray(ops, cJSON_CreateString(q->p->cfg.operators[i]));
	dpk_buf_init(&pem, 4096);
	dpk_buf_init(&key, 4096);
	dpk_buf_init(&cur, 4096);
	if (dpk_idkey_public_pem(q->p->sd.idkey, &pem) == 0 && dpk_buf_cstr(&pem) == 0)
		cJSON_AddStringToObject(*out, "key_pem", (const char *)pem.data);
	if (pkm_rpc_new(q->p, &rpc) == 0) {
		if (dpk_rpc_balance(rpc, q->p->sd.wallet.addr, DPK_RPC_LATEST, &bal) == 0) {
			dpk_u256_to_dec(&bal, dec);
			cJSON_AddStringToObject(*out, "balance_wei", dec);
		}
		if (dpk_idkey_public_onchain(q->p->sd.idkey, &key) == 0 &&
		    dpk_registry_get_pkm_key(rpc, q->p->cfg.contract, q->p->sd.wallet.addr, &cur) == 0)
			cJSON_AddBoolToObject(*out, "key_published", cur.len == key.len && memcmp(cur.data, key.data, key.len) == 0);
		else
			cJSON_AddBoolToObject(*out, "key_published", 0);
		dpk_rpc_free(rpc);
	}
	dpk_buf_free(&pem);
	dpk_buf_free(&key);
	dpk_buf_free(&cur);
	return 200;
}

int
pkm_web_api_audit(struct pkm_web_req *q, const cJSON *in, cJSON **out)
{
	(void)in;
	*out = cJSON_CreateObject();
	cJSON_AddItemToObject(*out, "lines", pkm_web_audit_tail(q->w, 500));
	return 200;
}
