/* dpk-pkm serve against a real anvil with the registry deployed. The PKM
 * runs as a real process (init, enrol, revoke-token, serve); this test is the
 * device: it reads the token file and speaks the device-to-PKM channel
 * (doc/protocol.md) over lib/tlspsk. Covers funding (once per token, bound to
 * one wallet), the EIP-712 approval, the relayed one-block registration
 * and the paper's addClient + APPROVE flow with their refusals, tokens that must fail the handshake, a crash
 * between journalling a transaction and sending it, and load: a client that
 * trickles its TLS handshake is dropped at handshake_timeout (a total, not
 * per read), and one address gets max_connections_per_address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "registry/registry.h"
#include "enrol/tlspsk.h"
#include "enrol/token.h"
#include "eth/txsend.h"

#define FUND_WEI 10000000000000000ULL /* pkm.conf fund_amount below */
#define MSG_FUND 0x11
#define MSG_APPROVE 0x12
#define MSG_SIGN 0x13
#define MSG_RELAY 0x14
#define MSG_FAILURE 0x7f

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner;
	uint8_t contract[20], pkm_addr[20];
	char dir[64], conf[128], log[128], port[8];
	int portnum;
	pid_t pkm;
};

struct reply {
	uint8_t type;
	uint32_t code;        /* FAILURE */
	char msg[512];        /* FAILURE */
	uint8_t hash[32];     /* FUND, APPROVE */
	int mined;
	uint64_t expiry;      /* SIGN_REGISTRATION */
	uint8_t nonce[32], sig[65];
};

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
send_tx(struct env *e, const struct dpk_wallet *from, const uint8_t *to, uint64_t value, struct dpk_buf *data)
{
	struct dpk_txsend req = {.to = to, .data = data ? data->data : NULL, .data_len = data ? data->len : 0};
	struct dpk_rpc_receipt rc;
	char why[256] = "";
	int r;

	dpk_u256_from_u64(&req.value, value);
	r = dpk_txsend(e->rpc, from, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc);
	if (r == DPK_ERR_REVERT)
		dpk_registry_last_revert(e->rpc, why, sizeof(why));
	if (r != 0)
		fail_msg("transaction failed: %s %s %s", dpk_strerror(r), why, dpk_rpc_last_error(e->rpc));
	assert_int_equal(rc.status, 1);
	dpk_rpc_receipt_free(&rc);
	if (data)
		dpk_buf_reset(data);
}

static uint64_t
balance(struct env *e, const uint8_t addr[20])
{
	struct dpk_u256 b;
	uint64_t v;

	assert_int_equal(dpk_rpc_balance(e->rpc, addr, DPK_RPC_LATEST, &b), 0);
	assert_int_equal(dpk_u256_to_u64(&b, &v), 0);
	return v;
}

static uint64_t
nonce_of(struct env *e, const uint8_t addr[20])
{
	uint64_t n;

	assert_int_equal(dpk_rpc_nonce(e->rpc, addr, DPK_RPC_LATEST, &n), 0);
	return n;
}

/* Run dpk-pkm -c conf ARGS; its stdout into out (may be NULL); the exit status. */
static int
run_pkm(struct env *e, struct dpk_buf *out, const char *a1, const char *a2, const char *a3, const char *a4,
    const char *a5)
{
	char prog[512];

	dpk_test_built("pkm/dpk-pkm", prog, sizeof(prog));
	char *argv[] = {prog, (char *)"-c", e->conf, (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL};
	return dpk_test_run(argv, NULL, out);
}

static void
start_pkm(struct env *e)
{
	char prog[512];

	dpk_test_built("pkm/dpk-pkm", prog, sizeof(prog));
	char *argv[] = {prog, (char *)"-c", e->conf, (char *)"serve", NULL};
	e->pkm = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_port(e->portnum, 30000) != 0)
		fail_msg("dpk-pkm serve did not start (see %s)", e->log);
}

/* SIGTERM: a clean stop, exit status 0. */
static void
stop_pkm(struct env *e)
{
	kill(e->pkm, SIGTERM);
	assert_int_equal(dpk_test_wait_exit(e->pkm, 20000), 0);
	e->pkm = 0;
}

static void
wallet_from_hex(const char *hex, struct dpk_wallet *w)
{
	uint8_t priv[32];

	assert_int_equal(dpk_hex_decode_exact(hex, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(w, priv), 0);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url, *w;
	struct dpk_buf out, data;
	char addr[43];
	FILE *f;

	dpk_test_anvil_start(&e->anvil, NULL);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	wallet_from_hex(DPK_TEST_DEV_KEY, &e->owner);
	assert_int_equal(dpk_registry_deploy(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, 30000, NULL, NULL, e->contract), 0);

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/pkm.conf", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/pkm.log", e->dir);
	e->portnum = dpk_test_free_port();
	snprintf(e->port, sizeof(e->port), "%d", e->portnum);
	dpk_wallet_address_format(e->contract, addr);
	f = fopen(e->conf, "w");
	assert_non_null(f);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nlisten = 127.0.0.1:%s\n"
	    "fund_amount = %llu\nrpc_timeout = 2s\nrequest_timeout = 15s\nmax_connections = 4\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->port, (unsigned long long)FUND_WEI);
	fclose(f);

	/* the operator: init, fund the PKM's wallet, make it an approver */
	dpk_buf_init(&out, 1 << 20);
	assert_int_equal(run_pkm(e, &out, "init", NULL, NULL, NULL, NULL), 0);
	assert_int_equal(dpk_buf_cstr(&out), 0);
	w = strstr((const char *)out.data, "wallet: ");
	assert_non_null(w);
	assert_int_equal(dpk_wallet_address_parse_n(w + 8, 42, e->pkm_addr), 0);
	dpk_buf_free(&out);
	send_tx(e, &e->owner, e->pkm_addr, 10ULL * 1000000000000000000ULL, NULL);
	dpk_buf_init(&data, 4096);
	assert_int_equal(dpk_registry_encode_add_approver(&data, e->pkm_addr), 0);
	send_tx(e, &e->owner, e->contract, 0, &data);
	dpk_buf_free(&data);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->pkm > 0) {
		kill(e->pkm, SIGKILL);
		waitpid(e->pkm, NULL, 0);
	}
	if (getenv("DPK_TEST_VERBOSE") != NULL) { /* the PKM's log, for debugging */
		char line[1024];
		FILE *f = fopen(e->log, "r");

		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			fputs(line, stderr);
		if (f != NULL)
			fclose(f);
	}
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* dpk-pkm enrol IDENTITY; the token file read back as the device reads it. */
static void
enrol(struct env *e, const char *identity, const char *valid, struct dpk_token *t)
{
	static int n;
	char path[128], err[256], text[DPK_TOKEN_MAX_FILE];
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/token-%d.txt", e->dir, n++);
	if (valid) {
		char prog[512];

		dpk_test_built("pkm/dpk-pkm", prog, sizeof(prog));
		char *argv[] = {prog, (char *)"-c", e->conf, (char *)"enrol", (char *)identity, (char *)"--out", path,
			(char *)"--valid", (char *)valid, NULL};
		assert_int_equal(dpk_test_run(argv, NULL, NULL), 0);
	} else {
		assert_int_equal(run_pkm(e, NULL, "enrol", identity, "--out", path, NULL), 0);
	}
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (dpk_token_parse(text, len, t, err, sizeof(err)) != 0)
		fail_msg("token file %s: %s", path, err);
	explicit_bzero(text, sizeof(text));
}

/* One request over a fresh TLS-PSK connection with the token's identity and
 * key. Returns the connect / transport error, or 0 with *rep filled. */
static int
request_key(struct env *e, const struct dpk_token *t, const uint8_t *key, uint8_t type, const void *body, size_t len,
    struct reply *rep)
{
	struct dpk_tlspsk_conn *c;
	struct dpk_buf b;
	char ident[43];
	const uint8_t *p;
	int r;

	memset(rep, 0, sizeof(*rep));
	dpk_token_psk_identity(t, ident);
	if ((r = dpk_tlspsk_connect("127.0.0.1", e->port, ident, key, 32, 20000, &c)) != 0)
		return r;
	dpk_buf_init(&b, 65536);
	if ((r = dpk_tlspsk_send(c, type, body, len)) == 0)
		r = dpk_tlspsk_recv(c, &rep->type, &b);
	dpk_tlspsk_close(c);
	if (r != 0) {
		dpk_buf_free(&b);
		return r;
	}
	struct dpk_cursor cur;
	uint32_t l;

	dpk_cursor_init(&cur, b.data, b.len);
	if (rep->type == MSG_FAILURE) {
		assert_int_equal(dpk_cursor_get_be32(&cur, &rep->code), 0);
		assert_int_equal(dpk_cursor_get_be32(&cur, &l), 0);
		assert_true(l < sizeof(rep->msg));
		assert_int_equal(dpk_cursor_take(&cur, l, &p), 0);
		memcpy(rep->msg, p, l);
	} else if (rep->type == (type | 0x80) && type != MSG_SIGN) {
		assert_int_equal(dpk_cursor_get_be32(&cur, &l), 0);
		assert_int_equal(l, 32);
		assert_int_equal(dpk_cursor_take(&cur, 32, &p), 0);
		memcpy(rep->hash, p, 32);
		uint8_t m;
		assert_int_equal(dpk_cursor_get_u8(&cur, &m), 0);
		rep->mined = m;
	} else if (rep->type == (type | 0x80)) {
		assert_int_equal(dpk_cursor_get_be64(&cur, &rep->expiry), 0);
		assert_int_equal(dpk_cursor_get_be32(&cur, &l), 0);
		assert_int_equal(l, 32);
		assert_int_equal(dpk_cursor_take(&cur, 32, &p), 0);
		memcpy(rep->nonce, p, 32);
		assert_int_equal(dpk_cursor_get_be32(&cur, &l), 0);
		assert_int_equal(l, 65);
		assert_int_equal(dpk_cursor_take(&cur, 65, &p), 0);
		memcpy(rep->sig, p, 65);
	} else {
		fail_msg("unexpected reply type 0x%02x", rep->type);
	}
	assert_int_equal(dpk_cursor_done(&cur), 0);
	dpk_buf_free(&b);
	return 0;
}

static int
request(struct env *e, const struct dpk_token *t, uint8_t type, const void *body, size_t len, struct reply *rep)
{
	return request_key(e, t, t->secret, type, body, len, rep);
}

/* FUND / APPROVE body: string wallet. */
static int
wallet_request(struct env *e, const struct dpk_token *t, uint8_t type, const uint8_t wallet[20], struct reply *rep)
{
	uint8_t body[24] = {0, 0, 0, 20};

	memcpy(body + 4, wallet, 20);
	return request(e, t, type, body, sizeof(body), rep);
}

static int
sign_request(struct env *e, const struct dpk_token *t, const uint8_t wallet[20], const uint8_t pub[65],
    struct reply *rep)
{
	uint8_t body[4 + 20 + 1 + 4 + 65] = {0, 0, 0, 20};

	memcpy(body + 4, wallet, 20);
	body[24] = DPK_REGISTRY_ALG_P256;
	body[28] = 65;
	memcpy(body + 29, pub, 65);
	return request(e, t, MSG_SIGN, body, sizeof(body), rep);
}

static void
new_key(uint8_t pub[65])
{
	struct dpk_idkey *k;
	struct dpk_buf b;

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&b, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &b), 0);
	assert_int_equal(b.len, 65);
	memcpy(pub, b.data, 65);
	dpk_buf_free(&b);
	dpk_idkey_free(k);
}

static void
new_wallet(struct dpk_wallet *w)
{
	assert_int_equal(dpk_wallet_generate(w), 0);
}

/* FUND, asserting success and that the wallet got fund_amount exactly once. */
static void
fund_ok(struct env *e, const struct dpk_token *t, const struct dpk_wallet *w, struct reply *rep)
{
	assert_int_equal(wallet_request(e, t, MSG_FUND, w->addr, rep), 0);
	if (rep->type == MSG_FAILURE)
		fail_msg("FUND refused: %s", rep->msg);
	assert_int_equal(rep->type, MSG_FUND | 0x80);
	assert_int_equal(rep->mined, 1);
}

static void
test_fund(void **state)
{
	struct env *e = *state;
	struct dpk_token t;
	struct dpk_wallet dev, other;
	struct reply r1, r2, r3;
	struct dpk_buf key;
	uint64_t pkm_nonce;

	start_pkm(e);
	/* serve published the PKM's key at start: the token verifies with it */
	dpk_buf_init(&key, 4096);
	assert_int_equal(dpk_registry_get_pkm_key(e->rpc, e->contract, e->pkm_addr, &key), 0);
	assert_int_equal(key.len, 65);
	enrol(e, "device1.example.org", NULL, &t);
	assert_int_equal(dpk_token_verify(&t, DPK_IDKEY_P256, key.data, key.len, (uint64_t)time(NULL)), 0);
	dpk_buf_free(&key);

	new_wallet(&dev);
	new_wallet(&other);
	pkm_nonce = nonce_of(e, e->pkm_addr);
	fund_ok(e, &t, &dev, &r1);
	assert_int_equal(balance(e, dev.addr), FUND_WEI);
	/* again: the same transaction, nothing more sent */
	fund_ok(e, &t, &dev, &r2);
	assert_memory_equal(r1.hash, r2.hash, 32);
	assert_int_equal(balance(e, dev.addr), FUND_WEI);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce + 1);

	/* the same token from another wallet: refused, code 21 (exists) */
	assert_int_equal(wallet_request(e, &t, MSG_FUND, other.addr, &r3), 0);
	assert_int_equal(r3.type, MSG_FAILURE);
	assert_int_equal(r3.code, 21);
	assert_non_null(strstr(r3.msg, "is bound to wallet"));
	assert_int_equal(balance(e, other.addr), 0);

	/* malformed: a 19-byte wallet; an unknown request type */
	uint8_t bad[23] = {0, 0, 0, 19};
	assert_int_equal(request(e, &t, MSG_FUND, bad, sizeof(bad), &r3), 0);
	assert_int_equal(r3.type, MSG_FAILURE);
	assert_int_equal(r3.code, 10);
	assert_int_equal(request(e, &t, 0x30, NULL, 0, &r3), 0);
	assert_int_equal(r3.type, MSG_FAILURE);
	assert_int_equal(r3.code, 20);
	dpk_token_clear(&t);
	stop_pkm(e);
}

static void
register_with(struct env *e, const struct dpk_wallet *dev, const char *identity, const uint8_t pub[65],
    const struct reply *a)
{
	struct dpk_identity id;
	struct dpk_u256 nonce;
	struct dpk_buf data;

	assert_int_equal(dpk_identity_parse(identity, strlen(identity), &id), 0);
	assert_int_equal(dpk_u256_from_be(&nonce, a->nonce, 32), 0);
	dpk_buf_init(&data, 8192);
	assert_int_equal(dpk_registry_encode_register(&data, &id, DPK_REGISTRY_ALG_P256, pub, 65, a->expiry, &nonce, a->sig), 0);
	send_tx(e, dev, e->contract, 0, &data);
	dpk_buf_free(&data);
}

static void
assert_active(struct env *e, const char *identity, const uint8_t pub[65], const uint8_t controller[20])
{
	struct dpk_identity id;
	struct dpk_registry_record rec;

	assert_int_equal(dpk_identity_parse(identity, strlen(identity), &id), 0);
	assert_int_equal(dpk_registry_get_client(e->rpc, e->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_int_equal(rec.publen, 65);
	assert_memory_equal(rec.pubkey, pub, 65);
	assert_memory_equal(rec.controller, controller, 20);
	dpk_registry_record_free(&rec);
}

static void
assert_not_registered(struct env *e, const char *identity)
{
	struct dpk_identity id;
	struct dpk_registry_record rec;

	assert_int_equal(dpk_identity_parse(identity, strlen(identity), &id), 0);
	assert_int_equal(dpk_registry_get_client(e->rpc, e->contract, &id, &rec), DPK_ERR_NOTFOUND);
}

static void
test_sign_registration(void **state)
{
	struct env *e = *state;
	struct dpk_token t;
	struct dpk_wallet dev;
	struct reply f, a1, a2, a3;
	uint8_t pub[65], pub2[65];
	uint64_t now = (uint64_t)time(NULL);

	start_pkm(e);
	enrol(e, "10.20.30.40", NULL, &t);
	wallet_from_hex("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a", &dev);
	new_key(pub);
	new_key(pub2);
	fund_ok(e, &t, &dev, &f);

	assert_int_equal(sign_request(e, &t, dev.addr, pub, &a1), 0);
	if (a1.type == MSG_FAILURE)
		fail_msg("SIGN_REGISTRATION refused: %s", a1.msg);
	assert_int_equal(a1.type, MSG_SIGN | 0x80);
	assert_true(a1.expiry >= now + 3500 && a1.expiry <= now + 3700); /* approval_validity 1 h */
	assert_int_equal(a1.sig[64] == 27 || a1.sig[64] == 28, 1);

	/* the device sends register() with it: the key is active */
	register_with(e, &dev, "10.20.30.40", pub, &a1);
	assert_active(e, "10.20.30.40", pub, dev.addr);

	/* asked again with the same key: the same approval */
	assert_int_equal(sign_request(e, &t, dev.addr, pub, &a2), 0);
	assert_int_equal(a2.type, MSG_SIGN | 0x80);
	assert_int_equal(a2.expiry, a1.expiry);
	assert_memory_equal(a2.nonce, a1.nonce, 32);
	assert_memory_equal(a2.sig, a1.sig, 65);
	/* with another key: refused */
	assert_int_equal(sign_request(e, &t, dev.addr, pub2, &a3), 0);
	assert_int_equal(a3.type, MSG_FAILURE);
	assert_int_equal(a3.code, 21);
	assert_non_null(strstr(a3.msg, "another key"));
	/* and the used token cannot approve a pending request either */
	assert_int_equal(wallet_request(e, &t, MSG_APPROVE, dev.addr, &a3), 0);
	assert_int_equal(a3.type, MSG_FAILURE);
	assert_int_equal(a3.code, 21);
	/* a key that is not a P-256 point */
	uint8_t junk[65];
	memset(junk, 0x04, sizeof(junk));
	assert_int_equal(sign_request(e, &t, dev.addr, junk, &a3), 0);
	assert_int_equal(a3.type, MSG_FAILURE);
	assert_non_null(strstr(a3.msg, "not a valid"));
	dpk_token_clear(&t);
}

/* RELAY body: string wallet, u8 algorithm, string key, u64 expiry, string
 * nonce (32), string signature: signer's signature of the request of
 * dev (controller) for approver, nonce = version. */
static int
relay_request(struct env *e, const struct dpk_token *t, const struct dpk_wallet *dev,
    const struct dpk_wallet *signer, const uint8_t approver[20], const char *identity, const uint8_t pub[65],
    uint64_t expiry, uint64_t version, struct reply *rep)
{
	uint8_t body[4 + 20 + 1 + 4 + 65 + 8 + 4 + 32 + 4 + 65], idh[32], digest[32], sig[65];
	struct dpk_identity id;
	struct dpk_u256 n;
	size_t o = 0;

	assert_int_equal(dpk_identity_parse(identity, strlen(identity), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, idh), 0);
	dpk_u256_from_u64(&n, version);
	assert_int_equal(dpk_registry_relayed_digest(DPK_TEST_CHAIN_ID, e->contract, idh, pub, 65, DPK_REGISTRY_ALG_P256,
			     dev->addr, approver, expiry, &n, digest),
	    0);
	assert_int_equal(dpk_wallet_sign(signer, digest, sig), 0);
	sig[64] = (uint8_t)(sig[64] + 27);
	memset(body, 0, sizeof(body));
	body[o + 3] = 20;
	memcpy(body + o + 4, dev->addr, 20);
	o += 24;
	body[o++] = DPK_REGISTRY_ALG_P256;
	body[o + 3] = 65;
	memcpy(body + o + 4, pub, 65);
	o += 69;
	for (int i = 0; i < 8; i++)
		body[o++] = (uint8_t)(expiry >> (56 - 8 * i));
	body[o + 3] = 32;
	memcpy(body + o + 4, n.be, 32);
	o += 36;
	body[o + 3] = 65;
	memcpy(body + o + 4, sig, 65);
	o += 69;
	assert_int_equal(o, sizeof(body));
	return request(e, t, MSG_RELAY, body, sizeof(body), rep);
}

/* RELAY: the device's wallet holds nothing and sends nothing; the PKM sends
 * the one transaction. Refused: a forged signature, a request signed for
 * another PKM, an expired one, a second request on a used token, and the
 * same request replayed under another token (the contract's StaleNonce). */
static void
test_relay(void **state)
{
	struct env *e = *state;
	struct dpk_token t, t2;
	struct dpk_wallet dev, other;
	struct reply r1, r2, r3;
	uint8_t pub[65], pub2[65];
	uint64_t expiry = (uint64_t)time(NULL) + 3600, pkm_nonce;
	const char *who = "relay.example.org";

	start_pkm(e);
	enrol(e, who, NULL, &t);
	new_wallet(&dev);
	new_wallet(&other);
	new_key(pub);
	new_key(pub2);
	pkm_nonce = nonce_of(e, e->pkm_addr);

	/* forged: another key's signature over the device's request */
	assert_int_equal(relay_request(e, &t, &dev, &other, e->pkm_addr, who, pub, expiry, 0, &r1), 0);
	assert_int_equal(r1.type, MSG_FAILURE);
	assert_int_equal(r1.code, 12);
	assert_non_null(strstr(r1.msg, "not signed by wallet"));
	/* signed for another PKM: this one does not relay what it was not asked for */
	assert_int_equal(relay_request(e, &t, &dev, &dev, other.addr, who, pub, expiry, 0, &r1), 0);
	assert_int_equal(r1.type, MSG_FAILURE);
	assert_int_equal(r1.code, 12);
	/* expired */
	assert_int_equal(relay_request(e, &t, &dev, &dev, e->pkm_addr, who, pub, 1000, 0, &r1), 0);
	assert_int_equal(r1.type, MSG_FAILURE);
	assert_int_equal(r1.code, 24);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce); /* nothing sent */

	/* the request: one transaction, from the PKM */
	assert_int_equal(relay_request(e, &t, &dev, &dev, e->pkm_addr, who, pub, expiry, 0, &r1), 0);
	if (r1.type == MSG_FAILURE)
		fail_msg("RELAY refused: %s", r1.msg);
	assert_int_equal(r1.type, MSG_RELAY | 0x80);
	assert_int_equal(r1.mined, 1);
	assert_active(e, who, pub, dev.addr);
	assert_int_equal(balance(e, dev.addr), 0);
	assert_int_equal(nonce_of(e, dev.addr), 0);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce + 1);
	/* asked again (a device that restarted): the same transaction, nothing sent */
	assert_int_equal(relay_request(e, &t, &dev, &dev, e->pkm_addr, who, pub, expiry, 0, &r2), 0);
	assert_int_equal(r2.type, MSG_RELAY | 0x80);
	assert_memory_equal(r2.hash, r1.hash, 32);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce + 1);
	/* another request on the used token */
	assert_int_equal(relay_request(e, &t, &dev, &dev, e->pkm_addr, who, pub2, expiry, 1, &r3), 0);
	assert_int_equal(r3.type, MSG_FAILURE);
	assert_int_equal(r3.code, 21);
	/* the first request replayed under a second token: its nonce is stale */
	enrol(e, who, NULL, &t2);
	assert_int_equal(relay_request(e, &t2, &dev, &dev, e->pkm_addr, who, pub, expiry, 0, &r3), 0);
	assert_int_equal(r3.type, MSG_FAILURE);
	assert_non_null(strstr(r3.msg, "StaleNonce"));
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce + 1);
	dpk_token_clear(&t);
	dpk_token_clear(&t2);
	stop_pkm(e);
}

/* The device's addClient(identity, key, token hash). */
static void
add_client(struct env *e, const struct dpk_wallet *dev, const char *identity, const uint8_t pub[65],
    const uint8_t token_hash[32])
{
	struct dpk_identity id;
	struct dpk_buf data;

	assert_int_equal(dpk_identity_parse(identity, strlen(identity), &id), 0);
	dpk_buf_init(&data, 8192);
	assert_int_equal(dpk_registry_encode_add_client(&data, &id, DPK_REGISTRY_ALG_P256, pub, 65, token_hash), 0);
	send_tx(e, dev, e->contract, 0, &data);
	dpk_buf_free(&data);
}

static void
test_approve_paper_flow(void **state)
{
	struct env *e = *state;
	struct dpk_token t1, t2, t3;
	struct dpk_wallet w1, w2, w3;
	struct reply f, a, a2;
	struct dpk_registry_pending pend;
	uint8_t pub[65], h[32];

	start_pkm(e);
	enrol(e, "paper.example.org", NULL, &t1);
	enrol(e, "second.example.org", NULL, &t2);
	enrol(e, "third.example.org", NULL, &t3);
	new_wallet(&w1);
	new_wallet(&w2);
	new_wallet(&w3);
	new_key(pub);

	/* happy path: funded, addClient with the token's hash, APPROVE */
	fund_ok(e, &t1, &w1, &f);
	dpk_token_hash(&t1, h);
	add_client(e, &w1, "paper.example.org", pub, h);
	assert_int_equal(wallet_request(e, &t1, MSG_APPROVE, w1.addr, &a), 0);
	if (a.type == MSG_FAILURE)
		fail_msg("APPROVE refused: %s", a.msg);
	assert_int_equal(a.type, MSG_APPROVE | 0x80);
	assert_int_equal(a.mined, 1);
	assert_active(e, "paper.example.org", pub, w1.addr);
	/* again: the same transaction */
	assert_int_equal(wallet_request(e, &t1, MSG_APPROVE, w1.addr, &a2), 0);
	assert_int_equal(a2.type, MSG_APPROVE | 0x80);
	assert_memory_equal(a.hash, a2.hash, 32);

	/* the pending record names another identity than the token's */
	fund_ok(e, &t2, &w2, &f);
	dpk_token_hash(&t2, h);
	add_client(e, &w2, "someone-else.example.org", pub, h);
	assert_int_equal(wallet_request(e, &t2, MSG_APPROVE, w2.addr, &a), 0);
	assert_int_equal(a.type, MSG_FAILURE);
	assert_non_null(strstr(a.msg, "another identity"));
	assert_not_registered(e, "someone-else.example.org");
	assert_not_registered(e, "second.example.org");
	assert_int_equal(dpk_registry_get_pending(e->rpc, e->contract, w2.addr, &pend), 0); /* still pending */
	dpk_registry_pending_free(&pend);

	/* the pending record carries another token's hash */
	fund_ok(e, &t3, &w3, &f);
	dpk_token_hash(&t2, h);
	add_client(e, &w3, "third.example.org", pub, h);
	assert_int_equal(wallet_request(e, &t3, MSG_APPROVE, w3.addr, &a), 0);
	assert_int_equal(a.type, MSG_FAILURE);
	assert_non_null(strstr(a.msg, "another token hash"));
	assert_not_registered(e, "third.example.org");

	/* no pending record at all (w1's was approved and consumed) is refused
	 * for a fresh token too */
	dpk_token_clear(&t1);
	dpk_token_clear(&t2);
	dpk_token_clear(&t3);
}

static void
test_bad_tokens(void **state)
{
	struct env *e = *state;
	struct dpk_token good, unknown, revoked, expired;
	struct dpk_wallet w;
	struct reply rep;
	uint8_t wrong[32];
	char idhex[33];

	start_pkm(e);
	new_wallet(&w);
	enrol(e, "good.example.org", NULL, &good);
	enrol(e, "revoked.example.org", NULL, &revoked);
	enrol(e, "expired.example.org", "1s", &expired);

	/* wrong secret: the handshake fails */
	memcpy(wrong, good.secret, 32);
	wrong[0] ^= 1;
	assert_int_not_equal(request_key(e, &good, wrong, MSG_FUND, NULL, 0, &rep), 0);
	/* an id the PKM never issued */
	unknown = good;
	assert_int_equal(getrandom(unknown.id, sizeof(unknown.id), 0), (ssize_t)sizeof(unknown.id));
	assert_int_not_equal(wallet_request(e, &unknown, MSG_FUND, w.addr, &rep), 0);
	/* revoked by the operator */
	dpk_hex_encode(revoked.id, 16, 0, idhex, sizeof(idhex));
	assert_int_equal(run_pkm(e, NULL, "revoke-token", idhex, NULL, NULL, NULL), 0);
	assert_int_not_equal(wallet_request(e, &revoked, MSG_FUND, w.addr, &rep), 0);
	/* expired */
	sleep_ms(2100);
	assert_int_not_equal(wallet_request(e, &expired, MSG_FUND, w.addr, &rep), 0);
	assert_int_equal(balance(e, w.addr), 0);
	/* and the good one still works */
	fund_ok(e, &good, &w, &rep);
	assert_int_equal(balance(e, w.addr), FUND_WEI);
	dpk_token_clear(&good);
	dpk_token_clear(&unknown);
	dpk_token_clear(&revoked);
	dpk_token_clear(&expired);
}

static void
test_crash_after_journal(void **state)
{
	struct env *e = *state;
	struct dpk_token t;
	struct dpk_wallet w;
	struct reply r1, r2;
	uint64_t pkm_nonce;

	/* first run publishes the key; the crash run then goes straight to FUND */
	start_pkm(e);
	stop_pkm(e);
	enrol(e, "crash.example.org", NULL, &t);
	new_wallet(&w);
	pkm_nonce = nonce_of(e, e->pkm_addr);

	setenv("DPK_PKM_TEST_CRASH", "after-journal", 1);
	start_pkm(e);
	unsetenv("DPK_PKM_TEST_CRASH");
	assert_int_not_equal(wallet_request(e, &t, MSG_FUND, w.addr, &r1), 0); /* the PKM died mid-request */
	assert_int_equal(dpk_test_wait_exit(e->pkm, 10000), 99);
	e->pkm = 0;
	assert_int_equal(balance(e, w.addr), 0);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce);

	/* restarted without the hook: the journalled transaction is the one sent */
	start_pkm(e);
	fund_ok(e, &t, &w, &r1);
	fund_ok(e, &t, &w, &r2);
	assert_memory_equal(r1.hash, r2.hash, 32);
	assert_int_equal(balance(e, w.addr), FUND_WEI);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce + 1);
	dpk_token_clear(&t);
	stop_pkm(e);
}

static void add_conf(struct env *e, const char *lines);

/* The PKM log's lines about transactions of purpose (the trace the test
 * prints); the hashes of those lines containing what, in order, into hashes. */
static size_t
log_hashes(struct env *e, const char *purpose, const char *what, uint8_t hashes[][32], size_t max, int print)
{
	char line[1024], needle[64];
	size_t n = 0;
	FILE *f = fopen(e->log, "r");

	assert_non_null(f);
	snprintf(needle, sizeof(needle), ": %s transaction 0x", purpose);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *h = strstr(line, needle);

		if (h == NULL)
			continue;
		if (print)
			printf("  %s", strstr(line, "transaction"));
		size_t got;

		if (strstr(line, what) != NULL && n < max &&
		    dpk_hex_decode(h + strlen(needle), 64, hashes[n], 32, &got) == 0 && got == 32)
			n++;
	}
	fclose(f);
	return n;
}

static int
mined(struct env *e, const uint8_t hash[32])
{
	struct dpk_rpc_receipt rc;

	if (dpk_rpc_receipt(e->rpc, hash, &rc) != 0)
		return 0;
	dpk_rpc_receipt_free(&rc);
	return 1;
}

/* A fee spike leaves the PKM's FUND transaction pending; the PKM replaces
 * it (same nonce, fees bumped within max_fee_per_gas), dies right after
 * journalling the replacement, and after a restart the journal's newest
 * version is followed and replaced again at the network's fee: the device
 * is funded once, the PKM's nonce advances by one. */
static void
test_fund_replaced(void **state)
{
	struct env *e = *state;
	struct dpk_token t;
	struct dpk_wallet w;
	struct reply r1;
	uint8_t sent[4][32], repl[4][32];
	uint64_t pkm_nonce;
	size_t ns, nr;

	add_conf(e, "max_fee_per_gas = 500 gwei\nreplace_after = 2s\n");
	start_pkm(e);
	stop_pkm(e);
	enrol(e, "spike.example.org", NULL, &t);
	new_wallet(&w);
	pkm_nonce = nonce_of(e, e->pkm_addr);

	/* nothing is mined: the first send stays pending; at replace_after the
	 * PKM journals a replacement and dies before sending it */
	dpk_test_node_call(e->rpc, "evm_setAutomine", "false");
	setenv("DPK_PKM_TEST_CRASH", "after-replace-journal", 1);
	start_pkm(e);
	unsetenv("DPK_PKM_TEST_CRASH");
	assert_int_not_equal(wallet_request(e, &t, MSG_FUND, w.addr, &r1), 0);
	assert_int_equal(dpk_test_wait_exit(e->pkm, 20000), 99);
	e->pkm = 0;
	/* the spike (load: full blocks) to 100 gwei leaves the first send out */
	dpk_test_fee_spike(e->rpc, 100 * 1000000000ULL, 0);
	assert_int_equal(log_hashes(e, "fund", "sent:", sent, 4, 0), 1);
	assert_false(mined(e, sent[0]));
	assert_int_equal(balance(e, w.addr), 0);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce);

	/* restarted: the journalled replacement is followed, replaced at the
	 * network's fee (within the cap) and mined */
	dpk_test_node_call(e->rpc, "evm_setAutomine", "true");
	start_pkm(e);
	fund_ok(e, &t, &w, &r1);
	printf("fee spike, a crash after journalling the replacement, a restart (dpk-pkm's log):\n");
	ns = log_hashes(e, "fund", "sent:", sent, 4, 1);
	nr = log_hashes(e, "fund", "replaces the pending one", repl, 4, 0);
	assert_int_equal(ns, 1);
	assert_true(nr >= 2);
	assert_memory_equal(r1.hash, repl[nr - 1], 32);
	assert_true(mined(e, repl[nr - 1]));
	for (size_t i = 0; i + 1 < nr; i++)
		assert_false(mined(e, repl[i]));
	assert_false(mined(e, sent[0]));
	assert_int_equal(balance(e, w.addr), FUND_WEI);
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce + 1);
	{
		char hex[67];

		dpk_hex_encode(r1.hash, 32, 1, hex, sizeof(hex));
		printf("  mined: %.18s... (the last replacement); the others have no receipt\n", hex);
	}
	printf("  device balance %llu wei (one fund_amount); PKM nonce %llu -> %llu\n",
	    (unsigned long long)balance(e, w.addr), (unsigned long long)pkm_nonce,
	    (unsigned long long)nonce_of(e, e->pkm_addr));
	dpk_token_clear(&t);
	stop_pkm(e);
}

/* max_fee_per_gas below the network's base fee: FUND is refused for now
 * (code 28, busy: the device asks again) with both figures, nothing is
 * sent; once the fee falls, the same request funds. */
static void
test_fund_fee_cap(void **state)
{
	struct env *e = *state;
	struct dpk_token t;
	struct dpk_wallet w;
	struct reply r1;
	uint64_t pkm_nonce;

	add_conf(e, "max_fee_per_gas = 2 gwei\n");
	start_pkm(e);
	enrol(e, "capped.example.org", NULL, &t);
	new_wallet(&w);
	pkm_nonce = nonce_of(e, e->pkm_addr);
	dpk_test_fee_spike(e->rpc, 5 * 1000000000ULL, 1);
	assert_int_equal(wallet_request(e, &t, MSG_FUND, w.addr, &r1), 0);
	assert_int_equal(r1.type, MSG_FAILURE);
	printf("cap below the base fee: FUND refused, code %u: %s\n", r1.code, r1.msg);
	assert_int_equal(r1.code, 28);
	assert_true(dpk_test_named_gwei(r1.msg, "base fee (") >= 5.0);
	assert_non_null(strstr(r1.msg, "max_fee_per_gas (2 gwei)"));
	assert_int_equal(nonce_of(e, e->pkm_addr), pkm_nonce);
	assert_int_equal(balance(e, w.addr), 0);
	dpk_test_fee_fall(e->rpc, 1000000000ULL);
	fund_ok(e, &t, &w, &r1);
	assert_int_equal(balance(e, w.addr), FUND_WEI);
	dpk_token_clear(&t);
	stop_pkm(e);
}

/* A TCP connection to the PKM from src (127.x.y.z). */
static int
pkm_connect_from(struct env *e, const char *src)
{
	struct sockaddr_in sa = {.sin_family = AF_INET}, from = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)e->portnum);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* 1 if the PKM closed fd within wait_ms (whatever it sent first). */
static int
closed_within(int fd, int wait_ms)
{
	int64_t end = dpk_test_now_ms() + wait_ms;
	char buf[256];

	for (;;) {
		int64_t left = end - dpk_test_now_ms();
		struct pollfd pf = {fd, POLLIN, 0};

		if (left <= 0 || poll(&pf, 1, (int)left) != 1)
			return 0;
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return 1;
	}
}

static void
add_conf(struct env *e, const char *lines)
{
	FILE *f = fopen(e->conf, "a");

	assert_non_null(f);
	fputs(lines, f);
	fclose(f);
}

/* A client that sends its ClientHello a byte at a time, each well within
 * request_timeout (15 s), is dropped when handshake_timeout (1 s) has
 * passed since it connected: the deadline is the handshake's, not a read's. */
static void
test_slow_handshake_evicted(void **state)
{
	struct env *e = *state;
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
	int64_t t0, took = -1;
	int fd;

	add_conf(e, "handshake_timeout = 1s\n");
	start_pkm(e);
	fd = pkm_connect_from(e, "127.0.0.1");
	t0 = dpk_test_now_ms();
	for (size_t i = 0; dpk_test_now_ms() - t0 < 6000; i++) {
		uint8_t b = i < sizeof(hello) ? hello[i] : 0;

		if (send(fd, &b, 1, MSG_NOSIGNAL) != 1 || closed_within(fd, 200)) {
			took = dpk_test_now_ms() - t0;
			break;
		}
	}
	close(fd);
	if (took < 0)
		fail_msg("the PKM kept a trickling handshake open for 6 s (handshake_timeout = 1s)");
	assert_true(took >= 800);
	assert_true(took < 3000);
}

/* max_connections_per_address: a third connection from one address is
 * closed at once while the first two stay; another address still gets in;
 * and a device's request goes through when the silent ones are gone. */
static void
test_per_address_cap(void **state)
{
	struct env *e = *state;
	struct dpk_token t;
	struct dpk_wallet w;
	struct reply rep;
	int fds[4];
	char logtext[16384];

	add_conf(e, "max_connections_per_address = 2\nhandshake_timeout = 2s\n");
	start_pkm(e);
	fds[0] = pkm_connect_from(e, "127.0.0.3");
	fds[1] = pkm_connect_from(e, "127.0.0.3");
	sleep_ms(200);
	fds[2] = pkm_connect_from(e, "127.0.0.3");
	assert_true(closed_within(fds[2], 1000));
	fds[3] = pkm_connect_from(e, "127.0.0.4");
	assert_false(closed_within(fds[3], 300));
	assert_false(closed_within(fds[0], 10));
	assert_false(closed_within(fds[1], 10));
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	sleep_ms(300);
	enrol(e, "busy.example.org", NULL, &t);
	new_wallet(&w);
	fund_ok(e, &t, &w, &rep);
	dpk_token_clear(&t);
	FILE *f = fopen(e->log, "r");
	size_t n = fread(logtext, 1, sizeof(logtext) - 1, f);
	fclose(f);
	logtext[n] = '\0';
	assert_non_null(strstr(logtext, "connections open from 127.0.0.3 (max_connections_per_address)"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fund, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_paper_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fund_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fund_fee_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_handshake_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_address_cap, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
