/* The JSON-RPC response parser and the receipt / log decoders on arbitrary
 * bytes. The first byte picks the id we claim to have sent, so both the
 * matching and the mismatching id paths are reached. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "eth/rpc.h"
#include "eth/u256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_rpc_error err;
	struct dpk_rpc_receipt rc;
	struct dpk_rpc_log *logs = NULL;
	const cJSON *res = NULL;
	cJSON *root = NULL;
	size_t n = 0;
	char esc[64];
	int r;

	if (size < 1)
		return 0;
	dpk_buf_init(&err.data, 4096);
	r = dpk_rpc_parse_response(data + 1, size - 1, data[0], &root, &res, &err);
	if (r == 0) {
		struct dpk_u256 q;

		if (root == NULL || res == NULL)
			abort();
		if (dpk_rpc_receipt_from_json(res, &rc) == 0)
			dpk_rpc_receipt_free(&rc);
		if (dpk_rpc_logs_from_json(res, &logs, &n) == 0)
			dpk_rpc_logs_free(logs, n);
		if (cJSON_IsString(res))
			(void)dpk_u256_from_quantity(&q, res->valuestring);
		cJSON_Delete(root);
	} else {
		if (root != NULL)
			abort();
		/* whatever the node said, the text we keep is printable ASCII */
		if (r == DPK_ERR_RPC || r == DPK_ERR_REVERT)
			for (const char *p = err.message; *p; p++)
				if (*p < 0x20 || *p > 0x7e)
					abort();
	}
	dpk_rpc_escape((const char *)data, size, esc, sizeof(esc));
	if (strlen(esc) >= sizeof(esc))
		abort();
	dpk_buf_free(&err.data);
	return 0;
}
