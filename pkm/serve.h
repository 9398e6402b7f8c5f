/* dpk-pkm serve: the device-to-PKM channel (doc/protocol.md, "The
 * device-to-PKM channel"). server.c accepts TLS-PSK connections, one thread
 * each; requests.c answers FUND, APPROVE, SIGN_REGISTRATION and RELAY; chain.c is
 * the one path through which the PKM's own transactions reach the chain. */
#ifndef DPK_PKM_SERVE_H
#define DPK_PKM_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pkm.h"
#include "eth/rpc.h"
#include "eth/txsend.h"

/* Message types of the device-to-PKM channel. */
#define PKM_MSG_FUND 0x11
#define PKM_MSG_APPROVE 0x12
#define PKM_MSG_SIGN_REGISTRATION 0x13
#define PKM_MSG_RELAY 0x14

/* Journal purposes (pkm_tx_row.purpose). */
#define PKM_PURPOSE_FUND "fund"
#define PKM_PURPOSE_APPROVE "approve"
#define PKM_PURPOSE_EIP712 "eip712"
#define PKM_PURPOSE_RELAY "relay"

/* An EIP-712 approval as journalled: expiry(8) || nonce(32) || keccak(pubkey)(32) || sig(65). */
#define PKM_APPROVAL_LEN (8 + 32 + 32 + 65)

/* The chain path: nonce allocation, journal, send, all under mu. */
struct pkm_chain {
	struct pkm *p;
	pthread_mutex_t mu;
};

/* A transaction of the PKM, as recorded and as the chain saw it. */
struct pkm_sent {
	uint8_t hash[32];
	uint64_t nonce;
	int mined;             /* 1: mined and succeeded */
	struct dpk_u256 value; /* the wei it carries */
};

/* fund_amount = auto: what a device's registration costs at the network's
 * fees now (fund_gas x maxFeePerGas + the L1 data fee on OP-stack chains,
 * + fund_margin percent), the fee cut to max_fee_per_gas, into *amount.
 * DPK_ERR_RANGE above 1 ether; DPK_ERR_BUSY while the base fee is above the cap. */
int pkm_fund_estimate(const struct pkm *p, struct dpk_rpc *rpc, struct dpk_u256 *amount, char *msg, size_t msgsz);

void pkm_chain_init(struct pkm_chain *ch, struct pkm *p);
void pkm_chain_destroy(struct pkm_chain *ch);

/* Send req from the PKM's wallet, once per (token_id, purpose): if the
 * journal holds that transaction already it is sent again (the same bytes)
 * instead of a new one. Otherwise, under the chain mutex: nonce =
 * max(node's pending nonce, journal's highest + 1), sign, record in the
 * journal, send. Then, outside the mutex, wait up to wait_ms for the receipt
 * and record the outcome. token_id NULL: an unjournalled transaction (for
 * idempotent calls such as storePKMKey). excl (may be NULL): refuse with
 * DPK_ERR_EXISTS, under the mutex, if the journal holds a live row of that
 * purpose for the token (a token approves one way only).
 * A journalled transaction still pending replace_after after its last send is
 * replaced (same nonce, fees bumped within max_fee_per_gas), the replacement
 * journalled before it is sent; every version is watched for its receipt.
 * A network fee above max_fee_per_gas is DPK_ERR_BUSY (msg has both figures).
 * Returns 0 with out filled (out->mined 0: not mined within wait_ms; the
 * caller may ask again). On error a sentence goes to msg: DPK_ERR_REVERT (the
 * contract refused; the reason is in msg; nothing journalled if found before
 * signing), DPK_ERR_RPC (the node refused the transaction), or another code. */
int pkm_chain_send(struct pkm_chain *ch, struct dpk_rpc *rpc, const uint8_t *token_id,
    const char *purpose, const char *excl, const struct dpk_txsend *req, uint64_t wait_ms,
    struct pkm_sent *out, char *msg, size_t msgsz);

/* Record an EIP-712 approval (row->purpose PKM_PURPOSE_EIP712) under the
 * chain mutex: DPK_ERR_EXISTS if the token has an approval already, or a
 * live approve transaction. */
int pkm_chain_record_approval(struct pkm_chain *ch, const struct pkm_tx_row *row);

/* Send again every journalled transaction not yet known to be mined (after
 * a crash or a restart), waiting up to wait_ms for each, replacing those
 * pending longer than replace_after. Logs what it did. */
void pkm_chain_resume(struct pkm_chain *ch, struct dpk_rpc *rpc, uint64_t wait_ms);

/* storePKMKey(the identity key's on-chain form) from the PKM's wallet. With
 * only_if_needed, first reads getPKMKey(own wallet) and sends nothing when it
 * already holds that key. *sent tells whether a transaction was sent. */
int pkm_chain_publish_key(struct pkm_chain *ch, struct dpk_rpc *rpc, int only_if_needed,
    uint64_t wait_ms, int *sent, struct pkm_sent *out, char *msg, size_t msgsz);

/* A new dpk_rpc for the configured endpoints with the configured timeout. */
int pkm_rpc_new(const struct pkm *p, struct dpk_rpc **out);

/* What one connection's requests share. */
struct pkm_conn {
	struct pkm_chain *chain;
	struct pkm *p;
	struct dpk_rpc *rpc;        /* this thread's own */
	uint8_t token_id[16];       /* from the PSK identity */
	char token_hex[33];
};

/* Answer one request: the reply (type and body) goes to *reply_type and
 * reply (whose max caps it). Always produces a reply: a FAILURE with code and
 * sentence if the request was refused. Logs one line to stderr. */
void pkm_request_handle(struct pkm_conn *c, uint8_t type, const uint8_t *body, size_t len,
    uint8_t *reply_type, struct dpk_buf *reply);

/* A listening TCP socket (close-on-exec) for "host:port" (host may be
 * [v6]); -1 with the reason logged. The device channel's and the web's. */
int pkm_listen_on(const char *hostport);

/* Run the server until SIGTERM or SIGINT. Returns an exit status. */
int pkm_serve(struct pkm *p);

#endif
