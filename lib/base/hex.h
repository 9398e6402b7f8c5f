/* Hex text <-> bytes, and Ethereum JSON-RPC "quantities" (0x-prefixed,
 * big-endian, no fixed width). */
#ifndef DPK_HEX_H
#define DPK_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Write n bytes as lower-case hex, with "0x" in front if with_0x, NUL-terminated.
 * outsz must be at least 2n+1 (+2 with the prefix): DPK_ERR_TOOBIG otherwise. */
int dpk_hex_encode(const void *p, size_t n, int with_0x, char *out, size_t outsz);

/* Decode slen characters of hex (optional "0x"/"0X", even length) into out.
 * DPK_ERR_SYNTAX on a non-hex digit or odd length, DPK_ERR_TOOBIG if more than
 * outmax bytes would result. *outlen receives the byte count. */
int dpk_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outmax, size_t *outlen);

/* Decode a NUL-terminated hex string that must be exactly n bytes long. */
int dpk_hex_decode_exact(const char *s, uint8_t *out, size_t n);

/* Parse a JSON-RPC quantity ("0x1a", "0x0") into a uint64_t.
 * DPK_ERR_SYNTAX if not 0x-prefixed hex, DPK_ERR_RANGE if it does not fit. */
int dpk_hex_quantity_u64(const char *s, uint64_t *v);

/* Format v as a JSON-RPC quantity into out (at least 19 bytes). */
void dpk_hex_from_u64(uint64_t v, char out[19]);

#endif
