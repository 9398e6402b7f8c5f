/* dpk-pkm's HTML form bodies (pkm/web_form.c) and DNS TXT record data
 * (pkm/dcv.c): untrusted bytes from the network. The first byte picks the
 * parser. A form that parses has no NUL in any field and names no field
 * twice. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcv.h"
#include "web_form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		char out[1024];
		size_t n;

		if (pkm_dcv_txt_join(data + 1, size - 1, out, sizeof(out), &n) == 0 && (n > size || memchr(out, 0, n) != NULL))
			abort();
		return 0;
	}
	cJSON *o = pkm_web_form_parse((const char *)data + 1, size - 1), *f;

	if (o == NULL)
		return 0;
	cJSON_ArrayForEach(f, o) {
		if (!cJSON_IsString(f) || f->string == NULL || f->string[0] == '\0' || strlen(f->valuestring) >= size)
			abort();
	}
	cJSON_Delete(o);
	return 0;
}
