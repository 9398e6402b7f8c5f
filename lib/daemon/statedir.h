/* A private state directory (mode 0700, owned by us), as dpk-agent and
 * dpk-pkm keep it: identity.pem (the identity key), wallet.json (the Ethereum
 * wallet, keystore v3) and wallet.pass (the keystore's random password, so
 * standard Ethereum tools can open the wallet given both files). Missing
 * files are created; existing ones are never overwritten, and a wallet whose
 * password file is lost is an error, never a new wallet. */
#ifndef DPK_STATEDIR_H
#define DPK_STATEDIR_H

#include <stddef.h>

#include "crypto/idkey.h"
#include "eth/wallet.h"

struct dpk_statedir {
	struct dpk_idkey *idkey;
	struct dpk_wallet wallet;
	int created_key;    /* made now, not loaded */
	int created_wallet;
};

/* Open (or create) dir; on error a sentence naming the file goes to err. */
int dpk_statedir_open(const char *dir, enum dpk_idkey_alg alg, unsigned rsa_bits,
    struct dpk_statedir *out, char *err, size_t errsz);
void dpk_statedir_close(struct dpk_statedir *sd);

#endif
