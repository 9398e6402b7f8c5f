#include "chain/cache.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

void
cache_init(struct cache *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
}

static size_t
bucket_of(const uint8_t h[32])
{
	/* the hash is keccak output: its bytes are already uniform */
	return ((size_t)h[0] << 8 | h[1]) % 1024;
}

static void
entry_free(struct cache_entry *e)
{
	dpk_registry_record_free(&e->rec);
	free(e);
}

void
cache_clear(struct cache *c)
{
	for (size_t b = 0; b < 1024; b++) {
		struct cache_entry *e = c->buckets[b], *n;

		for (; e != NULL; e = n) {
			n = e->next;
			entry_free(e);
		}
		c->buckets[b] = NULL;
	}
	c->count = 0;
}

struct cache_entry *
cache_get(struct cache *c, const uint8_t id_hash[32])
{
	for (struct cache_entry *e = c->buckets[bucket_of(id_hash)]; e != NULL; e = e->next)
		if (memcmp(e->id_hash, id_hash, 32) == 0)
			return e;
	return NULL;
}

void
cache_drop(struct cache *c, const uint8_t id_hash[32])
{
	struct cache_entry **pp = &c->buckets[bucket_of(id_hash)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (memcmp((*pp)->id_hash, id_hash, 32) == 0) {
			struct cache_entry *e = *pp;

			*pp = e->next;
			entry_free(e);
			c->count--;
			return;
		}
	}
}

size_t
cache_drop_proven_above(struct cache *c, uint64_t number, void (*fn)(void *, const uint8_t *), void *ctx)
{
	size_t n = 0;

	for (size_t b = 0; b < 1024; b++) {
		struct cache_entry **pp = &c->buckets[b];

		while (*pp != NULL) {
			struct cache_entry *e = *pp;

			if (!e->proven || e->block_number <= number) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			if (fn != NULL)
				fn(ctx, e->id_hash);
			entry_free(e);
			c->count--;
			n++;
		}
	}
	return n;
}

/* Drop the oldest eighth of the entries (a rare, bounded sweep). */
static void
cache_evict(struct cache *c)
{
	int64_t oldest = INT64_MAX, newest = INT64_MIN, cut;

	for (size_t b = 0; b < 1024; b++)
		for (struct cache_entry *e = c->buckets[b]; e != NULL; e = e->next) {
			oldest = e->fetched_ms < oldest ? e->fetched_ms : oldest;
			newest = e->fetched_ms > newest ? e->fetched_ms : newest;
		}
	cut = oldest + (newest - oldest) / 8;
	for (size_t b = 0; b < 1024; b++) {
		struct cache_entry **pp = &c->buckets[b];

		while (*pp != NULL) {
			if ((*pp)->fetched_ms <= cut) {
				struct cache_entry *e = *pp;

				*pp = e->next;
				entry_free(e);
				c->count--;
			} else {
				pp = &(*pp)->next;
			}
		}
	}
}

int
cache_put(struct cache *c, const uint8_t id_hash[32], const struct dpk_registry_record *rec, int64_t now_ms)
{
	struct cache_entry *e;
	size_t b = bucket_of(id_hash);

	cache_drop(c, id_hash);
	if (c->count >= c->max)
		cache_evict(c);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return DPK_ERR_NOMEM;
	memcpy(e->id_hash, id_hash, 32);
	e->fetched_ms = now_ms;
	if (rec != NULL) {
		e->found = 1;
		e->rec = *rec;
		if (rec->publen > 0) {
			if ((e->rec.pubkey = malloc(rec->publen)) == NULL) {
				free(e);
				return DPK_ERR_NOMEM;
			}
			memcpy(e->rec.pubkey, rec->pubkey, rec->publen);
		} else {
			e->rec.pubkey = NULL;
		}
	}
	e->next = c->buckets[b];
	c->buckets[b] = e;
	c->count++;
	return 0;
}
