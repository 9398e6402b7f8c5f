/* dpk-agent as a real process: state directory rules, the socket protocol
 * through libdpkclient and raw frames, signals, socket paths in use, dpkctl
 * refusing an impostor's socket. Needs no chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpk/client.h"
#include "harness.h"

struct env {
	char dir[64];
	char conf[128], sock[128], state[128], log[128];
	pid_t pid;
};

static void
write_conf(struct env *e, const char *extra)
{
	FILE *f = fopen(e->conf, "w");

	assert_non_null(f);
	if (extra == NULL || strncmp(extra, "chain_id", 8) != 0)
		fputs("chain_id = 31337\n", f);
	fprintf(f, "rpc_url = http://127.0.0.1:9\n"
	    "contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
	    "identity = device1.example.org\nstate_dir = %s\nsocket = %s\n%s",
	    e->state, e->sock, extra ? extra : "");
	fclose(f);
}

static void
start_agent(struct env *e)
{
	char agent[512];

	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	unlink(e->sock);
	e->pid = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_path(e->sock, 20000) != 0)
		fail_msg("dpk-agent did not create %s (see %s)", e->sock, e->log);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);
	write_conf(e, NULL);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->pid > 0) {
		kill(e->pid, SIGKILL);
		waitpid(e->pid, NULL, 0);
	}
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
stop_agent(struct env *e)
{
	kill(e->pid, SIGTERM);
	assert_int_equal(dpk_test_wait_exit(e->pid, 10000), 0);
	e->pid = 0;
}

static void
test_state_and_requests(void **state)
{
	struct env *e = *state;
	struct dpk_client *c;
	struct dpk_client_status st;
	struct dpk_client_pubkey pk, pk2;
	struct stat sb;
	char path[256], ver[32];
	uint32_t proto;

	start_agent(e);
	assert_int_equal(stat(e->state, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/identity.pem", e->state);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/wallet.json", e->state);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(dpk_client_open(e->sock, 2000, 1, &c), 0); /* root-owned agent */
	assert_int_equal(dpk_client_hello(c, &proto, ver, sizeof(ver)), 0);
	assert_int_equal(proto, 1);
	assert_int_equal(dpk_client_status(c, &st), 0);
	assert_true(st.chain_id == 31337);
	assert_string_equal(st.identity, "device1.example.org");
	assert_int_equal(st.key_algorithm, 1);
	assert_int_equal(st.caller_privileged, geteuid() == 0);
	assert_int_equal(dpk_client_pubkey(c, &pk), 0);
	assert_int_equal(pk.onchain_len, 65);
	assert_non_null(strstr(pk.pem, "BEGIN PUBLIC KEY"));
	assert_memory_equal(pk.openssh, "ecdsa-sha2-nistp256 ", 20);
	dpk_client_close(c);

	/* a restart keeps the keys: nothing is ever overwritten */
	stop_agent(e);
	assert_int_not_equal(access(e->sock, F_OK), 0); /* the socket is removed on SIGTERM */
	start_agent(e);
	assert_int_equal(dpk_client_open(e->sock, 2000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &pk2), 0);
	assert_int_equal(pk2.onchain_len, pk.onchain_len);
	assert_memory_equal(pk2.onchain, pk.onchain, pk.onchain_len);
	struct dpk_client_status st2;
	assert_int_equal(dpk_client_status(c, &st2), 0);
	assert_memory_equal(st2.wallet, st.wallet, 20);
	dpk_client_close(c);
	dpk_client_pubkey_free(&pk);
	dpk_client_pubkey_free(&pk2);
}

/* Send raw bytes on a fresh connection; read what comes back (or EOF). */
static ssize_t
raw_exchange(const char *sock, const void *req, size_t len, uint8_t *reply, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	ssize_t n, got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (len > 0)
		assert_true(send(fd, req, len, MSG_NOSIGNAL) == (ssize_t)len);
	/* read one frame, or until EOF */
	while ((size_t)got < cap && (n = recv(fd, reply + got, cap - (size_t)got, 0)) > 0) {
		got += n;
		if (got >= 4 && (size_t)got >= 4 + ((size_t)reply[0] << 24 | (size_t)reply[1] << 16 |
		    (size_t)reply[2] << 8 | reply[3]))
			break;
	}
	close(fd);
	return got;
}

static void
test_malformed_frames(void **state)
{
	struct env *e = *state;
	uint8_t reply[1024];
	struct dpk_client *c, *other;
	struct dpk_client_status st;

	start_agent(e);
	/* a client that stays connected through everything below */
	assert_int_equal(dpk_client_open(e->sock, 2000, 0, &other), 0);

	static const uint8_t zero[] = {0, 0, 0, 0};
	static const uint8_t huge[] = {0, 1, 0, 1, 0x01};
	static const uint8_t unknown[] = {0, 0, 0, 1, 0x55};
	static const uint8_t status_body[] = {0, 0, 0, 2, 0x02, 0x00};
	static const uint8_t hello_short[] = {0, 0, 0, 3, 0x01, 0, 0};
	/* zero-length and over-cap frames: the connection is closed, no reply */
	assert_int_equal(raw_exchange(e->sock, zero, sizeof(zero), reply, sizeof(reply)), 0);
	assert_int_equal(raw_exchange(e->sock, huge, sizeof(huge), reply, sizeof(reply)), 0);
	/* an unknown type and bodies that do not match their type: FAILURE with a reason */
	ssize_t n = raw_exchange(e->sock, unknown, sizeof(unknown), reply, sizeof(reply));
	assert_true(n > 13);
	assert_int_equal(reply[4], 0x7f);
	assert_int_equal(reply[8], 20); /* DPK_ERR_UNSUPPORTED */
	assert_non_null(memmem(reply, (size_t)n, "unknown request type 0x55", 24));
	n = raw_exchange(e->sock, status_body, sizeof(status_body), reply, sizeof(reply));
	assert_true(n > 5);
	assert_int_equal(reply[4], 0x7f);
	assert_int_equal(reply[8], 10); /* DPK_ERR_SYNTAX */
	n = raw_exchange(e->sock, hello_short, sizeof(hello_short), reply, sizeof(reply));
	assert_true(n > 5);
	assert_int_equal(reply[4], 0x7f);
	/* a truncated frame followed by a hang-up */
	assert_int_equal(raw_exchange(e->sock, huge, 3, reply, 0), 0);

	/* the agent is unharmed: the waiting client and a new one are served */
	assert_int_equal(dpk_client_status(other, &st), 0);
	assert_int_equal(dpk_client_open(e->sock, 2000, 0, &c), 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	dpk_client_close(c);
	dpk_client_close(other);
}

/* A non-root caller is not privileged. */
static void
test_unprivileged_peer(void **state)
{
	struct env *e = *state;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		struct dpk_client *c;
		struct dpk_client_status st;

		start_agent(e);
		assert_int_equal(dpk_client_open(e->sock, 2000, 0, &c), 0);
		assert_int_equal(dpk_client_status(c, &st), 0);
		assert_int_equal(st.caller_privileged, 1); /* the agent runs as us */
		dpk_client_close(c);
		return;
	}
	assert_int_equal(chmod(e->dir, 0755), 0);
	start_agent(e);
	if ((pid = fork()) == 0) {
		struct dpk_client *c;
		struct dpk_client_status st;

		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(10);
		if (dpk_client_open(e->sock, 2000, 1, &c) != 0)
			_exit(11);
		if (dpk_client_status(c, &st) != 0)
			_exit(12);
		_exit(st.caller_privileged ? 13 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_bad_state_dir(void **state)
{
	struct env *e = *state;
	char agent[512], logtext[4096];
	FILE *f;
	size_t n;

	assert_int_equal(mkdir(e->state, 0755), 0);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	pid_t pid = dpk_test_spawn(argv, e->log);
	assert_int_equal(dpk_test_wait_exit(pid, 20000), 1);
	f = fopen(e->log, "r");
	n = fread(logtext, 1, sizeof(logtext) - 1, f);
	fclose(f);
	logtext[n] = '\0';
	assert_non_null(strstr(logtext, "must be owned by uid"));
	assert_non_null(strstr(logtext, "mode 0755"));
}

static void
test_config_errors_and_reload(void **state)
{
	struct env *e = *state;
	char agent[512], logtext[8192];
	struct dpk_client *c;
	struct dpk_client_status st;
	FILE *f;
	size_t n;

	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	write_conf(e, "cache_ttl = forever\n");
	char *check[] = {agent, (char *)"-c", e->conf, (char *)"--check-config", NULL};
	struct dpk_buf out;
	assert_int_equal(dpk_test_run(check, NULL, &out), 1);
	dpk_buf_free(&out);

	write_conf(e, NULL);
	start_agent(e);
	write_conf(e, "chain_id = 5\nbogus = 1\n"); /* broken: must not be taken */
	kill(e->pid, SIGHUP);
	usleep(300 * 1000);
	assert_int_equal(dpk_client_open(e->sock, 2000, 0, &c), 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	assert_true(st.chain_id == 31337);
	dpk_client_close(c);
	write_conf(e, "chain_id = 5\n"); /* good: taken */
	kill(e->pid, SIGHUP);
	usleep(300 * 1000);
	assert_int_equal(dpk_client_open(e->sock, 2000, 0, &c), 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	assert_true(st.chain_id == 5);
	dpk_client_close(c);
	f = fopen(e->log, "r");
	n = fread(logtext, 1, sizeof(logtext) - 1, f);
	fclose(f);
	logtext[n] = '\0';
	assert_non_null(strstr(logtext, "dpk.conf:7: unknown key 'bogus'"));
	assert_non_null(strstr(logtext, "keeping the running one"));
	stop_agent(e);
}

static void
read_log(const char *path, char *out, size_t outsz)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, outsz - 1, f);
	fclose(f);
	out[n] = '\0';
}

/* A Unix socket at path that a live process serves (listening, never
 * accepting): a stand-in for another agent. */
static int
listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* A socket path a live process still serves is never silently taken over:
 * two agents whose sockets share a folder (both defaulting to
 * ssh-agent.sock there) make the second refuse to start, saying why; so
 * does a live socket at the agent's own path. A stale socket file (nobody
 * listens) is replaced. */
static void
test_socket_in_use(void **state)
{
	struct env *e = *state;
	struct env e2;
	char agent[512], logtext[8192];
	struct dpk_client *c;

	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	start_agent(e); /* ssh-agent.sock beside agent.sock */
	memset(&e2, 0, sizeof(e2));
	snprintf(e2.dir, sizeof(e2.dir), "%s", e->dir);
	snprintf(e2.conf, sizeof(e2.conf), "%s/dpk2.conf", e->dir);
	snprintf(e2.sock, sizeof(e2.sock), "%s/agent2.sock", e->dir);
	snprintf(e2.state, sizeof(e2.state), "%s/state2", e->dir);
	snprintf(e2.log, sizeof(e2.log), "%s/agent2.log", e->dir);
	write_conf(&e2, NULL);
	char *argv2[] = {agent, (char *)"-c", e2.conf, NULL};
	pid_t pid = dpk_test_spawn(argv2, e2.log);
	assert_int_equal(dpk_test_wait_exit(pid, 20000), 1);
	read_log(e2.log, logtext, sizeof(logtext));
	assert_non_null(strstr(logtext, "ssh-agent.sock is in use"));
	/* the first agent still answers on both its sockets */
	assert_int_equal(dpk_client_open(e->sock, 2000, 0, &c), 0);
	dpk_client_close(c);
	stop_agent(e);

	/* a live socket at the agent's own path */
	int lfd = listen_at(e2.sock);
	pid = dpk_test_spawn(argv2, e2.log);
	assert_int_equal(dpk_test_wait_exit(pid, 20000), 1);
	read_log(e2.log, logtext, sizeof(logtext));
	assert_non_null(strstr(logtext, "agent2.sock is in use"));
	close(lfd); /* now stale: the next start replaces it */
	pid = dpk_test_spawn(argv2, e2.log);
	for (int i = 0; i < 2000 && dpk_client_open(e2.sock, 500, 0, &c) != 0; i++)
		usleep(10 * 1000);
	assert_non_null(c);
	dpk_client_close(c);
	kill(pid, SIGTERM);
	assert_int_equal(dpk_test_wait_exit(pid, 10000), 0);
}

/* dpkctl sends nothing to a socket whose server is neither root nor the
 * caller: a local user's impostor agent learns nothing and is not believed. */
static void
test_dpkctl_checks_peer(void **state)
{
	struct env *e = *state;
	char dpkctl[512], path[160];
	int pfd[2];
	pid_t pid;

	if (getuid() != 0)
		skip(); /* needs a process of another uid */
	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	snprintf(path, sizeof(path), "%s/impostor.sock", e->dir);
	assert_int_equal(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), cfd;
		char buf[64];
		ssize_t n;

		if (strlen(path) >= sizeof(sa.sun_path))
			_exit(2);
		memcpy(sa.sun_path, path, strlen(path) + 1);
		/* SO_PEERCRED reports the uid the server had at listen() */
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0666) != 0 ||
		    setgid(65534) != 0 || setuid(65534) != 0 || listen(fd, 4) != 0)
			_exit(2);
		if (write(pfd[1], "L", 1) != 1 || (cfd = accept(fd, NULL, NULL)) < 0)
			_exit(3);
		n = read(cfd, buf, sizeof(buf)); /* 0: the client closed without sending */
		_exit(n == 0 ? 0 : 1);
	}
	char ready;
	assert_int_equal(read(pfd[0], &ready, 1), 1);
	close(pfd[0]);
	close(pfd[1]);
	char *argv[] = {dpkctl, (char *)"--socket", path, (char *)"status", NULL};
	assert_int_equal(dpk_test_run(argv, NULL, NULL), 3);
	assert_int_equal(dpk_test_wait_exit(pid, 5000), 0);
}

int
main(void)
{
	dpk_test_skip_unless_root();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_and_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_state_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors_and_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkctl_checks_peer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
