/* lib/registry/identity.c on arbitrary text and bytes: never crashes; whatever parses
 * formats back to a text that parses to the same identity and hash, and the
 * canonical check accepts every parsed value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const struct dpk_identity *id)
{
	char text[DPK_IDENTITY_FORMAT_SIZE];
	struct dpk_identity again;
	uint8_t h1[32], h2[32];

	if (dpk_identity_from_bytes(id->kind, id->value, id->len, NULL) != 0)
		abort();
	if (dpk_identity_format(id, text, sizeof(text)) != 0)
		abort();
	if (dpk_identity_parse(text, strlen(text), &again) != 0 || again.kind != id->kind ||
	    again.len != id->len || memcmp(again.value, id->value, id->len) != 0)
		abort();
	if (dpk_identity_hash(id, h1) != 0 || dpk_identity_hash(&again, h2) != 0 || memcmp(h1, h2, 32) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_identity id;

	if (dpk_identity_parse((const char *)data, size, &id) == 0)
		round_trip(&id);
	for (uint8_t kind = 0; kind <= 5; kind++)
		if (dpk_identity_parse_kind(kind, (const char *)data, size, &id) == 0)
			round_trip(&id);
	if (size > 0 && dpk_identity_from_bytes(data[0], data + 1, size - 1, &id) == 0)
		round_trip(&id);
	return 0;
}
