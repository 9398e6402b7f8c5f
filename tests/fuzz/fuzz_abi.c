/* ABI decoding of arbitrary bytes, and parsing of arbitrary type text.
 *
 * data[0] < 0xf0: decode data[1..] against one of a handful of fixed types
 *   (index data[0] % NTYPES, decoder flags (data[0] >> 4) & 3), and read the
 *   same bytes as revert data.
 * data[0] >= 0xf0: data[1] is the length of a type text that follows, the
 *   rest is data decoded against it.
 * Whatever decodes must re-encode to bytes that decode strictly to the same
 * tree and re-encode identically; a static type decoded without trailing
 * bytes must re-encode to exactly the input. Revert text must be terminated
 * and free of control characters. Any mismatch aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "base/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
	"(uint256,string,bytes32[],(address,bool)[2])",
	"(bytes)",
	"(string[])",
	"(uint8,int16,bool,address,bytes3,int256)",
	"(uint256[][],string[])",
	"((string,uint16),bytes)[]",
	"(int8[3],bytes,(uint64,int256)[])",
	"(uint256[2][],bytes[2],string)",
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static const char *const custom[] = {
	"NotApproved(bytes32,address)",
	"TooMany(uint8,int16,string)",
	"Nested((string,bytes)[],uint256[2])",
};

/* Formatted text of v in a buffer the caller frees. */
static void
format_into(const struct dpk_abi_value *v, struct dpk_buf *b)
{
	dpk_buf_init(b, 64u << 20);
	if (dpk_abi_value_format(v, b) != 0)
		abort();
}

static void
roundtrip(const struct dpk_abi_type *t, const uint8_t *p, size_t n, unsigned flags)
{
	struct dpk_abi_value *v = NULL, *v2 = NULL;
	struct dpk_buf e1, e2, f1, f2;

	if (dpk_abi_decode(t, p, n, flags, &v) != 0) {
		if (v != NULL)
			abort(); /* no tree on error */
		return;
	}
	dpk_buf_init(&e1, 64u << 20);
	dpk_buf_init(&e2, 64u << 20);
	if (dpk_abi_encode(t, v, &e1) != 0)
		abort(); /* whatever decodes is a valid value of its type */
	if (!dpk_abi_type_is_dynamic(t) && (flags & DPK_ABI_NO_TRAILING) &&
	    (e1.len != n || (n > 0 && memcmp(e1.data, p, n) != 0)))
		abort(); /* static encodings are unique */
	if (dpk_abi_decode(t, e1.data, e1.len, DPK_ABI_STRICT | DPK_ABI_NO_TRAILING, &v2) != 0)
		abort(); /* our own encoding is canonical */
	if (dpk_abi_encode(t, v2, &e2) != 0 || e2.len != e1.len ||
	    (e1.len > 0 && memcmp(e1.data, e2.data, e1.len) != 0))
		abort();
	format_into(v, &f1);
	format_into(v2, &f2);
	if (f1.len != f2.len || (f1.len > 0 && memcmp(f1.data, f2.data, f1.len) != 0))
		abort();
	for (size_t i = 0; i < f1.len; i++)
		if (f1.data[i] < 0x20 || f1.data[i] >= 0x7f)
			abort(); /* text for people never carries control bytes */
	dpk_buf_free(&f1);
	dpk_buf_free(&f2);
	dpk_buf_free(&e1);
	dpk_buf_free(&e2);
	dpk_abi_value_free(v);
	dpk_abi_value_free(v2);
}

static void
revert_text(const uint8_t *p, size_t n)
{
	char out[200];
	size_t len;

	memset(out, 'Z', sizeof(out));
	(void)dpk_abi_decode_revert(p, n, custom, sizeof(custom) / sizeof(custom[0]), out, sizeof(out));
	if (memchr(out, '\0', sizeof(out)) == NULL)
		abort();
	len = strlen(out);
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)out[i] < 0x20 || (uint8_t)out[i] >= 0x7f)
			abort();
}

/* An event whose topic0 is right: topics 1 and 2 and the data come from p. */
static void
event(const uint8_t *p, size_t n)
{
	static const char sig[] = "E(bytes32 indexed,address indexed,string,(uint8,bytes)[],string indexed)";
	uint8_t topics[4][32];
	struct dpk_abi_value *v = NULL;
	struct dpk_buf f;

	if (n < 96)
		return;
	if (dpk_abi_event_topic(sig, topics[0]) != 0)
		abort();
	memcpy(topics[1], p, 96);
	if (dpk_abi_decode_event(sig, (const uint8_t(*)[32])topics, 4, p + 96, n - 96, p[0] & 3, &v) != 0) {
		if (v != NULL)
			abort();
		return;
	}
	if (dpk_abi_value_at(v, 4) == NULL || dpk_abi_value_at(v, 4)->kind != DPK_ABI_FIXED_BYTES ||
	    memcmp(dpk_abi_value_at(v, 4)->u.bytes.p, p + 64, 32) != 0)
		abort();
	format_into(v, &f);
	dpk_buf_free(&f);
	dpk_abi_value_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_abi_type *t = NULL, *t2 = NULL;

	if (size < 1)
		return 0;
	if (data[0] < 0xf0) {
		unsigned flags = (data[0] >> 4) & 3;

		if (dpk_abi_type_parse(types[data[0] % NTYPES], strlen(types[data[0] % NTYPES]), &t) != 0)
			abort();
		roundtrip(t, data + 1, size - 1, flags);
		revert_text(data + 1, size - 1);
		event(data + 1, size - 1);
		dpk_abi_type_free(t);
		return 0;
	}
	if (size < 2 || (size_t)data[1] > size - 2)
		return 0;
	if (dpk_abi_type_parse((const char *)data + 2, data[1], &t) == 0) {
		char c1[8192], c2[8192];

		/* the canonical text parses to the same canonical text */
		if (dpk_abi_type_format(t, c1, sizeof(c1)) != 0)
			abort();
		if (dpk_abi_type_parse(c1, strlen(c1), &t2) != 0 || dpk_abi_type_format(t2, c2, sizeof(c2)) != 0 ||
		    strcmp(c1, c2) != 0 || dpk_abi_type_is_dynamic(t) != dpk_abi_type_is_dynamic(t2))
			abort();
		roundtrip(t, data + 2 + data[1], size - 2 - data[1], data[0] & 3);
	} else if (t != NULL)
		abort();
	dpk_abi_type_free(t);
	dpk_abi_type_free(t2);
	return 0;
}
