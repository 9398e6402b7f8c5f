/* libFuzzer target: the backup file parser (lib/daemon/backup.c). The input
 * gets its SHA-256 appended, so the fuzzer reaches the fields behind the
 * checksum; the raw input is parsed as is too. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_backup b;
	char err[256];
	uint8_t *p;

	if (dpk_backup_parse(data, size, &b, err, sizeof(err)) == 0 && b.n > DPK_BACKUP_MAX_FILES)
		abort();
	dpk_backup_free(&b);
	if (size > 1 << 20 || (p = malloc(size + 32)) == NULL)
		return 0;
	memcpy(p, data, size);
	if (EVP_Digest(p, size, p + size, NULL, EVP_sha256(), NULL) == 1 &&
	    dpk_backup_parse(p, size + 32, &b, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < b.n; i++)
			if (b.files[i].mode > 0777 || b.files[i].name[0] == '.' || strchr(b.files[i].name, '/') != NULL)
				abort();
	}
	dpk_backup_free(&b);
	free(p);
	return 0;
}
