/* Parse arbitrary bytes as a keystore with a fixed password. The KDF caps are
 * set very low so that a fuzzer-made file with valid-looking parameters costs
 * microseconds, not a real scrypt. Every error must carry a reason; a file
 * that decrypts must survive re-encryption and decryption unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "eth/keystore.h"
#include "eth/wallet.h"

#define FUZZ_PW "fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dpk_keystore_limits lim = {
		.scrypt_max_mem = 64u * 1024u, /* n * r <= 512 */
		.scrypt_max_work = 256u * 1024u,
		.scrypt_max_p = 4,
		.pbkdf2_max_c = 64,
	};
	static const struct dpk_keystore_opts opts = {.scrypt_n = 2, .scrypt_r = 8, .scrypt_p = 1};
	struct dpk_wallet w, back;
	struct dpk_buf out;
	const char *why = NULL;
	int r;

	r = dpk_keystore_decrypt((const char *)data, size, (const uint8_t *)FUZZ_PW,
	    strlen(FUZZ_PW), &lim, &w, &why);
	if (why == NULL || (r != 0 && why[0] == '\0'))
		abort();
	if (r != 0)
		return 0;
	dpk_buf_init(&out, DPK_KEYSTORE_MAX_FILE);
	if (dpk_keystore_encrypt(&w, (const uint8_t *)FUZZ_PW, strlen(FUZZ_PW), &opts, &out) != 0)
		abort();
	if (dpk_keystore_decrypt((const char *)out.data, out.len, (const uint8_t *)FUZZ_PW,
	    strlen(FUZZ_PW), &lim, &back, NULL) != 0)
		abort();
	if (memcmp(w.priv, back.priv, 32) != 0 || memcmp(w.addr, back.addr, 20) != 0)
		abort();
	dpk_wallet_clear(&w);
	dpk_wallet_clear(&back);
	dpk_buf_free(&out);
	return 0;
}
