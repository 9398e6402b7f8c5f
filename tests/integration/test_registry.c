/* The registry contract on a real anvil, driven only through lib/registry and
 * lib/txsend: every function, every refusal with its custom error (the gas
 * estimate reverts, so preparing the transaction already fails with the
 * contract's reason), front-running, EIP-712 registration, events; a few
 * answers cross-checked with cast call so the bindings are not only checked
 * against themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/obj_mac.h>

#include "eth/abi.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "registry/registry.h"
#include "eth/tx.h"
#include "eth/txsend.h"

/* anvil's default dev accounts 1..5 (printed by anvil at start; index 0 is
 * DPK_TEST_DEV_KEY) */
static const char *const dev_keys[] = {
	DPK_TEST_DEV_KEY,
	"0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
	"0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
	"0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
	"0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
};

struct ctx {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, pkm, device, attacker, stranger, pkm_b;
	uint8_t contract[20];
	char contract_hex[43];
	uint64_t deploy_block;
};

static void
wallet(struct dpk_wallet *w, const char *key)
{
	uint8_t priv[32];

	assert_int_equal(dpk_hex_decode_exact(key, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(w, priv), 0);
	explicit_bzero(priv, sizeof(priv));
}

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *url;

	assert_non_null(c);
	dpk_test_anvil_start(&c->anvil, NULL);
	url = c->anvil.url;
	assert_int_equal(dpk_rpc_new(&c->rpc, &url, 1, NULL), 0);
	wallet(&c->owner, dev_keys[0]);
	wallet(&c->pkm, dev_keys[1]);
	wallet(&c->device, dev_keys[2]);
	wallet(&c->attacker, dev_keys[3]);
	wallet(&c->stranger, dev_keys[4]);
	wallet(&c->pkm_b, dev_keys[5]);
	assert_int_equal(dpk_registry_deploy(c->rpc, &c->owner, DPK_TEST_CHAIN_ID, 30000, NULL, NULL, c->contract), 0);
	assert_int_equal(dpk_rpc_block_number(c->rpc, &c->deploy_block), 0);
	dpk_wallet_address_format(c->contract, c->contract_hex);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;

	dpk_rpc_free(c->rpc);
	dpk_test_anvil_stop(&c->anvil);
	dpk_wallet_clear(&c->owner);
	dpk_wallet_clear(&c->pkm);
	dpk_wallet_clear(&c->device);
	dpk_wallet_clear(&c->attacker);
	dpk_wallet_clear(&c->stranger);
	dpk_wallet_clear(&c->pkm_b);
	free(c);
	return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Send cd (then reset it) from w; it must be mined with status 1. */
static void
send_ok(struct ctx *c, const struct dpk_wallet *w, struct dpk_buf *cd)
{
	struct dpk_txsend req;
	struct dpk_rpc_receipt rc;
	char text[256];
	int r;

	memset(&req, 0, sizeof(req));
	req.to = c->contract;
	req.data = cd->data;
	req.data_len = cd->len;
	r = dpk_txsend(c->rpc, w, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc);
	if (r == DPK_ERR_REVERT) {
		dpk_registry_last_revert(c->rpc, text, sizeof(text));
		fail_msg("unexpected revert: %s", text);
	}
	assert_int_equal(r, 0);
	assert_int_equal(rc.status, 1);
	dpk_rpc_receipt_free(&rc);
	dpk_buf_reset(cd);
}

/* Preparing cd from w must fail with the contract's error; the revert text
 * must be want (or, when want has no '(', start with "want("). */
static void
send_refused(struct ctx *c, const struct dpk_wallet *w, struct dpk_buf *cd, const char *want)
{
	struct dpk_txsend req;
	struct dpk_buf raw;
	uint8_t hash[32];
	uint64_t nonce;
	const uint8_t *data;
	size_t len = 0, namelen = strcspn(want, "(");
	const char *name;
	char text[512];

	memset(&req, 0, sizeof(req));
	req.to = c->contract;
	req.data = cd->data;
	req.data_len = cd->len;
	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	if (dpk_txsend_prepare(c->rpc, w, DPK_TEST_CHAIN_ID, &req, &raw, hash, &nonce) != DPK_ERR_REVERT)
		fail_msg("expected %s, got: %s", want, dpk_rpc_last_error(c->rpc));
	assert_int_equal(raw.len, 0);
	data = dpk_rpc_revert_data(c->rpc, &len);
	name = dpk_registry_error_name(data, len);
	if (name == NULL || strlen(name) != namelen || memcmp(name, want, namelen) != 0)
		fail_msg("expected %.*s, got %s", (int)namelen, want, name != NULL ? name : "(not a DPK error)");
	assert_int_equal(dpk_registry_last_revert(c->rpc, text, sizeof(text)), 0);
	if (want[namelen] == '(')
		assert_string_equal(text, want);
	else
		assert_true(strncmp(text, want, namelen) == 0 && text[namelen] == '(');
	dpk_buf_free(&raw);
	dpk_buf_reset(cd);
}

static void
addr_text(const uint8_t a[20], char out[43])
{
	dpk_wallet_address_format(a, out);
}

static void
hash_text(const uint8_t h[32], char out[67])
{
	assert_int_equal(dpk_hex_encode(h, 32, 1, out, 67), 0);
}

/* The P-256 public key of the private key seed (seed * G, uncompressed
 * 0x04 || X || Y): a point of the curve, as the contract requires. */
static void
p256_key(uint8_t pub[65], uint8_t seed)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *pt = g != NULL ? EC_POINT_new(g) : NULL;
	BIGNUM *k = BN_new();

	assert_non_null(pt);
	assert_non_null(k);
	assert_int_equal(BN_set_word(k, seed), 1);
	assert_int_equal(EC_POINT_mul(g, pt, k, NULL, NULL, NULL), 1);
	assert_int_equal(EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub, 65, NULL), 65);
	BN_free(k);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
}

/* A fresh RSA-2048 key as DER SubjectPublicKeyInfo (OPENSSL_free it) */
static int
rsa_spki(uint8_t **der)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	int len;

	assert_non_null(rsa);
	*der = NULL;
	len = i2d_PUBKEY(rsa, der);
	assert_true(len > 256 && len < 400);
	EVP_PKEY_free(rsa);
	return len;
}

/* The record of id holds exactly this key, at this version */
static void
expect_key(struct ctx *c, const struct dpk_identity *id, uint32_t version, uint8_t alg, const uint8_t *key,
    size_t keylen)
{
	struct dpk_registry_record rec;

	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, id, &rec), 0);
	assert_int_equal(rec.version, version);
	assert_int_equal(rec.alg, alg);
	assert_int_equal(rec.publen, keylen);
	assert_memory_equal(rec.pubkey, key, keylen);
	dpk_registry_record_free(&rec);
}

static void
identity(const char *text, struct dpk_identity *id, uint8_t h[32])
{
	assert_int_equal(dpk_identity_parse(text, strlen(text), id), 0);
	assert_int_equal(dpk_identity_hash(id, h), 0);
}

/* cast with --rpc-url appended; exit 0; stdout chomped and NUL-terminated */
static void
cast_call(struct ctx *c, struct dpk_buf *out, ...)
{
	char *argv[32];
	size_t n = 0;
	va_list ap;

	argv[n++] = (char *)dpk_test_tool("DPK_CAST");
	argv[n++] = (char *)"call";
	argv[n++] = c->contract_hex;
	va_start(ap, out);
	while ((argv[n] = va_arg(ap, char *)) != NULL) {
		n++;
		assert_true(n < 28);
	}
	va_end(ap);
	argv[n++] = (char *)"--rpc-url";
	argv[n++] = c->anvil.url;
	argv[n] = NULL;
	dpk_buf_init(out, 1 << 16);
	if (dpk_test_run(argv, NULL, out) != 0)
		fail_msg("cast call %s failed", argv[3]);
	dpk_test_chomp(out);
	assert_int_equal(dpk_buf_cstr(out), 0);
	assert_true(out->len > 0);
}

/* Line i (0-based) of cast's output, with a " [1.7e9]" annotation removed. */
static void
cast_line(const struct dpk_buf *o, size_t i, char *out, size_t outsz)
{
	const char *s = (const char *)o->data;
	size_t len;

	while (i-- > 0) {
		s = strchr(s, '\n');
		assert_non_null(s);
		s++;
	}
	len = strcspn(s, "\n");
	if (memchr(s, ' ', len) != NULL)
		len = (size_t)((const char *)memchr(s, ' ', len) - s);
	assert_true(len < outsz);
	memcpy(out, s, len);
	out[len] = '\0';
}

/* addClient from w and the pending record hash it creates */
static void
add_client(struct ctx *c, const struct dpk_wallet *w, const struct dpk_identity *id, const uint8_t *pub,
    size_t publen, const uint8_t tok[32])
{
	struct dpk_buf cd;

	dpk_buf_init(&cd, 1 << 16);
	assert_int_equal(dpk_registry_encode_add_client(&cd, id, DPK_REGISTRY_ALG_P256, pub, publen, tok), 0);
	send_ok(c, w, &cd);
	dpk_buf_free(&cd);
}

/* The approver's side: read the pending request, check it is what it
 * expects, approve exactly it (from approver). */
static void
approve_as(struct ctx *c, const struct dpk_wallet *approver, const uint8_t client[20], const uint8_t id_hash[32],
    const uint8_t *pub, size_t publen)
{
	struct dpk_registry_pending p;
	struct dpk_buf cd;
	uint8_t rh[32];

	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, client, &p), 0);
	assert_memory_equal(p.id_hash, id_hash, 32);
	assert_int_equal(p.publen, publen);
	assert_memory_equal(p.pubkey, pub, publen);
	assert_int_equal(dpk_registry_record_hash(p.id_hash, p.alg, p.pubkey, p.publen, p.token_hash, client, rh), 0);
	assert_memory_equal(rh, p.record_hash, 32);
	dpk_buf_init(&cd, 1024);
	assert_int_equal(dpk_registry_encode_approve_client(&cd, client, rh), 0);
	send_ok(c, approver, &cd);
	dpk_buf_free(&cd);
	dpk_registry_pending_free(&p);
}

static void
approve(struct ctx *c, const uint8_t client[20], const uint8_t id_hash[32], const uint8_t *pub, size_t publen)
{
	approve_as(c, &c->pkm, client, id_hash, pub, publen);
}

static void
make_approver(struct ctx *c, const struct dpk_wallet *w)
{
	struct dpk_buf cd;

	dpk_buf_init(&cd, 1024);
	assert_int_equal(dpk_registry_encode_add_approver(&cd, w->addr), 0);
	send_ok(c, &c->owner, &cd);
	dpk_buf_free(&cd);
}

/* ---------------------------------------------------------------- tests */

static void
test_roles_and_pkm_key(void **state)
{
	struct ctx *c = *state;
	struct dpk_buf cd, key, o;
	uint8_t a[20], zero[20] = {0}, pkmkey[65];
	char at[43], line[600], want[128];
	int yes = -1;

	dpk_buf_init(&cd, 1 << 16);
	dpk_buf_init(&key, 4096);
	assert_int_equal(dpk_registry_owner(c->rpc, c->contract, a), 0);
	assert_memory_equal(a, c->owner.addr, 20);
	cast_call(c, &o, "owner()(address)", NULL);
	addr_text(c->owner.addr, at);
	assert_string_equal((char *)o.data, at);
	dpk_buf_free(&o);

	/* only the owner names approvers */
	assert_int_equal(dpk_registry_encode_add_approver(&cd, c->pkm.addr), 0);
	addr_text(c->stranger.addr, at);
	snprintf(want, sizeof(want), "NotOwner(%s)", at);
	send_refused(c, &c->stranger, &cd, want);
	assert_int_equal(dpk_registry_encode_add_approver(&cd, zero), 0);
	send_refused(c, &c->owner, &cd, "ZeroAddress()");
	assert_int_equal(dpk_registry_is_approver(c->rpc, c->contract, c->pkm.addr, &yes), 0);
	assert_int_equal(yes, 0);
	make_approver(c, &c->pkm);
	assert_int_equal(dpk_registry_is_approver(c->rpc, c->contract, c->pkm.addr, &yes), 0);
	assert_int_equal(yes, 1);
	assert_int_equal(dpk_registry_encode_add_approver(&cd, c->pkm.addr), 0);
	addr_text(c->pkm.addr, at);
	snprintf(want, sizeof(want), "AlreadyApprover(%s)", at);
	send_refused(c, &c->owner, &cd, want);
	assert_int_equal(dpk_registry_encode_remove_approver(&cd, c->stranger.addr), 0);
	send_refused(c, &c->owner, &cd, "UnknownApprover");

	/* the PKM's key: only approvers store one; a missing one is NOTFOUND */
	p256_key(pkmkey, 9);
	assert_int_equal(dpk_registry_get_pkm_key(c->rpc, c->contract, c->pkm.addr, &key), DPK_ERR_NOTFOUND);
	assert_int_equal(dpk_registry_encode_store_pkm_key(&cd, pkmkey, 65), 0);
	addr_text(c->stranger.addr, at);
	snprintf(want, sizeof(want), "NotApprover(%s)", at);
	send_refused(c, &c->stranger, &cd, want);
	assert_int_equal(dpk_registry_encode_store_pkm_key(&cd, pkmkey, 0), 0);
	send_refused(c, &c->pkm, &cd, "BadPKMKeyLength(0)");
	assert_int_equal(dpk_registry_encode_store_pkm_key(&cd, pkmkey, 65), 0);
	send_ok(c, &c->pkm, &cd);
	assert_int_equal(dpk_registry_get_pkm_key(c->rpc, c->contract, c->pkm.addr, &key), 0);
	assert_int_equal(key.len, 65);
	assert_memory_equal(key.data, pkmkey, 65);
	addr_text(c->pkm.addr, at);
	cast_call(c, &o, "getPKMKey(address)(bytes)", at, NULL);
	cast_line(&o, 0, line, sizeof(line));
	{
		char kx[133];

		assert_int_equal(dpk_hex_encode(pkmkey, 65, 1, kx, sizeof(kx)), 0);
		assert_string_equal(line, kx);
	}
	dpk_buf_free(&o);
	dpk_buf_reset(&key);
	assert_int_equal(dpk_registry_get_pkm_key(c->rpc, c->contract, c->stranger.addr, &key), DPK_ERR_NOTFOUND);
	/* removing the approver drops its key */
	assert_int_equal(dpk_registry_encode_remove_approver(&cd, c->pkm.addr), 0);
	send_ok(c, &c->owner, &cd);
	assert_int_equal(dpk_registry_is_approver(c->rpc, c->contract, c->pkm.addr, &yes), 0);
	assert_int_equal(yes, 0);
	assert_int_equal(dpk_registry_get_pkm_key(c->rpc, c->contract, c->pkm.addr, &key), DPK_ERR_NOTFOUND);
	dpk_buf_free(&key);
	dpk_buf_free(&cd);
}

static void
test_add_approve_lookup(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id, other;
	struct dpk_registry_record rec;
	struct dpk_registry_pending p;
	struct dpk_buf cd, o;
	uint8_t idh[32], oh[32], pub[65], tok[32], rh[32];
	char at[43], ht[67], want[256], line[256], kx[133], valx[64];

	make_approver(c, &c->pkm);
	dpk_buf_init(&cd, 1 << 16);
	identity("host.example.com", &id, idh);
	identity("2001:db8::7", &other, oh);
	p256_key(pub, 1);
	dpk_keccak256("token of the device", 19, tok);

	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), DPK_ERR_NOTFOUND);
	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->device.addr, &p), DPK_ERR_NOTFOUND);
	/* key and token rules of addClient */
	assert_int_equal(dpk_registry_encode_add_client(&cd, &id, DPK_REGISTRY_ALG_P256, pub, 64, tok), 0);
	send_refused(c, &c->device, &cd, "BadKeyLength(1, 64)");
	assert_int_equal(dpk_registry_encode_add_client(&cd, &id, 7, pub, 65, tok), 0);
	send_refused(c, &c->device, &cd, "UnknownAlgorithm(7)");
	{
		/* the contract keeps x and the parity of y only: a pair (x, y)
		 * off the curve would be served back as another key, so it is
		 * refused (NotOnCurve(x)); so is a coordinate >= p */
		uint8_t off[65];
		char xt[67];

		memcpy(off, pub, 65);
		off[64] ^= 0x01;
		assert_int_equal(dpk_hex_encode(pub + 1, 32, 1, xt, sizeof(xt)), 0);
		snprintf(want, sizeof(want), "NotOnCurve(%s)", xt);
		assert_int_equal(dpk_registry_encode_add_client(&cd, &id, DPK_REGISTRY_ALG_P256, off, 65, tok), 0);
		send_refused(c, &c->device, &cd, want);
		memset(off + 1, 0xff, 32);
		assert_int_equal(dpk_registry_encode_add_client(&cd, &id, DPK_REGISTRY_ALG_P256, off, 65, tok), 0);
		send_refused(c, &c->device, &cd, "NotOnCurve(0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)");
	}
	{
		uint8_t z[32] = {0};

		assert_int_equal(dpk_registry_encode_add_client(&cd, &id, DPK_REGISTRY_ALG_P256, pub, 65, z), 0);
		send_refused(c, &c->device, &cd, "EmptyTokenHash()");
	}

	add_client(c, &c->device, &id, pub, 65, tok);
	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->device.addr, &p), 0);
	assert_int_equal(dpk_registry_record_hash(idh, 1, pub, 65, tok, c->device.addr, rh), 0);
	assert_memory_equal(p.record_hash, rh, 32);
	assert_memory_equal(p.token_hash, tok, 32);
	dpk_registry_pending_free(&p);

	/* a non-approver approving */
	assert_int_equal(dpk_registry_encode_approve_client(&cd, c->device.addr, rh), 0);
	addr_text(c->device.addr, at);
	snprintf(want, sizeof(want), "NotApprover(%s)", at);
	send_refused(c, &c->device, &cd, want);
	/* approving an address with no request */
	assert_int_equal(dpk_registry_encode_approve_client(&cd, c->stranger.addr, rh), 0);
	send_refused(c, &c->pkm, &cd, "NoPendingRecord");

	approve(c, c->device.addr, idh, pub, 65);
	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->device.addr, &p), DPK_ERR_NOTFOUND);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_int_equal(rec.version, 1);
	assert_int_equal(rec.alg, DPK_REGISTRY_ALG_P256);
	assert_int_equal(rec.publen, 65);
	assert_memory_equal(rec.pubkey, pub, 65);
	assert_memory_equal(rec.controller, c->device.addr, 20);
	assert_true(rec.valid_from > 1600000000);
	assert_int_equal(rec.valid_until, 0);
	assert_memory_equal(rec.approver, c->pkm.addr, 20);
	assert_true(rec.serial == 1); /* the registry's first identity */
	dpk_registry_record_free(&rec);
	assert_int_equal(dpk_registry_get_client_by_hash(c->rpc, c->contract, idh, &rec), 0);
	assert_int_equal(rec.version, 1);
	assert_memory_equal(rec.approver, c->pkm.addr, 20);
	assert_true(rec.serial == 1);
	dpk_registry_record_free(&rec);
	assert_int_equal(dpk_registry_get_client_by_hash(c->rpc, c->contract, oh, &rec), DPK_ERR_NOTFOUND);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &other, &rec), DPK_ERR_NOTFOUND);

	/* cast reads the same record */
	assert_int_equal(dpk_hex_encode(id.value, id.len, 1, valx, sizeof(valx)), 0);
	cast_call(c, &o, "getClient(uint8,bytes)(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)", "1", valx, NULL);
	assert_int_equal(dpk_hex_encode(pub, 65, 1, kx, sizeof(kx)), 0);
	cast_line(&o, 0, line, sizeof(line));
	assert_string_equal(line, kx);
	cast_line(&o, 1, line, sizeof(line));
	assert_string_equal(line, "1");
	cast_line(&o, 2, line, sizeof(line));
	assert_string_equal(line, at);
	cast_line(&o, 3, line, sizeof(line));
	assert_string_equal(line, "1");
	cast_line(&o, 4, line, sizeof(line));
	assert_string_equal(line, "1");
	cast_line(&o, 6, line, sizeof(line));
	assert_string_equal(line, "0");
	cast_line(&o, 7, line, sizeof(line));
	addr_text(c->pkm.addr, at);
	assert_string_equal(line, at);
	cast_line(&o, 8, line, sizeof(line));
	assert_string_equal(line, "1");
	addr_text(c->device.addr, at);
	dpk_buf_free(&o);

	/* the token is single-use; the identity is taken */
	assert_int_equal(dpk_registry_encode_add_client(&cd, &other, DPK_REGISTRY_ALG_P256, pub, 65, tok), 0);
	hash_text(tok, ht);
	snprintf(want, sizeof(want), "TokenAlreadyUsed(%s)", ht);
	send_refused(c, &c->stranger, &cd, want);
	{
		uint8_t tok2[32];

		dpk_keccak256("token of the stranger", 21, tok2);
		assert_int_equal(dpk_registry_encode_add_client(&cd, &id, DPK_REGISTRY_ALG_P256, pub, 65, tok2), 0);
		hash_text(idh, ht);
		snprintf(want, sizeof(want), "IdentityTaken(%s, %s)", ht, at);
		send_refused(c, &c->stranger, &cd, want);
	}
	dpk_buf_free(&cd);
}

/* The paper's flaw: a copied token hash. The copy only makes the attacker's
 * own request; the approver approves the victim's address and hash. */
static void
test_front_running_gains_nothing(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id;
	struct dpk_registry_record rec;
	struct dpk_registry_pending vp, ap;
	struct dpk_registry_event ev;
	struct dpk_rpc_filter f;
	struct dpk_rpc_log *logs = NULL;
	struct dpk_buf cd;
	uint8_t idh[32], vpub[65], apub[65], tok[32], topic[32], stolen[32];
	char at[43], h1[67], h2[67], want[256];
	size_t n = 0;
	uint64_t head;

	make_approver(c, &c->pkm);
	dpk_buf_init(&cd, 1 << 16);
	identity("victim.example", &id, idh);
	p256_key(vpub, 2);
	p256_key(apub, 3);
	dpk_keccak256("victim's token", 14, tok);
	add_client(c, &c->device, &id, vpub, 65, tok);

	/* the attacker watches ClientAdded and copies the token hash */
	memset(&f, 0, sizeof(f));
	f.address = c->contract;
	f.from_block = c->deploy_block;
	assert_int_equal(dpk_rpc_block_number(c->rpc, &head), 0);
	f.to_block = head;
	dpk_registry_event_topic(DPK_REGISTRY_EV_CLIENT_ADDED, topic);
	f.topics[0] = topic;
	f.ntopics = 1;
	assert_int_equal(dpk_rpc_get_logs(c->rpc, &f, &logs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dpk_registry_decode_contract_event(c->contract, &logs[0], &ev), 0);
	assert_memory_equal(ev.addr, c->device.addr, 20);
	memcpy(stolen, ev.token_hash, 32);
	assert_memory_equal(stolen, tok, 32);
	dpk_rpc_logs_free(logs, n);
	add_client(c, &c->attacker, &id, apub, 65, stolen);

	/* two requests, each under its sender */
	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->device.addr, &vp), 0);
	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->attacker.addr, &ap), 0);
	assert_memory_equal(vp.pubkey, vpub, 65);
	assert_memory_equal(ap.pubkey, apub, 65);
	assert_memory_not_equal(vp.record_hash, ap.record_hash, 32);

	/* the attacker's address with the victim's hash: RecordChanged */
	assert_int_equal(dpk_registry_encode_approve_client(&cd, c->attacker.addr, vp.record_hash), 0);
	addr_text(c->attacker.addr, at);
	hash_text(vp.record_hash, h1);
	hash_text(ap.record_hash, h2);
	snprintf(want, sizeof(want), "RecordChanged(%s, %s, %s)", at, h1, h2);
	send_refused(c, &c->pkm, &cd, want);

	/* the approver approves the address that proved the token: the victim */
	approve(c, c->device.addr, idh, vpub, 65);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_memory_equal(rec.pubkey, vpub, 65);
	assert_memory_equal(rec.controller, c->device.addr, 20);
	dpk_registry_record_free(&rec);
	/* and even an approval of the attacker's own request now fails: the token is spent */
	assert_int_equal(dpk_registry_encode_approve_client(&cd, c->attacker.addr, ap.record_hash), 0);
	hash_text(tok, h1);
	snprintf(want, sizeof(want), "TokenAlreadyUsed(%s)", h1);
	send_refused(c, &c->pkm, &cd, want);
	dpk_registry_pending_free(&vp);
	dpk_registry_pending_free(&ap);
	dpk_buf_free(&cd);
}

/* A request changed after the approver read it is not approved. */
static void
test_record_changed_after_read(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id;
	struct dpk_registry_record rec;
	struct dpk_registry_pending read, now;
	struct dpk_buf cd;
	uint8_t idh[32], pub1[65], pub2[65], tok[32];
	char at[43], h1[67], h2[67], want[256];

	make_approver(c, &c->pkm);
	dpk_buf_init(&cd, 1 << 16);
	identity("10.0.0.7", &id, idh);
	p256_key(pub1, 4);
	p256_key(pub2, 5);
	dpk_keccak256("tok", 3, tok);
	add_client(c, &c->device, &id, pub1, 65, tok);
	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->device.addr, &read), 0);
	add_client(c, &c->device, &id, pub2, 65, tok); /* replaced after the read */
	assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->device.addr, &now), 0);
	assert_int_equal(dpk_registry_encode_approve_client(&cd, c->device.addr, read.record_hash), 0);
	addr_text(c->device.addr, at);
	hash_text(read.record_hash, h1);
	hash_text(now.record_hash, h2);
	snprintf(want, sizeof(want), "RecordChanged(%s, %s, %s)", at, h1, h2);
	send_refused(c, &c->pkm, &cd, want);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), DPK_ERR_NOTFOUND);
	dpk_registry_pending_free(&read);
	dpk_registry_pending_free(&now);
	dpk_buf_free(&cd);
}

static void
test_rotate_and_revoke(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id, id2;
	struct dpk_registry_record rec;
	struct dpk_buf cd, o;
	uint8_t idh[32], idh2[32], pub1[65], pub2[65], tok[32], tok2[32], unknown[32];
	char at[43], ht[67], want[256], line[64], valx[64];

	make_approver(c, &c->pkm);
	dpk_buf_init(&cd, 1 << 16);
	identity("rotating.example", &id, idh);
	identity("0b4c2e58-8a1f-4d3b-9c6e-5f7a8b9c0d1e", &id2, idh2);
	p256_key(pub1, 6);
	p256_key(pub2, 7);
	dpk_keccak256("t1", 2, tok);
	dpk_keccak256("t2", 2, tok2);
	add_client(c, &c->device, &id, pub1, 65, tok);
	approve(c, c->device.addr, idh, pub1, 65);

	/* by a stranger: NotController; by the controller: version 2, new key */
	assert_int_equal(dpk_registry_encode_rotate(&cd, idh, DPK_REGISTRY_ALG_P256, pub2, 65), 0);
	hash_text(idh, ht);
	addr_text(c->stranger.addr, at);
	snprintf(want, sizeof(want), "NotController(%s, %s)", ht, at);
	send_refused(c, &c->stranger, &cd, want);
	assert_int_equal(dpk_registry_encode_rotate(&cd, idh, DPK_REGISTRY_ALG_P256, pub2, 65), 0);
	send_ok(c, &c->device, &cd);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.version, 2);
	assert_memory_equal(rec.pubkey, pub2, 65);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_true(rec.serial == 1); /* a rotation keeps the serial and the approver */
	assert_memory_equal(rec.approver, c->pkm.addr, 20);
	dpk_registry_record_free(&rec);
	{
		/* an RSA key (stored as bytes in the record's fourth slot) and back
		 * to P-256 (x in the third): each served exactly as given */
		uint8_t *der;
		int derlen = rsa_spki(&der);

		assert_int_equal(dpk_registry_encode_rotate(&cd, idh, DPK_REGISTRY_ALG_RSA, der, (size_t)derlen), 0);
		send_ok(c, &c->device, &cd);
		expect_key(c, &id, 3, DPK_REGISTRY_ALG_RSA, der, (size_t)derlen);
		assert_int_equal(dpk_registry_encode_rotate(&cd, idh, DPK_REGISTRY_ALG_P256, pub2, 65), 0);
		send_ok(c, &c->device, &cd);
		expect_key(c, &id, 4, DPK_REGISTRY_ALG_P256, pub2, 65);
		OPENSSL_free(der);
	}
	memset(unknown, 0x5a, 32);
	assert_int_equal(dpk_registry_encode_rotate(&cd, unknown, DPK_REGISTRY_ALG_P256, pub2, 65), 0);
	send_refused(c, &c->device, &cd, "NotFound");

	/* revocation: a stranger may not; the controller may */
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh), 0);
	snprintf(want, sizeof(want), "NotControllerOrApprover(%s, %s)", ht, at);
	send_refused(c, &c->stranger, &cd, want);
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh), 0);
	send_ok(c, &c->device, &cd);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0); /* not NOTFOUND */
	assert_int_equal(rec.status, DPK_REGISTRY_REVOKED);
	assert_int_equal(rec.version, 4);
	assert_true(rec.serial == 1); /* so does a revocation */
	assert_true(rec.valid_until >= rec.valid_from && rec.valid_until > 0);
	dpk_registry_record_free(&rec);
	assert_int_equal(dpk_hex_encode(id.value, id.len, 1, valx, sizeof(valx)), 0);
	cast_call(c, &o, "getClient(uint8,bytes)(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)", "1", valx, NULL);
	cast_line(&o, 3, line, sizeof(line));
	assert_string_equal(line, "2");
	dpk_buf_free(&o);
	snprintf(want, sizeof(want), "IdentityRevoked(%s)", ht);
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh), 0);
	send_refused(c, &c->device, &cd, want);
	assert_int_equal(dpk_registry_encode_rotate(&cd, idh, DPK_REGISTRY_ALG_P256, pub1, 65), 0);
	send_refused(c, &c->device, &cd, want);

	/* revocation by an approver */
	add_client(c, &c->attacker, &id2, pub1, 65, tok2);
	approve(c, c->attacker.addr, idh2, pub1, 65);
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh2), 0);
	send_ok(c, &c->pkm, &cd);
	assert_int_equal(dpk_registry_get_client_by_hash(c->rpc, c->contract, idh2, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_REVOKED);
	assert_true(rec.serial == 2);
	dpk_registry_record_free(&rec);
	dpk_buf_free(&cd);
}

/* eth_call of registrationDigest / DOMAIN_SEPARATOR, decoded as (bytes32) */
static void
view_bytes32(struct ctx *c, const struct dpk_buf *cd, uint8_t out[32])
{
	struct dpk_rpc_callmsg msg = {0};
	struct dpk_abi_value *v = NULL;
	struct dpk_buf ret;

	msg.to = c->contract;
	msg.data = cd->data;
	msg.data_len = cd->len;
	dpk_buf_init(&ret, 1024);
	assert_int_equal(dpk_rpc_call(c->rpc, &msg, DPK_RPC_LATEST, &ret), 0);
	assert_int_equal(dpk_abi_decode_text("(bytes32)", ret.data, ret.len, DPK_ABI_STRICT | DPK_ABI_NO_TRAILING, &v),
	    0);
	memcpy(out, dpk_abi_value_at(v, 0)->u.bytes.p, 32);
	dpk_abi_value_free(v);
	dpk_buf_free(&ret);
}

static void
register_cd(struct dpk_buf *cd, const struct dpk_identity *id, const uint8_t *pub, uint64_t expiry,
    uint64_t nonce, const uint8_t sig[65])
{
	struct dpk_u256 n;

	dpk_u256_from_u64(&n, nonce);
	assert_int_equal(dpk_registry_encode_register(cd, id, DPK_REGISTRY_ALG_P256, pub, 65, expiry, &n, sig), 0);
}

static void
sign(struct ctx *c, const struct dpk_wallet *signer, const uint8_t idh[32], const uint8_t *pub,
    const uint8_t controller[20], uint64_t expiry, uint64_t nonce, uint8_t sig[65])
{
	struct dpk_u256 n;

	dpk_u256_from_u64(&n, nonce);
	assert_int_equal(dpk_registry_sign_registration(signer, DPK_TEST_CHAIN_ID, c->contract, idh, pub, 65,
			     DPK_REGISTRY_ALG_P256, controller, expiry, &n, sig),
	    0);
}

static void
test_eip712_register(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id, id2;
	struct dpk_registry_record rec;
	struct dpk_buf cd, o;
	struct dpk_abi_value a[6];
	struct dpk_u256 n;
	uint8_t idh[32], idh2[32], pub[65], kh[32], ours[32], theirs[32], sig[65];
	char at[43], want[256], ht[67], khx[67], ctl[43];
	uint64_t expiry = (uint64_t)time(NULL) + 3600;
	cJSON *params, *res = NULL;

	make_approver(c, &c->pkm);
	dpk_buf_init(&cd, 1 << 16);
	identity("signed.example", &id, idh);
	identity("192.0.2.1", &id2, idh2);
	p256_key(pub, 8);
	dpk_keccak256(pub, 65, kh);

	/* our digest is the contract's (and cast's reading of it) */
	dpk_u256_from_u64(&n, 99);
	a[0] = dpk_abi_fixed_bytes(idh, 32);
	a[1] = dpk_abi_fixed_bytes(kh, 32);
	a[2] = dpk_abi_uint64(1);
	a[3] = dpk_abi_address(c->device.addr);
	a[4] = dpk_abi_uint64(expiry);
	a[5] = dpk_abi_uint256(&n);
	assert_int_equal(
	    dpk_abi_encode_call("registrationDigest(bytes32,bytes32,uint8,address,uint64,uint256)", a, 6, &cd), 0);
	view_bytes32(c, &cd, theirs);
	dpk_buf_reset(&cd);
	assert_int_equal(dpk_registry_registration_digest(DPK_TEST_CHAIN_ID, c->contract, idh, pub, 65, 1,
			     c->device.addr, expiry, &n, ours),
	    0);
	assert_memory_equal(ours, theirs, 32);
	{
		char ex[24];

		hash_text(idh, ht);
		hash_text(kh, khx);
		addr_text(c->device.addr, ctl);
		snprintf(ex, sizeof(ex), "%llu", (unsigned long long)expiry);
		cast_call(c, &o, "registrationDigest(bytes32,bytes32,uint8,address,uint64,uint256)(bytes32)", ht, khx,
		    "1", ctl, ex, "99", NULL);
		hash_text(ours, ht);
		assert_string_equal((char *)o.data, ht);
		dpk_buf_free(&o);
	}
	assert_int_equal(dpk_abi_encode_call("DOMAIN_SEPARATOR()", NULL, 0, &cd), 0);
	view_bytes32(c, &cd, theirs);
	dpk_buf_reset(&cd);
	assert_int_equal(dpk_registry_domain_separator(DPK_TEST_CHAIN_ID, c->contract, ours), 0);
	assert_memory_equal(ours, theirs, 32);

	/* happy path: one transaction from the device */
	sign(c, &c->pkm, idh, pub, c->device.addr, expiry, 1, sig);
	assert_true(sig[64] == 27 || sig[64] == 28);
	register_cd(&cd, &id, pub, expiry, 1, sig);
	send_ok(c, &c->device, &cd);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_memory_equal(rec.controller, c->device.addr, 20);
	assert_memory_equal(rec.pubkey, pub, 65);
	dpk_registry_record_free(&rec);

	/* the same nonce again (even for another identity) */
	sign(c, &c->pkm, idh2, pub, c->device.addr, expiry, 1, sig);
	register_cd(&cd, &id2, pub, expiry, 1, sig);
	addr_text(c->pkm.addr, at);
	snprintf(want, sizeof(want), "NonceUsed(%s, 1)", at);
	send_refused(c, &c->device, &cd, want);
	/* signed by somebody who is not an approver */
	sign(c, &c->stranger, idh2, pub, c->device.addr, expiry, 2, sig);
	register_cd(&cd, &id2, pub, expiry, 2, sig);
	addr_text(c->stranger.addr, at);
	snprintf(want, sizeof(want), "SignerNotApprover(%s)", at);
	send_refused(c, &c->device, &cd, want);
	/* signed for the device, sent by the attacker: recovers to nobody useful */
	sign(c, &c->pkm, idh2, pub, c->device.addr, expiry, 3, sig);
	register_cd(&cd, &id2, pub, expiry, 3, sig);
	send_refused(c, &c->attacker, &cd, "SignerNotApprover");
	/* v outside {27, 28}, or the malleated high-s twin */
	sig[64] = 29;
	register_cd(&cd, &id2, pub, expiry, 3, sig);
	send_refused(c, &c->device, &cd, "InvalidSignature()");
	sign(c, &c->pkm, idh2, pub, c->device.addr, expiry, 3, sig);
	{
		struct dpk_u256 order, s, hs;

		assert_int_equal(dpk_hex_decode_exact(
				     "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", order.be, 32),
		    0);
		memcpy(s.be, sig + 32, 32);
		assert_int_equal(dpk_u256_sub(&hs, &order, &s), 0);
		memcpy(sig + 32, hs.be, 32);
		sig[64] = sig[64] == 27 ? 28 : 27; /* the twin that ecrecover would accept */
	}
	register_cd(&cd, &id2, pub, expiry, 3, sig);
	send_refused(c, &c->device, &cd, "InvalidSignature()");
	/* an expiry in the past */
	sign(c, &c->pkm, idh2, pub, c->device.addr, 1000, 4, sig);
	register_cd(&cd, &id2, pub, 1000, 4, sig);
	send_refused(c, &c->device, &cd, "SignatureExpired");
	/* a valid signature that expires while it waits: move the chain's clock */
	sign(c, &c->pkm, idh2, pub, c->device.addr, expiry, 5, sig);
	params = cJSON_CreateArray();
	cJSON_AddItemToArray(params, cJSON_CreateNumber(7200));
	assert_int_equal(dpk_rpc_request(c->rpc, "evm_increaseTime", params, &res), 0);
	cJSON_Delete(params);
	cJSON_Delete(res);
	res = NULL;
	assert_int_equal(dpk_rpc_request(c->rpc, "evm_mine", NULL, &res), 0);
	cJSON_Delete(res);
	register_cd(&cd, &id2, pub, expiry, 5, sig);
	send_refused(c, &c->device, &cd, "SignatureExpired");
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id2, &rec), DPK_ERR_NOTFOUND);
	dpk_buf_free(&cd);
}

/* Run argv with stderr joined to stdout (captured in out); its exit status. */
static int
run_joined(struct dpk_buf *out, char *const *argv)
{
	char *sh[40];
	size_t n = 0;

	sh[n++] = (char *)"/bin/sh";
	sh[n++] = (char *)"-c";
	sh[n++] = (char *)"exec \"$@\" 2>&1";
	sh[n++] = (char *)"sh";
	for (size_t i = 0; argv[i] != NULL; i++) {
		assert_true(n < 39);
		sh[n++] = argv[i];
	}
	sh[n] = NULL;
	dpk_buf_init(out, 1 << 16);
	return dpk_test_run(sh, NULL, out);
}

/* --max-fee-per-gas for the next admin() runs (NULL: none) */
static const char *admin_fee_cap;

/* dpk-admin --rpc URL --contract ADDR [--max-fee-per-gas admin_fee_cap]
 * [--private-key-file (key of w)] CMD ARG, output (stdout and stderr) in
 * out; its exit status. */
static int
admin(struct ctx *c, const struct dpk_wallet *w, struct dpk_buf *out, const char *cmd, const char *arg)
{
	char prog[4096], dir[4096], keyfile[4200], keyhex[67];
	char *argv[14];
	size_t n = 0;
	int st;

	dpk_test_built("admin/dpk-admin", prog, sizeof(prog));
	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(keyfile, sizeof(keyfile), "%s/key", dir);
	argv[n++] = prog;
	argv[n++] = (char *)"--rpc";
	argv[n++] = c->anvil.url;
	argv[n++] = (char *)"--contract";
	argv[n++] = c->contract_hex;
	if (admin_fee_cap != NULL) {
		argv[n++] = (char *)"--max-fee-per-gas";
		argv[n++] = (char *)admin_fee_cap;
	}
	if (w != NULL) {
		assert_int_equal(dpk_hex_encode(w->priv, 32, 0, keyhex, sizeof(keyhex)), 0);
		dpk_test_write_file(keyfile, keyhex, 0600);
		explicit_bzero(keyhex, sizeof(keyhex));
		argv[n++] = (char *)"--private-key-file";
		argv[n++] = keyfile;
	}
	argv[n++] = (char *)cmd;
	argv[n++] = (char *)arg;
	argv[n] = NULL;
	st = run_joined(out, argv);
	dpk_test_rmtree(dir);
	return st;
}

/* registerRelayed: the approver sends the request its device signed, in one
 * transaction; the device's wallet holds no ether. A forged signature, a
 * request relayed by another approver than the one it names, a replay and an
 * expired request are refused; a relayed P-256 and RSA key round-trip. */
static void
test_relayed_register(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id;
	struct dpk_registry_record rec;
	struct dpk_wallet dev;
	struct dpk_buf cd;
	struct dpk_u256 n, bal;
	uint8_t idh[32], pub[65], kh[32], ours[32], theirs[32], sig[65], bad[65], priv[32];
	char at[43], dt[43], want[256], ht[67];
	uint64_t expiry = (uint64_t)time(NULL) + 3600;

	make_approver(c, &c->pkm);
	make_approver(c, &c->pkm_b);
	dpk_buf_init(&cd, 1 << 16);
	memset(priv, 0, sizeof(priv));
	priv[31] = 0x2a; /* a wallet nobody funded */
	assert_int_equal(dpk_wallet_from_private(&dev, priv), 0);
	assert_int_equal(dpk_rpc_balance(c->rpc, dev.addr, DPK_RPC_LATEST, &bal), 0);
	assert_true(dpk_u256_is_zero(&bal));
	identity("relayed.example", &id, idh);
	hash_text(idh, ht);
	p256_key(pub, 21);
	dpk_keccak256(pub, 65, kh);
	dpk_u256_from_u64(&n, 0);

	/* our digest is the contract's */
	{
		struct dpk_abi_value a[7];

		a[0] = dpk_abi_fixed_bytes(idh, 32);
		a[1] = dpk_abi_fixed_bytes(kh, 32);
		a[2] = dpk_abi_uint64(1);
		a[3] = dpk_abi_address(dev.addr);
		a[4] = dpk_abi_address(c->pkm.addr);
		a[5] = dpk_abi_uint64(expiry);
		a[6] = dpk_abi_uint256(&n);
		assert_int_equal(dpk_abi_encode_call(
				     "relayedRegistrationDigest(bytes32,bytes32,uint8,address,address,uint64,uint256)", a, 7, &cd),
		    0);
		view_bytes32(c, &cd, theirs);
		dpk_buf_reset(&cd);
	}
	assert_int_equal(dpk_registry_relayed_digest(DPK_TEST_CHAIN_ID, c->contract, idh, pub, 65, 1, dev.addr,
			     c->pkm.addr, expiry, &n, ours),
	    0);
	assert_memory_equal(ours, theirs, 32);
	assert_int_equal(dpk_registry_sign_relayed(&dev, DPK_TEST_CHAIN_ID, c->contract, idh, pub, 65, 1, c->pkm.addr,
			     expiry, &n, sig),
	    0);
	addr_text(dev.addr, dt);

	/* the controller's request signed by anyone else (the attacker's key
	 * over the digest that names the device) */
	assert_int_equal(dpk_wallet_sign(&c->attacker, ours, bad), 0);
	bad[64] = (uint8_t)(bad[64] + 27);
	assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, 1, pub, 65, dev.addr, expiry, &n, bad), 0);
	addr_text(c->attacker.addr, at);
	snprintf(want, sizeof(want), "SignerNotController(%s, %s)", at, dt);
	send_refused(c, &c->pkm, &cd, want);
	/* the device's request relayed by an approver it did not ask: the
	 * signature names c->pkm, so it recovers to some other address */
	assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, 1, pub, 65, dev.addr, expiry, &n, sig), 0);
	send_refused(c, &c->pkm_b, &cd, "SignerNotController");
	/* sent by a non-approver (the device itself could not pay anyway) */
	assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, 1, pub, 65, dev.addr, expiry, &n, sig), 0);
	addr_text(c->stranger.addr, at);
	snprintf(want, sizeof(want), "NotApprover(%s)", at);
	send_refused(c, &c->stranger, &cd, want);
	/* another key than the one signed */
	{
		uint8_t other[65];

		p256_key(other, 22);
		assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, 1, other, 65, dev.addr, expiry, &n, sig), 0);
		send_refused(c, &c->pkm, &cd, "SignerNotController");
	}

	/* relayed by the approver it names: one transaction */
	assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, 1, pub, 65, dev.addr, expiry, &n, sig), 0);
	send_ok(c, &c->pkm, &cd);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_int_equal(rec.version, 1);
	assert_int_equal(rec.publen, 65);
	assert_memory_equal(rec.pubkey, pub, 65);
	assert_memory_equal(rec.controller, dev.addr, 20);
	assert_memory_equal(rec.approver, c->pkm.addr, 20);
	dpk_registry_record_free(&rec);

	/* the same request again: its nonce (0) is not the version (1) any more */
	assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, 1, pub, 65, dev.addr, expiry, &n, sig), 0);
	snprintf(want, sizeof(want), "StaleNonce(%s, 0, 1)", ht);
	send_refused(c, &c->pkm, &cd, want);

	/* a new request for version 1 (an RSA key) passes once */
	{
		uint8_t *der;
		int derlen = rsa_spki(&der);

		dpk_u256_from_u64(&n, 1);
		assert_int_equal(dpk_registry_sign_relayed(&dev, DPK_TEST_CHAIN_ID, c->contract, idh, der, (size_t)derlen,
				     DPK_REGISTRY_ALG_RSA, c->pkm.addr, expiry, &n, sig),
		    0);
		assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, DPK_REGISTRY_ALG_RSA, der, (size_t)derlen,
				     dev.addr, expiry, &n, sig),
		    0);
		send_ok(c, &c->pkm, &cd);
		expect_key(c, &id, 2, DPK_REGISTRY_ALG_RSA, der, (size_t)derlen);
		OPENSSL_free(der);
	}

	/* an expired request */
	dpk_u256_from_u64(&n, 2);
	assert_int_equal(dpk_registry_sign_relayed(&dev, DPK_TEST_CHAIN_ID, c->contract, idh, pub, 65, 1, c->pkm.addr,
			     1000, &n, sig),
	    0);
	assert_int_equal(dpk_registry_encode_register_relayed(&cd, &id, 1, pub, 65, dev.addr, 1000, &n, sig), 0);
	send_refused(c, &c->pkm, &cd, "SignatureExpired");

	/* the device's balance was never touched */
	assert_int_equal(dpk_rpc_balance(c->rpc, dev.addr, DPK_RPC_LATEST, &bal), 0);
	assert_true(dpk_u256_is_zero(&bal));
	dpk_wallet_clear(&dev);
	dpk_buf_free(&cd);
}

/* Issue 11: one compromised PKM must not take over the identities other
 * PKMs approved. Approver A approved "scoped.example"; approver B may neither
 * revoke it nor approve it to anybody after a revocation, through the library,
 * cast or dpk-admin (NotRecordApprover); A and the owner may; an approver the
 * owner removed can no longer act on its own records. The serial is set once,
 * at the first approval, and survives rotation, revocation and re-approval. */
static void
test_approvers_scoped(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id, idb;
	struct dpk_registry_record rec;
	struct dpk_buf cd, o;
	uint8_t idh[32], idbh[32], pub1[65], pub2[65], pub3[65], tok[32], sel[4], sig[65];
	char ht[67], aa[43], ab[43], ao[43], want[256], selx[11], line[128];
	char *argv[16];
	uint64_t expiry = (uint64_t)time(NULL) + 3600;
	int st;

	make_approver(c, &c->pkm);   /* A */
	make_approver(c, &c->pkm_b); /* B */
	dpk_buf_init(&cd, 1 << 16);
	identity("scoped.example", &id, idh);
	identity("b-side.example", &idb, idbh);
	p256_key(pub1, 11);
	p256_key(pub2, 12);
	p256_key(pub3, 13);
	hash_text(idh, ht);
	addr_text(c->pkm.addr, aa);
	addr_text(c->pkm_b.addr, ab);
	addr_text(c->owner.addr, ao);

	/* A approves the device's identity (serial 1), B the attacker's (serial 2) */
	dpk_keccak256("scoped 1", 8, tok);
	add_client(c, &c->device, &id, pub1, 65, tok);
	approve_as(c, &c->pkm, c->device.addr, idh, pub1, 65);
	dpk_keccak256("b-side 1", 8, tok);
	add_client(c, &c->attacker, &idb, pub1, 65, tok);
	approve_as(c, &c->pkm_b, c->attacker.addr, idbh, pub1, 65);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_memory_equal(rec.approver, c->pkm.addr, 20);
	assert_true(rec.serial == 1);
	dpk_registry_record_free(&rec);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &idb, &rec), 0);
	assert_memory_equal(rec.approver, c->pkm_b.addr, 20);
	assert_true(rec.serial == 2);
	dpk_registry_record_free(&rec);

	/* B revoking A's identity: refused, with the custom error naming both */
	snprintf(want, sizeof(want), "NotRecordApprover(%s, %s, %s)", ht, aa, ab);
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh), 0);
	send_refused(c, &c->pkm_b, &cd, want);
	/* the same through cast send (its own ABI encoder and gas estimate) */
	assert_int_equal(dpk_abi_selector("NotRecordApprover(bytes32,address,address)", sel), 0);
	assert_int_equal(dpk_hex_encode(sel, 4, 0, selx, sizeof(selx)), 0);
	{
		char keyx[67];
		size_t n = 0;

		assert_int_equal(dpk_hex_encode(c->pkm_b.priv, 32, 1, keyx, sizeof(keyx)), 0);
		argv[n++] = (char *)dpk_test_tool("DPK_CAST");
		argv[n++] = (char *)"send";
		argv[n++] = (char *)"--rpc-url";
		argv[n++] = c->anvil.url;
		argv[n++] = (char *)"--private-key";
		argv[n++] = keyx; /* a public anvil test key */
		argv[n++] = c->contract_hex;
		argv[n++] = (char *)"revoke(bytes32)";
		argv[n++] = ht;
		argv[n] = NULL;
		st = run_joined(&o, argv);
		assert_int_not_equal(st, 0);
		if (strstr((char *)o.data, selx) == NULL)
			fail_msg("cast send: no NotRecordApprover (0x%s) in: %s", selx, (char *)o.data);
		dpk_buf_free(&o);
	}
	/* and through dpk-admin, which names the error */
	st = admin(c, &c->pkm_b, &o, "revoke", "scoped.example");
	assert_int_equal(st, 1);
	if (strstr((char *)o.data, want) == NULL)
		fail_msg("dpk-admin revoke by B: expected %s in: %s", want, (char *)o.data);
	dpk_buf_free(&o);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	dpk_registry_record_free(&rec);

	/* B cannot hand it over either: while active (IdentityTaken comes first for
	 * another controller), nor as a rotation request of the device itself */
	dpk_keccak256("scoped 2", 8, tok);
	add_client(c, &c->device, &id, pub2, 65, tok);
	{
		struct dpk_registry_pending p;

		assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->device.addr, &p), 0);
		assert_int_equal(dpk_registry_encode_approve_client(&cd, c->device.addr, p.record_hash), 0);
		send_refused(c, &c->pkm_b, &cd, want);
		dpk_registry_pending_free(&p);
	}
	/* A can (a rotation through a new request): version 2, the same serial */
	approve_as(c, &c->pkm, c->device.addr, idh, pub2, 65);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.version, 2);
	assert_true(rec.serial == 1);
	dpk_registry_record_free(&rec);

	/* the device retires it; then the attacker asks for it and B approves:
	 * the old takeover (revoke + re-claim) is closed, both ways */
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh), 0);
	send_ok(c, &c->device, &cd);
	dpk_keccak256("scoped 3", 8, tok);
	add_client(c, &c->attacker, &id, pub3, 65, tok);
	{
		struct dpk_registry_pending p;

		assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->attacker.addr, &p), 0);
		assert_int_equal(dpk_registry_encode_approve_client(&cd, c->attacker.addr, p.record_hash), 0);
		send_refused(c, &c->pkm_b, &cd, want);
		dpk_registry_pending_free(&p);
	}
	sign(c, &c->pkm_b, idh, pub3, c->attacker.addr, expiry, 1, sig);
	register_cd(&cd, &id, pub3, expiry, 1, sig);
	send_refused(c, &c->attacker, &cd, want);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_REVOKED);
	assert_memory_equal(rec.controller, c->device.addr, 20);
	assert_true(rec.serial == 1);
	dpk_registry_record_free(&rec);

	/* A re-approves its own identity for the device: version 3, serial 1 */
	dpk_keccak256("scoped 4", 8, tok);
	add_client(c, &c->device, &id, pub1, 65, tok);
	approve_as(c, &c->pkm, c->device.addr, idh, pub1, 65);
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_int_equal(rec.version, 3);
	assert_true(rec.serial == 1);
	assert_memory_equal(rec.approver, c->pkm.addr, 20);
	dpk_registry_record_free(&rec);

	/* the owner may revoke any identity (dpk-admin revoke), and re-assign it:
	 * then it is the owner's to manage, and A's no longer */
	st = admin(c, &c->owner, &o, "revoke", "scoped.example");
	if (st != 0)
		fail_msg("dpk-admin revoke by the owner: %s", (char *)o.data);
	dpk_buf_free(&o);
	{
		struct dpk_registry_pending p;

		assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->attacker.addr, &p), 0);
		assert_int_equal(dpk_registry_encode_approve_client(&cd, c->attacker.addr, p.record_hash), 0);
		send_ok(c, &c->owner, &cd);
		dpk_registry_pending_free(&p);
	}
	assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &id, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_memory_equal(rec.controller, c->attacker.addr, 20);
	assert_memory_equal(rec.approver, c->owner.addr, 20);
	assert_int_equal(rec.version, 4);
	assert_true(rec.serial == 1);
	dpk_registry_record_free(&rec);
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh), 0);
	snprintf(want, sizeof(want), "NotRecordApprover(%s, %s, %s)", ht, ao, aa);
	send_refused(c, &c->pkm, &cd, want);
	/* the owner approves no new identity: that is an approver's job */
	dpk_keccak256("owner's own", 11, tok);
	{
		struct dpk_identity idn;
		struct dpk_registry_pending p;
		uint8_t idnh[32];
		char hn[67];

		identity("new.example", &idn, idnh);
		add_client(c, &c->stranger, &idn, pub2, 65, tok);
		assert_int_equal(dpk_registry_get_pending(c->rpc, c->contract, c->stranger.addr, &p), 0);
		assert_int_equal(dpk_registry_encode_approve_client(&cd, c->stranger.addr, p.record_hash), 0);
		snprintf(want, sizeof(want), "NotApprover(%s)", ao);
		send_refused(c, &c->owner, &cd, want);
		dpk_registry_pending_free(&p);
		/* B approves it: the next serial */
		approve_as(c, &c->pkm_b, c->stranger.addr, idnh, pub2, 65);
		assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &idn, &rec), 0);
		assert_true(rec.serial == 3);
		dpk_registry_record_free(&rec);
		/* B removed by the owner: its records still name it, but it can no
		 * longer revoke them; the owner can */
		assert_int_equal(dpk_registry_encode_remove_approver(&cd, c->pkm_b.addr), 0);
		send_ok(c, &c->owner, &cd);
		assert_int_equal(dpk_registry_encode_revoke(&cd, idnh), 0);
		hash_text(idnh, hn);
		snprintf(want, sizeof(want), "NotControllerOrApprover(%s, %s)", hn, ab);
		send_refused(c, &c->pkm_b, &cd, want);
		assert_int_equal(dpk_registry_encode_revoke(&cd, idnh), 0);
		send_ok(c, &c->owner, &cd);
		assert_int_equal(dpk_registry_get_client(c->rpc, c->contract, &idn, &rec), 0);
		assert_int_equal(rec.status, DPK_REGISTRY_REVOKED);
		assert_memory_equal(rec.approver, c->pkm_b.addr, 20);
		assert_true(rec.serial == 3);
		dpk_registry_record_free(&rec);
	}
	cast_call(c, &o, "lastSerial()(uint64)", NULL);
	assert_string_equal((char *)o.data, "3");
	dpk_buf_free(&o);

	/* dpk-admin lookup prints approver and serial (no key needed) */
	st = admin(c, NULL, &o, "lookup", "scoped.example");
	if (st != 0) /* 0: active */
		fail_msg("dpk-admin lookup exited %d: %s", st, (char *)o.data);
	snprintf(line, sizeof(line), "approver:   %s\n", ao);
	if (strstr((char *)o.data, line) == NULL || strstr((char *)o.data, "serial:     1\n") == NULL)
		fail_msg("dpk-admin lookup: %s", (char *)o.data);
	dpk_buf_free(&o);
	dpk_buf_free(&cd);
}

static void
test_ownership_two_steps(void **state)
{
	struct ctx *c = *state;
	struct dpk_buf cd;
	uint8_t a[20];
	char at[43], want[128];

	dpk_buf_init(&cd, 1024);
	assert_int_equal(dpk_registry_encode_transfer_ownership(&cd, c->stranger.addr), 0);
	addr_text(c->stranger.addr, at);
	snprintf(want, sizeof(want), "NotOwner(%s)", at);
	send_refused(c, &c->stranger, &cd, want);
	assert_int_equal(dpk_registry_encode_transfer_ownership(&cd, c->pkm.addr), 0);
	send_ok(c, &c->owner, &cd);
	assert_int_equal(dpk_registry_owner(c->rpc, c->contract, a), 0);
	assert_memory_equal(a, c->owner.addr, 20); /* not yet */
	assert_int_equal(dpk_registry_encode_accept_ownership(&cd), 0);
	snprintf(want, sizeof(want), "NotPendingOwner(%s)", at);
	send_refused(c, &c->stranger, &cd, want);
	assert_int_equal(dpk_registry_encode_accept_ownership(&cd), 0);
	send_ok(c, &c->pkm, &cd);
	assert_int_equal(dpk_registry_owner(c->rpc, c->contract, a), 0);
	assert_memory_equal(a, c->pkm.addr, 20);
	/* the old owner is nobody now */
	assert_int_equal(dpk_registry_encode_add_approver(&cd, c->stranger.addr), 0);
	addr_text(c->owner.addr, at);
	snprintf(want, sizeof(want), "NotOwner(%s)", at);
	send_refused(c, &c->owner, &cd, want);
	dpk_buf_free(&cd);
}

/* Everything a session emits, read back with eth_getLogs and decoded. */
static void
test_events(void **state)
{
	struct ctx *c = *state;
	struct dpk_identity id;
	struct dpk_rpc_filter f;
	struct dpk_rpc_log *logs = NULL;
	struct dpk_registry_event ev[16];
	struct dpk_buf cd;
	uint8_t idh[32], pub[65], pub2[65], tok[32], zero[20] = {0}, rh[32];
	static const enum dpk_registry_event_kind want[] = {
		DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED,
		DPK_REGISTRY_EV_APPROVER_ADDED,
		DPK_REGISTRY_EV_PKM_KEY_STORED,
		DPK_REGISTRY_EV_CLIENT_ADDED,
		DPK_REGISTRY_EV_CLIENT_APPROVED,
		DPK_REGISTRY_EV_KEY_ROTATED,
		DPK_REGISTRY_EV_CLIENT_REVOKED,
		DPK_REGISTRY_EV_APPROVER_REMOVED,
		DPK_REGISTRY_EV_OWNERSHIP_TRANSFER_STARTED,
		DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED,
	};
	size_t n = 0;
	uint64_t head;

	dpk_buf_init(&cd, 1 << 16);
	identity("events.example", &id, idh);
	p256_key(pub, 10);
	p256_key(pub2, 11);
	dpk_keccak256("ev", 2, tok);
	make_approver(c, &c->pkm);
	assert_int_equal(dpk_registry_encode_store_pkm_key(&cd, pub, 65), 0);
	send_ok(c, &c->pkm, &cd);
	add_client(c, &c->device, &id, pub, 65, tok);
	approve(c, c->device.addr, idh, pub, 65);
	assert_int_equal(dpk_registry_encode_rotate(&cd, idh, DPK_REGISTRY_ALG_P256, pub2, 65), 0);
	send_ok(c, &c->device, &cd);
	assert_int_equal(dpk_registry_encode_revoke(&cd, idh), 0);
	send_ok(c, &c->pkm, &cd);
	assert_int_equal(dpk_registry_encode_remove_approver(&cd, c->pkm.addr), 0);
	send_ok(c, &c->owner, &cd);
	assert_int_equal(dpk_registry_encode_transfer_ownership(&cd, c->stranger.addr), 0);
	send_ok(c, &c->owner, &cd);
	assert_int_equal(dpk_registry_encode_accept_ownership(&cd), 0);
	send_ok(c, &c->stranger, &cd);

	memset(&f, 0, sizeof(f));
	f.address = c->contract;
	f.from_block = 0;
	assert_int_equal(dpk_rpc_block_number(c->rpc, &head), 0);
	f.to_block = head;
	assert_int_equal(dpk_rpc_get_logs(c->rpc, &f, &logs, &n), 0);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(dpk_registry_decode_contract_event(c->contract, &logs[i], &ev[i]), 0);
		assert_int_equal(ev[i].kind, want[i]);
		assert_int_equal(ev[i].block_number, logs[i].block_number);
		if (i > 0)
			assert_true(ev[i].block_number >= ev[i - 1].block_number);
	}
	/* a log read as another contract's is not ours */
	{
		uint8_t other[20];

		memset(other, 0x42, 20);
		assert_int_equal(dpk_registry_decode_contract_event(other, &logs[0], &ev[15]), DPK_ERR_NOTFOUND);
	}
	assert_memory_equal(ev[0].addr, zero, 20);
	assert_memory_equal(ev[0].addr2, c->owner.addr, 20);
	assert_memory_equal(ev[1].addr, c->pkm.addr, 20);
	assert_memory_equal(ev[2].addr, c->pkm.addr, 20);
	assert_memory_equal(ev[3].id_hash, idh, 32);
	assert_memory_equal(ev[3].addr, c->device.addr, 20);
	assert_memory_equal(ev[3].token_hash, tok, 32);
	assert_int_equal(dpk_registry_record_hash(idh, 1, pub, 65, tok, c->device.addr, rh), 0);
	assert_memory_equal(ev[3].record_hash, rh, 32);
	assert_int_equal(ev[3].alg, 1);
	assert_memory_equal(ev[4].id_hash, idh, 32);
	assert_memory_equal(ev[4].addr, c->device.addr, 20);
	assert_memory_equal(ev[4].addr2, c->pkm.addr, 20);
	assert_int_equal(ev[4].version, 1);
	assert_memory_equal(ev[5].id_hash, idh, 32);
	assert_memory_equal(ev[5].addr, c->device.addr, 20);
	assert_int_equal(ev[5].version, 2);
	assert_memory_equal(ev[6].id_hash, idh, 32);
	assert_memory_equal(ev[6].addr2, c->pkm.addr, 20);
	assert_int_equal(ev[6].version, 2);
	assert_memory_equal(ev[7].addr, c->pkm.addr, 20);
	assert_memory_equal(ev[8].addr, c->owner.addr, 20);
	assert_memory_equal(ev[8].addr2, c->stranger.addr, 20);
	assert_memory_equal(ev[9].addr, c->owner.addr, 20);
	assert_memory_equal(ev[9].addr2, c->stranger.addr, 20);
	dpk_rpc_logs_free(logs, n);

	/* one kind by its topic, as an indexer would filter */
	{
		uint8_t topic[32];

		dpk_registry_event_topic(DPK_REGISTRY_EV_KEY_ROTATED, topic);
		f.topics[0] = topic;
		f.ntopics = 1;
		assert_int_equal(dpk_rpc_get_logs(c->rpc, &f, &logs, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(dpk_registry_decode_event(&logs[0], &ev[0]), 0);
		assert_int_equal(ev[0].kind, DPK_REGISTRY_EV_KEY_ROTATED);
		dpk_rpc_logs_free(logs, n);
	}
	dpk_buf_free(&cd);
}

/* dpk-admin --max-fee-per-gas: below the network's base fee nothing is sent
 * and the message names both figures; a bad unit is a usage error; a cap
 * above the fee sends. */
static void
test_admin_fee_cap(void **state)
{
	struct ctx *c = *state;
	struct dpk_buf o;
	char addr[43];
	uint64_t n0, n1;
	int st;

	dpk_wallet_address_format(c->stranger.addr, addr);
	assert_int_equal(dpk_rpc_nonce(c->rpc, c->owner.addr, DPK_RPC_LATEST, &n0), 0);
	admin_fee_cap = "1 wei";
	st = admin(c, &c->owner, &o, "add-approver", addr);
	assert_int_equal(st, 1);
	if (strstr((char *)o.data, "is at or above max_fee_per_gas (0.000000001 gwei)") == NULL ||
	    strstr((char *)o.data, "base fee (") == NULL)
		fail_msg("dpk-admin with a cap below the base fee: %s", (char *)o.data);
	dpk_buf_free(&o);
	assert_int_equal(dpk_rpc_nonce(c->rpc, c->owner.addr, DPK_RPC_LATEST, &n1), 0);
	assert_int_equal(n1, n0);
	admin_fee_cap = "3 Gwei";
	assert_int_equal(admin(c, &c->owner, &o, "add-approver", addr), 2);
	assert_non_null(strstr((char *)o.data, "unknown unit"));
	dpk_buf_free(&o);
	admin_fee_cap = "500 gwei";
	st = admin(c, &c->owner, &o, "add-approver", addr);
	admin_fee_cap = NULL;
	if (st != 0)
		fail_msg("dpk-admin add-approver under a 500 gwei cap: %s", (char *)o.data);
	dpk_buf_free(&o);
	assert_int_equal(dpk_rpc_nonce(c->rpc, c->owner.addr, DPK_RPC_LATEST, &n1), 0);
	assert_int_equal(n1, n0 + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roles_and_pkm_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_approve_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_running_gains_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_changed_after_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_and_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eip712_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relayed_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approvers_scoped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ownership_two_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_fee_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
