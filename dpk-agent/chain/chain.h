/* The chain worker: one thread with its own JSON-RPC client runs the slow
 * work (lookups that missed the cache, event polling) so the event loop never
 * waits on the network. Jobs go in with chain_submit(); finished ones come
 * back through chain_take_done(), signalled on an eventfd the loop polls. */
#ifndef DPK_AGENT_CHAIN_H
#define DPK_AGENT_CHAIN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/events.h"
#include "registry/registry.h"
#include "eth/header.h"
#include "eth/rpc.h"
#include "eth/u256.h"

enum job_kind {
	JOB_LOOKUP,   /* getClientByHash(id_hash) */
	JOB_POLL,     /* eth_getLogs since the last block seen */
	JOB_REGISTER, /* one step of the registration (register.h) */
};

struct reg;

/* The order jobs are run in: the event poll (revocations) before reads a
 * login or root waits for, before everybody else's; first come first served
 * within each. */
enum job_prio {
	JOB_PRIO_POLL = 0,
	JOB_PRIO_PRIVILEGED = 1,
	JOB_PRIO_OTHER = 2,
};

struct job {
	enum job_kind kind;
	enum job_prio prio;
	uint8_t id_hash[32];
	/* results */
	int result;                     /* 0, DPK_ERR_NOTFOUND (not registered), or a failure */
	struct dpk_registry_record rec; /* JOB_LOOKUP, result 0: names its approver too */
	int proven;                     /* JOB_LOOKUP: the answer (record or absence) was proven */
	uint64_t block_number;          /* JOB_LOOKUP, proven: the block it was proven at */
	uint8_t block_hash[32];
	uint64_t block_time;            /* its timestamp (unix seconds) */
	char error[256];                /* a sentence for the caller when result is a failure */
	uint8_t (*changed)[32];         /* JOB_POLL: identities whose record changed */
	size_t n_changed;
	int flush_all;                  /* JOB_POLL: too much was missed: drop the whole cache */
	uint64_t head;                  /* JOB_POLL: the head block it saw (chain/ops.c) */
	int want_balance, has_balance;  /* JOB_POLL: read balance_of's balance too */
	uint8_t balance_of[20];
	struct dpk_u256 balance;
	int reorg;                      /* JOB_POLL: blocks above reorg_fork were replaced: */
	uint64_t reorg_fork;            /* answers proven above it are dropped too */
	struct reg *reg;                /* JOB_REGISTER */
	struct job *next;
};

/* How far the worker trusts its endpoints (dpk.conf(5), doc/trust-model.md). */
struct chain_trust {
	int verify_reads;       /* prove every record at a checked header */
	uint32_t quorum;        /* endpoints that must agree on that header's hash */
	uint32_t confirmations; /* blocks below the head */
	int finalized;          /* 1: the "finalized" block instead, 2: the "safe" block */
	uint64_t chain_id;      /* every endpoint must be on this chain */
	int has_checkpoint;     /* every anchor must descend from this block (parent hashes) */
	uint64_t checkpoint_number;
	uint8_t checkpoint_hash[32];
	uint32_t max_proof_age_ms; /* refuse an anchor whose timestamp is older; 0: off */
	uint64_t deploy_block;  /* the event poll reads no log below it */
	uint64_t log_range;     /* blocks per eth_getLogs request (0: 10000) */
};

/* Heights the worker covered (event poll) or proved records at, with their
 * block hashes: a hash that changed is a reorg (chain/poll.c). */
#define CHAIN_SEEN_MAX 64
struct chain_seen {
	uint64_t number;
	uint8_t hash[32];
};
#define CHAIN_MAX_EP 16

/* What the worker last knew of its endpoints and anchor, for STATUS. */
enum chain_ep_state {
	CHAIN_EP_UNCHECKED = 0, /* chain id not checked yet (not reached) */
	CHAIN_EP_OK = 1,
	CHAIN_EP_WRONG_CHAIN = 2,
	CHAIN_EP_BENCHED = 3,   /* a bad answer: asked last for a while */
};
struct chain_report {
	int verify_reads;
	int have_anchor;
	uint64_t anchor_number;
	uint8_t anchor_hash[32];
	uint64_t anchor_time;   /* its timestamp (unix seconds) */
	size_t nep;
	struct {
		char display[160];
		enum chain_ep_state state;
		unsigned bad_answers;
		uint64_t chain_id;  /* as it said (0: not asked yet) */
		uint64_t head;      /* its latest block when last asked (0: not yet) */
	} ep[CHAIN_MAX_EP];
};

struct chain {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail, *done;
	int efd;
	int stop;
	struct dpk_rpc *rpc;
	uint8_t contract[20];
	uint64_t last_block; /* worker-private: the last block whose events were read */
	/* worker-private: verified reads */
	struct chain_trust trust;
	struct dpk_rpc *ep[CHAIN_MAX_EP]; /* one client per endpoint, for the quorum and chain ids */
	size_t nep;
	int ep_chain_ok[CHAIN_MAX_EP];    /* 1: its chain id was checked; -1: another chain */
	uint64_t ep_chain_id[CHAIN_MAX_EP]; /* what it said its chain id is */
	uint64_t ep_head[CHAIN_MAX_EP];   /* its latest block, refreshed at each event poll */
	struct dpk_header anchor;         /* the last header the quorum agreed on */
	int have_anchor;
	int64_t anchor_ms;                /* monotonic time it was accepted */
	int have_linked;                  /* checkpoint: the last anchor found to descend from it */
	uint64_t linked_number;
	uint8_t linked_hash[32];
	int have_partial;                 /* checkpoint: a walk cut short by its time budget: */
	uint64_t partial_top_number;      /* the block it started from, */
	uint8_t partial_top_hash[32];
	struct dpk_header partial_cur;    /* and the lowest header it checked (linked to that block) */
	int64_t refusal_logged_ms;        /* when a checkpoint/max_proof_age refusal was last logged */
	int64_t ep_logged_ms[CHAIN_MAX_EP]; /* when a refusal of its header was last logged */
	struct chain_report report;       /* under mu: a copy of the above for STATUS */
	int drop_anchor;                  /* under mu: chain_drop_anchor() was called */
	/* worker-private: reorg detection (chain/poll.c) */
	struct chain_seen seen[CHAIN_SEEN_MAX]; /* ascending by number */
	size_t nseen;
	struct chain_events events;       /* identities the poll saw events of, by block (events.h) */
	uint64_t log_range_now;           /* trust.log_range, or less after a node refused a range */
};

/* trust may be NULL: reads are believed (eth_call), as for the registration
 * worker that only sends transactions. */
int chain_start(struct chain *ch, char *const *urls, size_t nurls, uint32_t rpc_timeout_ms,
    const uint8_t contract[20], const struct chain_trust *trust, char *err, size_t errsz);
void chain_stop(struct chain *ch);
/* Queue j behind the jobs of its priority and ahead of lower ones. */
void chain_submit(struct chain *ch, struct job *j);
/* Move the queued lookup of id_hash (if not under way yet) ahead to prio. */
void chain_raise(struct chain *ch, const uint8_t id_hash[32], enum job_prio prio);
/* All finished jobs (a list through ->next, in the order they ran), and
 * clears the eventfd. */
struct job *chain_take_done(struct chain *ch);
void job_free(struct job *j);
/* eth_getBlockByNumber(tag) (a 0x number, "latest", "finalized") on rpc:
 * the header rebuilt and checked against its hash. 0, or a dpk_err with a
 * sentence in why. */
int chain_fetch_header(struct dpk_rpc *rpc, const char *tag, struct dpk_header *h, char *why, size_t whysz);
/* The next read takes a new header, not the one reused for up to a second
 * (dpkctl cache flush: what the chain says now). */
void chain_drop_anchor(struct chain *ch);
/* Remember the hash of block number (worker thread; chain/poll.c). */
void chain_seen_add(struct chain *ch, uint64_t number, const uint8_t hash[32]);
/* The event poll (worker thread; chain/poll.c). */
void chain_run_poll(struct chain *ch, struct job *j);
/* j->result and j->error from rpc's last failure r (worker thread). */
void chain_job_error(struct job *j, struct dpk_rpc *rpc, int r);
/* A copy of what the worker last knew (endpoints, anchor). */
void chain_get_report(struct chain *ch, struct chain_report *out);

#endif
