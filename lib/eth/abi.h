/* Solidity contract ABI (the "Contract ABI Specification" of the Solidity
 * documentation): types parsed from canonical signature text, an encoder
 * driven by the type, a bounded decoder for untrusted return data, revert
 * data and event logs, function selectors and event topics.
 *
 * Supported types: uint<N> / int<N> (N = 8..256, N % 8 == 0; "uint" and "int"
 * mean the 256-bit forms), address, bool, bytes<N> (1..32), bytes, string,
 * T[], T[k] (1 <= k <= DPK_ABI_MAX_FIXED_ARRAY) and tuples (T1,...,Tn).
 * fixed<M>x<N>, ufixed and function give DPK_ERR_UNSUPPORTED. The empty tuple
 * "()" is accepted only as a whole argument list (f()), so every other type
 * takes at least one 32-byte word: that is what bounds array lengths by the
 * data left.
 *
 * Every value is checked against its type both ways: a uint8 word with high
 * bits set, an int<N> that is not exactly sign-extended, an address with
 * non-zero high bytes or a bool other than 0/1 is DPK_ERR_RANGE; non-zero
 * padding after a bytes<N> is DPK_ERR_NONCANONICAL. */
#ifndef DPK_ABI_H
#define DPK_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "eth/u256.h"

/* Caps on what the parser and decoder accept. */
#define DPK_ABI_MAX_DEPTH 32           /* nesting of arrays and tuples in a type */
#define DPK_ABI_MAX_SIG 4096           /* characters of signature text */
#define DPK_ABI_MAX_TYPE_NODES 512     /* type nodes in one parsed signature */
#define DPK_ABI_MAX_FIXED_ARRAY 4096   /* k in T[k] */
#define DPK_ABI_MAX_STATIC (1u << 20)  /* head size in bytes of one static type */
#define DPK_ABI_MAX_NODES 65536        /* values in one decoded tree */
#define DPK_ABI_MAX_ALLOC (8u << 20)   /* bytes allocated for one decoded tree */

/* A parsed type; opaque. */
struct dpk_abi_type;

enum dpk_abi_kind {
	DPK_ABI_UINT = 1,    /* u.num */
	DPK_ABI_INT,         /* u.num, 256-bit two's complement (sign-extended) */
	DPK_ABI_ADDRESS,     /* u.addr */
	DPK_ABI_BOOL,        /* u.boolean, 0 or 1 */
	DPK_ABI_FIXED_BYTES, /* u.bytes, len = N of bytes<N> */
	DPK_ABI_BYTES,       /* u.bytes */
	DPK_ABI_STRING,      /* u.bytes (UTF-8 by convention; not validated) */
	DPK_ABI_ARRAY,       /* u.list: T[] and T[k] */
	DPK_ABI_TUPLE,       /* u.list */
};

/* A value tree. Trees the caller builds (with the constructors below) only
 * point at the caller's memory and are never freed by this module. Trees the
 * decoder returns own everything: one dpk_abi_value_free() releases them;
 * their bytes/string data are copies, followed by a NUL byte that is not
 * counted in len (the data itself may contain NULs). */
struct dpk_abi_value {
	enum dpk_abi_kind kind;
	union {
		struct dpk_u256 num;
		uint8_t addr[20];
		int boolean;
		struct {
			const uint8_t *p;
			size_t len;
		} bytes;
		struct {
			const struct dpk_abi_value *v;
			size_t n;
		} list;
	} u;
};

/* --- constructors: no allocation; pointers are borrowed --- */
struct dpk_abi_value dpk_abi_uint64(uint64_t v);
struct dpk_abi_value dpk_abi_uint256(const struct dpk_u256 *v);
struct dpk_abi_value dpk_abi_int64(int64_t v);
/* v is already 256-bit two's complement. */
struct dpk_abi_value dpk_abi_int256(const struct dpk_u256 *v);
struct dpk_abi_value dpk_abi_address(const uint8_t addr[20]);
/* Any non-zero b is true. */
struct dpk_abi_value dpk_abi_bool(int b);
/* For bytes<N>: n must equal N when encoded. */
struct dpk_abi_value dpk_abi_fixed_bytes(const void *p, size_t n);
struct dpk_abi_value dpk_abi_bytes(const void *p, size_t n);
/* s NUL-terminated; dpk_abi_bytes() semantics with kind STRING. */
struct dpk_abi_value dpk_abi_string(const char *s);
struct dpk_abi_value dpk_abi_string_n(const char *s, size_t n);
/* For T[] and T[k]. */
struct dpk_abi_value dpk_abi_array(const struct dpk_abi_value *items, size_t n);
struct dpk_abi_value dpk_abi_tuple(const struct dpk_abi_value *items, size_t n);

/* --- types --- */

/* Parse one type from len characters of s (no spaces; "uint"/"int" allowed),
 * e.g. "(uint256,string,bytes32[],(address,bool)[2])". *out is freed with
 * dpk_abi_type_free(). DPK_ERR_SYNTAX (including a NUL inside the text or
 * text after the type), DPK_ERR_DEPTH (deeper than DPK_ABI_MAX_DEPTH),
 * DPK_ERR_UNSUPPORTED (fixed, ufixed, function, T[0], "()" inside a type),
 * DPK_ERR_TOOBIG (longer than DPK_ABI_MAX_SIG, more than DPK_ABI_MAX_TYPE_NODES
 * nodes, T[k] beyond the caps), DPK_ERR_NOMEM. *out is NULL on error. */
int dpk_abi_type_parse(const char *s, size_t len, struct dpk_abi_type **out);
void dpk_abi_type_free(struct dpk_abi_type *t);
/* The canonical text of t ("uint" -> "uint256") into out, NUL-terminated.
 * DPK_ERR_TOOBIG if outsz is too small. */
int dpk_abi_type_format(const struct dpk_abi_type *t, char *out, size_t outsz);
/* 1 if t is dynamic (encoded through an offset), 0 if static. */
int dpk_abi_type_is_dynamic(const struct dpk_abi_type *t);

/* --- encoding --- */

/* Append the encoding of v as type t to out. DPK_ERR_TYPE when the value's
 * shape does not match (kind, tuple arity, T[k] count, bytes<N> length),
 * DPK_ERR_RANGE for a number outside its type (a UINT value may be given for
 * an int<N> and an INT value for a uint<N> when the number fits),
 * DPK_ERR_TOOBIG / DPK_ERR_NOMEM from out. On error out may hold a partial
 * encoding after its original length; callers discard it. */
int dpk_abi_encode(const struct dpk_abi_type *t, const struct dpk_abi_value *v, struct dpk_buf *out);

/* The 4-byte selector of a function signature "name(types)", computed over its
 * canonical form. DPK_ERR_SYNTAX / DPK_ERR_* of dpk_abi_type_parse(). */
int dpk_abi_selector(const char *sig, uint8_t out[4]);

/* Append selector(sig) || encoding of the nargs arguments as a tuple, e.g.
 * dpk_abi_encode_call("approveClient(address,bytes32)", args, 2, &buf).
 * Errors as dpk_abi_selector() and dpk_abi_encode(). */
int dpk_abi_encode_call(const char *sig, const struct dpk_abi_value *args, size_t nargs,
    struct dpk_buf *out);

/* --- decoding untrusted bytes --- */

/* Flags for the decoders. Value checks (ranges, bool, bytes<N> padding) are
 * always made; these add: */
#define DPK_ABI_STRICT 0x1      /* bytes/string data must be followed by its zero padding */
#define DPK_ABI_NO_TRAILING 0x2 /* every input byte must belong to the encoding */

/* Decode data[0..len) as enc(X) of the specification for X of type t, into a
 * new tree *out (free with dpk_abi_value_free()). Return values and argument
 * lists are tuples: decode a function's single string result with "(string)",
 * not "string". Every offset and length is checked against the data:
 * DPK_ERR_TRUNCATED (a head, length word or content runs past the end),
 * DPK_ERR_RANGE (an offset beyond the data, or a value outside its type),
 * DPK_ERR_NONCANONICAL (non-zero padding), DPK_ERR_TRAILING (with
 * DPK_ABI_NO_TRAILING: bytes after the furthest one decoded), DPK_ERR_TOOBIG
 * (more than DPK_ABI_MAX_NODES values or DPK_ABI_MAX_ALLOC bytes: overlapping
 * offsets cannot make a small input expand into a huge tree),
 * DPK_ERR_NOMEM. *out is NULL on error. */
int dpk_abi_decode(const struct dpk_abi_type *t, const uint8_t *data, size_t len, unsigned flags,
    struct dpk_abi_value **out);
/* dpk_abi_decode() with a type given as text (dpk_abi_type_parse()). */
int dpk_abi_decode_text(const char *type, const uint8_t *data, size_t len, unsigned flags,
    struct dpk_abi_value **out);
/* Free a tree returned by a decoder; NULL is a no-op. Never pass a tree built
 * with the constructors. */
void dpk_abi_value_free(struct dpk_abi_value *v);

/* Typed getters on any tree. */
/* Item i of an ARRAY or TUPLE, or NULL (not a list, i out of range). */
const struct dpk_abi_value *dpk_abi_value_at(const struct dpk_abi_value *v, size_t i);
/* A UINT (or a non-negative INT) that fits in 64 bits: DPK_ERR_TYPE, DPK_ERR_RANGE. */
int dpk_abi_value_u64(const struct dpk_abi_value *v, uint64_t *out);

/* --- events --- */

/* Event signatures are "Name(type,type indexed,...)": each parameter is a
 * canonical type, followed by " indexed" when it is a topic (at most 3).
 * topic0 is keccak256 of the form without " indexed". */
int dpk_abi_event_topic(const char *sig, uint8_t out[32]);

/* Decode a log: topics[0] must equal the event topic (DPK_ERR_NOTFOUND if
 * not: another event), ntopics must be 1 + the number of indexed parameters
 * (DPK_ERR_TYPE), data is the ABI encoding of the non-indexed parameters.
 * *out is a TUPLE of all parameters in declaration order. An indexed
 * parameter of a dynamic or composite type (string, bytes, arrays, tuples)
 * is only present as the keccak256 hash the log carries: it comes out as a
 * FIXED_BYTES value of 32 bytes. Other errors as dpk_abi_decode(). */
int dpk_abi_decode_event(const char *sig, const uint8_t (*topics)[32], size_t ntopics,
    const uint8_t *data, size_t len, unsigned flags, struct dpk_abi_value **out);

/* --- text for people --- */

/* Append v as text: numbers in decimal (INT signed), addresses in EIP-55
 * form, bool as true/false, bytes as 0x-hex, strings in double quotes with
 * every byte outside printable ASCII (and '"', '\\') escaped as \xNN / \" /
 * \\, arrays as [a, b], tuples as (a, b). The text never contains control
 * characters. DPK_ERR_TOOBIG / DPK_ERR_NOMEM from out (the text appended so
 * far stays). */
int dpk_abi_value_format(const struct dpk_abi_value *v, struct dpk_buf *out);

/* Revert data (from eth_call / eth_estimateGas) to one line of text in out
 * (always NUL-terminated when outsz > 0; cut with "..." when longer):
 *   Error(string)     -> the reason, escaped as in dpk_abi_value_format()
 *                        but without quotes
 *   Panic(uint256)    -> "panic 0x11 (arithmetic overflow)"
 *   a custom error whose signature ("Name(types)") is in custom[0..ncustom)
 *                     -> "Name(arg, arg)" formatted as dpk_abi_value_format()
 *   empty data        -> "reverted without a reason"
 *   anything else     -> "unknown error 0x12345678 (N bytes)"
 * Returns 0 when the data was understood, DPK_ERR_NOTFOUND for an unknown
 * selector, a decoder error (text "malformed Name: <reason> (N bytes)")
 * when the arguments of a known error do not decode, DPK_ERR_TRUNCATED for
 * 1 to 3 bytes, DPK_ERR_INVALID for out == NULL or outsz == 0 (nothing
 * written) or a custom signature that does not parse. */
int dpk_abi_decode_revert(const uint8_t *data, size_t len, const char *const *custom, size_t ncustom,
    char *out, size_t outsz);

#endif
