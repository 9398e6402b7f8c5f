/* Real dpk-agent processes for the integration tests: one per host or user
 * device, each with its own configuration, state directory and socket in
 * the test's directory, and each dying with the test process. */
#ifndef DPK_TEST_AGENT_H
#define DPK_TEST_AGENT_H

#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

#include "eth/rpc.h"
#include "eth/wallet.h"

struct dpk_test_agent {
	char name[64], conf[192], sock[192], log[192];
	pid_t pid;
};

/* Start dpk-agent "name" in dir against the chain at url and the registry
 * contract: the usual test timings (cache 60 s, poll 200 ms, request
 * timeout 1.5 s) and then extra (dpk.conf lines, may be ""). Waits for its
 * socket; fails the test if it does not come up (the message names its log). */
void dpk_test_agent_start(struct dpk_test_agent *a, const char *dir, const char *name, const char *url,
    const uint8_t contract[20], const char *extra);
/* The same, in a private mount namespace where the file passwd is bound
 * over /etc/passwd (the accounts of "another source"). */
void dpk_test_agent_start_passwd(struct dpk_test_agent *a, const char *dir, const char *name, const char *url,
    const uint8_t contract[20], const char *extra, const char *passwd);
/* SIGKILL it and reap it (nothing if not running). */
void dpk_test_agent_stop(struct dpk_test_agent *a);
/* Register identity on chain with the key the agent made (one transaction,
 * approved by approver, sent by device). */
void dpk_test_agent_register(const struct dpk_test_agent *a, struct dpk_rpc *rpc, const uint8_t contract[20],
    const struct dpk_wallet *approver, const struct dpk_wallet *device, const char *identity);

/* dpk_test_now_ms and dpk_test_sleep_ms are in harness.h. */

#endif
