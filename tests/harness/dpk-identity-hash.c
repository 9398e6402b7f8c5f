/* dpk-identity-hash: lib/registry/identity.c on the command line, so shell tests can
 * compare it with the contract's identityHash / isCanonical through cast.
 *
 *   dpk-identity-hash [--kind N] TEXT   prints "KIND 0xVALUE 0xHASH"
 *   dpk-identity-hash --check N 0xHEX   prints "true" or "false" (is (N, bytes) canonical)
 *
 * Exit 0 on success, 1 if TEXT is not an identity (reason on stderr), 2 on misuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "registry/identity.h"

static int
usage(void)
{
	fputs("usage: dpk-identity-hash [--kind N] TEXT | --check N 0xHEX\n", stderr);
	return 2;
}

/* A kind number 0..255 (no atoi: bad text must not read as 0). */
static int
parse_kind(const char *s, uint8_t *kind)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v > 255)
		return -1;
	*kind = (uint8_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct dpk_identity id;
	uint8_t kind = 0, h[32], bytes[1024];
	char vhex[2 * DPK_IDENTITY_VALUE_MAX + 3], hhex[67];
	size_t n;
	int r;

	if (argc == 4 && strcmp(argv[1], "--check") == 0) {
		if (parse_kind(argv[2], &kind) != 0 ||
		    dpk_hex_decode(argv[3], strlen(argv[3]), bytes, sizeof(bytes), &n) != 0)
			return usage();
		puts(dpk_identity_from_bytes(kind, bytes, n, NULL) == 0 ? "true" : "false");
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--kind") == 0) {
		if (parse_kind(argv[2], &kind) != 0)
			return usage();
		r = dpk_identity_parse_kind(kind, argv[3], strlen(argv[3]), &id);
	} else if (argc == 2) {
		r = dpk_identity_parse(argv[1], strlen(argv[1]), &id);
	} else {
		return usage();
	}
	if (r != 0) {
		fprintf(stderr, "dpk-identity-hash: \"%s\" is not an identity: %s\n", argv[argc - 1],
		    dpk_strerror(r));
		return 1;
	}
	if (dpk_identity_hash(&id, h) != 0 || dpk_hex_encode(id.value, id.len, 1, vhex, sizeof(vhex)) != 0 ||
	    dpk_hex_encode(h, sizeof(h), 1, hhex, sizeof(hhex)) != 0)
		return 1;
	printf("%u %s %s\n", id.kind, vhex, hhex);
	return 0;
}
