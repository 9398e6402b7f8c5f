/* The agent's users file (dpk-agent/login/userdb.c): one line of it, as
 * the agent reads it from its state directory at start. A line that parses
 * must be in the one spelling the agent writes back. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "login/userdb.h"
#include "registry/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_identity id;
	char text[DPK_IDENTITY_FORMAT_SIZE], again[AGENT_USERDB_LINE_MAX + 32];
	uint64_t serial;

	if (agent_userdb_parse_line((const char *)data, size, &serial, &id) != 0)
		return 0;
	if (serial == 0 || dpk_identity_format(&id, text, sizeof(text)) != 0)
		abort();
	snprintf(again, sizeof(again), "%llu %s", (unsigned long long)serial, text);
	if (strlen(again) != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}
