/* dpk_pke_open over arbitrary bytes with two fixed keys (a P-256 and an RSA
 * 2048 key, below: test keys, published here, never used for anything else),
 * so the seeds in corpus/pke/ are real ciphertexts and the fuzzer gets past
 * the key agreement into the AEAD. The first input byte picks the key (even:
 * P-256, odd: RSA); info is "fuzz-info", aad "fuzz-aad". A failure must
 * append nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "crypto/idkey.h"
#include "crypto/pke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char P256_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgedo6kzaSd8CUpX+g\n"
	"qQVfdA+WCmxuaqbtg2jMwsKsWFOhRANCAAQv714+OSm9KPaZQEMX4A5UM/T+M/4u\n"
	"yLB3t5alXn5jwFlsviMGr65TDu76qxsiwZ8r+7S8FE34ZVaEwIxtlbKz\n"
	"-----END PRIVATE KEY-----\n"
;

static const char RSA_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDOh5iSQYIRz1lC\n"
	"1BP7CW0JMIWxNenH8LAfXRe4B2QyUqT6XqqpEMq3zqlb6SJ5NpKOMzoufc+ChPSd\n"
	"kfKt9Ual22dPE3RcswH/FGT5q7dCb2gUuC1qv2ODr1jQNF5Qxg9vtmsw4/frqE9T\n"
	"QZjFk5yIbNEY8cOGLJuPOaXiYgOowkYBjf2O/d4cxe9xLZtMHB590WdDypZPfebr\n"
	"j92RfIuZKVnZd8LpjhTVAT99etDol4TInbj3IR9/1ZOCNPHvQV6voT7f5WZNzhnh\n"
	"e8+UMNx5zMz6cPSFeEwVXT+6Qd8Glp0kWzMX2ssxOJdttJPKWOEVarPqH7C2/LsG\n"
	"lPSz6TNPAgMBAAECggEAE6nzEQsorF5uyWnyLxGCLquj3Fqy6WUADTRqs4xh8gKk\n"
	"D5c02N0EQsTr+MLKk/o/W50Cr0uDluc8InEzccmr0iiA08AZRlGK4UkFUNo/HBW0\n"
	"YLNP1l07nIhKRKSVIvarSz/LQT/rVSYqIKtbCtts6MuyNZWglU/+TariTEV4bg2e\n"
	"xQk9JNkO5c5arICtUM0cQwvULG+6Z5e8yeaHneZc95J44jKjXaPSCmyUy+Xe5LAD\n"
	"WZC1VP2AlYrFSWqnTW2144Cv2xtP+mDeFZA7VB3zB1M4fYVUYBDazWM5WyYWTzxc\n"
	"Sw5Xpp7r10cX6qQYxd8c4RhHKz9pzfP0VtFTgWZNeQKBgQDrwwRPkAe841SYGI1x\n"
	"eo7bDpnGG7mmnw2o3hYrHqvjl/hQ02Db9IgifvKi9+p+a8L+oc9+bhFisIfjyfLo\n"
	"j/TgwrzPmUcUnlGeY7FrvQHJfOGpEyaI+D9jGsuZk7u5wZIx5sBr8a44rAu7T/jl\n"
	"jQ26qS6YJJyl4F0/v983799nVwKBgQDgQjBX6VUB+XOCdR40d0THvv81b8/xWe9A\n"
	"mrQlUcTTVN/5njx5JP1RF0766xPbDK/7OZmruFMBMVRB+O6lykhGDUei450v96Ub\n"
	"c1tZRooghbnCKvqBGhCCz/Dqspy0hY8bzXkUY+qYmQHsmWodvNtxy0fMD/cXViTa\n"
	"tPglei1wyQKBgAOfYH6UePn3CEK6Bdpbhrxo8gXwQR8FTKFuoCqTcxKxMBiV1uQq\n"
	"Urks+C923byJjVp6RATuTggVLFFctgXKyHl3pI0QDt6LPDfR0lUUd2WQLKt7Ztkt\n"
	"71Nngv9eHMFS7xsjL4u5D/NA+YEsTmfAjhhzJwshbOLDmssy+IwUfHtLAoGBAJof\n"
	"wzvYB+1YdHN3bG/gfGvPL3SZSM914MGE0URIwz3+ugPDJYqYymQd4dD/GOFWAehl\n"
	"+OAUyS8rqN3CaLmWoT9Lxy0Cw7gAuf94s5JSsYGShk0U3p81u507rjaO1LYYiHcy\n"
	"KwHBfaysk6747P5NGoBFli1/13C5apDJCTYwluRJAoGAf0ZCLi6Y2HQXx5M2sglE\n"
	"LoNQ3mDxlV5/B0kxAPs7nv1anSRor13T5CmpUk75TMHLhgceB89jNiyWNFwGOXvV\n"
	"yYRvO0ExP1NSNOquFbKS+RFlz2wfC7ArkAEtQUkx0jLFAL9R+xfYKoB2yqsuKvrk\n"
	"jHNHcKyD5qWK60uu5V/asSM=\n"
	"-----END PRIVATE KEY-----\n"
;

/* dpk_idkey_load reads files only (mode 0600, ours): write each key to a
 * private temporary file once. */
static struct dpk_idkey *
load_key(const char *pem)
{
	char path[] = "/tmp/fuzz_pke_XXXXXX";
	struct dpk_idkey *k = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, pem, strlen(pem)) != (ssize_t)strlen(pem) || close(fd) != 0 ||
	    dpk_idkey_load(path, &k) != 0)
		abort();
	unlink(path);
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dpk_idkey *keys[2];
	static const uint8_t info[] = "fuzz-info", aad[] = "fuzz-aad";
	struct dpk_buf out;

	if (keys[0] == NULL) {
		keys[0] = load_key(P256_PEM);
		keys[1] = load_key(RSA_PEM);
	}
	if (size < 1)
		return 0;
	dpk_buf_init(&out, DPK_PKE_PT_MAX);
	if (dpk_pke_open(keys[data[0] & 1], info, sizeof(info) - 1, aad, sizeof(aad) - 1, data + 1, size - 1,
	    &out) != 0 && out.len != 0)
		__builtin_trap(); /* a failure must write nothing */
	dpk_buf_free(&out);
	return 0;
}
