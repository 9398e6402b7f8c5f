/* On-chain public keys (untrusted: anyone can register bytes) to OpenSSH form.
 * The first input byte picks the algorithm. */
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "crypto/idkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_buf out;

	if (size < 1)
		return 0;
	dpk_buf_init(&out, 1 << 16);
	if (dpk_idkey_onchain_to_openssh((enum dpk_idkey_alg)(data[0] % 4), data + 1, size - 1,
	    "fuzz", &out) != 0 && out.len != 0)
		__builtin_trap(); /* a failure must write nothing */
	dpk_buf_free(&out);
	return 0;
}
