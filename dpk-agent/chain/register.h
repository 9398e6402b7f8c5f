/* Registration of this host's key, restart-safe (doc/protocol.md, dpk-agent(8)).
 * A state machine run one step at a time by the chain worker. Every step's
 * outcome is written to the journal (state_dir/registration, replaced
 * atomically) before the next step acts on it; a transaction is journalled,
 * signed, before it is sent, and sent again (same bytes) after a restart. */
#ifndef DPK_AGENT_REGISTER_H
#define DPK_AGENT_REGISTER_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "base/buf.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "eth/fees.h"
#include "eth/rpc.h"
#include "eth/wallet.h"

enum reg_step {
	REG_NONE = 0,      /* nothing asked */
	REG_START,         /* read and check the token */
	REG_FUNDING,       /* asked the PKM for gas money; waiting for it */
	REG_APPROVAL,      /* funded; asking the PKM for its approval */
	REG_SENDING,       /* register()/addClient() signed and journalled; sending, waiting to be mined */
	REG_WAIT_APPROVE,  /* paper flow: addClient mined; the PKM approves. Relay flow: the request is signed
	                    * and journalled; the PKM sends it and answers once it is mined */
	REG_VERIFY,        /* mined; checking the record on chain */
	REG_DONE,          /* registered: the chain has our key */
	REG_FAILED,        /* stopped; detail says why and what to do */
};

/* journalled as numbers; dpk.conf's registration (DPK_CONFIG_REG_*) has the same values */
enum reg_flow { REG_FLOW_EIP712 = 0, REG_FLOW_PAPER = 1, REG_FLOW_RELAY = 2 };

#define REG_MAX_REPLACEMENTS 16

struct reg {
	pthread_mutex_t mu;      /* guards everything below against the event loop's readers */
	char path[PATH_MAX];     /* the journal */
	enum reg_step step;
	char detail[300];
	int64_t started_ms;
	int64_t pkm_key_missing_ms;      /* when the token's PKM was first seen without a key on chain (0: not) */
	uint64_t start_block, head_block;
	uint64_t verify_head;            /* the head when REG_VERIFY began: the transaction is at or below it */
	/* from the configuration, fixed when registration starts */
	enum reg_flow flow;
	char token_file[PATH_MAX];
	uint64_t chain_id;
	uint8_t contract[20];
	struct dpk_identity id;
	const struct dpk_wallet *wallet;
	uint8_t alg;
	struct dpk_buf pub;      /* our key as on chain */
	/* journalled progress */
	int has_fund_tx;
	uint8_t fund_tx[32];
	int has_approval;
	uint64_t appr_expiry;
	uint8_t appr_nonce[32];
	uint8_t appr_sig[65];
	int has_relay;           /* relay flow: our signed request, sent again after a restart */
	uint64_t relay_expiry;
	uint64_t relay_nonce;    /* the record's version when signed */
	uint8_t relay_sig[65];
	int has_tx;
	uint64_t tx_nonce;
	uint8_t tx_hash[32];
	struct dpk_buf tx_raw;
	/* earlier versions of the transaction for tx_nonce (replaced at higher
	 * fees): any of them may be the one mined */
	uint8_t tx_prev[REG_MAX_REPLACEMENTS][32];
	size_t n_tx_prev;
	uint64_t tx_sent_ms;     /* wall clock when the current version was journalled, just before sending */
	/* fees (dpk.conf max_fee_per_gas, max_priority_fee_per_gas, replace_after) */
	struct dpk_fee_policy fees;
	uint32_t replace_after_ms;
};

/* Set up from the journal (if any) in state_dir. A registration that was
 * under way resumes: returns 1 then, 0 if there is nothing to do. */
int reg_init(struct reg *g, const char *state_dir, const struct dpk_wallet *w, const struct dpk_idkey *k);
void reg_free(struct reg *g);
/* The fee cap and the replacement delay for this host's transactions. */
void reg_set_fees(struct reg *g, uint64_t max_fee, uint64_t max_tip, uint32_t replace_after_ms);
/* Begin (from the configuration's identity and token file). 0, or an error
 * with the reason in g->detail. Does nothing if one is under way or done. */
int reg_begin(struct reg *g, const char *identity, const char *token_file, uint64_t chain_id,
    const uint8_t contract[20], enum reg_flow flow);
/* One step, in the chain worker. */
void reg_step(struct reg *g, struct dpk_rpc *rpc);
/* Is a step due (under way and not finished)? */
int reg_active(struct reg *g);

const char *reg_step_name(enum reg_step s);

#endif
