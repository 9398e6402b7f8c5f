/* The chain worker: one thread with its own JSON-RPC client runs the slow
 * work (lookups that missed the cache, event polling) so the event loop never
 * waits on the network. Jobs go in with chain_submit(); finished ones come
 * back through chain_take_done(), signalled on an eventfd the loop polls. */
#ifndef DPK_AGENT_CHAIN_H
#define DPK_AGENT_CHAIN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "registry/registry.h"
#include "eth/rpc.h"

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
	char error[256];                /* a sentence for the caller when result is a failure */
	uint8_t (*changed)[32];         /* JOB_POLL: identities whose record changed */
	size_t n_changed;
	int flush_all;                  /* JOB_POLL: too much was missed: drop the whole cache */
	struct reg *reg;                /* JOB_REGISTER */
	struct job *next;
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
};

int chain_start(struct chain *ch, char *const *urls, size_t nurls, uint32_t rpc_timeout_ms,
    const uint8_t contract[20], char *err, size_t errsz);
void chain_stop(struct chain *ch);
/* Queue j behind the jobs of its priority and ahead of lower ones. */
void chain_submit(struct chain *ch, struct job *j);
/* Move the queued lookup of id_hash (if not under way yet) ahead to prio. */
void chain_raise(struct chain *ch, const uint8_t id_hash[32], enum job_prio prio);
/* All finished jobs (a list through ->next, in the order they ran), and
 * clears the eventfd. */
struct job *chain_take_done(struct chain *ch);
void job_free(struct job *j);

#endif
