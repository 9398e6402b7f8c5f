/* DPK identities: what a key is registered under on chain. Four kinds, each
 * with exactly one canonical byte form, so one identity has one hash; the
 * registry contract (contracts/DPK.sol, isCanonical and identityHash) applies
 * the same rules and tests/integration/contract-smoke.sh checks they agree.
 *
 *   kind 1 domain: lower-case ASCII letters, digits and '-' in labels of 1..63
 *                  bytes that neither start nor end with '-', joined by single
 *                  dots, 1..253 bytes, no trailing dot, last label not all
 *                  digits (so a dotted quad is never a domain). IDNs in their
 *                  A-label form ("xn--...").
 *   kind 2 IPv4:   the 4 address bytes, network order.
 *   kind 3 IPv6:   the 16 address bytes, network order.
 *   kind 4 UUID:   the 16 bytes of the RFC 9562 binary form.
 *
 * identity hash = keccak256(kind || value), i.e. Solidity's
 * keccak256(abi.encodePacked(uint8 kind, bytes value)). */
#ifndef DPK_IDENTITY_H
#define DPK_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

enum dpk_identity_kind {
	DPK_IDENTITY_DOMAIN = 1,
	DPK_IDENTITY_IPV4 = 2,
	DPK_IDENTITY_IPV6 = 3,
	DPK_IDENTITY_UUID = 4,
};

#define DPK_IDENTITY_VALUE_MAX 253 /* longest canonical value (a domain) */
/* Longest accepted text: a 253-byte domain plus an optional final dot. */
#define DPK_IDENTITY_TEXT_MAX 254
/* Buffer size that always holds dpk_identity_format's output and its NUL. */
#define DPK_IDENTITY_FORMAT_SIZE 254

struct dpk_identity {
	uint8_t kind;                          /* enum dpk_identity_kind */
	uint8_t len;                           /* bytes used in value */
	uint8_t value[DPK_IDENTITY_VALUE_MAX]; /* canonical bytes */
};

/* Parse the text form of an identity of any kind (len bytes, need not be
 * NUL-terminated; an embedded NUL is a syntax error) into *id. The kind
 * follows from the text:
 *   "urn:uuid:" + UUID, or 8-4-4-4-12 hex digits (any case)  -> UUID
 *   text with a ':'  -> IPv6 (any RFC 4291 form, inet_pton)
 *   digits and dots  -> IPv4 (dotted quad, no leading zeros, inet_pton)
 *   anything else    -> domain (upper case folded, one final '.' dropped)
 * Returns 0, DPK_ERR_INVALID (NULL argument), DPK_ERR_TOOBIG (more than
 * DPK_IDENTITY_TEXT_MAX bytes, or a label over 63 bytes) or DPK_ERR_SYNTAX
 * (anything else that is not an identity); *id is zeroed on error. */
int dpk_identity_parse(const char *text, size_t len, struct dpk_identity *id);

/* Like dpk_identity_parse, but the text must be of the given kind; an
 * unknown kind gives DPK_ERR_UNSUPPORTED. */
int dpk_identity_parse_kind(uint8_t kind, const char *text, size_t len, struct dpk_identity *id);

/* Check that (kind, value) is canonical, as the contract's isCanonical does,
 * and if so copy it into *id (which may be NULL to only check). Returns 0,
 * DPK_ERR_UNSUPPORTED (unknown kind) or DPK_ERR_NONCANONICAL. */
int dpk_identity_from_bytes(uint8_t kind, const uint8_t *value, size_t len, struct dpk_identity *id);

/* Write the text form, NUL-terminated: the domain itself (with a final dot
 * only if it is shaped like a UUID, which dpk_identity_parse would read as
 * one), a dotted quad, an RFC 5952 IPv6 text (inet_ntop), or a lower-case
 * 8-4-4-4-12 UUID. dpk_identity_parse of the output gives back the same identity. Returns 0, DPK_ERR_INVALID (id not
 * canonical) or DPK_ERR_TOOBIG (outsz too small; DPK_IDENTITY_FORMAT_SIZE
 * always suffices). */
int dpk_identity_format(const struct dpk_identity *id, char *out, size_t outsz);

/* keccak256(kind || value) into out. id must be canonical (as made by the
 * functions above); DPK_ERR_INVALID otherwise. */
int dpk_identity_hash(const struct dpk_identity *id, uint8_t out[32]);

/* "domain", "ipv4", "ipv6", "uuid", or "unknown"; static storage. */
const char *dpk_identity_kind_name(uint8_t kind);

#endif
