/* The registry's bindings without a chain: calldata of every function, the
 * record hash and the EIP-712 digest against cast (an independent encoder and
 * EIP-712 implementation), the interface against the ABI compiled from
 * DPK.sol, and the decoders on malformed return data, revert data and logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../../contracts/dpk_contract.h"
#include "eth/abi.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "registry/registry.h"
#include "eth/wallet.h"

#define ADDR_A "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define ADDR_B "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define CONTRACT "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define H1 "0x1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "0x2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "0x3333333333333333333333333333333333333333333333333333333333333333"

/* Run cast (arguments NULL-terminated); it must exit 0 and print something. */
static void
cast(struct dpk_buf *out, ...)
{
	char *argv[32];
	size_t n = 0;
	va_list ap;

	argv[n++] = (char *)dpk_test_tool("DPK_CAST");
	va_start(ap, out);
	while ((argv[n] = va_arg(ap, char *)) != NULL) {
		n++;
		assert_true(n < 31);
	}
	va_end(ap);
	dpk_buf_init(out, 1 << 20);
	if (dpk_test_run(argv, NULL, out) != 0)
		fail_msg("cast %s %s failed", argv[1], argv[2] != NULL ? argv[2] : "");
	dpk_test_chomp(out);
	assert_int_equal(dpk_buf_cstr(out), 0);
	if (out->len < 3 || memcmp(out->data, "0x", 2) != 0)
		fail_msg("cast %s printed \"%s\", not hex", argv[1], (char *)out->data);
}

/* "0x" + hex of p, malloc'd */
static char *
hex(const void *p, size_t n)
{
	char *s = malloc(2 * n + 3);

	assert_non_null(s);
	assert_int_equal(dpk_hex_encode(p, n, 1, s, 2 * n + 3), 0);
	return s;
}

static void
unhex(const char *s, struct dpk_buf *out)
{
	size_t n = strlen(s), got = 0;
	uint8_t *p;

	dpk_buf_init(out, 1 << 20);
	assert_int_equal(dpk_buf_reserve(out, n / 2, &p), 0);
	assert_int_equal(dpk_hex_decode(s, n, p, n / 2, &got), 0);
	out->len = got;
}

static void
addr(const char *s, uint8_t a[20])
{
	assert_int_equal(dpk_wallet_address_parse(s, a), 0);
}

static void
b32(const char *s, uint8_t h[32])
{
	assert_int_equal(dpk_hex_decode_exact(s, h, 32), 0);
}

/* A P-256-shaped key with NUL bytes inside: lengths, not strings. */
static void
test_key(uint8_t pub[65])
{
	pub[0] = 0x04;
	for (int i = 1; i < 65; i++)
		pub[i] = (uint8_t)(i % 5 == 0 ? 0 : i * 7);
}

static void
expect_calldata(const struct dpk_buf *ours, struct dpk_buf *theirs)
{
	char *o = hex(ours->data, ours->len);

	assert_string_equal(o, (char *)theirs->data);
	free(o);
	dpk_buf_free(theirs);
}

static void
test_calldata_matches_cast(void **state)
{
	struct dpk_identity id;
	struct dpk_buf b, c;
	struct dpk_u256 nonce;
	uint8_t pub[65], tok[32], a[20], h[32], sig[65], rsa[300];
	char *pubx, *sigx, *valx, *rsax;
	(void)state;

	test_key(pub);
	b32(H1, tok);
	b32(H2, h);
	addr(ADDR_B, a);
	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(0xa0 + i);
	sig[64] = 28;
	for (size_t i = 0; i < sizeof(rsa); i++)
		rsa[i] = (uint8_t)(i * 13);
	assert_int_equal(dpk_identity_parse("Example.COM", 11, &id), 0);
	pubx = hex(pub, 65);
	sigx = hex(sig, 65);
	valx = hex(id.value, id.len);
	rsax = hex(rsa, sizeof(rsa));
	dpk_buf_init(&b, 1 << 16);

	assert_int_equal(dpk_registry_encode_add_client(&b, &id, 1, pub, 65, tok), 0);
	cast(&c, "calldata", "addClient(uint8,bytes,uint8,bytes,bytes32)", "1", valx, "1", pubx, H1, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_approve_client(&b, a, h), 0);
	cast(&c, "calldata", "approveClient(address,bytes32)", ADDR_B, H2, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	dpk_u256_from_u64(&nonce, 0);
	memset(nonce.be, 0xff, 32); /* the largest nonce */
	assert_int_equal(dpk_registry_encode_register(&b, &id, 2, rsa, sizeof(rsa), UINT64_MAX, &nonce, sig), 0);
	cast(&c, "calldata", "register(uint8,bytes,uint8,bytes,uint64,uint256,bytes)", "1", valx, "2", rsax,
	    "18446744073709551615",
	    "115792089237316195423570985008687907853269984665640564039457584007913129639935", sigx, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_register_relayed(&b, &id, 1, pub, 65, a, 1700000000, &nonce, sig), 0);
	cast(&c, "calldata", "registerRelayed(uint8,bytes,uint8,bytes,address,uint64,uint256,bytes)", "1", valx, "1",
	    pubx, ADDR_B, "1700000000",
	    "115792089237316195423570985008687907853269984665640564039457584007913129639935", sigx, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_rotate(&b, h, 2, rsa, sizeof(rsa)), 0);
	cast(&c, "calldata", "rotate(bytes32,uint8,bytes)", H2, "2", rsax, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_revoke(&b, h), 0);
	cast(&c, "calldata", "revoke(bytes32)", H2, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_add_approver(&b, a), 0);
	cast(&c, "calldata", "addApprover(address)", ADDR_B, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_remove_approver(&b, a), 0);
	cast(&c, "calldata", "removeApprover(address)", ADDR_B, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_transfer_ownership(&b, a), 0);
	cast(&c, "calldata", "transferOwnership(address)", ADDR_B, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_accept_ownership(&b), 0);
	cast(&c, "calldata", "acceptOwnership()", NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	assert_int_equal(dpk_registry_encode_store_pkm_key(&b, pub, 65), 0);
	cast(&c, "calldata", "storePKMKey(bytes)", pubx, NULL);
	expect_calldata(&b, &c);
	dpk_buf_reset(&b);

	/* an IPv6 identity: 16 bytes with NULs */
	assert_int_equal(dpk_identity_parse("2001:db8::1", 11, &id), 0);
	free(valx);
	valx = hex(id.value, id.len);
	assert_int_equal(dpk_registry_encode_add_client(&b, &id, 1, pub, 65, tok), 0);
	cast(&c, "calldata", "addClient(uint8,bytes,uint8,bytes,bytes32)", "3", valx, "1", pubx, H1, NULL);
	expect_calldata(&b, &c);

	dpk_buf_free(&b);
	free(pubx);
	free(sigx);
	free(valx);
	free(rsax);
}

/* What the contract would refuse with NonCanonicalIdentity is refused before
 * it costs a transaction; NULLs are refused too. */
static void
test_encoders_refuse(void **state)
{
	struct dpk_identity id;
	struct dpk_buf b;
	struct dpk_u256 n;
	uint8_t pub[65], tok[32] = {1}, sig[65] = {0};
	(void)state;

	test_key(pub);
	dpk_u256_from_u64(&n, 1);
	dpk_buf_init(&b, 1 << 16);
	memset(&id, 0, sizeof(id));
	id.kind = DPK_IDENTITY_DOMAIN;
	memcpy(id.value, "Example.com", 11);
	id.len = 11;
	assert_int_equal(dpk_registry_encode_add_client(&b, &id, 1, pub, 65, tok), DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_registry_encode_register(&b, &id, 1, pub, 65, 1, &n, sig), DPK_ERR_NONCANONICAL);
	id.kind = DPK_IDENTITY_IPV4;
	id.len = 5;
	assert_int_equal(dpk_registry_encode_add_client(&b, &id, 1, pub, 65, tok), DPK_ERR_NONCANONICAL);
	id.kind = 9;
	id.len = 4;
	assert_int_equal(dpk_registry_encode_add_client(&b, &id, 1, pub, 65, tok), DPK_ERR_UNSUPPORTED);
	id.kind = DPK_IDENTITY_DOMAIN;
	id.len = 255; /* beyond value[]: must not be read */
	assert_int_equal(dpk_registry_encode_add_client(&b, &id, 1, pub, 65, tok), DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_registry_encode_add_client(&b, NULL, 1, pub, 65, tok), DPK_ERR_INVALID);
	assert_int_equal(dpk_registry_encode_store_pkm_key(&b, NULL, 3), DPK_ERR_INVALID);
	assert_int_equal(dpk_registry_encode_revoke(NULL, tok), DPK_ERR_INVALID);
	assert_int_equal(b.len, 0);
	/* a full output buffer */
	dpk_buf_free(&b);
	dpk_buf_init(&b, 40);
	assert_int_equal(dpk_registry_encode_store_pkm_key(&b, pub, 65), DPK_ERR_TOOBIG);
	dpk_buf_free(&b);
}

/* recordHash = keccak256(abi.encode(idHash, alg, keccak256(key), tokenHash, client)),
 * with the identity hash keccak256(kind || value), all computed by cast. */
static void
test_record_hash_matches_cast(void **state)
{
	struct dpk_buf kh, ih, enc, want;
	uint8_t pub[65], idh[32], tok[32], client[20], out[32];
	char *pubx, *o;
	char packed[2 + 2 + 2 * 11 + 1];
	(void)state;

	test_key(pub);
	pubx = hex(pub, 65);
	memcpy(packed, "0x01", 4);
	assert_int_equal(dpk_hex_encode("example.com", 11, 0, packed + 4, sizeof(packed) - 4), 0);
	cast(&ih, "keccak", packed, NULL);
	cast(&kh, "keccak", pubx, NULL);
	cast(&enc, "abi-encode", "f(bytes32,uint8,bytes32,bytes32,address)", (char *)ih.data, "1", (char *)kh.data,
	    H3, ADDR_B, NULL);
	cast(&want, "keccak", (char *)enc.data, NULL);

	b32((char *)ih.data, idh);
	b32(H3, tok);
	addr(ADDR_B, client);
	assert_int_equal(dpk_registry_record_hash(idh, 1, pub, 65, tok, client, out), 0);
	o = hex(out, 32);
	assert_string_equal(o, (char *)want.data);
	/* any other client gives another hash: a copied request is not the victim's */
	addr(ADDR_A, client);
	assert_int_equal(dpk_registry_record_hash(idh, 1, pub, 65, tok, client, out), 0);
	free(o);
	o = hex(out, 32);
	assert_string_not_equal(o, (char *)want.data);
	assert_int_equal(dpk_registry_record_hash(idh, 1, NULL, 5, tok, client, out), DPK_ERR_INVALID);
	free(o);
	free(pubx);
	dpk_buf_free(&ih);
	dpk_buf_free(&kh);
	dpk_buf_free(&enc);
	dpk_buf_free(&want);
}

/* The EIP-712 digest step by step with cast keccak / abi-encode, and the
 * signature against cast's own EIP-712 implementation (cast wallet sign
 * --data): RFC 6979 makes both signatures the same bytes. */
static void
test_eip712_matches_cast(void **state)
{
	struct dpk_buf th, nh, vh, dom, ds, rt, kh, st, sh, dg, sg;
	struct dpk_wallet w;
	struct dpk_u256 nonce;
	uint8_t priv[32], contract[20], idh[32], pub[65], controller[20], digest[32], sig[65], got[20];
	char *pubx, *o, *json, packed[2 + 4 + 128 + 1];
	size_t jsz = 4096;
	(void)state;

	test_key(pub);
	pubx = hex(pub, 65);
	cast(&th, "keccak", "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)", NULL);
	cast(&nh, "keccak", "DPK", NULL);
	cast(&vh, "keccak", "1", NULL);
	cast(&dom, "abi-encode", "f(bytes32,bytes32,bytes32,uint256,address)", (char *)th.data, (char *)nh.data,
	    (char *)vh.data, "31337", CONTRACT, NULL);
	cast(&ds, "keccak", (char *)dom.data, NULL);
	cast(&rt, "keccak",
	    "Registration(bytes32 identityHash,bytes32 keyHash,uint8 algorithm,address controller,uint64 expiry,"
	    "uint256 nonce)",
	    NULL);
	cast(&kh, "keccak", pubx, NULL);
	cast(&st, "abi-encode", "f(bytes32,bytes32,bytes32,uint8,address,uint64,uint256)", (char *)rt.data, H1,
	    (char *)kh.data, "1", ADDR_B, "1700000000", "424242", NULL);
	cast(&sh, "keccak", (char *)st.data, NULL);
	memcpy(packed, "0x1901", 6);
	memcpy(packed + 6, (char *)ds.data + 2, 64);
	memcpy(packed + 70, (char *)sh.data + 2, 64);
	packed[134] = '\0';
	cast(&dg, "keccak", packed, NULL);

	addr(CONTRACT, contract);
	b32(H1, idh);
	addr(ADDR_B, controller);
	dpk_u256_from_u64(&nonce, 424242);
	assert_int_equal(dpk_registry_domain_separator(31337, contract, digest), 0);
	o = hex(digest, 32);
	assert_string_equal(o, (char *)ds.data);
	free(o);
	assert_int_equal(dpk_registry_registration_digest(31337, contract, idh, pub, 65, 1, controller, 1700000000,
			     &nonce, digest),
	    0);
	o = hex(digest, 32);
	assert_string_equal(o, (char *)dg.data);
	free(o);
	/* another chain is another domain */
	assert_int_equal(dpk_registry_registration_digest(1, contract, idh, pub, 65, 1, controller, 1700000000,
			     &nonce, digest),
	    0);
	o = hex(digest, 32);
	assert_string_not_equal(o, (char *)dg.data);
	free(o);

	assert_int_equal(dpk_hex_decode_exact(DPK_TEST_DEV_KEY, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(&w, priv), 0);
	explicit_bzero(priv, sizeof(priv));
	assert_int_equal(dpk_registry_sign_registration(&w, 31337, contract, idh, pub, 65, 1, controller,
			     1700000000, &nonce, sig),
	    0);
	assert_true(sig[64] == 27 || sig[64] == 28);
	assert_true(sig[32] < 0x80); /* low s */
	json = malloc(jsz);
	assert_non_null(json);
	snprintf(json, jsz,
	    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\","
	    "\"type\":\"string\"},{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"verifyingContract\","
	    "\"type\":\"address\"}],\"Registration\":[{\"name\":\"identityHash\",\"type\":\"bytes32\"},"
	    "{\"name\":\"keyHash\",\"type\":\"bytes32\"},{\"name\":\"algorithm\",\"type\":\"uint8\"},"
	    "{\"name\":\"controller\",\"type\":\"address\"},{\"name\":\"expiry\",\"type\":\"uint64\"},"
	    "{\"name\":\"nonce\",\"type\":\"uint256\"}]},\"primaryType\":\"Registration\",\"domain\":"
	    "{\"name\":\"DPK\",\"version\":\"1\",\"chainId\":31337,\"verifyingContract\":\"%s\"},\"message\":"
	    "{\"identityHash\":\"%s\",\"keyHash\":\"%s\",\"algorithm\":1,\"controller\":\"%s\","
	    "\"expiry\":1700000000,\"nonce\":424242}}",
	    CONTRACT, H1, (char *)kh.data, ADDR_B);
	cast(&sg, "wallet", "sign", "--private-key", DPK_TEST_DEV_KEY, "--data", json, NULL);
	o = hex(sig, 65);
	assert_string_equal(o, (char *)sg.data);
	free(o);
	/* and it recovers to the approver */
	sig[64] = (uint8_t)(sig[64] - 27);
	assert_int_equal(dpk_wallet_recover(digest, sig, got), 0);
	assert_int_not_equal(memcmp(got, w.addr, 20), 0); /* digest is of chain 1 now */
	assert_int_equal(dpk_registry_registration_digest(31337, contract, idh, pub, 65, 1, controller, 1700000000,
			     &nonce, digest),
	    0);
	assert_int_equal(dpk_wallet_recover(digest, sig, got), 0);
	assert_memory_equal(got, w.addr, 20);

	dpk_wallet_clear(&w);
	free(json);
	free(pubx);
	dpk_buf_free(&th);
	dpk_buf_free(&nh);
	dpk_buf_free(&vh);
	dpk_buf_free(&dom);
	dpk_buf_free(&ds);
	dpk_buf_free(&rt);
	dpk_buf_free(&kh);
	dpk_buf_free(&st);
	dpk_buf_free(&sh);
	dpk_buf_free(&dg);
	dpk_buf_free(&sg);
}

/* The device's signature of a relayed registration is cast's own EIP-712
 * signature of the same typed data (so the digest is too), and recovers to
 * the device's wallet. */
static void
test_relayed_matches_cast(void **state)
{
	struct dpk_buf kh, sg;
	struct dpk_wallet w;
	struct dpk_u256 nonce;
	uint8_t priv[32], contract[20], idh[32], pub[65], approver[20], digest[32], sig[65], got[20];
	char *pubx, *o, json[4096];
	(void)state;

	test_key(pub);
	pubx = hex(pub, 65);
	cast(&kh, "keccak", pubx, NULL);
	addr(CONTRACT, contract);
	b32(H1, idh);
	addr(ADDR_B, approver);
	dpk_u256_from_u64(&nonce, 3);
	assert_int_equal(dpk_hex_decode_exact(DPK_TEST_DEV_KEY, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(&w, priv), 0);
	explicit_bzero(priv, sizeof(priv));
	assert_int_equal(dpk_registry_sign_relayed(&w, 31337, contract, idh, pub, 65, 1, approver, 1700000000, &nonce,
			     sig),
	    0);
	snprintf(json, sizeof(json),
	    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\","
	    "\"type\":\"string\"},{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"verifyingContract\","
	    "\"type\":\"address\"}],\"RelayedRegistration\":[{\"name\":\"identityHash\",\"type\":\"bytes32\"},"
	    "{\"name\":\"keyHash\",\"type\":\"bytes32\"},{\"name\":\"algorithm\",\"type\":\"uint8\"},"
	    "{\"name\":\"controller\",\"type\":\"address\"},{\"name\":\"approver\",\"type\":\"address\"},"
	    "{\"name\":\"expiry\",\"type\":\"uint64\"},{\"name\":\"nonce\",\"type\":\"uint256\"}]},"
	    "\"primaryType\":\"RelayedRegistration\",\"domain\":{\"name\":\"DPK\",\"version\":\"1\","
	    "\"chainId\":31337,\"verifyingContract\":\"%s\"},\"message\":{\"identityHash\":\"%s\",\"keyHash\":\"%s\","
	    "\"algorithm\":1,\"controller\":\"%s\",\"approver\":\"%s\",\"expiry\":1700000000,\"nonce\":3}}",
	    CONTRACT, H1, (char *)kh.data, DPK_TEST_DEV_ADDR, ADDR_B);
	cast(&sg, "wallet", "sign", "--private-key", DPK_TEST_DEV_KEY, "--data", json, NULL);
	o = hex(sig, 65);
	assert_string_equal(o, (char *)sg.data);
	free(o);
	assert_int_equal(dpk_registry_relayed_digest(31337, contract, idh, pub, 65, 1, w.addr, approver, 1700000000,
			     &nonce, digest),
	    0);
	sig[64] = (uint8_t)(sig[64] - 27);
	assert_int_equal(dpk_wallet_recover(digest, sig, got), 0);
	assert_memory_equal(got, w.addr, 20);
	/* another approver is another digest */
	approver[0] ^= 1;
	assert_int_equal(dpk_registry_relayed_digest(31337, contract, idh, pub, 65, 1, w.addr, approver, 1700000000,
			     &nonce, digest),
	    0);
	assert_int_equal(dpk_wallet_recover(digest, sig, got), 0);
	assert_int_not_equal(memcmp(got, w.addr, 20), 0);
	assert_int_equal(dpk_registry_sign_relayed(NULL, 31337, contract, idh, pub, 65, 1, approver, 1, &nonce, sig),
	    DPK_ERR_INVALID);

	dpk_wallet_clear(&w);
	free(pubx);
	dpk_buf_free(&kh);
	dpk_buf_free(&sg);
}

/* ---------------------------------------------------------------- results */

#define RECORD_SIG "f(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)"
#define RECORD_HEADS 9 /* head words: the key's offset and eight values */

/* getClient's return data, encoded by cast: controller A, approver B, serial 2^64 - 2 */
static void
record_data(struct dpk_buf *out, const char *key, const char *status)
{
	struct dpk_buf c;

	cast(&c, "abi-encode", RECORD_SIG, key, "1", ADDR_A, status, "4294967295", "1700000000",
	    "18446744073709551615", ADDR_B, "18446744073709551614", NULL);
	unhex((char *)c.data, out);
	dpk_buf_free(&c);
}

static int
decode_rec(const uint8_t *p, size_t n)
{
	struct dpk_registry_record rec;
	int r = dpk_registry_decode_record(p, n, &rec);

	if (r != 0)
		assert_null(rec.pubkey);
	dpk_registry_record_free(&rec);
	return r;
}

static void
test_decode_record(void **state)
{
	struct dpk_registry_record rec;
	struct dpk_buf d, big;
	uint8_t pub[65], a[20], *m;
	char *pubx, *bigx;
	uint8_t bigkey[DPK_REGISTRY_KEY_MAX + 1];
	(void)state;

	test_key(pub);
	pubx = hex(pub, 65);
	record_data(&d, pubx, "2");
	/* heads 9 words, key length word, 65 bytes padded to 96 */
	assert_int_equal(d.len, RECORD_HEADS * 32 + 32 + 96);
	assert_int_equal(dpk_registry_decode_record(d.data, d.len, &rec), 0);
	assert_int_equal(rec.publen, 65);
	assert_memory_equal(rec.pubkey, pub, 65); /* NUL bytes inside kept */
	assert_int_equal(rec.alg, 1);
	addr(ADDR_A, a);
	assert_memory_equal(rec.controller, a, 20);
	assert_int_equal(rec.status, DPK_REGISTRY_REVOKED);
	assert_int_equal(rec.version, 4294967295u);
	assert_int_equal(rec.valid_from, 1700000000);
	assert_true(rec.valid_until == UINT64_MAX);
	addr(ADDR_B, a);
	assert_memory_equal(rec.approver, a, 20);
	assert_true(rec.serial == UINT64_MAX - 1);
	dpk_registry_record_free(&rec);
	assert_null(rec.pubkey);

	m = malloc(d.len + 33);
	assert_non_null(m);
	/* truncated: in the heads, in the length word, in the key, in its padding */
	assert_int_equal(decode_rec(d.data, 0), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_rec(d.data, 100), DPK_ERR_RANGE); /* the key's offset is past the end */
	assert_int_equal(decode_rec(d.data, RECORD_HEADS * 32 + 16), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_rec(d.data, RECORD_HEADS * 32 + 32 + 40), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_rec(d.data, d.len - 1), DPK_ERR_TRUNCATED);
	for (size_t n = 0; n < d.len; n++)
		assert_int_not_equal(decode_rec(d.data, n), 0);
	/* trailing garbage */
	memcpy(m, d.data, d.len);
	memset(m + d.len, 0, 33);
	assert_int_equal(decode_rec(m, d.len + 32), DPK_ERR_TRAILING);
	m[d.len] = 0xee;
	assert_int_equal(decode_rec(m, d.len + 1), DPK_ERR_TRAILING);
	/* dirty padding after the key */
	memcpy(m, d.data, d.len);
	m[RECORD_HEADS * 32 + 32 + 65] = 0x01;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_NONCANONICAL);
	m[RECORD_HEADS * 32 + 32 + 65] = 0;
	m[d.len - 1] = 0x80;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_NONCANONICAL);
	/* wrong types: a uint8 with high bits, an address with high bytes, a
	 * uint32 over 32 bits, a status outside the enum */
	memcpy(m, d.data, d.len);
	m[32 + 30] = 0x01;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	memcpy(m, d.data, d.len);
	m[2 * 32 + 0] = 0x01;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	memcpy(m, d.data, d.len);
	m[4 * 32 + 27] = 0x01;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	memcpy(m, d.data, d.len);
	m[3 * 32 + 31] = 0;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE); /* None: the contract reverts instead */
	m[3 * 32 + 31] = 3;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	m[3 * 32 + 31] = 1;
	assert_int_equal(decode_rec(m, d.len), 0);
	/* the approver (an address) with high bytes; the serial over 64 bits, or 0
	 * (every record has one from its first approval on) */
	memcpy(m, d.data, d.len);
	m[7 * 32 + 11] = 0x01;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	memcpy(m, d.data, d.len);
	m[8 * 32 + 23] = 0x01;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	memset(m + 8 * 32, 0, 32);
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	m[8 * 32 + 31] = 1;
	assert_int_equal(dpk_registry_decode_record(m, d.len, &rec), 0);
	assert_true(rec.serial == 1);
	dpk_registry_record_free(&rec);
	/* a key length word pointing far past the data */
	memcpy(m, d.data, d.len);
	memset(m + RECORD_HEADS * 32, 0xff, 32);
	assert_int_not_equal(decode_rec(m, d.len), 0);
	memset(m + RECORD_HEADS * 32, 0, 32);
	m[RECORD_HEADS * 32 + 31] = 200;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_TRUNCATED);
	/* an offset beyond the data */
	memcpy(m, d.data, d.len);
	m[31] = 0xff;
	m[30] = 0xff;
	assert_int_equal(decode_rec(m, d.len), DPK_ERR_RANGE);
	/* a gap before the key: in bounds, but not the canonical encoding */
	memset(m, 0, d.len + 33);
	memcpy(m, d.data, RECORD_HEADS * 32);
	m[30] = 0x01; /* offset 0x140 instead of 0x120 */
	m[31] = 0x40;
	memcpy(m + (RECORD_HEADS + 1) * 32, d.data + RECORD_HEADS * 32, d.len - RECORD_HEADS * 32);
	assert_int_equal(decode_rec(m, d.len + 32), DPK_ERR_NONCANONICAL);
	/* the key's offset pointing back into the heads (overlap) */
	memcpy(m, d.data, d.len);
	m[30] = 0x00;
	m[31] = 0x20; /* length word = the alg word (1): one byte of key */
	assert_int_not_equal(decode_rec(m, d.len), 0);
	/* oversized: a key longer than the contract stores */
	for (size_t i = 0; i < sizeof(bigkey); i++)
		bigkey[i] = (uint8_t)i;
	bigx = hex(bigkey, sizeof(bigkey));
	record_data(&big, bigx, "1");
	assert_int_equal(decode_rec(big.data, big.len), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_registry_decode_record(NULL, 3, &rec), DPK_ERR_INVALID);
	dpk_buf_free(&big);
	free(bigx);
	free(m);
	free(pubx);
	dpk_buf_free(&d);
}

static int
decode_pend(const uint8_t *p, size_t n)
{
	struct dpk_registry_pending pd;
	int r = dpk_registry_decode_pending(p, n, &pd);

	if (r != 0)
		assert_null(pd.pubkey);
	dpk_registry_pending_free(&pd);
	return r;
}

static void
test_decode_pending(void **state)
{
	struct dpk_registry_pending p;
	struct dpk_buf c, d;
	uint8_t pub[65], h[32], *m;
	char *pubx;
	(void)state;

	test_key(pub);
	pubx = hex(pub, 65);
	cast(&c, "abi-encode", "f(bytes32,uint8,bytes,bytes32,bytes32)", H1, "1", pubx, H2, H3, NULL);
	unhex((char *)c.data, &d);
	assert_int_equal(dpk_registry_decode_pending(d.data, d.len, &p), 0);
	b32(H1, h);
	assert_memory_equal(p.id_hash, h, 32);
	assert_int_equal(p.alg, 1);
	assert_int_equal(p.publen, 65);
	assert_memory_equal(p.pubkey, pub, 65);
	b32(H2, h);
	assert_memory_equal(p.token_hash, h, 32);
	b32(H3, h);
	assert_memory_equal(p.record_hash, h, 32);
	dpk_registry_pending_free(&p);

	m = calloc(1, d.len + 32);
	assert_non_null(m);
	assert_int_equal(decode_pend(d.data, d.len - 1), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_pend(d.data, 5 * 32 + 20), DPK_ERR_TRUNCATED);
	for (size_t n = 0; n < d.len; n++)
		assert_int_not_equal(decode_pend(d.data, n), 0);
	memcpy(m, d.data, d.len);
	assert_int_equal(decode_pend(m, d.len + 32), DPK_ERR_TRAILING);
	m[d.len - 5] = 0x42; /* padding after the key */
	assert_int_equal(decode_pend(m, d.len), DPK_ERR_NONCANONICAL);
	memcpy(m, d.data, d.len);
	m[32 + 0] = 0x01; /* uint8 with high bits */
	assert_int_equal(decode_pend(m, d.len), DPK_ERR_RANGE);
	/* overlapping: the key's offset pointing at the id hash word */
	memcpy(m, d.data, d.len);
	memset(m, 0, 32);
	m[31] = 0x20;
	m[2 * 32 + 31] = 0;
	assert_int_equal(decode_pend(m, 5 * 32), DPK_ERR_NONCANONICAL);
	memcpy(m, d.data, d.len);
	memset(m + 4 * 32, 0, 32); /* no record hash: "no request" */
	assert_int_equal(decode_pend(m, d.len), DPK_ERR_RANGE);
	free(m);
	free(pubx);
	dpk_buf_free(&c);
	dpk_buf_free(&d);
}

/* ---------------------------------------------------------------- errors */

struct err_case {
	const char *sig;
	const char *args[3];
	const char *text;
};

static const struct err_case err_cases[] = {
	{"NotOwner(address)", {ADDR_A}, "NotOwner(" ADDR_A ")"},
	{"NotPendingOwner(address)", {ADDR_B}, "NotPendingOwner(" ADDR_B ")"},
	{"NotApprover(address)", {ADDR_A}, "NotApprover(" ADDR_A ")"},
	{"ZeroAddress()", {NULL}, "ZeroAddress()"},
	{"AlreadyApprover(address)", {ADDR_A}, "AlreadyApprover(" ADDR_A ")"},
	{"UnknownApprover(address)", {ADDR_B}, "UnknownApprover(" ADDR_B ")"},
	{"BadPKMKeyLength(uint256)", {"2049"}, "BadPKMKeyLength(2049)"},
	{"PKMKeyNotSet(address)", {ADDR_A}, "PKMKeyNotSet(" ADDR_A ")"},
	{"NonCanonicalIdentity(uint8,bytes)", {"1", "0x4578616d706c65"}, "NonCanonicalIdentity(1, 0x4578616d706c65)"},
	{"UnknownAlgorithm(uint8)", {"9"}, "UnknownAlgorithm(9)"},
	{"BadKeyLength(uint8,uint256)", {"1", "64"}, "BadKeyLength(1, 64)"},
	{"NotOnCurve(bytes32)", {H1}, "NotOnCurve(" H1 ")"},
	{"EmptyTokenHash()", {NULL}, "EmptyTokenHash()"},
	{"TokenAlreadyUsed(bytes32)", {H1}, "TokenAlreadyUsed(" H1 ")"},
	{"NoPendingRecord(address)", {ADDR_B}, "NoPendingRecord(" ADDR_B ")"},
	{"RecordChanged(address,bytes32,bytes32)", {ADDR_B, H1, H2}, "RecordChanged(" ADDR_B ", " H1 ", " H2 ")"},
	{"IdentityTaken(bytes32,address)", {H3, ADDR_A}, "IdentityTaken(" H3 ", " ADDR_A ")"},
	{"NotFound(bytes32)", {H2}, "NotFound(" H2 ")"},
	{"IdentityRevoked(bytes32)", {H2}, "IdentityRevoked(" H2 ")"},
	{"NotController(bytes32,address)", {H1, ADDR_B}, "NotController(" H1 ", " ADDR_B ")"},
	{"NotControllerOrApprover(bytes32,address)", {H1, ADDR_B}, "NotControllerOrApprover(" H1 ", " ADDR_B ")"},
	{"NotRecordApprover(bytes32,address,address)", {H1, ADDR_A, ADDR_B},
	    "NotRecordApprover(" H1 ", " ADDR_A ", " ADDR_B ")"},
	{"SignatureExpired(uint64,uint256)", {"1700000000", "1700000001"}, "SignatureExpired(1700000000, 1700000001)"},
	{"InvalidSignature()", {NULL}, "InvalidSignature()"},
	{"SignerNotApprover(address)", {ADDR_B}, "SignerNotApprover(" ADDR_B ")"},
	{"NonceUsed(address,uint256)",
	    {ADDR_A, "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
	    "NonceUsed(" ADDR_A ", 115792089237316195423570985008687907853269984665640564039457584007913129639935)"},
	{"SignerNotController(address,address)", {ADDR_A, ADDR_B}, "SignerNotController(" ADDR_A ", " ADDR_B ")"},
	{"StaleNonce(bytes32,uint256,uint32)", {H1, "3", "4"}, "StaleNonce(" H1 ", 3, 4)"},
};
#define NCASES (sizeof(err_cases) / sizeof(err_cases[0]))

/* Every custom error of DPK.sol, its data made by cast calldata, decodes to
 * its text and name; a truncated or padded one is refused by name. */
static void
test_every_custom_error(void **state)
{
	int seen[64] = {0};
	char text[512], want[64];
	(void)state;

	assert_int_equal(dpk_registry_error_count(), 28);
	assert_int_equal(NCASES, 28);
	assert_null(dpk_registry_error_signature(28));
	for (size_t i = 0; i < NCASES; i++) {
		const struct err_case *e = &err_cases[i];
		struct dpk_buf c, d;
		size_t j, namelen = strcspn(e->sig, "(");
		const char *name;
		uint8_t *m;

		for (j = 0; j < dpk_registry_error_count(); j++)
			if (strcmp(dpk_registry_error_signature(j), e->sig) == 0)
				break;
		assert_true(j < dpk_registry_error_count());
		seen[j]++;
		cast(&c, "calldata", e->sig, e->args[0], e->args[1], e->args[2], NULL);
		unhex((char *)c.data, &d);
		assert_int_equal(dpk_registry_revert_text(d.data, d.len, text, sizeof(text)), 0);
		assert_string_equal(text, e->text);
		name = dpk_registry_error_name(d.data, d.len);
		assert_non_null(name);
		assert_int_equal(strlen(name), namelen);
		assert_memory_equal(name, e->sig, namelen);
		/* arguments a word short: "malformed Name: ..." and the decoder's code */
		if (d.len > 4) {
			assert_int_equal(dpk_registry_revert_text(d.data, d.len - 32, text, sizeof(text)),
			    DPK_ERR_TRUNCATED);
			snprintf(want, sizeof(want), "malformed %.*s:", (int)namelen, e->sig);
			assert_memory_equal(text, want, strlen(want));
		}
		/* a text buffer too small is cut, still terminated */
		assert_int_equal(dpk_registry_revert_text(d.data, d.len, text, 8), 0);
		assert_true(strlen(text) < 8);
		m = malloc(d.len + 1);
		assert_non_null(m);
		memcpy(m, d.data, d.len);
		m[0] ^= 0x01; /* another selector: not ours */
		assert_null(dpk_registry_error_name(m, d.len));
		assert_int_equal(dpk_registry_revert_text(m, d.len, text, sizeof(text)), DPK_ERR_NOTFOUND);
		assert_memory_equal(text, "unknown error 0x", 16);
		free(m);
		dpk_buf_free(&c);
		dpk_buf_free(&d);
	}
	for (size_t j = 0; j < dpk_registry_error_count(); j++)
		assert_int_equal(seen[j], 1);
}

static void
test_revert_other_data(void **state)
{
	struct dpk_buf c, d;
	char text[256];
	static const uint8_t three[3] = {0x6a, 0x12, 0x8c};
	(void)state;

	assert_int_equal(dpk_registry_revert_text(NULL, 0, text, sizeof(text)), 0);
	assert_string_equal(text, "reverted without a reason");
	assert_int_equal(dpk_registry_revert_text(three, 3, text, sizeof(text)), DPK_ERR_TRUNCATED);
	assert_null(dpk_registry_error_name(three, 3));
	assert_int_equal(dpk_registry_revert_text(three, 3, NULL, 0), DPK_ERR_INVALID);
	/* Error(string) with an embedded NUL and a control character: escaped */
	cast(&c, "calldata", "Error(string)", "no\x01way", NULL);
	unhex((char *)c.data, &d);
	assert_int_equal(dpk_registry_revert_text(d.data, d.len, text, sizeof(text)), 0);
	assert_string_equal(text, "no\\x01way");
	assert_null(dpk_registry_error_name(d.data, d.len));
	dpk_buf_free(&c);
	dpk_buf_free(&d);
	cast(&c, "calldata", "Panic(uint256)", "17", NULL);
	unhex((char *)c.data, &d);
	assert_int_equal(dpk_registry_revert_text(d.data, d.len, text, sizeof(text)), 0);
	assert_memory_equal(text, "panic 0x11", 10);
	dpk_buf_free(&c);
	dpk_buf_free(&d);
}

/* The interface the bindings know is the one compiled from DPK.sol: every
 * error of the ABI is recognised, every event's topic matches. */
static void
test_interface_matches_abi(void **state)
{
	static const struct {
		const char *name;
		enum dpk_registry_event_kind kind;
	} evnames[] = {
		{"ClientAdded", DPK_REGISTRY_EV_CLIENT_ADDED},
		{"ClientApproved", DPK_REGISTRY_EV_CLIENT_APPROVED},
		{"KeyRotated", DPK_REGISTRY_EV_KEY_ROTATED},
		{"ClientRevoked", DPK_REGISTRY_EV_CLIENT_REVOKED},
		{"ApproverAdded", DPK_REGISTRY_EV_APPROVER_ADDED},
		{"ApproverRemoved", DPK_REGISTRY_EV_APPROVER_REMOVED},
		{"PKMKeyStored", DPK_REGISTRY_EV_PKM_KEY_STORED},
		{"OwnershipTransferStarted", DPK_REGISTRY_EV_OWNERSHIP_TRANSFER_STARTED},
		{"OwnershipTransferred", DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED},
	};
	cJSON *abi = cJSON_Parse(dpk_contract_abi_json);
	const cJSON *item;
	size_t nerr = 0, nev = 0;
	(void)state;

	assert_non_null(abi);
	cJSON_ArrayForEach(item, abi)
	{
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(item, "type"));
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(item, "name"));
		const cJSON *in;
		char sig[512];
		size_t n;
		uint8_t h[32], ours[32];

		if (type == NULL || name == NULL || (strcmp(type, "error") != 0 && strcmp(type, "event") != 0))
			continue;
		n = (size_t)snprintf(sig, sizeof(sig), "%s(", name);
		cJSON_ArrayForEach(in, cJSON_GetObjectItem(item, "inputs"))
		{
			n += (size_t)snprintf(sig + n, sizeof(sig) - n, "%s%s", sig[n - 1] == '(' ? "" : ",",
			    cJSON_GetStringValue(cJSON_GetObjectItem(in, "type")));
			assert_true(n < sizeof(sig) - 2);
		}
		snprintf(sig + n, sizeof(sig) - n, ")");
		dpk_keccak256(sig, strlen(sig), h);
		if (strcmp(type, "error") == 0) {
			const char *got = dpk_registry_error_name(h, 4);

			if (got == NULL)
				fail_msg("error %s of DPK.sol is not known to lib/registry/registry.c", sig);
			assert_string_equal(got, name);
			nerr++;
			continue;
		}
		for (size_t i = 0; i < sizeof(evnames) / sizeof(evnames[0]); i++) {
			if (strcmp(evnames[i].name, name) == 0) {
				dpk_registry_event_topic(evnames[i].kind, ours);
				assert_memory_equal(ours, h, 32);
				nev++;
			}
		}
	}
	assert_int_equal(nerr, dpk_registry_error_count());
	assert_int_equal(nev, 9);
	cJSON_Delete(abi);
}

/* ---------------------------------------------------------------- events */

static void
topic_of(const char *sig, uint8_t out[32])
{
	struct dpk_buf c;

	cast(&c, "keccak", sig, NULL);
	b32((char *)c.data, out);
	dpk_buf_free(&c);
}

static void
topic_addr(const char *a, uint8_t out[32])
{
	memset(out, 0, 32);
	addr(a, out + 12);
}

static void
log_data(struct dpk_rpc_log *log, const char *type, ...)
{
	char *argv[16];
	size_t n = 0;
	struct dpk_buf c, d;
	va_list ap;

	argv[n++] = (char *)dpk_test_tool("DPK_CAST");
	argv[n++] = (char *)"abi-encode";
	argv[n++] = (char *)type;
	va_start(ap, type);
	while ((argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	dpk_buf_init(&c, 1 << 16);
	assert_int_equal(dpk_test_run(argv, NULL, &c), 0);
	dpk_test_chomp(&c);
	assert_int_equal(dpk_buf_cstr(&c), 0);
	unhex((char *)c.data, &d);
	log->data = d.data; /* the log owns it now */
	log->data_len = d.len;
	dpk_buf_free(&c);
}

static void
test_decode_events(void **state)
{
	struct dpk_rpc_log log;
	struct dpk_registry_event ev;
	uint8_t pub[65], h[32], a[20], b[20], contract[20], other[20];
	char *pubx;
	uint8_t *keep;
	size_t keeplen;
	(void)state;

	test_key(pub);
	pubx = hex(pub, 65);
	addr(ADDR_A, a);
	addr(ADDR_B, b);
	addr(CONTRACT, contract);
	memset(other, 0x77, 20);

	/* ClientAdded(idHash indexed, client indexed, recordHash, kind, value, alg, key, tokenHash) */
	memset(&log, 0, sizeof(log));
	memcpy(log.address, contract, 20);
	topic_of("ClientAdded(bytes32,address,bytes32,uint8,bytes,uint8,bytes,bytes32)", log.topics[0]);
	b32(H1, log.topics[1]);
	topic_addr(ADDR_B, log.topics[2]);
	log.ntopics = 3;
	log.has_block = 1;
	log.block_number = 77;
	log_data(&log, "f(bytes32,uint8,bytes,uint8,bytes,bytes32)", H2, "1", "0x6578616d706c652e636f6d", "1", pubx,
	    H3, NULL);
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	assert_int_equal(ev.kind, DPK_REGISTRY_EV_CLIENT_ADDED);
	b32(H1, h);
	assert_memory_equal(ev.id_hash, h, 32);
	assert_memory_equal(ev.addr, b, 20);
	b32(H2, h);
	assert_memory_equal(ev.record_hash, h, 32);
	b32(H3, h);
	assert_memory_equal(ev.token_hash, h, 32);
	assert_int_equal(ev.alg, 1);
	assert_int_equal(ev.block_number, 77);
	assert_int_equal(dpk_registry_decode_contract_event(contract, &log, &ev), 0);
	/* the same log from another contract */
	assert_int_equal(dpk_registry_decode_contract_event(other, &log, &ev), DPK_ERR_NOTFOUND);
	assert_int_equal(ev.kind, 0);
	/* malformed: a topic missing, an address topic with high bytes, data cut
	 * short, trailing data, too many topics, no topics, an unknown topic */
	log.ntopics = 2;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_TYPE);
	log.ntopics = 4;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_TYPE);
	log.ntopics = 5;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_INVALID);
	log.ntopics = 3;
	log.topics[2][0] = 0x01;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_RANGE);
	log.topics[2][0] = 0;
	keeplen = log.data_len;
	log.data_len = keeplen - 1;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_TRUNCATED);
	log.data_len = 0;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_TRUNCATED);
	keep = log.data;
	log.data = realloc(keep, keeplen + 32);
	assert_non_null(log.data);
	memset(log.data + keeplen, 0, 32);
	log.data_len = keeplen + 32;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_TRAILING);
	log.data_len = keeplen;
	log.data[keeplen - 1] = 0x09; /* padding of the key */
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_NONCANONICAL);
	log.data[keeplen - 1] = 0;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	log.topics[0][5] ^= 0xff;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_NOTFOUND);
	log.ntopics = 0;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_NOTFOUND);
	/* an ERC-20 Transfer: somebody else's event */
	topic_of("Transfer(address,address,uint256)", log.topics[0]);
	log.ntopics = 3;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_NOTFOUND);
	free(log.data);

	/* ClientApproved(idHash, controller, approver indexed; alg, key, version) */
	memset(&log, 0, sizeof(log));
	topic_of("ClientApproved(bytes32,address,address,uint8,bytes,uint32)", log.topics[0]);
	b32(H1, log.topics[1]);
	topic_addr(ADDR_B, log.topics[2]);
	topic_addr(ADDR_A, log.topics[3]);
	log.ntopics = 4;
	log_data(&log, "f(uint8,bytes,uint32)", "2", pubx, "3", NULL);
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	assert_int_equal(ev.kind, DPK_REGISTRY_EV_CLIENT_APPROVED);
	assert_memory_equal(ev.addr, b, 20);
	assert_memory_equal(ev.addr2, a, 20);
	assert_int_equal(ev.alg, 2);
	assert_int_equal(ev.version, 3);
	assert_int_equal(ev.block_number, 0); /* pending log */
	free(log.data);

	/* KeyRotated(idHash, controller indexed; alg, key, version) */
	memset(&log, 0, sizeof(log));
	topic_of("KeyRotated(bytes32,address,uint8,bytes,uint32)", log.topics[0]);
	b32(H2, log.topics[1]);
	topic_addr(ADDR_A, log.topics[2]);
	log.ntopics = 3;
	log_data(&log, "f(uint8,bytes,uint32)", "1", pubx, "2", NULL);
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	assert_int_equal(ev.kind, DPK_REGISTRY_EV_KEY_ROTATED);
	b32(H2, h);
	assert_memory_equal(ev.id_hash, h, 32);
	assert_memory_equal(ev.addr, a, 20);
	assert_int_equal(ev.version, 2);
	/* version is a uint32: a larger word is refused */
	log.data[2 * 32 + 27] = 1;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_RANGE);
	free(log.data);

	/* ClientRevoked(idHash, by indexed; version) */
	memset(&log, 0, sizeof(log));
	topic_of("ClientRevoked(bytes32,address,uint32)", log.topics[0]);
	b32(H3, log.topics[1]);
	topic_addr(ADDR_B, log.topics[2]);
	log.ntopics = 3;
	log_data(&log, "f(uint32)", "5", NULL);
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	assert_int_equal(ev.kind, DPK_REGISTRY_EV_CLIENT_REVOKED);
	assert_memory_equal(ev.addr2, b, 20);
	assert_int_equal(ev.version, 5);
	free(log.data);

	/* events without data */
	memset(&log, 0, sizeof(log));
	topic_of("ApproverAdded(address)", log.topics[0]);
	topic_addr(ADDR_B, log.topics[1]);
	log.ntopics = 2;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	assert_int_equal(ev.kind, DPK_REGISTRY_EV_APPROVER_ADDED);
	assert_memory_equal(ev.addr, b, 20);
	log.data = malloc(1);
	assert_non_null(log.data);
	log.data[0] = 0;
	log.data_len = 1;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_TRAILING);
	free(log.data);
	log.data = NULL;
	log.data_len = 0;
	topic_of("OwnershipTransferred(address,address)", log.topics[0]);
	topic_addr(ADDR_A, log.topics[1]);
	topic_addr(ADDR_B, log.topics[2]);
	log.ntopics = 3;
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	assert_int_equal(ev.kind, DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED);
	assert_memory_equal(ev.addr, a, 20);
	assert_memory_equal(ev.addr2, b, 20);
	log.data_len = 4; /* data NULL with a length */
	assert_int_equal(dpk_registry_decode_event(&log, &ev), DPK_ERR_INVALID);
	assert_int_equal(dpk_registry_decode_event(NULL, &ev), DPK_ERR_INVALID);

	/* PKMKeyStored(pkm indexed; key) */
	memset(&log, 0, sizeof(log));
	topic_of("PKMKeyStored(address,bytes)", log.topics[0]);
	topic_addr(ADDR_A, log.topics[1]);
	log.ntopics = 2;
	log_data(&log, "f(bytes)", pubx, NULL);
	assert_int_equal(dpk_registry_decode_event(&log, &ev), 0);
	assert_int_equal(ev.kind, DPK_REGISTRY_EV_PKM_KEY_STORED);
	assert_memory_equal(ev.addr, a, 20);
	free(log.data);
	free(pubx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calldata_matches_cast),
		cmocka_unit_test(test_encoders_refuse),
		cmocka_unit_test(test_record_hash_matches_cast),
		cmocka_unit_test(test_eip712_matches_cast),
		cmocka_unit_test(test_relayed_matches_cast),
		cmocka_unit_test(test_decode_record),
		cmocka_unit_test(test_decode_pending),
		cmocka_unit_test(test_every_custom_error),
		cmocka_unit_test(test_revert_other_data),
		cmocka_unit_test(test_interface_matches_abi),
		cmocka_unit_test(test_decode_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
