/* dpk-agent reading its ticket replay cache file (dpk-agent/peers/ticket_seen.c):
 * arbitrary bytes either parse, and then encode back to the same bytes less
 * the expired ids, or are refused leaving the cache empty. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "peers/ticket_seen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ticket_seen t = {0}, u = {0};
	struct dpk_buf b;
	const uint64_t now = 1000;

	if (ticket_seen_parse(&t, data, size, now) != 0) {
		if (t.n != 0)
			__builtin_trap();
		ticket_seen_clear(&t);
		return 0;
	}
	dpk_buf_init(&b, TICKET_SEEN_FILE_MAX);
	if (ticket_seen_encode(&t, now, &b) != 0 || b.len > size || ticket_seen_parse(&u, b.data, b.len, now) != 0 ||
	    u.n != t.n || (t.n > 0 && memcmp(u.e, t.e, t.n * sizeof(*t.e)) != 0))
		__builtin_trap();
	dpk_buf_free(&b);
	ticket_seen_clear(&t);
	ticket_seen_clear(&u);
	return 0;
}
