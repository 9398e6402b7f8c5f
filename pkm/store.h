/* The PKM's database (SQLite, WAL, synchronous=FULL): enrolment tokens and a
 * journal of the PKM's own transactions. A transaction is recorded, signed,
 * before it is sent, so a crash between the chain and the database never
 * funds a device twice or loses an approval: on restart the same signed
 * bytes are sent again (same hash). */
#ifndef DPK_PKM_STORE_H
#define DPK_PKM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct pkm_store;

enum pkm_token_state {
	PKM_TOKEN_ISSUED = 0,   /* on the device, not yet used for an approval */
	PKM_TOKEN_APPROVED = 1, /* used: its record is approved (or an approval was signed) */
	PKM_TOKEN_REVOKED = 2,  /* withdrawn by the operator */
};

struct pkm_token_row {
	uint8_t id[16];
	char identity[254];
	uint8_t secret[32];
	uint8_t token_hash[32];
	uint64_t created, expires;
	int has_wallet;
	uint8_t wallet[20];       /* bound on first use: a copied token is useless from another wallet */
	enum pkm_token_state state;
};

int pkm_store_open(const char *path, struct pkm_store **out, char *err, size_t errsz);
void pkm_store_close(struct pkm_store *s);

int pkm_store_add_token(struct pkm_store *s, const struct pkm_token_row *t);
/* DPK_ERR_NOTFOUND if there is no such token. */
int pkm_store_get_token(struct pkm_store *s, const uint8_t id[16], struct pkm_token_row *t);
/* Bind the wallet if none is bound yet. DPK_ERR_EXISTS if another one is. */
int pkm_store_bind_wallet(struct pkm_store *s, const uint8_t id[16], const uint8_t wallet[20]);
int pkm_store_set_state(struct pkm_store *s, const uint8_t id[16], enum pkm_token_state st);
/* Call fn for each token, newest first. */
int pkm_store_list(struct pkm_store *s, void (*fn)(void *ctx, const struct pkm_token_row *t), void *ctx);

/* The transaction journal, one row per (token, purpose). */
enum pkm_tx_state { PKM_TX_SIGNED = 0, PKM_TX_MINED = 1, PKM_TX_FAILED = 2 };

struct pkm_tx_row {
	uint8_t token_id[16];
	char purpose[16];     /* "fund", "approve", "eip712" */
	uint64_t nonce;
	uint8_t hash[32];
	struct dpk_buf raw;   /* the signed transaction, or the EIP-712 approval */
	enum pkm_tx_state state;
};

/* Insert; DPK_ERR_EXISTS if the (token, purpose) row exists already. */
int pkm_store_add_tx(struct pkm_store *s, const struct pkm_tx_row *tx);
/* tx->raw must be initialised by the caller (dpk_buf_init). DPK_ERR_NOTFOUND if absent. */
int pkm_store_get_tx(struct pkm_store *s, const uint8_t token_id[16], const char *purpose,
    struct pkm_tx_row *tx);
int pkm_store_set_tx_state(struct pkm_store *s, const uint8_t token_id[16], const char *purpose,
    enum pkm_tx_state st);
/* Every version sent for a row's nonce: the first and each replacement. */
struct pkm_tx_version {
	uint8_t hash[32];
	uint64_t sent_ms; /* wall clock when it was journalled, just before it was sent */
};
#define PKM_TX_MAX_VERSIONS 16

/* Journal a replacement of the signed row (token, purpose), in one SQLite
 * transaction: the new bytes become the row's and join its versions. Called
 * before the replacement is sent. DPK_ERR_NOTFOUND if the row is not signed. */
int pkm_store_replace_tx(struct pkm_store *s, const uint8_t token_id[16], const char *purpose,
    const uint8_t hash[32], const uint8_t *raw, size_t len);
/* The row's versions, oldest first, at most max. */
int pkm_store_tx_versions(struct pkm_store *s, const uint8_t token_id[16], const char *purpose,
    struct pkm_tx_version *v, size_t max, size_t *n);
/* Mark the row mined (or failed) by the version hash: the row then holds that version. */
int pkm_store_set_tx_mined(struct pkm_store *s, const uint8_t token_id[16], const char *purpose,
    const uint8_t hash[32], enum pkm_tx_state state);
/* The highest nonce in the journal, for nonce allocation; DPK_ERR_NOTFOUND if none. */
int pkm_store_max_nonce(struct pkm_store *s, uint64_t *nonce);
/* Drop a (token, purpose) row only if it is PKM_TX_FAILED, so a refused
 * approval can be tried again; a signed or mined one is never dropped.
 * 0 if a row was dropped, DPK_ERR_NOTFOUND if none was. */
int pkm_store_delete_failed_tx(struct pkm_store *s, const uint8_t token_id[16], const char *purpose);
/* Call fn for each transaction row in state st (its raw bytes borrowed for
 * the call only), oldest nonce first: what a restart must send again. */
int pkm_store_list_tx(struct pkm_store *s, enum pkm_tx_state st,
    void (*fn)(void *ctx, const struct pkm_tx_row *tx), void *ctx);

/* The database at path as an SQLite database image, read with the online
 * backup API (consistent while dpk-pkm serve writes it), into *data (the
 * caller wipes and frees it). 0 or DPK_ERR_IO with a sentence in err. */
int pkm_store_snapshot(const char *path, uint8_t **data, size_t *len, char *err, size_t errsz);
/* Whether data is a database image SQLite opens, that passes its
 * quick_check and has the PKM's tables. 0 or DPK_ERR_INVALID with err. */
int pkm_store_check_image(const uint8_t *data, size_t len, char *err, size_t errsz);

#endif
