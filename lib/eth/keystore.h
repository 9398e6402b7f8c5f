/* Web3 Secret Storage ("keystore v3", the JSON key files of geth, cast and
 * ethers): read and write an encrypted secp256k1 private key.
 *
 * Read: kdf "scrypt" (OpenSSL; libsodium for the n >= 2^(16 r) files that
 * RFC 7914 disallows but the Web3 Secret Storage definition itself uses) or
 * "pbkdf2" (prf "hmac-sha256", dklen 32), cipher
 * "aes-128-ctr", version 3. The MAC, keccak256(dk[16..32] || ciphertext), is
 * checked in constant time before anything is decrypted. The JSON is
 * untrusted: the file is capped (DPK_KEYSTORE_MAX_FILE), every field is
 * type- and length-checked, and the KDF parameters are bounded by a
 * dpk_keystore_limits so that a hostile file cannot make us allocate
 * gigabytes or spin for hours.
 *
 * Write: scrypt (geth's "standard" n=262144, r=8, p=1 unless told otherwise),
 * random salt, iv and UUID v4, the address in lower case without "0x" like
 * geth; files are written atomically with mode 0600.
 *
 * Passwords are bytes + length (no encoding is imposed: geth and cast use
 * the UTF-8 bytes as typed). Derived keys and plaintext are wiped on every
 * path. The `detail` out-parameters, when not NULL, receive a static English
 * string saying what was wrong with the file (never secret material, never
 * freed); they are set on every error and to "" on success. */
#ifndef DPK_KEYSTORE_H
#define DPK_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "eth/wallet.h"

/* Largest keystore file or JSON text accepted (a real one is ~500 bytes). */
#define DPK_KEYSTORE_MAX_FILE (64u * 1024u)

enum dpk_keystore_kdf {
	DPK_KEYSTORE_SCRYPT = 0,
	DPK_KEYSTORE_PBKDF2 = 1,
};

/* What a file may ask of the KDF when read. Callers with less memory, and
 * the fuzzer (which must not sit in scrypt), pass tighter values. */
struct dpk_keystore_limits {
	uint64_t scrypt_max_mem;  /* cap on n * r * 128 bytes */
	uint64_t scrypt_max_work; /* cap on n * r * p * 128 (CPU time) */
	uint32_t scrypt_max_p;
	uint32_t pbkdf2_max_c; /* cap on the iteration count */
};

/* The defaults used when a limits pointer is NULL: 1 GiB of scrypt memory,
 * 4 GiB of scrypt work (16x geth's standard parameters), p <= 16,
 * PBKDF2 c <= 10,000,000. */
void dpk_keystore_limits_default(struct dpk_keystore_limits *lim);

/* How to write. Zero fields take the defaults. */
struct dpk_keystore_opts {
	enum dpk_keystore_kdf kdf; /* DPK_KEYSTORE_SCRYPT (default) or PBKDF2 */
	uint64_t scrypt_n;         /* power of two >= 2; default 262144 (geth standard);
	                            * 8192 is cast's and geth's "light" setting */
	uint32_t scrypt_r;         /* default 8 */
	uint32_t scrypt_p;         /* default 1 */
	uint32_t pbkdf2_c;         /* default 262144 */
	int overwrite;             /* dpk_keystore_write_file: replace an existing file */
};

/* Decrypt the keystore JSON in json[0..len) (need not be NUL-terminated).
 * lim may be NULL for the defaults. On success fills *w (wipe it with
 * dpk_wallet_clear) and returns 0. Errors, *w zeroed:
 *   DPK_ERR_TOOBIG       len > DPK_KEYSTORE_MAX_FILE, or a KDF parameter over lim
 *   DPK_ERR_TRUNCATED    the JSON text ends early
 *   DPK_ERR_SYNTAX       not JSON, control bytes / NUL in the text, a required
 *                        field missing or duplicated, bad hex or wrong hex length
 *   DPK_ERR_TRAILING     bytes other than white space after the JSON value
 *   DPK_ERR_DEPTH        JSON nested more than 16 deep
 *   DPK_ERR_TYPE         a field of the wrong JSON type, or a non-integer number
 *   DPK_ERR_RANGE        a negative number where a count is expected
 *   DPK_ERR_INVALID      impossible KDF parameters (n not a power of two, r or p 0),
 *                        decrypted key 0 or >= n, address field not matching it
 *   DPK_ERR_CHECKSUM     a mixed-case address field with a bad EIP-55 checksum
 *   DPK_ERR_UNSUPPORTED  version != 3, other cipher, kdf, prf or dklen
 *   DPK_ERR_BADMAC       wrong password, or the file was altered
 *   DPK_ERR_CRYPTO / DPK_ERR_NOMEM */
int dpk_keystore_decrypt(const char *json, size_t len, const uint8_t *pw, size_t pwlen,
    const struct dpk_keystore_limits *lim, struct dpk_wallet *w, const char **detail);

/* Encrypt w->priv under pw into keystore JSON, appended to out (initialise it
 * with dpk_buf_init; the caller frees it with dpk_buf_free). opts may be NULL
 * for the defaults. The JSON is not secret (the key in it is encrypted), but
 * a weak password makes it guessable. DPK_ERR_INVALID for parameters outside
 * what the reader of this module would accept with default limits. */
int dpk_keystore_encrypt(const struct dpk_wallet *w, const uint8_t *pw, size_t pwlen,
    const struct dpk_keystore_opts *opts, struct dpk_buf *out);

/* Read and decrypt the keystore file at path (see dpk_keystore_decrypt).
 * DPK_ERR_IO (errno kept) if it cannot be opened or read, DPK_ERR_INVALID if
 * it is not a regular file, DPK_ERR_TOOBIG over DPK_KEYSTORE_MAX_FILE. */
int dpk_keystore_read_file(const char *path, const uint8_t *pw, size_t pwlen,
    const struct dpk_keystore_limits *lim, struct dpk_wallet *w, const char **detail);

/* Encrypt and write atomically to path: a temporary file in the same
 * directory (O_CREAT|O_EXCL, mode 0600), fsync, rename into place, fsync the
 * directory. Without opts->overwrite an existing path is left untouched and
 * DPK_ERR_EXISTS returned (checked atomically, not by a racy stat). No
 * temporary file survives an error. DPK_ERR_IO (errno kept) on a file system
 * failure. */
int dpk_keystore_write_file(const char *path, const struct dpk_wallet *w, const uint8_t *pw,
    size_t pwlen, const struct dpk_keystore_opts *opts);

#endif
