/* The event poll's memory of events (dpk-agent/chain/events.c): it grows
 * from nothing, keeps the newest CHAIN_EVENTS_MAX in order when it wraps,
 * says up to which block it forgot, and a reorg's drop names exactly the
 * identities above the fork and keeps the rest in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "chain/events.h"

static void
id_of(uint64_t block, uint8_t h[32])
{
	memset(h, 0, 32);
	memcpy(h, &block, sizeof(block));
}

struct seen {
	uint64_t blocks[CHAIN_EVENTS_MAX + 16];
	size_t n;
	int fail_at;
};

static int
collect(void *ctx, const uint8_t id_hash[32])
{
	struct seen *s = ctx;
	uint64_t b;

	memcpy(&b, id_hash, sizeof(b));
	s->blocks[s->n++] = b;
	return s->fail_at != 0 && (size_t)s->fail_at == s->n ? -1 : 0;
}

/* the remembered blocks, oldest first, through a drop above everything */
static size_t
blocks_kept(struct chain_events *ev, uint64_t *out)
{
	struct seen s = {0};
	struct chain_events copy = *ev;
	size_t n = ev->n;

	/* dropping above 0 names every event, oldest first; the copy's count is
	 * then 0, but ev itself (the same slots) is left as it was */
	assert_int_equal(chain_events_drop_above(&copy, 0, collect, &s), 0);
	memcpy(out, s.blocks, s.n * sizeof(*out));
	assert_int_equal(s.n, n);
	return s.n;
}

static void
test_grows_from_nothing(void **state)
{
	struct chain_events ev = {0};
	uint8_t h[32];
	uint64_t kept[CHAIN_EVENTS_MAX];

	(void)state;
	assert_null(ev.v);
	for (uint64_t b = 1; b <= 100; b++) {
		id_of(b, h);
		chain_events_add(&ev, b, h);
	}
	assert_int_equal(ev.n, 100);
	assert_int_equal(ev.cap, 128); /* 64, then doubled */
	assert_int_equal(ev.lost_to, 0);
	assert_int_equal(blocks_kept(&ev, kept), 100);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(kept[i], i + 1);
	chain_events_free(&ev);
}

static void
test_wraps_keeping_the_newest(void **state)
{
	struct chain_events ev = {0};
	uint8_t h[32];
	static uint64_t kept[CHAIN_EVENTS_MAX];
	uint64_t last = CHAIN_EVENTS_MAX + 1000;

	(void)state;
	for (uint64_t b = 1; b <= last; b++) {
		id_of(b, h);
		chain_events_add(&ev, b, h);
	}
	assert_int_equal(ev.n, CHAIN_EVENTS_MAX);
	assert_int_equal(ev.cap, CHAIN_EVENTS_MAX);
	assert_int_equal(ev.lost_to, 1000); /* 1..1000 forgotten */
	assert_int_equal(blocks_kept(&ev, kept), CHAIN_EVENTS_MAX);
	for (size_t i = 0; i < CHAIN_EVENTS_MAX; i++)
		assert_int_equal(kept[i], 1001 + i);
	chain_events_free(&ev);
}

static void
test_drop_above_after_wrap(void **state)
{
	struct chain_events ev = {0};
	struct seen s = {0};
	uint8_t h[32];
	static uint64_t kept[CHAIN_EVENTS_MAX];
	uint64_t last = CHAIN_EVENTS_MAX + 10, fork = last - 5;

	(void)state;
	for (uint64_t b = 1; b <= last; b++) {
		id_of(b, h);
		chain_events_add(&ev, b, h);
	}
	assert_int_equal(chain_events_drop_above(&ev, fork, collect, &s), 0);
	assert_int_equal(s.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(s.blocks[i], fork + 1 + i);
	assert_int_equal(ev.n, CHAIN_EVENTS_MAX - 5);
	assert_int_equal(blocks_kept(&ev, kept), CHAIN_EVENTS_MAX - 5);
	for (size_t i = 0; i < ev.n; i++)
		assert_int_equal(kept[i], 11 + i);
	/* and it goes on from there, in order */
	id_of(fork + 1, h);
	chain_events_add(&ev, fork + 1, h);
	assert_int_equal(blocks_kept(&ev, kept), CHAIN_EVENTS_MAX - 4);
	assert_int_equal(kept[ev.n - 1], fork + 1);
	assert_int_equal(kept[ev.n - 2], fork);
	chain_events_free(&ev);
}

/* a failing callback (no memory for the list of changed identities) is
 * passed on, and the events above the fork are forgotten all the same */
static void
test_drop_callback_fails(void **state)
{
	struct chain_events ev = {0};
	struct seen s = {.fail_at = 2};
	uint8_t h[32];

	(void)state;
	for (uint64_t b = 1; b <= 10; b++) {
		id_of(b, h);
		chain_events_add(&ev, b, h);
	}
	assert_int_equal(chain_events_drop_above(&ev, 6, collect, &s), -1);
	assert_int_equal(s.n, 4);
	assert_int_equal(ev.n, 6);
	chain_events_clear(&ev);
	assert_int_equal(ev.n, 0);
	assert_int_equal(ev.lost_to, 0);
	chain_events_free(&ev);
	assert_null(ev.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_from_nothing),
		cmocka_unit_test(test_wraps_keeping_the_newest),
		cmocka_unit_test(test_drop_above_after_wrap),
		cmocka_unit_test(test_drop_callback_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
