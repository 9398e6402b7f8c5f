/* libFuzzer target for dpk_tx_decode on arbitrary bytes. A transaction it
 * accepts must re-encode, from the decoded fields and signature, to exactly
 * the input, and carry the input's hash; a difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "eth/keccak.h"
#include "eth/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_tx_signed d;
	struct dpk_buf b;
	uint8_t h[32];

	if (dpk_tx_decode(data, size, &d) != 0)
		return 0;
	dpk_buf_init(&b, DPK_TX_MAX_RAW);
	if (dpk_tx_encode_signed(&d.tx, d.sig, &b) != 0)
		abort();
	if (b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	dpk_keccak256(data, size, h);
	if (memcmp(h, d.hash, 32) != 0)
		abort();
	if (d.tx.data_len > 0 && (d.tx.data < data || d.tx.data + d.tx.data_len > data + size))
		abort();
	dpk_buf_free(&b);
	return 0;
}
