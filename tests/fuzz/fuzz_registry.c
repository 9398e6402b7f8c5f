/* The registry's decoders on arbitrary bytes: getClient / getPending return
 * data, revert data and event logs (data[0] picks the log's topic0 from the
 * contract's events, data[1] the topic count, then three topics and the data).
 * Whatever decodes must re-encode through lib/abi to the same bytes; revert
 * text must be terminated and free of control characters. Any mismatch aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "base/err.h"
#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const uint8_t *data, size_t size)
{
	struct dpk_registry_record rec;
	struct dpk_abi_value v[9];
	struct dpk_abi_type *t = NULL;
	struct dpk_abi_value tuple;
	struct dpk_buf b;
	static const char type[] = "(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)";

	if (dpk_registry_decode_record(data, size, &rec) != 0) {
		if (rec.pubkey != NULL || rec.publen != 0)
			abort(); /* nothing owned on error */
		return;
	}
	if (rec.publen > DPK_REGISTRY_KEY_MAX || (rec.status != DPK_REGISTRY_ACTIVE && rec.status != DPK_REGISTRY_REVOKED) ||
	    rec.serial == 0)
		abort();
	v[0] = dpk_abi_bytes(rec.pubkey, rec.publen);
	v[1] = dpk_abi_uint64(rec.alg);
	v[2] = dpk_abi_address(rec.controller);
	v[3] = dpk_abi_uint64(rec.status);
	v[4] = dpk_abi_uint64(rec.version);
	v[5] = dpk_abi_uint64(rec.valid_from);
	v[6] = dpk_abi_uint64(rec.valid_until);
	v[7] = dpk_abi_address(rec.approver);
	v[8] = dpk_abi_uint64(rec.serial);
	tuple = dpk_abi_tuple(v, 9);
	dpk_buf_init(&b, 1 << 20);
	if (dpk_abi_type_parse(type, sizeof(type) - 1, &t) != 0 ||
	    dpk_abi_encode(t, &tuple, &b) != 0)
		abort();
	/* strict decoding accepts only the one canonical encoding */
	if (b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	dpk_abi_type_free(t);
	dpk_buf_free(&b);
	dpk_registry_record_free(&rec);
}

static void
check_pending(const uint8_t *data, size_t size)
{
	struct dpk_registry_pending p;
	struct dpk_abi_value v[5];
	struct dpk_abi_type *t = NULL;
	struct dpk_abi_value tuple;
	struct dpk_buf b;

	if (dpk_registry_decode_pending(data, size, &p) != 0) {
		if (p.pubkey != NULL)
			abort();
		return;
	}
	v[0] = dpk_abi_fixed_bytes(p.id_hash, 32);
	v[1] = dpk_abi_uint64(p.alg);
	v[2] = dpk_abi_bytes(p.pubkey, p.publen);
	v[3] = dpk_abi_fixed_bytes(p.token_hash, 32);
	v[4] = dpk_abi_fixed_bytes(p.record_hash, 32);
	tuple = dpk_abi_tuple(v, 5);
	dpk_buf_init(&b, 1 << 20);
	if (dpk_abi_type_parse("(bytes32,uint8,bytes,bytes32,bytes32)", 37, &t) != 0 ||
	    dpk_abi_encode(t, &tuple, &b) != 0)
		abort();
	if (b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	dpk_abi_type_free(t);
	dpk_buf_free(&b);
	dpk_registry_pending_free(&p);
}

static void
check_revert(const uint8_t *data, size_t size)
{
	char text[300];
	const char *name;

	(void)dpk_registry_revert_text(data, size, text, sizeof(text));
	if (memchr(text, '\0', sizeof(text)) == NULL)
		abort();
	for (const char *s = text; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
	name = dpk_registry_error_name(data, size);
	if (name != NULL && strncmp(text, name, strlen(name)) != 0 && strncmp(text, "malformed ", 10) != 0)
		abort();
}

static void
check_event(const uint8_t *data, size_t size)
{
	struct dpk_rpc_log log;
	struct dpk_registry_event ev;
	int r;

	if (size < 2 + 3 * 32)
		return;
	memset(&log, 0, sizeof(log));
	dpk_registry_event_topic((enum dpk_registry_event_kind)(1 + data[0] % 10), log.topics[0]);
	log.ntopics = data[1] % 6; /* 5 is one too many */
	memcpy(log.topics[1], data + 2, 3 * 32);
	log.data_len = size - 2 - 3 * 32;
	if (log.data_len > 0) {
		log.data = malloc(log.data_len);
		if (log.data == NULL)
			return;
		memcpy(log.data, data + 2 + 3 * 32, log.data_len);
	}
	log.has_block = 1;
	log.block_number = 7;
	r = dpk_registry_decode_event(&log, &ev);
	if (r == 0 && (ev.kind < DPK_REGISTRY_EV_CLIENT_ADDED || ev.kind > DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED ||
			  ev.block_number != 7))
		abort();
	if (r != 0 && ev.kind != 0)
		abort();
	free(log.data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_record(data, size);
	check_pending(data, size);
	check_revert(data, size);
	check_event(data, size);
	return 0;
}
