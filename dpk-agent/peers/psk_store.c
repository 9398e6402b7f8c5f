#include "peers/psk_store.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void
psk_store_init(struct psk_store *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

static void
drop(struct psk_store *s, size_t i)
{
	explicit_bzero(&s->e[i], sizeof(s->e[i]));
	s->e[i] = s->e[--s->n];
	explicit_bzero(&s->e[s->n], sizeof(s->e[s->n]));
}

void
psk_store_clear(struct psk_store *s)
{
	if (s->e != NULL)
		explicit_bzero(s->e, s->max * sizeof(*s->e));
	free(s->e);
	s->e = NULL;
	s->n = 0;
}

void
psk_store_expire(struct psk_store *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->n;)
		if (now_ms >= s->e[i].expires_ms)
			drop(s, i);
		else
			i++;
}

static int
is_ticket_id(const char *identity)
{
	return strncmp(identity, PSK_STORE_TICKET_PREFIX, strlen(PSK_STORE_TICKET_PREFIX)) == 0;
}

static int
same_identity(const struct dpk_identity *a, const struct dpk_identity *b)
{
	return a->kind == b->kind && a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

int
psk_store_put(struct psk_store *s, const struct dpk_identity *peer, const char *identity,
    const uint8_t key[DPK_HS_PSK_LEN], uint8_t origin, uint32_t lifetime_ms, int64_t now_ms)
{
	struct psk_entry *e;
	size_t i;

	if (strlen(identity) > DPK_HS_PSK_ID_MAX || (origin == PSK_ORIGIN_TICKET) != is_ticket_id(identity))
		return DPK_ERR_INVALID;
	/* the whole array at once: it is never moved, so no copy of a key is left behind by realloc */
	if (s->e == NULL && (s->e = calloc(s->max, sizeof(*s->e))) == NULL)
		return DPK_ERR_NOMEM;
	psk_store_expire(s, now_ms);
	for (i = 0; i < s->n && strcmp(s->e[i].identity, identity) != 0; i++)
		;
	if (i < s->n)
		drop(s, i);
	/* one peer may hold only a few: a registered device that runs handshake
	 * after handshake pushes out its own PSKs, not everyone else's */
	size_t mine = 0, oldest_mine = 0;

	for (i = 0; i < s->n; i++)
		if (same_identity(&s->e[i].peer, peer) && (s->e[i].origin == PSK_ORIGIN_TICKET) == (origin == PSK_ORIGIN_TICKET) &&
		    (mine++ == 0 || s->e[i].created_ms < s->e[oldest_mine].created_ms))
			oldest_mine = i;
	if (mine >= PSK_STORE_PER_PEER) {
		drop(s, oldest_mine);
	} else if (s->n == s->max) {
		size_t oldest = 0;

		for (i = 1; i < s->n; i++)
			if (s->e[i].created_ms < s->e[oldest].created_ms)
				oldest = i;
		drop(s, oldest);
	}
	e = &s->e[s->n++];
	e->peer = *peer;
	memcpy(e->identity, identity, strlen(identity) + 1);
	memcpy(e->key, key, DPK_HS_PSK_LEN);
	e->origin = origin;
	e->created_ms = now_ms;
	e->expires_ms = now_ms + lifetime_ms;
	e->expires_unix = (uint64_t)time(NULL) + lifetime_ms / 1000;
	return 0;
}

const struct psk_entry *
psk_store_by_peer(struct psk_store *s, const struct dpk_identity *peer, int64_t now_ms)
{
	const struct psk_entry *best = NULL;

	psk_store_expire(s, now_ms);
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].origin != PSK_ORIGIN_TICKET && same_identity(&s->e[i].peer, peer) &&
		    (best == NULL || s->e[i].created_ms >= best->created_ms))
			best = &s->e[i];
	return best;
}

const struct psk_entry *
psk_store_by_identity(struct psk_store *s, const char *identity, int64_t now_ms)
{
	psk_store_expire(s, now_ms);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].identity, identity) == 0)
			return &s->e[i];
	return NULL;
}
