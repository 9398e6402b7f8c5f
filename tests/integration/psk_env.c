#include "psk_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "harness.h"

void
psk_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Start agent i with identity name, listening for peers; register its key
 * on chain unless told not to. extra: more dpk.conf lines (may be NULL). */
void
psk_start_agent(struct env *e, int i, const char *name, int do_register, const char *extra)
{
	struct agent_proc *g = &e->ag[i];
	char agent[512], addr[43];
	struct dpk_client *c;
	struct dpk_client_pubkey pk;
	FILE *f;

	snprintf(g->name, sizeof(g->name), "%s", name);
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/%d", e->dir, i);
	memcpy(g->dir, dir, sizeof(dir));
	snprintf(g->conf, sizeof(g->conf), "%s/dpk.conf", dir);
	snprintf(g->sock, sizeof(g->sock), "%s/agent.sock", dir);
	snprintf(g->log, sizeof(g->log), "%s/agent.log", dir);
	assert_int_equal(mkdir(g->dir, 0700), 0);
	/* extra may name its own psk_listen (its port after the last ':' of that line) */
	const char *own = extra != NULL ? strstr(extra, "psk_listen = ") : NULL;
	char listen[64] = "";

	if (own != NULL) {
		const char *colon = own + strcspn(own, "\n");

		while (colon > own && *colon != ':')
			colon--;
		g->port = (int)strtol(colon + 1, NULL, 10);
	} else {
		g->port = dpk_test_free_port();
		snprintf(listen, sizeof(listen), "psk_listen = 127.0.0.1:%d\n", g->port);
	}
	dpk_wallet_address_format(e->contract, addr);
	f = fopen(g->conf, "w");
	assert_non_null(f);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nsocket = %s\n"
	    "identity = %s\n%spoll_interval = 200ms\nrpc_timeout = 2s\n"
	    "request_timeout = 3s\npsk_handshake_timeout = 5s\n%s",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, g->dir, g->sock, name, listen, extra ? extra : "");
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", g->conf, NULL};
	g->pid = dpk_test_spawn(argv, g->log);
	if (dpk_test_wait_path(g->sock, 20000) != 0 || dpk_test_wait_port(g->port, 10000) != 0)
		fail_msg("dpk-agent %s did not start (see %s)", name, g->log);
	if (!do_register)
		return;
	assert_int_equal(dpk_client_open(g->sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &pk), 0);
	dpk_client_close(c);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, name, pk.algorithm, pk.onchain,
	    pk.onchain_len);
	dpk_client_pubkey_free(&pk);
}

int
psk_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	signal(SIGPIPE, SIG_IGN);
	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	*state = e;
	return 0;
}

int
psk_teardown(void **state)
{
	struct env *e = *state;

	for (int i = 0; i < 3; i++)
		if (e->ag[i].pid > 0) {
			kill(e->ag[i].pid, SIGTERM);
			if (dpk_test_wait_exit(e->ag[i].pid, 5000) != 0)
				fprintf(stderr, "agent %s did not stop cleanly on SIGTERM\n", e->ag[i].name);
		}
	for (int i = 0; i < 3 && getenv("DPK_TEST_SHOW_LOGS") != NULL; i++)
		if (e->ag[i].pid > 0) {
			char *cat[] = {(char *)"/bin/cat", e->ag[i].log, NULL};
			struct dpk_buf b;

			dpk_test_run(cat, NULL, &b);
			fprintf(stderr, "--- %s\n%s", e->ag[i].log, b.data ? (char *)b.data : "");
			dpk_buf_free(&b);
		}
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* dpkctl --socket SOCK args...; its stdout in out; the exit status. */
int
psk_dpkctl(const struct agent_proc *g, struct dpk_buf *out, const char *a1, const char *a2, const char *a3,
    const char *a4, const char *a5, const char *a6)
{
	char prog[512];
	char *argv[11] = {prog, (char *)"--socket", (char *)g->sock, (char *)a1, (char *)a2, (char *)a3, (char *)a4,
		(char *)a5, (char *)a6, NULL};

	dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
	return dpk_test_run(argv, NULL, out);
}

/* The value of "label: value" in dpkctl's output, into v. */
void
psk_field(const struct dpk_buf *out, const char *label, char *v, size_t vsz)
{
	const char *p = strstr((const char *)out->data, label);
	size_t n;

	if (p == NULL)
		fail_msg("no '%s' in dpkctl's output: %s", label, (const char *)out->data);
	p += strlen(label);
	while (*p == ' ')
		p++;
	n = strcspn(p, "\n");
	assert_true(n < vsz);
	memcpy(v, p, n);
	v[n] = '\0';
}

/* A handshake from agent i to agent j through the client library. */
int
psk_handshake(struct env *e, int i, int j, struct dpk_client_psk *psk, char *msg, size_t msgsz)
{
	struct dpk_client *c;
	char ep[64];
	int r;

	snprintf(ep, sizeof(ep), "127.0.0.1:%d", e->ag[j].port);
	assert_int_equal(dpk_client_open(e->ag[i].sock, 15000, 0, &c), 0);
	r = dpk_client_psk_handshake(c, e->ag[j].name, ep, 1, psk);
	if (msg != NULL) {
		const char *m = "";

		dpk_client_agent_error(c, &m);
		snprintf(msg, msgsz, "%s", r == DPK_CLIENT_EAGENT ? m : dpk_client_strerror(r));
	}
	dpk_client_close(c);
	return r;
}

int
psk_env_get(const struct agent_proc *g, const char *peer, const char *identity, struct dpk_client_psk *psk)
{
	struct dpk_client *c;
	int r;

	assert_int_equal(dpk_client_open(g->sock, 5000, 0, &c), 0);
	r = peer != NULL ? dpk_client_psk_get(c, peer, 1, psk) : dpk_client_psk_get_by_identity(c, identity, 1, psk);
	dpk_client_close(c);
	return r;
}

int
psk_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A TCP connection from src (IPv4 or IPv6 text) to dst:port. */
int
psk_connect_from(const char *src, const char *dst, int port)
{
	struct sockaddr_storage from, to;
	socklen_t len;
	int v6 = strchr(dst, ':') != NULL, fd;

	memset(&from, 0, sizeof(from));
	memset(&to, 0, sizeof(to));
	if (v6) {
		struct sockaddr_in6 *f = (struct sockaddr_in6 *)&from, *t = (struct sockaddr_in6 *)&to;

		f->sin6_family = t->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, src, &f->sin6_addr), 1);
		assert_int_equal(inet_pton(AF_INET6, dst, &t->sin6_addr), 1);
		t->sin6_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in6);
	} else {
		struct sockaddr_in *f = (struct sockaddr_in *)&from, *t = (struct sockaddr_in *)&to;

		f->sin_family = t->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &f->sin_addr), 1);
		assert_int_equal(inet_pton(AF_INET, dst, &t->sin_addr), 1);
		t->sin_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in);
	}
	fd = socket(from.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, len), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, len), 0);
	return fd;
}
