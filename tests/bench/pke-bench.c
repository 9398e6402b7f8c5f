/* Cost of public-key encryption to an identity key (lib/crypto/pke.h): seal and open
 * per message for P-256 (HPKE) and RSA-2048 / RSA-4096 (OAEP + AES-256-GCM),
 * for a handshake-sized plaintext, and the bytes added. Prints figures only. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/buf.h"
#include "crypto/idkey.h"
#include "crypto/pke.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench(const char *name, enum dpk_idkey_alg alg, unsigned bits, int runs)
{
	static const uint8_t info[] = "DPK-PSK-v1 M1", aad[] = "01 01";
	uint8_t pt[200] = {0};
	struct dpk_idkey *k;
	struct dpk_buf pub, ct, out;
	double t0, seal, open;

	if (dpk_idkey_generate(alg, bits, &k) != 0)
		return 1;
	dpk_buf_init(&pub, 4096);
	dpk_buf_init(&ct, 4096);
	dpk_buf_init(&out, 4096);
	if (dpk_idkey_public_onchain(k, &pub) != 0)
		return 1;
	t0 = now();
	for (int i = 0; i < runs; i++) {
		dpk_buf_reset(&ct);
		if (dpk_pke_seal(alg, pub.data, pub.len, info, sizeof(info), aad, sizeof(aad), pt, sizeof(pt), &ct) != 0)
			return 1;
	}
	seal = (now() - t0) / runs;
	t0 = now();
	for (int i = 0; i < runs; i++) {
		dpk_buf_reset(&out);
		if (dpk_pke_open(k, info, sizeof(info), aad, sizeof(aad), ct.data, ct.len, &out) != 0 ||
		    out.len != sizeof(pt))
			return 1;
	}
	open = (now() - t0) / runs;
	printf("%-9s seal %8.1f us  open %8.1f us  overhead %4zu bytes (%zu-byte plaintext, %d runs)\n", name,
	    seal * 1e6, open * 1e6, ct.len - sizeof(pt), sizeof(pt), runs);
	dpk_buf_free(&pub);
	dpk_buf_free(&ct);
	dpk_buf_free(&out);
	dpk_idkey_free(k);
	return 0;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 500;
	int runs = n < 1 ? 1 : n > 100000 ? 100000 : (int)n;

	if (bench("P-256", DPK_IDKEY_P256, 0, runs) != 0 || bench("RSA-2048", DPK_IDKEY_RSA, 2048, runs) != 0 ||
	    bench("RSA-4096", DPK_IDKEY_RSA, 4096, runs / 5 + 1) != 0) {
		fprintf(stderr, "pke-bench: a seal or open failed\n");
		return 1;
	}
	return 0;
}
