/* dpk.conf parsing of arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_config c;
	char err[256];

	dpk_config_defaults(&c);
	if (dpk_config_parse(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err)) != 0 &&
	    memchr(err, '\0', sizeof(err)) == NULL)
		__builtin_trap(); /* the message must always be a terminated string */
	dpk_config_free(&c);
	return 0;
}
