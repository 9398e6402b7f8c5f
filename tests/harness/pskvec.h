/* Helpers for the PSK handshake and ticket tests (tests/unit/psk/test_handshake.c,
 * test_ticket.c): parties with identity keys, the "name: hex" vector files
 * of tests/data/psk, and openssl(1) output as bytes. Failures fail the test. */
#ifndef DPK_TEST_PSKVEC_H
#define DPK_TEST_PSKVEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "registry/identity.h"
#include "crypto/idkey.h"

struct dpk_test_party {
	struct dpk_idkey *key;
	struct dpk_identity id;
	struct dpk_buf pub; /* on-chain form */
};

/* A fresh key of alg (RSA: 2048 bits) for the identity text name. */
void dpk_test_party_make(struct dpk_test_party *p, enum dpk_idkey_alg alg, const char *name);
/* The key in $DPK_TEST_DATA/psk/pemfile, copied to dir with mode 0600 first
 * (git does not keep file modes, dpk_idkey_load insists). */
void dpk_test_party_load(struct dpk_test_party *p, const char *dir, const char *pemfile, const char *name);
void dpk_test_party_free(struct dpk_test_party *p);

/* The text after "name: " on the line that starts so (NUL-terminated). */
void dpk_test_vec_field(const struct dpk_buf *file, const char *name, char *out, size_t outsz);
/* That text as hex: exactly max bytes if len is NULL, else up to max and *len. */
void dpk_test_vec_hex(const struct dpk_buf *file, const char *name, uint8_t *out, size_t max, size_t *len);

/* Run openssl (argv[0] its path) and take its output as n bytes: raw, or as
 * hex text in any case with any colons and white space. */
void dpk_test_openssl_out(char *const argv[], int raw, uint8_t *out, size_t n);

#endif
