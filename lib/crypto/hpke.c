/* RFC 9180 base mode for DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM.
 * Function and variable names follow the RFC's pseudocode so the two can be
 * read side by side. */
#include "crypto/hpke.h"
#include "crypto/aead.h"
#include "base/err.h"
#include "crypto/hkdf.h"
#include "crypto/idkey.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#define VERSION_LABEL "HPKE-v1"
#define VERSION_LABEL_LEN 7
#define LABEL_MAX 16                                            /* longest label: "shared_secret" */
#define LABELED_MAX (2 + VERSION_LABEL_LEN + 10 + LABEL_MAX + DPK_HPKE_INFO_MAX + 2 * DPK_HPKE_NPK)

/* suite_id: "KEM" || I2OSP(kem_id, 2) for the KEM, "HPKE" || kem || kdf || aead
 * for the rest of the scheme (section 4 and 5.1). */
static const uint8_t kem_suite[] = {'K', 'E', 'M', 0x00, 0x10};
static const uint8_t hpke_suite[] = {'H', 'P', 'K', 'E', 0x00, 0x10, 0x00, 0x01, 0x00, 0x01};

struct suite {
	const uint8_t *id;
	size_t len;
};
static const struct suite KEM = {kem_suite, sizeof(kem_suite)};
static const struct suite HPKE = {hpke_suite, sizeof(hpke_suite)};

/* Append "HPKE-v1" || suite_id || label || data at b + *n. */
static int
put_labeled(uint8_t *b, size_t *n, struct suite s, const char *label, const uint8_t *data, size_t len)
{
	size_t ll = strlen(label);

	if (ll > LABEL_MAX || len > LABELED_MAX - *n - VERSION_LABEL_LEN - s.len - ll)
		return DPK_ERR_INVALID;
	memcpy(b + *n, VERSION_LABEL, VERSION_LABEL_LEN);
	memcpy(b + *n + VERSION_LABEL_LEN, s.id, s.len);
	memcpy(b + *n + VERSION_LABEL_LEN + s.len, label, ll);
	if (len > 0)
		memcpy(b + *n + VERSION_LABEL_LEN + s.len + ll, data, len);
	*n += VERSION_LABEL_LEN + s.len + ll + len;
	return 0;
}

static int
LabeledExtract(struct suite s, const uint8_t *salt, size_t saltlen, const char *label, const uint8_t *ikm,
    size_t ikmlen, uint8_t prk[DPK_HKDF_HASH_LEN])
{
	uint8_t labeled_ikm[LABELED_MAX];
	size_t n = 0;
	int r;

	if ((r = put_labeled(labeled_ikm, &n, s, label, ikm, ikmlen)) == 0)
		r = dpk_hkdf_extract(salt, saltlen, labeled_ikm, n, prk);
	OPENSSL_cleanse(labeled_ikm, n);
	return r;
}

static int
LabeledExpand(struct suite s, const uint8_t prk[DPK_HKDF_HASH_LEN], const char *label, const uint8_t *info,
    size_t infolen, uint8_t *out, size_t L)
{
	uint8_t labeled_info[LABELED_MAX];
	size_t n = 2;
	int r;

	if (L > 0xffff)
		return DPK_ERR_INVALID;
	labeled_info[0] = (uint8_t)(L >> 8);
	labeled_info[1] = (uint8_t)L;
	if ((r = put_labeled(labeled_info, &n, s, label, info, infolen)) == 0)
		r = dpk_hkdf_expand(prk, labeled_info, n, out, L);
	OPENSSL_cleanse(labeled_info, n);
	return r;
}

/* The serialized (uncompressed) public key of pkey, which must be P-256. */
static int
serialize_public(struct evp_pkey_st *pkey, uint8_t pk[DPK_HPKE_NPK])
{
	char group[32];
	size_t len = 0;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0)
		return DPK_ERR_UNSUPPORTED;
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pk, DPK_HPKE_NPK,
	    &len) != 1 || len != DPK_HPKE_NPK || pk[0] != 0x04)
		return DPK_ERR_CRYPTO;
	return 0;
}

/* The P-256 group, built once (EC_GROUP_new_by_curve_name is costly) and
 * only read from then on, by any thread. */
static EC_GROUP *p256_group;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void
p256_init(void)
{
	p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
}

/* pk(sk) as an uncompressed point, and the key pair as an EVP_PKEY if out is
 * not NULL. DPK_ERR_INVALID if sk is not in [1, n-1]. */
static int
key_from_scalar(const uint8_t sk[DPK_HPKE_NSK], uint8_t pk[DPK_HPKE_NPK], EVP_PKEY **out)
{
	const EC_GROUP *group;
	EC_POINT *point = NULL;
	BIGNUM *d = NULL;
	BN_CTX *bnctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r = DPK_ERR_NOMEM;

	if (pthread_once(&p256_once, p256_init) != 0 || (group = p256_group) == NULL ||
	    (point = EC_POINT_new(group)) == NULL || (d = BN_secure_new()) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL)
		goto out;
	r = DPK_ERR_CRYPTO;
	if (BN_bin2bn(sk, DPK_HPKE_NSK, d) == NULL)
		goto out;
	r = DPK_ERR_INVALID;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0)
		goto out;
	r = DPK_ERR_CRYPTO;
	BN_set_flags(d, BN_FLG_CONSTTIME);
	if (EC_POINT_mul(group, point, d, NULL, NULL, bnctx) != 1 ||
	    EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pk, DPK_HPKE_NPK, bnctx) !=
	    DPK_HPKE_NPK)
		goto out;
	if (out != NULL) {
		*out = NULL;
		if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
		    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pk, DPK_HPKE_NPK) != 1 ||
		    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
		    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
		    EVP_PKEY_fromdata_init(pctx) != 1 || EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) != 1)
			goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params); /* the scalar sits in its secure (cleared) part */
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_free(bnctx);
	BN_clear_free(d);
	EC_POINT_free(point);
	return r;
}

int
dpk_hpke_key_from_private(const uint8_t sk[DPK_HPKE_NSK], struct evp_pkey_st **out)
{
	uint8_t pk[DPK_HPKE_NPK];

	return key_from_scalar(sk, pk, out);
}

/* DeriveKeyPair; the key pair also as an EVP_PKEY if out is not NULL. */
static int
derive_keypair(const uint8_t *ikm, size_t ikmlen, uint8_t sk[DPK_HPKE_NSK], uint8_t pk[DPK_HPKE_NPK],
    EVP_PKEY **out)
{
	uint8_t dkp_prk[DPK_HKDF_HASH_LEN];
	int r;

	if (ikm == NULL || ikmlen < DPK_HPKE_NSK)
		return DPK_ERR_INVALID;
	if ((r = LabeledExtract(KEM, NULL, 0, "dkp_prk", ikm, ikmlen, dkp_prk)) != 0)
		return r;
	r = DPK_ERR_CRYPTO; /* 256 rejected candidates: probability about 2^-8192 */
	for (unsigned counter = 0; counter <= 255; counter++) {
		uint8_t c = (uint8_t)counter;
		int k;

		if ((r = LabeledExpand(KEM, dkp_prk, "candidate", &c, 1, sk, DPK_HPKE_NSK)) != 0)
			break;
		sk[0] &= 0xff; /* P-256's bitmask: every bit of the top byte counts */
		if ((k = key_from_scalar(sk, pk, out)) != DPK_ERR_INVALID) {
			r = k;
			break;
		}
		r = DPK_ERR_CRYPTO;
	}
	OPENSSL_cleanse(dkp_prk, sizeof(dkp_prk));
	if (r != 0)
		OPENSSL_cleanse(sk, DPK_HPKE_NSK);
	return r;
}

int
dpk_hpke_derive_keypair(const uint8_t *ikm, size_t ikmlen, uint8_t sk[DPK_HPKE_NSK], uint8_t pk[DPK_HPKE_NPK])
{
	return derive_keypair(ikm, ikmlen, sk, pk, NULL);
}

/* DH(sk, pk) = the x coordinate of sk * pk (Ndh = 32), then
 * ExtractAndExpand(dh, enc || pkRm). pk has passed EVP_PKEY_public_check
 * already (deserialize_public, dpk_idkey_onchain_evp): the derive does not
 * run that check a second time. */
static int
dh_extract_and_expand(EVP_PKEY *sk, EVP_PKEY *pk, const uint8_t enc[DPK_HPKE_NENC],
    const uint8_t pkRm[DPK_HPKE_NPK], uint8_t shared_secret[DPK_HPKE_NSECRET])
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t dh[32], eae_prk[DPK_HKDF_HASH_LEN], kem_context[DPK_HPKE_NENC + DPK_HPKE_NPK];
	size_t dhlen = sizeof(dh);
	int r = DPK_ERR_CRYPTO;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL)) == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) != 1 || EVP_PKEY_derive(ctx, dh, &dhlen) != 1 ||
	    dhlen != sizeof(dh))
		goto out;
	memcpy(kem_context, enc, DPK_HPKE_NENC);
	memcpy(kem_context + DPK_HPKE_NENC, pkRm, DPK_HPKE_NPK);
	if ((r = LabeledExtract(KEM, NULL, 0, "eae_prk", dh, sizeof(dh), eae_prk)) != 0)
		goto out;
	r = LabeledExpand(KEM, eae_prk, "shared_secret", kem_context, sizeof(kem_context), shared_secret,
	    DPK_HPKE_NSECRET);
out:
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_cleanse(dh, sizeof(dh));
	OPENSSL_cleanse(eae_prk, sizeof(eae_prk));
	return r;
}

/* DeserializePublicKey with validation (the point is on the curve). */
static int
deserialize_public(const uint8_t pkm[DPK_HPKE_NPK], EVP_PKEY **out)
{
	return dpk_idkey_onchain_evp(DPK_IDKEY_P256, pkm, DPK_HPKE_NPK, out) == 0 ? 0 : DPK_ERR_SYNTAX;
}

int
dpk_hpke_encap_key(struct evp_pkey_st *pkRp, const uint8_t pkR[DPK_HPKE_NPK], const uint8_t *ikmE,
    size_t ikmElen, uint8_t enc[DPK_HPKE_NENC], uint8_t shared_secret[DPK_HPKE_NSECRET])
{
	EVP_PKEY *skE = NULL;
	uint8_t ikm[DPK_HPKE_NSK], skEm[DPK_HPKE_NSK];
	int r;

	if (pkRp == NULL || pkR == NULL || enc == NULL || shared_secret == NULL || (ikmE == NULL && ikmElen > 0))
		return DPK_ERR_INVALID;
	/* GenerateKeyPair() as DeriveKeyPair(random(Nsk)), which RFC 9180 allows:
	 * one code path for real traffic and the vectors */
	if (ikmE == NULL) {
		r = DPK_ERR_CRYPTO;
		if (RAND_priv_bytes(ikm, sizeof(ikm)) != 1)
			goto out;
		ikmE = ikm;
		ikmElen = sizeof(ikm);
	}
	if ((r = derive_keypair(ikmE, ikmElen, skEm, enc, &skE)) != 0)
		goto out;
	r = dh_extract_and_expand(skE, pkRp, enc, pkR, shared_secret);
out:
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(skEm, sizeof(skEm));
	EVP_PKEY_free(skE);
	return r;
}

int
dpk_hpke_encap(const uint8_t pkR[DPK_HPKE_NPK], const uint8_t *ikmE, size_t ikmElen,
    uint8_t enc[DPK_HPKE_NENC], uint8_t shared_secret[DPK_HPKE_NSECRET])
{
	EVP_PKEY *pkRp = NULL;
	int r;

	if (pkR == NULL || enc == NULL || shared_secret == NULL || (ikmE == NULL && ikmElen > 0))
		return DPK_ERR_INVALID;
	if ((r = deserialize_public(pkR, &pkRp)) != 0)
		return r;
	r = dpk_hpke_encap_key(pkRp, pkR, ikmE, ikmElen, enc, shared_secret);
	EVP_PKEY_free(pkRp);
	return r;
}

int
dpk_hpke_decap(struct evp_pkey_st *skR, const uint8_t enc[DPK_HPKE_NENC], uint8_t shared_secret[DPK_HPKE_NSECRET])
{
	EVP_PKEY *pkE = NULL;
	uint8_t pkRm[DPK_HPKE_NPK];
	int r;

	if (skR == NULL || enc == NULL || shared_secret == NULL)
		return DPK_ERR_INVALID;
	if ((r = serialize_public(skR, pkRm)) != 0 || (r = deserialize_public(enc, &pkE)) != 0)
		return r;
	r = dh_extract_and_expand(skR, pkE, enc, pkRm, shared_secret);
	EVP_PKEY_free(pkE);
	return r;
}

int
dpk_hpke_key_schedule_base(const uint8_t shared_secret[DPK_HPKE_NSECRET], const uint8_t *info, size_t infolen,
    struct dpk_hpke_ctx *ctx)
{
	uint8_t key_schedule_context[1 + 2 * DPK_HKDF_HASH_LEN], secret[DPK_HKDF_HASH_LEN];
	int r;

	if (shared_secret == NULL || ctx == NULL || (info == NULL && infolen > 0) || infolen > DPK_HPKE_INFO_MAX)
		return DPK_ERR_INVALID;
	key_schedule_context[0] = 0x00; /* mode_base */
	if ((r = LabeledExtract(HPKE, NULL, 0, "psk_id_hash", NULL, 0, key_schedule_context + 1)) != 0 ||
	    (r = LabeledExtract(HPKE, NULL, 0, "info_hash", info, infolen,
	    key_schedule_context + 1 + DPK_HKDF_HASH_LEN)) != 0 ||
	    (r = LabeledExtract(HPKE, shared_secret, DPK_HPKE_NSECRET, "secret", NULL, 0, secret)) != 0)
		goto out;
	if ((r = LabeledExpand(HPKE, secret, "key", key_schedule_context, sizeof(key_schedule_context),
	    ctx->key, DPK_HPKE_NK)) != 0 ||
	    (r = LabeledExpand(HPKE, secret, "base_nonce", key_schedule_context, sizeof(key_schedule_context),
	    ctx->base_nonce, DPK_HPKE_NN)) != 0 ||
	    (r = LabeledExpand(HPKE, secret, "exp", key_schedule_context, sizeof(key_schedule_context),
	    ctx->exporter_secret, DPK_HPKE_NH)) != 0)
		goto out;
	ctx->seq = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r != 0)
		dpk_hpke_ctx_wipe(ctx);
	return r;
}

int
dpk_hpke_setup_base_s(const uint8_t pkR[DPK_HPKE_NPK], const uint8_t *ikmE, size_t ikmElen, const uint8_t *info,
    size_t infolen, uint8_t enc[DPK_HPKE_NENC], struct dpk_hpke_ctx *ctx)
{
	return dpk_hpke_setup_base_s_key(NULL, pkR, ikmE, ikmElen, info, infolen, enc, ctx);
}

int
dpk_hpke_setup_base_s_key(struct evp_pkey_st *pkRp, const uint8_t pkR[DPK_HPKE_NPK], const uint8_t *ikmE,
    size_t ikmElen, const uint8_t *info, size_t infolen, uint8_t enc[DPK_HPKE_NENC], struct dpk_hpke_ctx *ctx)
{
	uint8_t shared_secret[DPK_HPKE_NSECRET];
	int r;

	if ((r = pkRp != NULL ? dpk_hpke_encap_key(pkRp, pkR, ikmE, ikmElen, enc, shared_secret) :
	    dpk_hpke_encap(pkR, ikmE, ikmElen, enc, shared_secret)) == 0)
		r = dpk_hpke_key_schedule_base(shared_secret, info, infolen, ctx);
	OPENSSL_cleanse(shared_secret, sizeof(shared_secret));
	return r;
}

int
dpk_hpke_setup_base_r(struct evp_pkey_st *skR, const uint8_t enc[DPK_HPKE_NENC], const uint8_t *info,
    size_t infolen, struct dpk_hpke_ctx *ctx)
{
	uint8_t shared_secret[DPK_HPKE_NSECRET];
	int r;

	if ((r = dpk_hpke_decap(skR, enc, shared_secret)) == 0)
		r = dpk_hpke_key_schedule_base(shared_secret, info, infolen, ctx);
	OPENSSL_cleanse(shared_secret, sizeof(shared_secret));
	return r;
}

/* ComputeNonce(seq): base_nonce xor I2OSP(seq, Nn). */
static void
compute_nonce(const struct dpk_hpke_ctx *ctx, uint8_t nonce[DPK_HPKE_NN])
{
	memcpy(nonce, ctx->base_nonce, DPK_HPKE_NN);
	for (int i = 0; i < 8; i++)
		nonce[DPK_HPKE_NN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

/* Seal or Open with the nonce for ctx->seq; the sequence moves on only on
 * success, so a forged message does not desynchronise the context. */
static int
seal_or_open(struct dpk_hpke_ctx *ctx, int seal, const uint8_t *aad, size_t aadlen, const uint8_t *in,
    size_t inlen, struct dpk_buf *out)
{
	uint8_t nonce[DPK_HPKE_NN];
	int r;

	if (ctx == NULL || ctx->seq == UINT64_MAX) /* IncrementSeq's MessageLimitReachedError */
		return DPK_ERR_INVALID;
	compute_nonce(ctx, nonce);
	r = (seal ? dpk_aead_seal : dpk_aead_open)(ctx->key, DPK_HPKE_NK, nonce, aad, aadlen, in, inlen, out);
	if (r == 0)
		ctx->seq++;
	return r;
}

int
dpk_hpke_seal(struct dpk_hpke_ctx *ctx, const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen,
    struct dpk_buf *out)
{
	return seal_or_open(ctx, 1, aad, aadlen, pt, ptlen, out);
}

int
dpk_hpke_open(struct dpk_hpke_ctx *ctx, const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
    struct dpk_buf *out)
{
	return seal_or_open(ctx, 0, aad, aadlen, ct, ctlen, out);
}

int
dpk_hpke_export(const struct dpk_hpke_ctx *ctx, const uint8_t *exp_ctx, size_t exp_ctxlen, uint8_t *out, size_t L)
{
	if (ctx == NULL || out == NULL || (exp_ctx == NULL && exp_ctxlen > 0) || exp_ctxlen > DPK_HPKE_INFO_MAX ||
	    L == 0 || L > 255 * DPK_HPKE_NH)
		return DPK_ERR_INVALID;
	return LabeledExpand(HPKE, ctx->exporter_secret, "sec", exp_ctx, exp_ctxlen, out, L);
}

void
dpk_hpke_ctx_wipe(struct dpk_hpke_ctx *ctx)
{
	if (ctx != NULL)
		OPENSSL_cleanse(ctx, sizeof(*ctx));
}
