#include "crypto/idkey.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define IDKEY_MAX_FILE (64 * 1024)
#define IDKEY_MAX_RSA_BITS 8192
#define P256_POINT_LEN 65

struct dpk_idkey {
	EVP_PKEY *pkey;
	enum dpk_idkey_alg alg;
};

/* Which of our algorithms pkey is, or 0 if it is none (or too weak). */
static enum dpk_idkey_alg
classify(EVP_PKEY *pkey)
{
	char group[32];

	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), NULL) == 1 && strcmp(group, "prime256v1") == 0)
			return DPK_IDKEY_P256;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);

		return bits >= 2048 && bits <= IDKEY_MAX_RSA_BITS ? DPK_IDKEY_RSA : 0;
	}
	return 0;
}

int
dpk_idkey_generate(enum dpk_idkey_alg alg, unsigned bits, struct dpk_idkey **out)
{
	struct dpk_idkey *k;
	EVP_PKEY *pkey;

	*out = NULL;
	if (alg == DPK_IDKEY_P256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (alg == DPK_IDKEY_RSA && bits >= 2048 && bits <= IDKEY_MAX_RSA_BITS)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else
		return DPK_ERR_INVALID;
	if (pkey == NULL)
		return DPK_ERR_CRYPTO;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return DPK_ERR_NOMEM;
	}
	k->pkey = pkey;
	k->alg = alg;
	*out = k;
	return 0;
}

void
dpk_idkey_free(struct dpk_idkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL clears private key material */
	free(k);
}

enum dpk_idkey_alg
dpk_idkey_alg(const struct dpk_idkey *k)
{
	return k->alg;
}

/* Write data to path without ever replacing an existing file: a private temp
 * file in the same directory, fsync, then link(2), which fails if path exists. */
static int
write_new_file(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd = -1, dfd = -1, r = DPK_ERR_IO;
	size_t off = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return DPK_ERR_INVALID;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	unlink(tmp); /* left by a crash of this pid earlier: never holds a key in use */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return DPK_ERR_IO;
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out;
	if (link(tmp, path) != 0) {
		r = errno == EEXIST ? DPK_ERR_EXISTS : DPK_ERR_IO;
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		fsync(dfd);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	unlink(tmp);
	return r;
}

int
dpk_idkey_save(const struct dpk_idkey *k, const char *path)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *pem;
	long len;
	int r = DPK_ERR_CRYPTO;

	if (bio == NULL)
		return DPK_ERR_NOMEM;
	if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	if ((len = BIO_get_mem_data(bio, &pem)) <= 0)
		goto out;
	r = write_new_file(path, pem, (size_t)len);
out:
	BIO_free(bio); /* secure memory BIO: cleared on free */
	return r;
}

int
dpk_idkey_load(const char *path, struct dpk_idkey **out)
{
	struct dpk_idkey *k = NULL;
	struct stat st;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = DPK_ERR_IO;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return errno == ENOENT ? DPK_ERR_NOTFOUND : DPK_ERR_IO;
	/* a private key others can read is compromised; one others could have written, untrusted */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid())
		goto out;
	r = DPK_ERR_TOOBIG;
	if (st.st_size > IDKEY_MAX_FILE)
		goto out;
	r = DPK_ERR_NOMEM;
	if ((text = OPENSSL_secure_malloc(IDKEY_MAX_FILE + 1)) == NULL)
		goto out;
	while ((n = read(fd, text + len, IDKEY_MAX_FILE + 1 - len)) > 0)
		len += (size_t)n;
	r = DPK_ERR_TOOBIG;
	if (len > IDKEY_MAX_FILE)
		goto out;
	r = DPK_ERR_SYNTAX;
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL ||
	    (pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	r = DPK_ERR_UNSUPPORTED;
	if (classify(pkey) == 0)
		goto out;
	r = DPK_ERR_NOMEM;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto out;
	k->alg = classify(pkey);
	k->pkey = pkey;
	pkey = NULL;
	*out = k;
	r = 0;
out:
	close(fd);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	if (text != NULL)
		OPENSSL_secure_clear_free(text, IDKEY_MAX_FILE + 1);
	return r;
}

int
dpk_idkey_load_or_create(const char *path, enum dpk_idkey_alg alg, unsigned bits,
    struct dpk_idkey **out, int *created)
{
	int r = dpk_idkey_load(path, out);

	*created = 0;
	if (r != DPK_ERR_NOTFOUND)
		return r;
	if ((r = dpk_idkey_generate(alg, bits, out)) != 0)
		return r;
	if ((r = dpk_idkey_save(*out, path)) != 0) {
		dpk_idkey_free(*out);
		*out = NULL;
		/* lost a race with another process creating it: use theirs */
		return r == DPK_ERR_EXISTS ? dpk_idkey_load(path, out) : r;
	}
	*created = 1;
	return 0;
}

int
dpk_idkey_public_onchain(const struct dpk_idkey *k, struct dpk_buf *out)
{
	unsigned char *der = NULL, point[P256_POINT_LEN + 1];
	size_t plen = 0;
	int len, r;

	if (k->alg == DPK_IDKEY_P256) {
		if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		    point, sizeof(point), &plen) != 1 || plen != P256_POINT_LEN || point[0] != 0x04)
			return DPK_ERR_CRYPTO;
		return dpk_buf_put(out, point, plen);
	}
	if ((len = i2d_PUBKEY(k->pkey, &der)) <= 0)
		return DPK_ERR_CRYPTO;
	r = dpk_buf_put(out, der, (size_t)len);
	OPENSSL_free(der);
	return r;
}

static int
bio_to_buf(BIO *bio, struct dpk_buf *out)
{
	char *p;
	long len = BIO_get_mem_data(bio, &p);
	int r;

	if (len <= 0)
		return DPK_ERR_CRYPTO;
	if ((r = dpk_buf_put(out, p, (size_t)len)) != 0)
		return r;
	return dpk_buf_cstr(out);
}

int
dpk_idkey_public_pem(const struct dpk_idkey *k, struct dpk_buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int r = DPK_ERR_CRYPTO;

	if (bio == NULL)
		return DPK_ERR_NOMEM;
	if (PEM_write_bio_PUBKEY(bio, k->pkey) == 1)
		r = bio_to_buf(bio, out);
	BIO_free(bio);
	return r;
}

/* OpenSSH key type names, by enum dpk_idkey_alg. */
static const char *const ssh_key_names[] = {NULL, "ecdsa-sha2-nistp256", "ssh-rsa"};

/* RFC 4251 string and mpint encodings. */
static int
ssh_put_string(struct dpk_buf *b, const void *p, size_t n)
{
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
	int r;

	if (n > UINT32_MAX)
		return DPK_ERR_TOOBIG;
	if ((r = dpk_buf_put(b, len, 4)) != 0)
		return r;
	return dpk_buf_put(b, p, n);
}

static int
ssh_put_mpint(struct dpk_buf *b, const BIGNUM *bn)
{
	uint8_t tmp[IDKEY_MAX_RSA_BITS / 8 + 1];
	int n = BN_num_bytes(bn);

	if (n < 0 || (size_t)n > sizeof(tmp) - 1)
		return DPK_ERR_TOOBIG;
	tmp[0] = 0;
	BN_bn2bin(bn, tmp + 1);
	/* a leading zero only when the top bit is set (the value is positive) */
	if (n > 0 && (tmp[1] & 0x80))
		return ssh_put_string(b, tmp, (size_t)n + 1);
	return ssh_put_string(b, tmp + 1, (size_t)n);
}

/* RSA keys that passed EVP_PKEY_public_check in this process, by SHA-256 of
 * their DER: OpenSSL's check (a Miller-Rabin test of the modulus, ~2.5 ms for
 * RSA-2048) then runs once per key, not on every seal and verify. A small ring,
 * the oldest entry goes first; shared by every thread. */
#define RSA_CHECKED_SLOTS 64
static struct {
	pthread_mutex_t lock;
	uint8_t hash[RSA_CHECKED_SLOTS][SHA256_DIGEST_LENGTH];
	unsigned used, next;
} rsa_checked = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int
rsa_was_checked(const uint8_t hash[SHA256_DIGEST_LENGTH])
{
	int found = 0;

	pthread_mutex_lock(&rsa_checked.lock);
	for (unsigned i = 0; i < rsa_checked.used && !found; i++)
		found = memcmp(rsa_checked.hash[i], hash, SHA256_DIGEST_LENGTH) == 0;
	pthread_mutex_unlock(&rsa_checked.lock);
	return found;
}

static void
rsa_mark_checked(const uint8_t hash[SHA256_DIGEST_LENGTH])
{
	pthread_mutex_lock(&rsa_checked.lock);
	memcpy(rsa_checked.hash[rsa_checked.next], hash, SHA256_DIGEST_LENGTH);
	rsa_checked.next = (rsa_checked.next + 1) % RSA_CHECKED_SLOTS;
	if (rsa_checked.used < RSA_CHECKED_SLOTS)
		rsa_checked.used++;
	pthread_mutex_unlock(&rsa_checked.lock);
}

/* A P-256 public key (the generator, SEC 2 2.4.2) that parsing copies and
 * then gives the point read: much cheaper than EVP_PKEY_fromdata, which
 * builds the curve from its parameters each time. Built once, then only read
 * (by any thread). It holds no private key, so neither does any copy. */
static EVP_PKEY *p256_template;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void
p256_template_init(void)
{
	static const uint8_t g[P256_POINT_LEN] = {
		0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
		0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2,
		0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
		0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51,
		0xf5,
	};
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)g, sizeof(g));
	params[2] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &p256_template, EVP_PKEY_PUBLIC_KEY, params) != 1)
		p256_template = NULL;
	EVP_PKEY_CTX_free(ctx);
}

/* Build a public EVP_PKEY from on-chain bytes, validating them. */
static int
onchain_to_pkey(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen, EVP_PKEY **out)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t hash[SHA256_DIGEST_LENGTH] = {0};
	int r = DPK_ERR_CRYPTO;

	*out = NULL;
	if (alg == DPK_IDKEY_P256) {
		if (publen != P256_POINT_LEN || pub[0] != 0x04)
			return DPK_ERR_INVALID;
		if (pthread_once(&p256_once, p256_template_init) != 0 || p256_template == NULL ||
		    (pkey = EVP_PKEY_dup(p256_template)) == NULL)
			goto out;
		r = DPK_ERR_INVALID; /* not a point on the curve */
		if (EVP_PKEY_set1_encoded_public_key(pkey, pub, publen) != 1)
			goto out;
	} else if (alg == DPK_IDKEY_RSA) {
		const unsigned char *p = pub;

		r = DPK_ERR_INVALID;
		if (publen == 0 || publen > 4096 || (pkey = d2i_PUBKEY(NULL, &p, (long)publen)) == NULL)
			goto out;
		if (p != pub + publen) { /* trailing bytes after the DER */
			r = DPK_ERR_TRAILING;
			goto out;
		}
		if (!EVP_PKEY_is_a(pkey, "RSA"))
			goto out;
		r = DPK_ERR_UNSUPPORTED;
		if (classify(pkey) != DPK_IDKEY_RSA)
			goto out;
		SHA256(pub, publen, hash);
	} else {
		return DPK_ERR_UNSUPPORTED;
	}
	EVP_PKEY_CTX_free(ctx);
	ctx = NULL;
	if (alg != DPK_IDKEY_RSA || !rsa_was_checked(hash)) {
		r = DPK_ERR_INVALID;
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
		    EVP_PKEY_public_check(ctx) != 1)
			goto out;
		if (alg == DPK_IDKEY_RSA)
			rsa_mark_checked(hash);
	}
	*out = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}

/* The RFC 4253 / RFC 5656 public key blob of pkey (alg, on-chain bytes pub). */
static int
ssh_key_blob(enum dpk_idkey_alg alg, EVP_PKEY *pkey, const uint8_t *pub, size_t publen, struct dpk_buf *blob)
{
	BIGNUM *n = NULL, *e = NULL;
	int r;

	if ((r = ssh_put_string(blob, ssh_key_names[alg], strlen(ssh_key_names[alg]))) != 0)
		return r;
	if (alg == DPK_IDKEY_P256) {
		if ((r = ssh_put_string(blob, "nistp256", 8)) != 0)
			return r;
		return ssh_put_string(blob, pub, publen);
	}
	r = DPK_ERR_CRYPTO;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
	    (r = ssh_put_mpint(blob, e)) == 0)
		r = ssh_put_mpint(blob, n);
	BN_free(n);
	BN_free(e);
	return r;
}

int
dpk_idkey_onchain_to_openssh(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen,
    const char *comment, struct dpk_buf *out)
{
	const char *const *names = ssh_key_names;
	struct dpk_buf blob;
	EVP_PKEY *pkey = NULL;
	uint8_t *b64;
	int r;

	if (comment != NULL)
		for (const char *c = comment; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return DPK_ERR_INVALID;
	if ((r = onchain_to_pkey(alg, pub, publen, &pkey)) != 0)
		return r;
	dpk_buf_init(&blob, 4096);
	if ((r = ssh_key_blob(alg, pkey, pub, publen, &blob)) != 0)
		goto out;
	if ((r = dpk_buf_put(out, names[alg], strlen(names[alg]))) != 0 ||
	    (r = dpk_buf_put_u8(out, ' ')) != 0 ||
	    (r = dpk_buf_reserve(out, 4 * ((blob.len + 2) / 3) + 1, &b64)) != 0)
		goto out;
	EVP_EncodeBlock(b64, blob.data, (int)blob.len);
	out->len--; /* EVP_EncodeBlock's NUL is not part of the text */
	if (comment != NULL && *comment != '\0' &&
	    ((r = dpk_buf_put_u8(out, ' ')) != 0 || (r = dpk_buf_put(out, comment, strlen(comment))) != 0))
		goto out;
	r = dpk_buf_cstr(out);
out:
	EVP_PKEY_free(pkey);
	dpk_buf_free(&blob);
	return r;
}

/* RSA keys sign with PSS (salt = digest length), never PKCS#1 v1.5. */
static int
set_rsa_pss(EVP_PKEY_CTX *pctx, enum dpk_idkey_alg alg)
{
	if (alg != DPK_IDKEY_RSA)
		return 1;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
}

/* Sign msg with digest md_name: for RSA with PKCS#1 v1.5 padding if pkcs1
 * (SSH's RFC 8332 signatures), else PSS (every DPK signature). */
static int
digest_sign(const struct dpk_idkey *k, const char *md_name, int pkcs1, const void *msg, size_t len,
    struct dpk_buf *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t siglen = 0;
	uint8_t *sig;
	int r = DPK_ERR_CRYPTO;

	if (md == NULL)
		return DPK_ERR_NOMEM;
	if (EVP_DigestSignInit_ex(md, &pctx, md_name, NULL, NULL, k->pkey, NULL) != 1 ||
	    !(pkcs1 ? EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 : set_rsa_pss(pctx, k->alg)) ||
	    EVP_DigestSign(md, NULL, &siglen, msg, len) != 1)
		goto out;
	if ((r = dpk_buf_reserve(out, siglen, &sig)) != 0)
		goto out;
	if (EVP_DigestSign(md, sig, &siglen, msg, len) != 1) {
		out->len -= siglen;
		r = DPK_ERR_CRYPTO;
		goto out;
	}
	/* DER ECDSA signatures may come out shorter than the maximum reserved */
	out->len = (size_t)(sig - out->data) + siglen;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int
dpk_idkey_sign(const struct dpk_idkey *k, const void *msg, size_t len, struct dpk_buf *out)
{
	return digest_sign(k, "SHA256", 0, msg, len, out);
}

int
dpk_idkey_verify_evp(enum dpk_idkey_alg alg, struct evp_pkey_st *pkey, const void *msg, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r;

	if (alg != DPK_IDKEY_P256 && alg != DPK_IDKEY_RSA)
		return DPK_ERR_UNSUPPORTED;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return DPK_ERR_NOMEM;
	r = DPK_ERR_CRYPTO;
	if (EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
	    !set_rsa_pss(pctx, alg))
		goto out;
	r = EVP_DigestVerify(md, sig, siglen, msg, len) == 1 ? 0 : DPK_ERR_BADSIG;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int
dpk_idkey_verify(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen,
    const void *msg, size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pkey;
	int r;

	if ((r = onchain_to_pkey(alg, pub, publen, &pkey)) != 0)
		return r;
	r = dpk_idkey_verify_evp(alg, pkey, msg, len, sig, siglen);
	EVP_PKEY_free(pkey);
	return r;
}

int
dpk_idkey_ssh_public_blob(const struct dpk_idkey *k, struct dpk_buf *out)
{
	struct dpk_buf pub;
	int r;

	dpk_buf_init(&pub, 4096);
	if ((r = dpk_idkey_public_onchain(k, &pub)) == 0)
		r = ssh_key_blob(k->alg, k->pkey, pub.data, pub.len, out);
	dpk_buf_free(&pub);
	return r;
}

int
dpk_idkey_sign_ssh(const struct dpk_idkey *k, const char *sigalg, const void *msg, size_t len, struct dpk_buf *out)
{
	struct dpk_buf raw, body;
	ECDSA_SIG *es = NULL;
	size_t start = out->len;
	int r = DPK_ERR_UNSUPPORTED;

	dpk_buf_init(&raw, IDKEY_MAX_RSA_BITS / 8 + 64);
	dpk_buf_init(&body, IDKEY_MAX_RSA_BITS / 8 + 64);
	if (k->alg == DPK_IDKEY_P256 && strcmp(sigalg, "ecdsa-sha2-nistp256") == 0) {
		const unsigned char *p;

		/* RFC 5656 3.1.2: string(mpint r, mpint s) over SHA-256 */
		if ((r = dpk_idkey_sign(k, msg, len, &raw)) != 0)
			goto out;
		p = raw.data;
		r = DPK_ERR_CRYPTO;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)raw.len)) == NULL)
			goto out;
		if ((r = ssh_put_mpint(&body, ECDSA_SIG_get0_r(es))) != 0 ||
		    (r = ssh_put_mpint(&body, ECDSA_SIG_get0_s(es))) != 0)
			goto out;
	} else if (k->alg == DPK_IDKEY_RSA && (strcmp(sigalg, "rsa-sha2-256") == 0 ||
	    strcmp(sigalg, "rsa-sha2-512") == 0)) {
		/* RFC 8332: the raw signature, as long as the modulus; never SHA-1 ssh-rsa */
		if ((r = digest_sign(k, strcmp(sigalg, "rsa-sha2-256") == 0 ? "SHA256" : "SHA512", 1, msg, len,
		    &body)) != 0)
			goto out;
	} else {
		goto out;
	}
	if ((r = ssh_put_string(out, sigalg, strlen(sigalg))) != 0 ||
	    (r = ssh_put_string(out, body.data, body.len)) != 0)
		out->len = start;
out:
	ECDSA_SIG_free(es);
	dpk_buf_free(&raw);
	dpk_buf_free(&body);
	return r;
}

EVP_PKEY *
dpk_idkey_evp(const struct dpk_idkey *k)
{
	return k->pkey;
}

int
dpk_idkey_onchain_evp(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen, EVP_PKEY **out)
{
	return onchain_to_pkey(alg, pub, publen, out);
}

int
dpk_idkey_p256_decompress(const uint8_t x[32], int y_odd, uint8_t out[65])
{
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	uint8_t comp[1 + 32];
	int r = DPK_ERR_CRYPTO;

	if (out == NULL)
		return DPK_ERR_INVALID;
	memset(out, 0, P256_POINT_LEN);
	if (x == NULL)
		return DPK_ERR_INVALID;
	comp[0] = y_odd ? 0x03 : 0x02; /* SEC1 compressed point */
	memcpy(comp + 1, x, 32);
	if ((g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL || (pt = EC_POINT_new(g)) == NULL)
		goto out;
	if (EC_POINT_oct2point(g, pt, comp, sizeof(comp), NULL) != 1) {
		r = DPK_ERR_INVALID;
		goto out;
	}
	if (EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, out, P256_POINT_LEN, NULL) != P256_POINT_LEN) {
		memset(out, 0, P256_POINT_LEN);
		goto out;
	}
	r = 0;
out:
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return r;
}
