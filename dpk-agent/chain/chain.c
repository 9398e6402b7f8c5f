#include "chain/chain.h"

#include "base/err.h"
#include "chain/register.h"
#include "daemon/conffile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* eth_getLogs ranges are capped by many nodes; beyond this many blocks
 * missed, the cache is dropped instead of read through. */
#define POLL_MAX_RANGE 5000

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	dpk_registry_record_free(&j->rec);
	free(j->changed);
	free(j);
}

static void
job_error(struct job *j, struct dpk_rpc *rpc, int r)
{
	char reason[200];

	j->result = r;
	if (r == DPK_ERR_REVERT && dpk_registry_last_revert(rpc, reason, sizeof(reason)) == 0)
		snprintf(j->error, sizeof(j->error), "the registry refused: %s", reason);
	else
		snprintf(j->error, sizeof(j->error), "%s", *dpk_rpc_last_error(rpc) ? dpk_rpc_last_error(rpc) :
		    dpk_strerror(r));
}

static void
run_lookup(struct chain *ch, struct job *j)
{
	int r = dpk_registry_get_client_by_hash(ch->rpc, ch->contract, j->id_hash, &j->rec);

	if (r == 0 || r == DPK_ERR_NOTFOUND)
		j->result = r;
	else
		job_error(j, ch->rpc, r);
}

static void
run_poll(struct chain *ch, struct job *j)
{
	struct dpk_rpc_log *logs = NULL;
	struct dpk_rpc_filter f = {.address = ch->contract};
	uint64_t head;
	size_t n = 0;
	int r;

	if ((r = dpk_rpc_block_number(ch->rpc, &head)) != 0) {
		job_error(j, ch->rpc, r);
		return;
	}
	if (ch->last_block == 0 || head < ch->last_block) {
		/* first poll, or the chain went back (a reorg or a new dev chain): start over */
		j->flush_all = ch->last_block != 0;
		ch->last_block = head;
		return;
	}
	if (head == ch->last_block)
		return;
	if (head - ch->last_block > POLL_MAX_RANGE) {
		j->flush_all = 1;
		ch->last_block = head;
		return;
	}
	f.from_block = ch->last_block + 1;
	f.to_block = head;
	/* all of the contract's logs; the identity events are picked out below */
	if ((r = dpk_rpc_get_logs(ch->rpc, &f, &logs, &n)) != 0) {
		job_error(j, ch->rpc, r);
		return;
	}
	if (n > 0 && (j->changed = calloc(n, 32)) == NULL) {
		j->flush_all = 1;
	} else {
		for (size_t i = 0; i < n; i++) {
			struct dpk_registry_event ev;

			if (dpk_registry_decode_event(&logs[i], &ev) != 0)
				continue;
			if (ev.kind == DPK_REGISTRY_EV_CLIENT_APPROVED || ev.kind == DPK_REGISTRY_EV_KEY_ROTATED ||
			    ev.kind == DPK_REGISTRY_EV_CLIENT_REVOKED)
				memcpy(j->changed[j->n_changed++], ev.id_hash, 32);
		}
	}
	dpk_rpc_logs_free(logs, n);
	ch->last_block = head;
}

static void *
worker(void *arg)
{
	struct chain *ch = arg;

	pthread_mutex_lock(&ch->mu);
	for (;;) {
		struct job *j;
		uint64_t one = 1;

		while (!ch->stop && ch->todo == NULL)
			pthread_cond_wait(&ch->cv, &ch->mu);
		if (ch->stop)
			break;
		j = ch->todo;
		ch->todo = j->next;
		if (ch->todo == NULL)
			ch->todo_tail = NULL;
		pthread_mutex_unlock(&ch->mu);

		j->next = NULL;
		if (j->kind == JOB_LOOKUP)
			run_lookup(ch, j);
		else if (j->kind == JOB_REGISTER)
			reg_step(j->reg, ch->rpc);
		else
			run_poll(ch, j);

		pthread_mutex_lock(&ch->mu);
		j->next = ch->done;
		ch->done = j;
		if (write(ch->efd, &one, sizeof(one)) != sizeof(one)) {
			/* the counter cannot overflow in practice; the loop also polls on a timer */
		}
	}
	pthread_mutex_unlock(&ch->mu);
	return NULL;
}

int
chain_start(struct chain *ch, char *const *urls, size_t nurls, uint32_t rpc_timeout_ms,
    const uint8_t contract[20], char *err, size_t errsz)
{
	int r;

	memset(ch, 0, sizeof(*ch));
	memcpy(ch->contract, contract, 20);
	if ((r = dpk_conffile_rpc_client(&ch->rpc, urls, nurls, rpc_timeout_ms)) != 0) {
		snprintf(err, errsz, "cannot use the configured rpc_url: %s", dpk_strerror(r));
		return r;
	}
	if ((ch->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		dpk_rpc_free(ch->rpc);
		snprintf(err, errsz, "eventfd failed");
		return DPK_ERR_IO;
	}
	pthread_mutex_init(&ch->mu, NULL);
	pthread_cond_init(&ch->cv, NULL);
	if (pthread_create(&ch->th, NULL, worker, ch) != 0) {
		close(ch->efd);
		dpk_rpc_free(ch->rpc);
		snprintf(err, errsz, "cannot start the chain thread");
		return DPK_ERR_IO;
	}
	return 0;
}

void
chain_stop(struct chain *ch)
{
	struct job *j, *n;

	if (ch->rpc == NULL)
		return;
	pthread_mutex_lock(&ch->mu);
	ch->stop = 1;
	pthread_cond_signal(&ch->cv);
	pthread_mutex_unlock(&ch->mu);
	/* a request in flight ends within rpc_timeout */
	pthread_join(ch->th, NULL);
	for (j = ch->todo; j != NULL; j = n) {
		n = j->next;
		job_free(j);
	}
	for (j = ch->done; j != NULL; j = n) {
		n = j->next;
		job_free(j);
	}
	close(ch->efd);
	dpk_rpc_free(ch->rpc);
	pthread_mutex_destroy(&ch->mu);
	pthread_cond_destroy(&ch->cv);
	memset(ch, 0, sizeof(*ch));
}

void
chain_submit(struct chain *ch, struct job *j)
{
	struct job **pp;

	j->next = NULL;
	pthread_mutex_lock(&ch->mu);
	if (ch->todo_tail != NULL && ch->todo_tail->prio <= j->prio) {
		ch->todo_tail->next = j;
		ch->todo_tail = j;
	} else {
		/* the queue is bounded (max_chain_reads, one poll): a walk is cheap */
		for (pp = &ch->todo; *pp != NULL && (*pp)->prio <= j->prio; pp = &(*pp)->next)
			;
		j->next = *pp;
		*pp = j;
		if (j->next == NULL)
			ch->todo_tail = j;
	}
	pthread_cond_signal(&ch->cv);
	pthread_mutex_unlock(&ch->mu);
}

void
chain_raise(struct chain *ch, const uint8_t id_hash[32], enum job_prio prio)
{
	struct job **pp, *j = NULL, *prev = NULL;

	pthread_mutex_lock(&ch->mu);
	for (pp = &ch->todo; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if ((*pp)->kind == JOB_LOOKUP && (*pp)->prio > prio && memcmp((*pp)->id_hash, id_hash, 32) == 0) {
			j = *pp;
			*pp = j->next;
			if (ch->todo_tail == j)
				ch->todo_tail = prev;
			break;
		}
	}
	pthread_mutex_unlock(&ch->mu);
	if (j != NULL) {
		j->prio = prio;
		chain_submit(ch, j);
	}
}

struct job *
chain_take_done(struct chain *ch)
{
	struct job *list, *rev = NULL, *next;
	uint64_t v;

	if (read(ch->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled; the list may still hold jobs */
	}
	pthread_mutex_lock(&ch->mu);
	list = ch->done;
	ch->done = NULL;
	pthread_mutex_unlock(&ch->mu);
	/* done is newest first: hand them back in the order they ran, so that a
	 * lookup that read the chain before an event poll is not cached over
	 * what the poll dropped */
	for (; list != NULL; list = next) {
		next = list->next;
		list->next = rev;
		rev = list;
	}
	return rev;
}
