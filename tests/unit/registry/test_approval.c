/* lib/registry/approval.c: the approval in force from an identity's events. Logs
 * are made here byte by byte (topics and ABI data of DPK.sol's events);
 * the integration test tests/integration/test_nss_getent checks the same on
 * a real chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "registry/approval.h"
#include "base/err.h"

static const uint8_t contract[20] = {0xc0, 0x01};
static const uint8_t id[32] = {0x1d, 0x01};
static const uint8_t other_id[32] = {0x1d, 0x02};
static const uint8_t pkm_a[20] = {0xaa}, pkm_b[20] = {0xbb}, ctl[20] = {0xcc}, ctl2[20] = {0xdd};

enum { APPROVED, ROTATED, REVOKED };

static void
word_u32(uint8_t w[32], uint32_t v)
{
	memset(w, 0, 32);
	w[28] = (uint8_t)(v >> 24);
	w[29] = (uint8_t)(v >> 16);
	w[30] = (uint8_t)(v >> 8);
	w[31] = (uint8_t)v;
}

static void
topic_addr(uint8_t t[32], const uint8_t a[20])
{
	memset(t, 0, 12);
	memcpy(t + 12, a, 20);
}

/* One event of the identity h at (block, index). ClientApproved and
 * KeyRotated carry (uint8 algorithm, bytes publicKey (empty), uint32
 * version); ClientRevoked (uint32 version). */
static struct dpk_rpc_log
mk(int kind, const uint8_t h[32], const uint8_t controller[20], const uint8_t approver[20], uint32_t version,
    uint64_t block, uint64_t index)
{
	struct dpk_rpc_log l;
	const char *sig = kind == APPROVED ? "ClientApproved(bytes32,address,address,uint8,bytes,uint32)" :
	    kind == ROTATED ? "KeyRotated(bytes32,address,uint8,bytes,uint32)" : "ClientRevoked(bytes32,address,uint32)";

	memset(&l, 0, sizeof(l));
	memcpy(l.address, contract, 20);
	assert_int_equal(dpk_abi_event_topic(sig, l.topics[0]), 0);
	memcpy(l.topics[1], h, 32);
	topic_addr(l.topics[2], controller);
	l.ntopics = 3;
	if (kind == APPROVED) {
		topic_addr(l.topics[3], approver);
		l.ntopics = 4;
	}
	if (kind == REVOKED) {
		l.data = malloc(32);
		word_u32(l.data, version);
		l.data_len = 32;
	} else {
		l.data = malloc(128);
		word_u32(l.data, 1);          /* algorithm */
		word_u32(l.data + 32, 0x60);  /* offset of the key */
		word_u32(l.data + 64, version);
		word_u32(l.data + 96, 0);     /* the key: empty */
		l.data_len = 128;
	}
	l.has_block = 1;
	l.block_number = block;
	l.log_index = index;
	return l;
}

static void
free_logs(struct dpk_rpc_log *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].data);
}

static struct dpk_registry_record
rec(const uint8_t controller[20], uint32_t version, enum dpk_registry_status st)
{
	struct dpk_registry_record r;

	memset(&r, 0, sizeof(r));
	memcpy(r.controller, controller, 20);
	r.version = version;
	r.status = st;
	return r;
}

static void
test_latest_approval(void **state)
{
	struct dpk_rpc_log l[5];
	struct dpk_approval a;
	struct dpk_registry_record r;

	(void)state;
	/* approved by A (v1), revoked, approved again by B (v3): given out of order */
	l[0] = mk(APPROVED, id, ctl2, pkm_b, 3, 20, 0);
	l[1] = mk(APPROVED, id, ctl, pkm_a, 1, 10, 4);
	l[2] = mk(REVOKED, id, ctl, NULL, 1, 15, 0);
	l[3] = mk(APPROVED, other_id, ctl, pkm_a, 7, 30, 0); /* another identity, later */
	l[4] = mk(ROTATED, id, ctl2, NULL, 4, 20, 1);
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 5, &a), 0);
	assert_memory_equal(a.approver, pkm_b, 20);
	assert_memory_equal(a.controller, ctl2, 20);
	assert_int_equal(a.version, 3);
	assert_int_equal(a.rotations, 1);
	assert_int_equal(a.block, 20);
	r = rec(ctl2, 4, DPK_REGISTRY_ACTIVE);
	assert_int_equal(dpk_approval_matches(&a, &r), 0);
	/* the record moved on (another rotation the logs did not show), went
	 * to another controller, or was revoked: the approval does not account
	 * for it */
	r = rec(ctl2, 5, DPK_REGISTRY_ACTIVE);
	assert_int_equal(dpk_approval_matches(&a, &r), DPK_ERR_NOTFOUND);
	r = rec(ctl, 4, DPK_REGISTRY_ACTIVE);
	assert_int_equal(dpk_approval_matches(&a, &r), DPK_ERR_NOTFOUND);
	r = rec(ctl2, 4, DPK_REGISTRY_REVOKED);
	assert_int_equal(dpk_approval_matches(&a, &r), DPK_ERR_NOTFOUND);

	/* without the re-approval: A's approval (v1) */
	assert_int_equal(dpk_approval_from_logs(contract, id, l + 1, 2, &a), 0);
	assert_memory_equal(a.approver, pkm_a, 20);
	assert_int_equal(a.version, 1);
	/* the re-approval dropped by a reorg: A's again */
	l[0].removed = 1;
	l[4].removed = 1;
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 5, &a), 0);
	assert_memory_equal(a.approver, pkm_a, 20);
	/* another contract's event with the same topics counts for nothing */
	l[0].removed = 0;
	l[0].address[0] ^= 1;
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 4, &a), 0);
	assert_memory_equal(a.approver, pkm_a, 20);
	free_logs(l, 5);
}

static void
test_rotations_must_add_up(void **state)
{
	struct dpk_rpc_log l[3];
	struct dpk_approval a;

	(void)state;
	l[0] = mk(APPROVED, id, ctl, pkm_a, 2, 5, 0);
	l[1] = mk(ROTATED, id, ctl, NULL, 3, 6, 0);
	l[2] = mk(ROTATED, id, ctl, NULL, 4, 7, 0);
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 3, &a), 0);
	assert_int_equal(a.rotations, 2);
	/* a version skipped */
	free(l[2].data);
	l[2] = mk(ROTATED, id, ctl, NULL, 5, 7, 0);
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 3, &a), DPK_ERR_NOTFOUND);
	/* a rotation by somebody else than the approved controller */
	free(l[2].data);
	l[2] = mk(ROTATED, id, ctl2, NULL, 4, 7, 0);
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 3, &a), DPK_ERR_NOTFOUND);
	/* rotations with no approval before them */
	assert_int_equal(dpk_approval_from_logs(contract, id, l + 1, 2, &a), DPK_ERR_NOTFOUND);
	assert_int_equal(dpk_approval_from_logs(contract, id, NULL, 0, &a), DPK_ERR_NOTFOUND);
	free_logs(l, 3);
}

static void
test_bad_answers(void **state)
{
	struct dpk_rpc_log l[2], *many;
	struct dpk_approval a;

	(void)state;
	l[0] = mk(APPROVED, id, ctl, pkm_a, 1, 5, 0);
	l[1] = mk(APPROVED, id, ctl, pkm_b, 1, 5, 0);
	/* two logs at one position */
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 2, &a), DPK_ERR_INVALID);
	/* a pending log */
	l[1].log_index = 1;
	l[1].has_block = 0;
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 2, &a), DPK_ERR_INVALID);
	l[1].has_block = 1;
	assert_int_equal(dpk_approval_from_logs(contract, id, l, 2, &a), 0);
	assert_memory_equal(a.approver, pkm_b, 20);
	/* the later approval malformed (truncated data): no guess from the earlier one */
	l[1].data_len = 96;
	assert_int_not_equal(dpk_approval_from_logs(contract, id, l, 2, &a), 0);
	assert_memory_equal(a.approver, (uint8_t[20]){0}, 20);
	l[1].data_len = 128;
	l[1].data[127] = 1; /* the empty key's length word says 1: runs past the data */
	assert_int_not_equal(dpk_approval_from_logs(contract, id, l, 2, &a), 0);
	/* too many logs to be one identity's */
	many = calloc(DPK_APPROVAL_MAX_LOGS + 1, sizeof(*many));
	assert_int_equal(dpk_approval_from_logs(contract, id, many, DPK_APPROVAL_MAX_LOGS + 1, &a), DPK_ERR_TOOBIG);
	free(many);
	assert_int_equal(dpk_approval_from_logs(NULL, id, l, 2, &a), DPK_ERR_INVALID);
	assert_int_equal(dpk_approval_from_logs(contract, id, NULL, 2, &a), DPK_ERR_INVALID);
	free_logs(l, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latest_approval),
		cmocka_unit_test(test_rotations_must_add_up),
		cmocka_unit_test(test_bad_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
