/* Ethereum keys on libsecp256k1. One context for the whole process: created
 * and blinded (secp256k1_context_randomize) exactly once under pthread_once,
 * then only used through const pointers, which libsecp256k1 documents as
 * safe to share between threads. */
#include "eth/wallet.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/keccak.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static secp256k1_context *ctx_shared;

/* getrandom(2) until n bytes arrive: short reads and EINTR are possible for
 * large requests or signals, and a partially filled key would be weak. */
static int
wallet_random(uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return DPK_ERR_IO;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static void
wallet_ctx_init(void)
{
	secp256k1_context *c;
	uint8_t seed[32];

	if ((c = secp256k1_context_create(SECP256K1_CONTEXT_NONE)) == NULL)
		return;
	/* Blinding guards the signing scalar multiplication against side
	 * channels; a context we could not blind is not used at all. */
	if (wallet_random(seed, sizeof(seed)) != 0 ||
	    !secp256k1_context_randomize(c, seed)) {
		secp256k1_context_destroy(c);
		c = NULL;
	}
	explicit_bzero(seed, sizeof(seed));
	ctx_shared = c;
}

static const secp256k1_context *
wallet_ctx(void)
{
	if (pthread_once(&ctx_once, wallet_ctx_init) != 0)
		return NULL;
	return ctx_shared;
}

void
dpk_wallet_address_from_pubkey(const uint8_t pub[64], uint8_t addr[20])
{
	uint8_t h[32];

	dpk_keccak256(pub, 64, h);
	memcpy(addr, h + 12, 20);
}

/* Serialise a parsed public key as X || Y (the 0x04 prefix dropped). */
static int
wallet_pub_bytes(const secp256k1_context *ctx, const secp256k1_pubkey *pk, uint8_t pub[64])
{
	uint8_t ser[65];
	size_t len = sizeof(ser);

	if (!secp256k1_ec_pubkey_serialize(ctx, ser, &len, pk, SECP256K1_EC_UNCOMPRESSED) ||
	    len != 65 || ser[0] != 0x04)
		return DPK_ERR_CRYPTO;
	memcpy(pub, ser + 1, 64);
	return 0;
}

int
dpk_wallet_from_private(struct dpk_wallet *w, const uint8_t priv[32])
{
	const secp256k1_context *ctx;
	secp256k1_pubkey pk;
	int r = DPK_ERR_INVALID;

	if (w == NULL || priv == NULL)
		return DPK_ERR_INVALID;
	memset(w, 0, sizeof(*w));
	if ((ctx = wallet_ctx()) == NULL) {
		r = DPK_ERR_CRYPTO;
		goto out;
	}
	if (!secp256k1_ec_seckey_verify(ctx, priv)) {
		r = DPK_ERR_INVALID;
		goto out;
	}
	if (!secp256k1_ec_pubkey_create(ctx, &pk, priv)) {
		r = DPK_ERR_CRYPTO;
		goto out;
	}
	if ((r = wallet_pub_bytes(ctx, &pk, w->pub)) != 0)
		goto out;
	memcpy(w->priv, priv, 32);
	dpk_wallet_address_from_pubkey(w->pub, w->addr);
	r = 0;
out:
	if (r != 0)
		dpk_wallet_clear(w);
	return r;
}

int
dpk_wallet_generate(struct dpk_wallet *w)
{
	uint8_t k[32];
	int r = DPK_ERR_CRYPTO;

	if (w == NULL)
		return DPK_ERR_INVALID;
	/* A uniform 32-byte string is >= n with probability ~2^-128; retry a
	 * bounded number of times rather than reduce (which would bias). */
	for (int tries = 0; tries < 16; tries++) {
		if ((r = wallet_random(k, sizeof(k))) != 0)
			goto out;
		r = dpk_wallet_from_private(w, k);
		if (r != DPK_ERR_INVALID)
			goto out;
	}
	r = DPK_ERR_CRYPTO;
out:
	explicit_bzero(k, sizeof(k));
	return r;
}

void
dpk_wallet_clear(struct dpk_wallet *w)
{
	if (w != NULL)
		explicit_bzero(w, sizeof(*w));
}

int
dpk_wallet_sign(const struct dpk_wallet *w, const uint8_t hash[32], uint8_t sig[65])
{
	const secp256k1_context *ctx;
	secp256k1_ecdsa_recoverable_signature rs;
	int recid = -1, r = DPK_ERR_CRYPTO;

	if (w == NULL || hash == NULL || sig == NULL)
		return DPK_ERR_INVALID;
	if ((ctx = wallet_ctx()) == NULL)
		goto out;
	/* NULL nonce function = RFC 6979; libsecp256k1 always emits low s. */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, hash, w->priv, NULL, NULL))
		goto out;
	if (!secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rs))
		goto out;
	/* recid 2/3 (R.x >= n) is ~2^-127 likely, but Ethereum's v cannot
	 * express it, so refuse rather than emit an unusable signature. */
	if (recid != 0 && recid != 1)
		goto out;
	sig[64] = (uint8_t)recid;
	r = 0;
out:
	if (r != 0 && sig != NULL)
		memset(sig, 0, 65);
	explicit_bzero(&rs, sizeof(rs));
	return r;
}

int
dpk_wallet_recover(const uint8_t hash[32], const uint8_t sig[65], uint8_t addr[20])
{
	const secp256k1_context *ctx;
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_ecdsa_signature plain;
	secp256k1_pubkey pk;
	uint8_t pub[64];
	int r = DPK_ERR_BADSIG;

	if (hash == NULL || sig == NULL || addr == NULL)
		return DPK_ERR_INVALID;
	memset(addr, 0, 20);
	if ((ctx = wallet_ctx()) == NULL)
		return DPK_ERR_CRYPTO;
	/* Ethereum (EIP-2, ecrecover with v 27/28) accepts recid 0/1 only. */
	if (sig[64] > 1)
		goto out;
	/* Fails when r or s >= n. */
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, sig[64]))
		goto out;
	/* normalize() returns 1 when it had to flip a high s: EIP-2 forbids
	 * those, so they are malleated copies of a valid signature. */
	secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, &rs);
	if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
		goto out;
	/* Fails for r = 0, s = 0, or an r that is not an x coordinate. */
	if (!secp256k1_ecdsa_recover(ctx, &pk, &rs, hash))
		goto out;
	if ((r = wallet_pub_bytes(ctx, &pk, pub)) != 0)
		goto out;
	dpk_wallet_address_from_pubkey(pub, addr);
	r = 0;
out:
	return r;
}

int
dpk_wallet_hash_message(const void *msg, size_t len, uint8_t hash[32])
{
	static const char prefix[] = "\x19" "Ethereum Signed Message:\n";
	struct dpk_keccak k;
	char dec[24];
	size_t n = 0;
	size_t v = len;

	if ((msg == NULL && len > 0) || hash == NULL)
		return DPK_ERR_INVALID;
	/* Decimal length without printf: digits written from the right. */
	do {
		dec[sizeof(dec) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	dpk_keccak_init(&k);
	dpk_keccak_update(&k, prefix, sizeof(prefix) - 1);
	dpk_keccak_update(&k, dec + sizeof(dec) - n, n);
	if (len > 0)
		dpk_keccak_update(&k, msg, len);
	dpk_keccak_final(&k, hash);
	return 0;
}

/* EIP-55: letter i is upper case iff nibble i of keccak256(lower-hex) >= 8. */
static void
wallet_checksum_case(const char lower[40], char out[40])
{
	uint8_t h[32];

	dpk_keccak256(lower, 40, h);
	for (size_t i = 0; i < 40; i++) {
		uint8_t nib = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
		char c = lower[i];

		out[i] = (c >= 'a' && c <= 'f' && nib >= 8) ? (char)(c - 'a' + 'A') : c;
	}
}

void
dpk_wallet_address_format(const uint8_t addr[20], char out[43])
{
	char lower[41];

	(void)dpk_hex_encode(addr, 20, 0, lower, sizeof(lower));
	out[0] = '0';
	out[1] = 'x';
	wallet_checksum_case(lower, out + 2);
	out[42] = '\0';
}

int
dpk_wallet_address_parse_n(const char *s, size_t len, uint8_t addr[20])
{
	char lower[40], want[40];
	int has_upper = 0, has_lower = 0;
	size_t got;

	if (s == NULL || addr == NULL)
		return DPK_ERR_INVALID;
	memset(addr, 0, 20);
	if (len < 42)
		return DPK_ERR_TRUNCATED;
	if (len > 42)
		return DPK_ERR_TRAILING;
	if (s[0] != '0' || s[1] != 'x')
		return DPK_ERR_SYNTAX;
	for (size_t i = 0; i < 40; i++) {
		char c = s[2 + i];

		if (c >= 'A' && c <= 'F') {
			has_upper = 1;
			lower[i] = (char)(c - 'A' + 'a');
		} else if ((c >= 'a' && c <= 'f') || (c >= '0' && c <= '9')) {
			has_lower |= (c >= 'a');
			lower[i] = c;
		} else {
			/* Also catches an embedded NUL inside the 42 bytes. */
			return DPK_ERR_SYNTAX;
		}
	}
	if (has_upper && has_lower) {
		wallet_checksum_case(lower, want);
		if (memcmp(want, s + 2, 40) != 0)
			return DPK_ERR_CHECKSUM;
	}
	if (dpk_hex_decode(lower, 40, addr, 20, &got) != 0 || got != 20)
		return DPK_ERR_SYNTAX;
	return 0;
}

int
dpk_wallet_address_parse(const char *s, uint8_t addr[20])
{
	if (s == NULL || addr == NULL)
		return DPK_ERR_INVALID;
	/* strnlen bounds the scan: a longer string is TRAILING however long. */
	return dpk_wallet_address_parse_n(s, strnlen(s, 43), addr);
}
