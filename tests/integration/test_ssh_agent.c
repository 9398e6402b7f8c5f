/* dpk-agent's ssh-agent socket with stock OpenSSH, end to end: a real anvil
 * with the registry, real dpk-agents (one with a P-256 identity key, one
 * with an RSA one, both registered), stock ssh-add, ssh-keygen and ssh, and
 * /usr/sbin/sshd in private mount and network namespaces (unshare -m -n;
 * the clients join its network namespace with nsenter). In the mount
 * namespace a test nsswitch.conf ("passwd: files dpk") and copies of
 * /etc/passwd, /etc/shadow and /etc/group with one added local account are
 * bind-mounted over the machine's, and a tmpfs covers /run; the machine's
 * /etc and /run never change.
 *
 * Covered: ssh-add -L lists exactly the key dpkctl pubkey --openssh prints;
 * adding and removing keys, sshsig signing (ssh-keygen -Y sign), a caller
 * that is neither root nor in admin_group, and an oversized frame are
 * refused, while a member of admin_group is served; a registered identity logs in with a stock ssh whose only key is
 * the agent's (SSH_AUTH_SOCK, IdentityFile none), P-256 and RSA; with the
 * agent stopped a DPK login fails (the time it takes is printed, not
 * asserted) while a local account still logs in by public key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "agent.h"
#include "base/err.h"
#include "harness.h"
#include "crypto/idkey.h"
#include "registry/registry.h"
#include "sshd.h"

struct agentproc {
	struct dpk_test_agent a;
	char name[32], ssock[128], extra[512];
};

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64];
	struct agentproc host, rsa;
	struct dpk_test_sshd sshd;
};

/* An agent whose identity key is made here (so it can be registered first). */
static void
prepare_agent(struct env *e, struct agentproc *ag, const char *name, const char *identity, enum dpk_idkey_alg alg)
{
	char state[128], key[256];
	struct dpk_buf pub;

	snprintf(ag->name, sizeof(ag->name), "%s", name);
	snprintf(ag->ssock, sizeof(ag->ssock), "%s/%s-ssh-agent.sock", e->dir, name);
	snprintf(state, sizeof(state), "%s/%s-state", e->dir, name); /* dpk_test_agent_start's state_dir */
	assert_int_equal(mkdir(state, 0700), 0);
	snprintf(key, sizeof(key), "%s/identity.pem", state);
	dpk_test_new_key(key, alg, &pub);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, identity,
	    alg == DPK_IDKEY_RSA ? DPK_REGISTRY_ALG_RSA : DPK_REGISTRY_ALG_P256, pub.data, pub.len);
	dpk_buf_free(&pub);
	snprintf(ag->extra, sizeof(ag->extra), "ssh_agent_socket = %s\nidentity = %s\nkey_algorithm = %s\n"
	    "admin_group = adm\n"
	    "nss_allow = host.example.org\nnss_allow = rsa-host.example.org\nnss_allow = alice.example.org\n",
	    ag->ssock, identity, alg == DPK_IDKEY_RSA ? "rsa2048" : "p256");
}

static void
start_agent(struct env *e, struct agentproc *ag)
{
	dpk_test_agent_start(&ag->a, e->dir, ag->name, e->anvil.url, e->contract, ag->extra);
	if (dpk_test_wait_path(ag->ssock, 20000) != 0)
		fail_msg("dpk-agent's ssh-agent socket did not appear (see %s)", ag->a.log);
}

static void
stop_agent(struct agentproc *ag)
{
	if (ag->a.pid > 0) {
		kill(ag->a.pid, SIGTERM);
		if (dpk_test_wait_exit(ag->a.pid, 5000) != 0)
			fail_msg("dpk-agent did not stop cleanly on SIGTERM (see %s)", ag->a.log);
		ag->a.pid = 0;
	}
}

/* ssh-add ARG with SSH_AUTH_SOCK=sock: its exit status; stdout in out (may be NULL). */
static int
ssh_add(const char *sock, const char *arg, struct dpk_buf *out)
{
	char envsock[200];

	snprintf(envsock, sizeof(envsock), "SSH_AUTH_SOCK=%s", sock);
	char *argv[] = {(char *)"/usr/bin/env", envsock, (char *)"/usr/bin/ssh-add", (char *)arg, NULL};
	return dpk_test_run(argv, NULL, out);
}

/* sshd (sshd.h) in private mount and network namespaces (see the top
 * comment), with a local account whose authorized_keys is under
 * /run/dpk-keys: sshd wants the authorized_keys files root-owned and not
 * group- or world-writable, and the checkout may sit under /tmp. */
static void
start_sshd(struct env *e)
{
	static const char extra[] =
	    "ip link set lo up || exit 99\n"
	    "for f in passwd shadow group; do mount --bind \"$1/$f\" /etc/$f || exit 99; done\n"
	    "mkdir -m 0755 /run/dpk-keys || exit 99\n"
	    "install -m 0644 \"$1/local_ed25519.pub\" /run/dpk-keys/dpklocal || exit 99\n";
	char path[256], text[8192], config[512];
	struct dpk_buf etc;

	dpk_test_sshd_prepare(&e->sshd, e->dir, 1);
	/* the local account's key pair: its public half in its authorized_keys */
	snprintf(path, sizeof(path), "%s/local_ed25519", e->dir);
	char *keygen2[] = {(char *)"/usr/bin/ssh-keygen", (char *)"-q", (char *)"-t", (char *)"ed25519", (char *)"-N",
	    (char *)"", (char *)"-f", path, NULL};
	assert_int_equal(dpk_test_run(keygen2, NULL, NULL), 0);
	/* /etc/passwd, shadow, group with the local account added */
	static const char *const files[][2] = {
		{"passwd", "dpklocal:x:4242:4242:DPK test local account:/run:/bin/sh\n"},
		{"shadow", "dpklocal:*:19000:0:99999:7:::\n"},
		{"group", "dpklocal:x:4242:\n"},
	};
	for (size_t i = 0; i < 3; i++) {
		char src[64];

		snprintf(src, sizeof(src), "/etc/%s", files[i][0]);
		char *cat[] = {(char *)"/bin/cat", src, NULL};
		assert_int_equal(dpk_test_run(cat, NULL, &etc), 0);
		snprintf(text, sizeof(text), "%s", files[i][1]);
		assert_int_equal(dpk_buf_put(&etc, text, strlen(text)), 0);
		assert_int_equal(dpk_buf_cstr(&etc), 0);
		snprintf(path, sizeof(path), "%s/%s", e->dir, files[i][0]);
		dpk_test_write_file(path, (const char *)etc.data, i == 1 ? 0600 : 0644);
		dpk_buf_free(&etc);
	}
	snprintf(config, sizeof(config), "UsePAM no\n"
	    "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
	    "AuthorizedKeysFile /run/dpk-keys/%%u\n"
	    "AuthorizedKeysCommand /run/dpk-build/ssh/dpk-authorized-keys -s %s %%u\n"
	    "AuthorizedKeysCommandUser nobody\nLogLevel VERBOSE\n",
	    e->host.a.sock);
	dpk_test_sshd_start(&e->sshd, config, "nss_dpk/.libs/libnss_dpk.so.2", e->host.a.sock, extra);
}

/* A stock ssh client in sshd's network namespace, public key only: with
 * agent_sock its only key is the agent's (no key files); else key file
 * keyfile, no agent. Its exit status (255 when refused); the remote
 * command's stdout, chomped, in out. */
static int
ssh_login(struct env *e, const char *user, const char *agent_sock, const char *keyfile, char *out, size_t outsz)
{
	char envsock[200], idfile[300], agentopt[64];

	snprintf(envsock, sizeof(envsock), "SSH_AUTH_SOCK=%s", agent_sock != NULL ? agent_sock : "/nonexistent");
	snprintf(idfile, sizeof(idfile), "IdentityFile=%s", keyfile != NULL ? keyfile : "none");
	snprintf(agentopt, sizeof(agentopt), "IdentityAgent=%s", agent_sock != NULL ? "SSH_AUTH_SOCK" : "none");
	char *pre[] = {(char *)"/usr/bin/env", envsock, NULL};
	char *opts[] = {(char *)"-o", idfile, (char *)"-o", agentopt,
	    (char *)"-o", agent_sock != NULL ? (char *)"IdentitiesOnly=no" : (char *)"IdentitiesOnly=yes",
	    (char *)"-o", (char *)"BatchMode=yes", (char *)"-o", (char *)"PreferredAuthentications=publickey", NULL};
	return dpk_test_ssh_id(&e->sshd, pre, opts, user, out, outsz);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char alice[256];
	struct dpk_buf pub;

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	/* nobody (AuthorizedKeysCommandUser) must reach the agent's socket */
	assert_int_equal(chmod(e->dir, 0711), 0);
	prepare_agent(e, &e->host, "host", "host.example.org", DPK_IDKEY_P256);
	prepare_agent(e, &e->rsa, "rsa", "rsa-host.example.org", DPK_IDKEY_RSA);
	/* a DPK user whose key file the test holds, for the agent-down login */
	snprintf(alice, sizeof(alice), "%s/alice.pem", e->dir);
	dpk_test_new_key(alice, DPK_IDKEY_P256, &pub);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, "alice.example.org", DPK_REGISTRY_ALG_P256,
	    pub.data, pub.len);
	dpk_buf_free(&pub);
	start_agent(e, &e->host);
	start_agent(e, &e->rsa);
	start_sshd(e);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e == NULL)
		return 0;
	dpk_test_sshd_stop(&e->sshd);
	dpk_test_agent_stop(&e->host.a);
	dpk_test_agent_stop(&e->rsa.a);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
test_ssh_add_lists_the_identity(void **state)
{
	struct env *e = *state;
	struct agentproc *ags[] = {&e->host, &e->rsa};

	for (size_t i = 0; i < 2; i++) {
		struct dpk_buf listed, pub;
		char prog[512];

		assert_int_equal(ssh_add(ags[i]->ssock, "-L", &listed), 0);
		dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
		char *argv[] = {prog, (char *)"--socket", ags[i]->a.sock, (char *)"pubkey", (char *)"--openssh", NULL};
		assert_int_equal(dpk_test_run(argv, NULL, &pub), 0);
		assert_int_equal(dpk_buf_cstr(&listed), 0);
		assert_int_equal(dpk_buf_cstr(&pub), 0);
		assert_string_equal((const char *)listed.data, (const char *)pub.data);
		assert_non_null(strstr((const char *)listed.data, i == 0 ? "ecdsa-sha2-nistp256 AAAA" : "ssh-rsa AAAA"));
		assert_non_null(strstr((const char *)listed.data, i == 0 ? " host.example.org\n" : " rsa-host.example.org\n"));
		dpk_buf_free(&listed);
		dpk_buf_free(&pub);
	}
}

static void
test_refused_operations(void **state)
{
	struct env *e = *state;
	char key[256], pubfile[256], data[256], sig[300], envsock[200];
	struct dpk_buf listed;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t big[] = {0x00, 0x04, 0x00, 0x01, 11}, b;
	int fd;

	/* adding and removing keys */
	assert_int_equal(ssh_add(e->host.ssock, "-D", NULL), 1);
	snprintf(key, sizeof(key), "%s/local_ed25519", e->dir);
	assert_int_equal(ssh_add(e->host.ssock, key, NULL), 1);
	snprintf(pubfile, sizeof(pubfile), "%s/host.pub", e->dir);
	assert_int_equal(ssh_add(e->host.ssock, "-L", &listed), 0);
	assert_int_equal(dpk_buf_cstr(&listed), 0);
	dpk_test_write_file(pubfile, (const char *)listed.data, 0644);
	/* the identity is still there, and alone */
	assert_non_null(strchr((const char *)listed.data, '\n'));
	assert_null(strchr(strchr((const char *)listed.data, '\n') + 1, '\n'));
	dpk_buf_free(&listed);

	/* sshsig (ssh-keygen -Y sign) is not user authentication: refused */
	snprintf(data, sizeof(data), "%s/message", e->dir);
	snprintf(sig, sizeof(sig), "%s/message.sig", e->dir);
	dpk_test_write_file(data, "sign me\n", 0644);
	snprintf(envsock, sizeof(envsock), "SSH_AUTH_SOCK=%s", e->host.ssock);
	char *sign[] = {(char *)"/usr/bin/env", envsock, (char *)"/usr/bin/ssh-keygen", (char *)"-Y", (char *)"sign",
	    (char *)"-f", pubfile, (char *)"-n", (char *)"file", data, NULL};
	assert_int_not_equal(dpk_test_run(sign, NULL, NULL), 0);
	assert_int_equal(access(sig, F_OK), -1);

	/* neither root nor in admin_group (adm): every request refused; a
	 * supplementary member of it: served (SO_PEERGROUPS) */
	char *nobody[] = {(char *)"/usr/bin/setpriv", (char *)"--reuid=nobody", (char *)"--regid=nogroup",
	    (char *)"--clear-groups", (char *)"/usr/bin/env", envsock, (char *)"/usr/bin/ssh-add", (char *)"-L", NULL};
	assert_int_equal(dpk_test_run(nobody, NULL, NULL), 1);
	char *member[] = {(char *)"/usr/bin/setpriv", (char *)"--reuid=nobody", (char *)"--regid=nogroup",
	    (char *)"--groups=adm", (char *)"/usr/bin/env", envsock, (char *)"/usr/bin/ssh-add", (char *)"-L", NULL};
	assert_int_equal(dpk_test_run(member, NULL, &listed), 0);
	assert_int_equal(dpk_buf_cstr(&listed), 0);
	assert_non_null(strstr((const char *)listed.data, " host.example.org\n"));
	dpk_buf_free(&listed);

	/* a frame over the 256 KiB cap: the connection is closed unanswered */
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	memcpy(sa.sun_path, e->host.ssock, strlen(e->host.ssock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, big, sizeof(big), MSG_NOSIGNAL), (ssize_t)sizeof(big));
	assert_int_equal(recv(fd, &b, 1, 0), 0);
	close(fd);
	/* and the agent still serves */
	assert_int_equal(ssh_add(e->host.ssock, "-l", NULL), 0);
}

static void
test_login_with_agent_key(void **state)
{
	struct env *e = *state;
	char out[1024];

	if (ssh_login(e, "host.example.org", e->host.ssock, NULL, out, sizeof(out)) != 0)
		fail_msg("ssh login through the agent's key failed (see %s and %s)", e->sshd.log, e->host.a.log);
	assert_string_equal(out, "host.example.org");
	if (ssh_login(e, "rsa-host.example.org", e->rsa.ssock, NULL, out, sizeof(out)) != 0)
		fail_msg("ssh login through the RSA agent's key failed (see %s and %s)", e->sshd.log, e->rsa.a.log);
	assert_string_equal(out, "rsa-host.example.org");
	/* the agent's key is not another identity's */
	assert_int_equal(ssh_login(e, "alice.example.org", e->host.ssock, NULL, out, sizeof(out)), 255);
	assert_int_equal(ssh_login(e, "host.example.org", e->rsa.ssock, NULL, out, sizeof(out)), 255);
	/* no agent, no key: refused (the logins above did use the agent) */
	assert_int_equal(ssh_login(e, "host.example.org", NULL, "none", out, sizeof(out)), 255);
}

static void
test_agent_down(void **state)
{
	struct env *e = *state;
	char out[1024], alice[256], local[256];
	int64_t t0;
	int rc;

	snprintf(alice, sizeof(alice), "%s/alice.pem", e->dir);
	snprintf(local, sizeof(local), "%s/local_ed25519", e->dir);
	/* with the agent up: both log in */
	assert_int_equal(ssh_login(e, "alice.example.org", NULL, alice, out, sizeof(out)), 0);
	assert_string_equal(out, "alice.example.org");
	assert_int_equal(ssh_login(e, "dpklocal", NULL, local, out, sizeof(out)), 0);
	assert_string_equal(out, "dpklocal");

	stop_agent(&e->host);
	assert_int_equal(access(e->host.ssock, F_OK), -1); /* its sockets are gone */
	assert_int_equal(access(e->host.a.sock, F_OK), -1);
	t0 = dpk_test_now_ms();
	rc = ssh_login(e, "alice.example.org", NULL, alice, out, sizeof(out));
	fprintf(stderr, "test_ssh_agent: DPK login with the agent down: refused (exit %d) in %lld ms\n", rc,
	    (long long)(dpk_test_now_ms() - t0));
	assert_int_equal(rc, 255);
	assert_string_equal(out, "");
	assert_int_equal(ssh_login(e, "host.example.org", e->host.ssock, NULL, out, sizeof(out)), 255);
	t0 = dpk_test_now_ms();
	rc = ssh_login(e, "dpklocal", NULL, local, out, sizeof(out));
	fprintf(stderr, "test_ssh_agent: local login with the agent down: exit %d in %lld ms\n", rc,
	    (long long)(dpk_test_now_ms() - t0));
	assert_int_equal(rc, 0);
	assert_string_equal(out, "dpklocal");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_add_lists_the_identity),
		cmocka_unit_test(test_refused_operations),
		cmocka_unit_test(test_login_with_agent_key),
		cmocka_unit_test(test_agent_down),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
