/* Real dpk-agent processes for the integration tests (agent.h). */
#include "agent.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "chain.h"
#include "harness.h"

static void
agent_start(struct dpk_test_agent *a, const char *dir, const char *name, const char *url, const uint8_t contract[20],
    const char *extra, const char *passwd)
{
	char agent[512], addr[43];
	FILE *f;

	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->conf, sizeof(a->conf), "%s/%s.conf", dir, name);
	snprintf(a->sock, sizeof(a->sock), "%s/%s.sock", dir, name);
	snprintf(a->log, sizeof(a->log), "%s/%s.log", dir, name);
	dpk_wallet_address_format(contract, addr);
	if ((f = fopen(a->conf, "w")) == NULL)
		fail_msg("cannot write %s", a->conf);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/%s-state\nsocket = %s\n",
	    url, DPK_TEST_CHAIN_ID, addr, dir, name, a->sock);
	/* the test's timings, unless extra sets its own */
	static const char *const timing[] = {"cache_ttl = 60s", "negative_cache_ttl = 60s", "poll_interval = 200ms",
	    "rpc_timeout = 500ms", "request_timeout = 1500ms"};
	for (size_t i = 0; i < sizeof(timing) / sizeof(timing[0]); i++) {
		char key[32];
		size_t kl = strcspn(timing[i], " ");

		snprintf(key, sizeof(key), "\n%.*s =", (int)kl, timing[i]);
		if (strstr(extra, key) == NULL && strncmp(extra, key + 1, kl + 2) != 0)
			fprintf(f, "%s\n", timing[i]);
	}
	/* agents sharing dir must not share the default ssh-agent.sock beside their sockets */
	if (strstr(extra, "ssh_agent_socket") == NULL)
		fprintf(f, "ssh_agent_socket = %s/%s-ssh-agent.sock\n", dir, name);
	fprintf(f, "%s", extra);
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	unlink(a->sock); /* a killed agent's socket file would look like a started one */
	char *argv[] = {agent, (char *)"-c", a->conf, NULL};
	/* its own /etc/passwd: a private mount namespace with passwd bound over it */
	char *ns[] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"/bin/sh", (char *)"-c",
	    (char *)"mount --bind \"$1\" /etc/passwd && exec \"$2\" -c \"$3\"", (char *)"sh", (char *)passwd, agent,
	    a->conf, NULL};
	a->pid = dpk_test_spawn(passwd != NULL ? ns : argv, a->log);
	if (dpk_test_wait_path(a->sock, 20000) != 0)
		fail_msg("dpk-agent %s did not start (see %s)", name, a->log);
	/* the path appears at bind(), before listen(): wait until it answers */
	for (int64_t t0 = dpk_test_now_ms();;) {
		struct dpk_client *c;

		if (dpk_client_open(a->sock, 1000, 0, &c) == 0) {
			dpk_client_close(c);
			break;
		}
		if (dpk_test_now_ms() - t0 > 20000)
			fail_msg("dpk-agent %s does not accept connections (see %s)", name, a->log);
		dpk_test_sleep_ms(20);
	}
}

void
dpk_test_agent_start(struct dpk_test_agent *a, const char *dir, const char *name, const char *url,
    const uint8_t contract[20], const char *extra)
{
	agent_start(a, dir, name, url, contract, extra, NULL);
}

void
dpk_test_agent_start_passwd(struct dpk_test_agent *a, const char *dir, const char *name, const char *url,
    const uint8_t contract[20], const char *extra, const char *passwd)
{
	agent_start(a, dir, name, url, contract, extra, passwd);
}

void
dpk_test_agent_stop(struct dpk_test_agent *a)
{
	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, NULL, 0);
		a->pid = 0;
	}
}

void
dpk_test_agent_register(const struct dpk_test_agent *a, struct dpk_rpc *rpc, const uint8_t contract[20],
    const struct dpk_wallet *approver, const struct dpk_wallet *device, const char *identity)
{
	struct dpk_client *c;
	struct dpk_client_pubkey pk;

	assert_int_equal(dpk_client_open(a->sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &pk), 0);
	dpk_test_register(rpc, contract, approver, device, identity, pk.algorithm, pk.onchain, pk.onchain_len);
	dpk_client_pubkey_free(&pk);
	dpk_client_close(c);
}
