/* Delegated mode (capillary gateway) end to end: a real anvil, a gateway's
 * agent, the server's agent and another server's agent, all registered on
 * chain; dpkctl ticket issue / redeem and the client library.
 *
 * Covered: a ticket issued at the gateway is redeemed at the server once,
 * giving the device's PSK under the same PSK identity (and the server's
 * agent then serves it by identity, as to a TLS server); redeemed again it
 * is refused as a replay; a ticket past its lifetime is refused as expired;
 * a ticket for the server is refused at another server; a ticket whose
 * bytes were changed is refused; a ticket from a revoked gateway is
 * refused; dpkctl ticket issue --out FILE and ticket redeem FILE do the same
 * (a replay exits 1; a file that is not a ticket is a usage error).
 * Tickets cannot plant keys: an ordinary local user may not redeem (code
 * 23); a redeemed ticket's PSK is served by its ticket PSK identity only,
 * never as the PSK of the device it names (PSK_GET by peer), so a
 * registered peer's PSK cannot be replaced through a ticket; and a ticket
 * redeemed before the agent restarts is still a replay after it (the
 * replay cache in the state directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "chain.h"
#include "base/err.h"
#include "harness.h"
#include "psk_env.h"

#define GW 0
#define SRV 1
#define OTHER 2

static void
issue(struct env *e, uint32_t lifetime, uint8_t **t, size_t *tlen, struct dpk_client_psk *psk)
{
	struct dpk_client *c;

	assert_int_equal(dpk_client_open(e->ag[GW].sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_ticket_issue(c, "device-17.example.org", e->ag[SRV].name, lifetime, t, tlen, psk), 0);
	dpk_client_close(c);
}

/* Redeem at agent i; the agent's error code (0 on success). */
static int
redeem(struct env *e, int i, const uint8_t *t, size_t tlen, struct dpk_client_psk *psk, char *msg, size_t msgsz)
{
	struct dpk_client *c;
	const char *m = "";
	int r, code = 0;

	assert_int_equal(dpk_client_open(e->ag[i].sock, 5000, 0, &c), 0);
	r = dpk_client_ticket_redeem(c, t, tlen, 1, psk);
	if (r == DPK_CLIENT_EAGENT)
		code = dpk_client_agent_error(c, &m);
	else
		assert_int_equal(r, 0);
	snprintf(msg, msgsz, "%s", m);
	dpk_client_close(c);
	return code;
}

static void
start_three(struct env *e)
{
	psk_start_agent(e, GW, "gw.example.org", 1, NULL);
	psk_start_agent(e, SRV, "server.example.org", 1, NULL);
	psk_start_agent(e, OTHER, "other.example.org", 1, NULL);
}

static void
test_redeem_once(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk dev, got, again;
	uint8_t *t;
	size_t tlen;
	char msg[512];

	start_three(e);
	issue(e, 300, &t, &tlen, &dev);
	assert_int_equal(dev.keylen, 32);
	assert_true(dev.identity[0] != '\0');

	/* a ticket for the server is refused at another server */
	assert_int_equal(redeem(e, OTHER, t, tlen, &got, msg, sizeof(msg)), -DPK_ERR_PERM);
	assert_non_null(strstr(msg, "another server"));

	/* a changed byte breaks the gateway's signature */
	t[tlen / 2] ^= 1;
	assert_int_not_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), 0);
	t[tlen / 2] ^= 1;

	/* redeemed once at the server: the device's PSK */
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), 0);
	assert_string_equal(got.identity, dev.identity);
	assert_int_equal(got.keylen, 32);
	assert_memory_equal(got.key, dev.key, 32);
	assert_string_equal(got.peer, "device-17.example.org");
	assert_int_equal(got.origin, 3);
	/* the server's agent serves it by identity, as a TLS server's callback asks */
	assert_int_equal(psk_env_get(&e->ag[SRV], NULL, dev.identity, &again), 0);
	assert_memory_equal(again.key, dev.key, 32);
	dpk_client_psk_clear(&again);

	/* a replay is refused */
	assert_int_equal(redeem(e, SRV, t, tlen, &again, msg, sizeof(msg)), -DPK_ERR_REPLAY);
	assert_non_null(strstr(msg, "redeemed before"));
	free(t);
	dpk_client_psk_clear(&dev);
	dpk_client_psk_clear(&got);
}

static void
test_expired_and_cli(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk dev, got;
	struct dpk_buf out;
	uint8_t *t;
	size_t tlen;
	char msg[512], file[256], id[256], key[256], key2[256];

	start_three(e);
	issue(e, 1, &t, &tlen, &dev);
	psk_sleep_ms(2200);
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), -DPK_ERR_EXPIRED);
	assert_non_null(strstr(msg, "expired"));
	free(t);
	dpk_client_psk_clear(&dev);

	/* dpkctl: issue into a file (the device's key printed), redeem the file once */
	snprintf(file, sizeof(file), "%s/ticket.hex", e->dir);
	assert_int_equal(psk_dpkctl(&e->ag[GW], &out, "ticket", "issue", "device-17.example.org", "server.example.org",
	    "--out", file), 0);
	psk_field(&out, "psk_identity:", id, sizeof(id));
	psk_field(&out, "key:", key, sizeof(key));
	dpk_buf_free(&out);
	assert_int_equal(psk_dpkctl(&e->ag[SRV], &out, "ticket", "redeem", file, "--show-key", NULL, NULL), 0);
	psk_field(&out, "key:", key2, sizeof(key2));
	assert_string_equal(key, key2);
	psk_field(&out, "psk_identity:", key2, sizeof(key2));
	assert_string_equal(id, key2);
	dpk_buf_free(&out);
	assert_int_equal(psk_dpkctl(&e->ag[SRV], &out, "ticket", "redeem", file, NULL, NULL, NULL), 1);
	dpk_buf_free(&out);
	/* a file that is not a ticket: a usage error, nothing sent */
	assert_int_equal(psk_dpkctl(&e->ag[SRV], &out, "ticket", "redeem", e->ag[SRV].conf, NULL, NULL, NULL), 2);
	dpk_buf_free(&out);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(key2, sizeof(key2));
}

static void
test_revoked_gateway(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk dev, got;
	uint8_t *t;
	size_t tlen;
	char msg[512];

	start_three(e);
	issue(e, 300, &t, &tlen, &dev);
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "gw.example.org");
	/* the server reads the gateway's key from the chain: revoked */
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), -DPK_ERR_REVOKED);
	assert_non_null(strstr(msg, "revoked"));
	free(t);
	dpk_client_psk_clear(&dev);
}

/* An ordinary local user may not redeem: redemption keeps a key in the
 * agent, under a name the ticket chooses. */
static void
test_unprivileged_redeem(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk dev, got;
	uint8_t *t;
	size_t tlen;
	char msg[512];
	int st[2], code = -1, status;

	start_three(e);
	issue(e, 300, &t, &tlen, &dev);
	/* the socket is 0666; let nobody reach it */
	assert_int_equal(chmod(e->dir, 0755), 0);
	assert_int_equal(chmod(e->ag[SRV].dir, 0755), 0);
	assert_int_equal(pipe(st), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct dpk_client *c;
		int out = -1;

		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		if (dpk_client_open(e->ag[SRV].sock, 5000, 0, &c) == 0) {
			int r = dpk_client_ticket_redeem(c, t, tlen, 0, &got);

			out = r == DPK_CLIENT_EAGENT ? dpk_client_agent_error(c, NULL) : r;
			dpk_client_close(c);
		}
		_exit(write(st[1], &out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	close(st[1]);
	assert_int_equal(read(st[0], &code, sizeof(code)), (ssize_t)sizeof(code));
	close(st[0]);
	waitpid(pid, &status, 0);
	assert_int_equal(code, 23);
	/* refused before anything was kept: root redeems it once, as usual */
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), 0);
	assert_memory_equal(got.key, dev.key, 32);
	free(t);
	dpk_client_psk_clear(&dev);
	dpk_client_psk_clear(&got);
}

/* A ticket naming a registered peer as its device does not make its PSK
 * that peer's: PSK_GET by peer keeps answering with the PSK of the real
 * handshake (or nothing), and the ticket's PSK is found by its identity only. */
static void
test_ticket_cannot_plant_peer_key(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk hs, dev, got, byname;
	struct dpk_client *c;
	uint8_t *t;
	size_t tlen;
	char msg[512];

	start_three(e);
	/* the gateway issues a ticket for "device" other.example.org, a registered peer of the server */
	assert_int_equal(dpk_client_open(e->ag[GW].sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_ticket_issue(c, "other.example.org", e->ag[SRV].name, 300, &t, &tlen, &dev), 0);
	dpk_client_close(c);
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), 0);
	assert_string_equal(got.peer, "other.example.org");
	assert_int_equal(strncmp(got.identity, "dpk1t-", 6), 0);
	/* no handshake with other.example.org yet: nothing by peer, not the ticket's key */
	assert_int_not_equal(psk_env_get(&e->ag[SRV], "other.example.org", NULL, &byname), 0);
	/* after a real handshake, by peer is that handshake's PSK */
	assert_int_equal(psk_handshake(e, OTHER, SRV, &hs, NULL, 0), 0);
	assert_int_equal(psk_env_get(&e->ag[SRV], "other.example.org", NULL, &byname), 0);
	assert_string_equal(byname.identity, hs.identity);
	assert_memory_equal(byname.key, hs.key, 32);
	dpk_client_psk_clear(&byname);
	/* a ticket redeemed after the handshake does not take its place either */
	free(t);
	assert_int_equal(dpk_client_open(e->ag[GW].sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_ticket_issue(c, "other.example.org", e->ag[SRV].name, 300, &t, &tlen, &dev), 0);
	dpk_client_close(c);
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), 0);
	assert_int_equal(psk_env_get(&e->ag[SRV], "other.example.org", NULL, &byname), 0);
	assert_string_equal(byname.identity, hs.identity);
	assert_memory_equal(byname.key, hs.key, 32);
	dpk_client_psk_clear(&byname);
	/* the ticket's PSK is there under its own identity */
	assert_int_equal(psk_env_get(&e->ag[SRV], NULL, got.identity, &byname), 0);
	assert_memory_equal(byname.key, dev.key, 32);
	dpk_client_psk_clear(&byname);
	free(t);
	dpk_client_psk_clear(&hs);
	dpk_client_psk_clear(&dev);
	dpk_client_psk_clear(&got);
}

/* The replay cache outlives the agent: a ticket redeemed, then the agent
 * restarted (SIGKILL: no orderly shut-down), is still refused as a replay;
 * the file is 0600 and a cache file others may write stops the agent. */
static void
test_replay_across_restart(void **state)
{
	struct env *e = *state;
	struct dpk_client_psk dev, got;
	struct stat sb;
	uint8_t *t;
	size_t tlen;
	char msg[512], path[256], agent[512], logtext[8192];

	start_three(e);
	issue(e, 300, &t, &tlen, &dev);
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), 0);
	dpk_client_psk_clear(&got);
	snprintf(path, sizeof(path), "%s/state/tickets.seen", e->ag[SRV].dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	kill(e->ag[SRV].pid, SIGKILL);
	waitpid(e->ag[SRV].pid, NULL, 0);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->ag[SRV].conf, NULL};
	unlink(e->ag[SRV].sock);
	e->ag[SRV].pid = dpk_test_spawn(argv, e->ag[SRV].log);
	assert_int_equal(dpk_test_wait_path(e->ag[SRV].sock, 20000), 0);
	assert_int_equal(redeem(e, SRV, t, tlen, &got, msg, sizeof(msg)), -DPK_ERR_REPLAY);
	assert_non_null(strstr(msg, "redeemed before"));

	/* a cache file the group may write is refused at start, with a message that says so */
	kill(e->ag[SRV].pid, SIGKILL);
	waitpid(e->ag[SRV].pid, NULL, 0);
	assert_int_equal(chmod(path, 0660), 0);
	unlink(e->ag[SRV].sock);
	pid_t pid = dpk_test_spawn(argv, e->ag[SRV].log);
	e->ag[SRV].pid = 0;
	assert_int_equal(dpk_test_wait_exit(pid, 20000), 1);
	FILE *f = fopen(e->ag[SRV].log, "r");
	size_t n = fread(logtext, 1, sizeof(logtext) - 1, f);
	fclose(f);
	logtext[n] = '\0';
	assert_non_null(strstr(logtext, "tickets.seen must be owned by uid"));
	free(t);
	dpk_client_psk_clear(&dev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_redeem_once, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_expired_and_cli, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_revoked_gateway, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_redeem, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_ticket_cannot_plant_peer_key, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_replay_across_restart, psk_setup, psk_teardown),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
