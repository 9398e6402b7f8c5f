/* Token files are untrusted input to the agent. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "enrol/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_token t, u;
	struct dpk_buf text;
	char err[160];

	if (dpk_token_parse((const char *)data, size, &t, err, sizeof(err)) != 0)
		return 0;
	/* whatever parses formats back to a file that parses to the same token */
	dpk_buf_init(&text, 2 * DPK_TOKEN_MAX_FILE);
	if (dpk_token_format(&t, &text) != 0 ||
	    dpk_token_parse((const char *)text.data, text.len, &u, err, sizeof(err)) != 0 ||
	    memcmp(&t, &u, sizeof(t)) != 0)
		__builtin_trap();
	dpk_buf_free(&text);
	return 0;
}
