/* dpk_cli_rpc_parse on arbitrary text (dpk-admin's --rpc-file and
 * DPK_RPC_URL): every URL it returns lies inside the text and starts with
 * http:// or https://. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *urls[8];
	char err[200], *text;
	size_t n;

	if (size > 8192 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (dpk_cli_rpc_parse(text, urls, 8, &n, err, sizeof(err)) == 0)
		for (size_t i = 0; i < n; i++)
			if (urls[i] < text || urls[i] >= text + size ||
			    (strncmp(urls[i], "http://", 7) != 0 && strncmp(urls[i], "https://", 8) != 0))
				abort();
	free(text);
	return 0;
}
