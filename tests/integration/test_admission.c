/* Who may log in as whom (nss_dpk(8), login/admit.h), on a real anvil with
 * real agents:
 *   - two hosts with the same uid range that meet the same users in
 *     opposite orders give every user the same uid (nss_uid_min + its
 *     serial in the registry), also after both restart;
 *   - an identity whose user name is a local account's, and a single-label
 *     identity ("postgres") whose text is a local account's name, are never
 *     DPK users: the agent (run with a namespace-mounted passwd that has
 *     those accounts) refuses them and says why; pam_dpk and
 *     dpk-authorized-keys leave those accounts to the other modules;
 *   - an identity approved by an approver that nss_allow_pkm does not name
 *     is refused at every entry point: getpwnam, getpwuid, enumeration,
 *     the login challenge, the account check, dpk-authorized-keys;
 *   - login_allow keeps a user from logging in without hiding it;
 *   - user_group puts a DPK user into the local group sudo, so that
 *     `sudo -l -U` (in a namespace with a test sudoers) grants it %sudo's
 *     rights, and `id` shows the group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "chain.h"
#include "dpk/client.h"
#include "harness.h"
#include "proto.h"
#include "registry/identity.h"
#include "registry/registry.h"
#include "wire.h"

#define UID_MIN 2001000000u
/* anvil's dev account 3: a second approver, which the hosts do not admit */
#define OTHER_APPROVER_KEY "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device, other;
	uint8_t contract[20];
	char dir[64], passwd[128], policy[1024], nssconf[128], sudoers[128], pamd[128];
	struct dpk_test_agent host1, host2;
	uint8_t pub[65];
};

static void
register_as(struct env *e, const struct dpk_wallet *approver, const char *text)
{
	dpk_test_register(e->rpc, e->contract, approver, &e->device, text, DPK_REGISTRY_ALG_P256, e->pub, 65);
}

/* The documented uid: nss_uid_min + the serial the registry gave it. */
static uint32_t
chain_uid(struct env *e, const char *text)
{
	return dpk_test_serial_uid(e->rpc, e->contract, UID_MIN, text);
}

/* GETPWNAM (name) or GETPWUID (name NULL) asked of an agent directly: 1 and
 * the user's name and uid, 0 "not found", -1 FAILURE. */
static int
getpw(const struct dpk_test_agent *a, const char *name, uint32_t uid, char out_name[256], uint32_t *out_uid)
{
	uint8_t req[300], reply[4096], rtype;
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	struct dpk_client *c;
	size_t n;
	int r;

	assert_int_equal(dpk_client_open(a->sock, 5000, 0, &c), 0);
	dpk_wire_w_init(&w, req, sizeof(req));
	if (name != NULL)
		dpk_wire_put_string(&w, name, strlen(name));
	else
		dpk_wire_put_u32(&w, uid);
	r = dpk_client_call(c, name != NULL ? DPK_MSG_GETPWNAM : DPK_MSG_GETPWUID, req, w.len, &rtype, reply,
	    sizeof(reply), &n);
	dpk_client_close(c);
	if (r == DPK_CLIENT_EAGENT)
		return -1;
	assert_int_equal(r, 0);
	dpk_wire_r_init(&rd, reply, n);
	if (dpk_wire_get_u8(&rd) == 0)
		return 0;
	assert_int_equal(dpk_wire_get_text(&rd, out_name, 256), 0);
	*out_uid = dpk_wire_get_u32(&rd);
	return 1;
}

static uint32_t
uid_of(const struct dpk_test_agent *a, const char *name)
{
	char got[256];
	uint32_t uid = 0;

	if (getpw(a, name, 0, got, &uid) != 1)
		fail_msg("%s: %s is not a user (see %s)", a->name, name, a->log);
	assert_string_equal(got, name);
	return uid;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dpk_buf data, pub;
	struct dpk_idkey *k;
	char line[512], text[16384], addr[43];
	size_t n = 0;
	FILE *in;

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_wallet(OTHER_APPROVER_KEY, &e->other);
	dpk_buf_init(&data, 4096);
	assert_int_equal(dpk_registry_encode_add_approver(&data, e->other.addr), 0);
	dpk_test_send(e->rpc, e->contract, &e->owner, &data);
	dpk_buf_free(&data);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	memcpy(e->pub, pub.data, 65);
	dpk_buf_free(&pub);
	dpk_idkey_free(k);

	/* serials in this order: 1 alice, 2 bob, 3 carol, ... */
	register_as(e, &e->approver, "alice.example.org");
	register_as(e, &e->approver, "bob.corp.example");
	register_as(e, &e->approver, "carol.corp.example");
	register_as(e, &e->approver, "taken.example.org");
	register_as(e, &e->approver, "postgres");
	register_as(e, &e->approver, "p1.example.net");
	register_as(e, &e->other, "p2.example.net");

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	assert_int_equal(chmod(e->dir, 0755), 0);
	/* another source's accounts: the machine's passwd plus two local users
	 * whose names a DPK identity would take */
	snprintf(e->passwd, sizeof(e->passwd), "%s/passwd", e->dir);
	assert_non_null(in = fopen("/etc/passwd", "r"));
	while (fgets(line, sizeof(line), in) != NULL && n + strlen(line) < sizeof(text) - 512)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", line);
	fclose(in);
	snprintf(text + n, sizeof(text) - n, "taken.example.org:x:1600:1600:Local:/tmp:/bin/sh\n"
	    "postgres:x:1601:1601:PostgreSQL:/tmp:/bin/sh\n");
	dpk_test_write_file(e->passwd, text, 0644);
	snprintf(e->nssconf, sizeof(e->nssconf), "%s/nsswitch.conf", e->dir);
	dpk_test_write_file(e->nssconf, "passwd: files dpk\ngroup: files [SUCCESS=merge] dpk\nshadow: files\n"
	    "hosts: files\n", 0644);
	snprintf(e->sudoers, sizeof(e->sudoers), "%s/sudoers", e->dir);
	dpk_test_write_file(e->sudoers, "Defaults !fqdn\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n", 0440);

	/* the documented auth stack, with pam_permit standing for the local
	 * modules: success means pam_dpk stepped aside for the user */
	snprintf(e->pamd, sizeof(e->pamd), "%s/pam.d", e->dir);
	assert_int_equal(mkdir(e->pamd, 0755), 0);
	{
		/* the machine's stacks (sudo's among them), then the test's */
		char *cp[] = {(char *)"/bin/cp", (char *)"-a", (char *)"/etc/pam.d/.", e->pamd, NULL};
		struct dpk_buf o;

		assert_int_equal(dpk_test_run(cp, NULL, &o), 0);
		dpk_buf_free(&o);
	}
	{
		char so[512], path[256];

		dpk_test_built("pam_dpk/.libs/pam_dpk.so", so, sizeof(so));
		snprintf(path, sizeof(path), "%s/dpk-test", e->pamd);
		snprintf(text, sizeof(text), "auth [success=done user_unknown=ignore ignore=ignore default=die] %s "
		    "socket=%s/host1.sock config=%s/host1.conf timeout=2000\nauth required pam_permit.so\n", so, e->dir,
		    e->dir);
		dpk_test_write_file(path, text, 0644);
	}
	dpk_wallet_address_format(e->approver.addr, addr);
	snprintf(e->policy, sizeof(e->policy), "identity = host.example.org\nnss_allow = alice.example.org\n"
	    "nss_allow = taken.example.org\nnss_allow = postgres\nnss_allow_suffix = .corp.example\n"
	    "nss_allow_pkm = %s\nnss_enumerate = yes\n", addr);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dpk_test_agent_stop(&e->host1);
	dpk_test_agent_stop(&e->host2);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
test_same_uid_on_every_host(void **state)
{
	struct env *e = *state;
	uint32_t b1, c1, b2, c2;
	char got[256];
	uint32_t uid;

	dpk_test_agent_start(&e->host1, e->dir, "host1", e->anvil.url, e->contract, e->policy);
	dpk_test_agent_start(&e->host2, e->dir, "host2", e->anvil.url, e->contract, e->policy);
	b1 = uid_of(&e->host1, "bob.corp.example");
	c1 = uid_of(&e->host1, "carol.corp.example");
	c2 = uid_of(&e->host2, "carol.corp.example");
	b2 = uid_of(&e->host2, "bob.corp.example");
	assert_int_equal(b1, b2);
	assert_int_equal(c1, c2);
	assert_int_equal(b1, chain_uid(e, "bob.corp.example"));
	assert_int_equal(c1, chain_uid(e, "carol.corp.example"));
	assert_int_equal(uid_of(&e->host1, "alice.example.org"), chain_uid(e, "alice.example.org"));

	/* restarted, with no lookup by name since: the same users by uid */
	dpk_test_agent_stop(&e->host1);
	dpk_test_agent_stop(&e->host2);
	dpk_test_agent_start(&e->host1, e->dir, "host1", e->anvil.url, e->contract, e->policy);
	dpk_test_agent_start(&e->host2, e->dir, "host2", e->anvil.url, e->contract, e->policy);
	assert_int_equal(getpw(&e->host2, NULL, b1, got, &uid), 1);
	assert_string_equal(got, "bob.corp.example");
	assert_int_equal(uid, b1);
	assert_int_equal(getpw(&e->host1, NULL, c1, got, &uid), 1);
	assert_string_equal(got, "carol.corp.example");
	assert_int_equal(getpw(&e->host1, NULL, b1, got, &uid), 1);
	assert_string_equal(got, "bob.corp.example");
	assert_int_equal(uid_of(&e->host2, "carol.corp.example"), c1);
	dpk_test_agent_stop(&e->host1);
	dpk_test_agent_stop(&e->host2);
}

/* Run a command in a mount namespace with the test's passwd, nsswitch.conf
 * (files, then dpk) and sudoers over /etc, nss_dpk from the build tree
 * asking sock: its exit status, its output in out. */
static int
in_host_ns(struct env *e, const char *sock, struct dpk_buf *out, char *const cmd[])
{
	static const char script[] =
	    "so=\"$DPK_TOP_BUILDDIR/nss_dpk/.libs/libnss_dpk.so.2\"\n"
	    "pre=$(ldd \"$so\" | awk '/lib(a|ub)san/ {print $3}' | tr '\\n' ' ')\n"
	    "mount --bind \"$1\" /etc/passwd && mount --bind \"$2\" /etc/nsswitch.conf &&\n"
	    "mount --bind \"$3\" /etc/sudoers && mount --bind \"$4\" /etc/pam.d || exit 99\n"
	    "export DPK_AGENT_SOCKET=\"$5\"\n"
	    "shift 5\n"
	    "exec env LD_LIBRARY_PATH=\"$DPK_TOP_BUILDDIR/nss_dpk/.libs\" LD_PRELOAD=\"$pre\" "
	    "ASAN_OPTIONS=detect_leaks=0 \"$@\" 2>&1\n";
	char *argv[24] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"/bin/sh", (char *)"-c", (char *)script,
	    (char *)"sh", e->passwd, e->nssconf, e->sudoers, e->pamd, (char *)sock};
	size_t k = 11;
	int r;

	for (size_t i = 0; cmd[i] != NULL && k < 23; i++)
		argv[k++] = cmd[i];
	argv[k] = NULL;
	r = dpk_test_run(argv, NULL, out);
	dpk_test_chomp(out);
	assert_int_not_equal(r, 99);
	return r;
}

static int
authorized_keys(struct env *e, const char *sock, const char *user, struct dpk_buf *out)
{
	char ak[512], conf[192];
	char *cmd[] = {ak, (char *)"-c", conf, (char *)"-s", (char *)sock, (char *)user, NULL};

	dpk_test_built("ssh/dpk-authorized-keys", ak, sizeof(ak));
	snprintf(conf, sizeof(conf), "%s/host1.conf", e->dir);
	return in_host_ns(e, sock, out, cmd);
}

/* LOGIN_CHALLENGE or LOGIN_ACCOUNT for user: the agent's error code (0: it answered). */
static int
login_call(const struct dpk_test_agent *a, uint8_t type, const char *user)
{
	uint8_t req[300], reply[4096], rtype;
	struct dpk_wire_w w;
	struct dpk_client *c;
	size_t n;
	int r;

	assert_int_equal(dpk_client_open(a->sock, 5000, 0, &c), 0);
	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_string(&w, user, strlen(user));
	if (type == DPK_MSG_LOGIN_CHALLENGE)
		dpk_wire_put_string(&w, "sshd", 4);
	r = dpk_client_call(c, type, req, w.len, &rtype, reply, sizeof(reply), &n);
	if (r == DPK_CLIENT_EAGENT)
		r = dpk_client_agent_error(c, NULL);
	else
		assert_int_equal(r, 0);
	dpk_client_close(c);
	return r;
}

/* dpkctl user-check USER (a real dpkctl against agent a): its exit status,
 * its output in out. */
static int
user_check(const struct dpk_test_agent *a, const char *user, int json, struct dpk_buf *out)
{
	char dpkctl[512];
	char *argv[] = {dpkctl, (char *)"-s", (char *)a->sock, json ? (char *)"--json" : (char *)"user-check",
	    json ? (char *)"user-check" : (char *)user, json ? (char *)user : NULL, NULL};

	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	return dpk_test_run(argv, NULL, out);
}

static void
check_user(const struct dpk_test_agent *a, const char *user, int status, const char *const want[])
{
	struct dpk_buf out;
	int r = user_check(a, user, 0, &out);

	if (r != status)
		fail_msg("user-check %s: exit %d, want %d:\n%s", user, r, status, out.data ? (char *)out.data : "");
	for (size_t i = 0; want[i] != NULL; i++)
		if (out.data == NULL || strstr((const char *)out.data, want[i]) == NULL)
			fail_msg("user-check %s: no '%s' in:\n%s", user, want[i], out.data ? (char *)out.data : "");
	dpk_buf_free(&out);
}

static void
test_never_shadows_a_local_account(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	char got[256], *log;
	uint32_t uid;

	dpk_test_agent_start_passwd(&e->host1, e->dir, "host1", e->anvil.url, e->contract, e->policy, e->passwd);
	/* the agent: no DPK user of those names, and it says why */
	assert_int_equal(getpw(&e->host1, "taken.example.org", 0, got, &uid), 0);
	assert_int_equal(getpw(&e->host1, NULL, chain_uid(e, "taken.example.org"), got, &uid), 0);
	assert_int_equal(getpw(&e->host1, "postgres", 0, got, &uid), 0);
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_CHALLENGE, "taken.example.org"), 19);
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_ACCOUNT, "taken.example.org"), 19);
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_CHALLENGE, "postgres"), 19);
	dpk_test_sleep_ms(100);
	char *cat[] = {(char *)"/bin/cat", e->host1.log, NULL};
	assert_int_equal(dpk_test_run(cat, NULL, &out), 0);
	log = (char *)out.data;
	if (log == NULL || strstr(log, "refusing to admit a DPK user: taken.example.org would be user "
	    "taken.example.org") == NULL)
		fail_msg("the agent did not say why taken.example.org is no user:\n%s", log ? log : "");
	dpk_buf_free(&out);
	/* a DPK user beside them is one (so the refusals above mean something) */
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_ACCOUNT, "alice.example.org"), 0);

	/* the host: getent gives the local accounts; dpk-authorized-keys
	 * prints no DPK key for them (exit 0: sshd goes on) */
	char *getent_taken[] = {(char *)"/usr/bin/getent", (char *)"passwd", (char *)"taken.example.org", NULL};
	assert_int_equal(in_host_ns(e, e->host1.sock, &out, getent_taken), 0);
	assert_string_equal((const char *)out.data, "taken.example.org:x:1600:1600:Local:/tmp:/bin/sh");
	dpk_buf_free(&out);
	assert_int_equal(authorized_keys(e, e->host1.sock, "taken.example.org", &out), 0);
	assert_true(out.len == 0);
	dpk_buf_free(&out);
	assert_int_equal(authorized_keys(e, e->host1.sock, "postgres", &out), 0);
	assert_true(out.len == 0);
	dpk_buf_free(&out);
	/* pam_dpk steps aside for them at once (no challenge to answer) */
	char *pam_taken[] = {(char *)"/usr/bin/pamtester", (char *)"dpk-test", (char *)"taken.example.org",
	    (char *)"authenticate", NULL};
	assert_int_equal(in_host_ns(e, e->host1.sock, &out, pam_taken), 0);
	assert_null(strstr((const char *)out.data, "DPK"));
	dpk_buf_free(&out);
	char *pam_pg[] = {(char *)"/usr/bin/pamtester", (char *)"dpk-test", (char *)"postgres", (char *)"authenticate", NULL};
	assert_int_equal(in_host_ns(e, e->host1.sock, &out, pam_pg), 0);
	dpk_buf_free(&out);
	/* while a DPK user gets a challenge (none answered here: refused) */
	char *pam_alice[] = {(char *)"/usr/bin/pamtester", (char *)"dpk-test", (char *)"alice.example.org",
	    (char *)"authenticate", NULL};
	assert_int_not_equal(in_host_ns(e, e->host1.sock, &out, pam_alice), 0);
	assert_non_null(strstr((const char *)out.data, "DPK-LOGIN-v1."));
	dpk_buf_free(&out);
	/* and a DPK user's key is printed (the same command, so the refusals mean something) */
	assert_int_equal(authorized_keys(e, e->host1.sock, "alice.example.org", &out), 0);
	assert_non_null(strstr((const char *)out.data, "ecdsa-sha2-nistp256 "));
	dpk_buf_free(&out);
	dpk_test_agent_stop(&e->host1);
}

static void
test_unadmitted_approver_everywhere(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	char got[256];
	uint32_t uid;

	dpk_test_agent_start(&e->host1, e->dir, "host1", e->anvil.url, e->contract, e->policy);
	/* approved by the admitted approver: a user */
	assert_int_equal(uid_of(&e->host1, "p1.example.net"), chain_uid(e, "p1.example.net"));
	/* approved by the other one: no entry point takes it */
	assert_int_equal(getpw(&e->host1, "p2.example.net", 0, got, &uid), 0);
	assert_int_equal(getpw(&e->host1, NULL, chain_uid(e, "p2.example.net"), got, &uid), 0);
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_CHALLENGE, "p2.example.net"), 19);
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_ACCOUNT, "p2.example.net"), 19);
	assert_int_equal(authorized_keys(e, e->host1.sock, "p2.example.net", &out), 0);
	assert_true(out.len == 0);
	dpk_buf_free(&out);
	char *list[] = {(char *)"/usr/bin/getent", (char *)"passwd", NULL};
	assert_int_equal(in_host_ns(e, e->host1.sock, &out, list), 0);
	assert_non_null(strstr((const char *)out.data, "\np1.example.net:*:"));
	assert_null(strstr((const char *)out.data, "p2.example.net"));
	dpk_buf_free(&out);
	static const char *const p2[] = {"ok   record", "FAIL policy", "approver that nss_allow_pkm does not name", NULL};
	check_user(&e->host1, "p2.example.net", 1, p2);
	dpk_test_agent_stop(&e->host1);
}

static void
test_login_allow_and_groups(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	char policy[1400], want[256];
	uint32_t alice;

	snprintf(policy, sizeof(policy), "%slogin_allow = alice.example.org .corp.example\nuser_group = sudo alice.example.org\n",
	    e->policy);
	dpk_test_agent_start(&e->host1, e->dir, "host1", e->anvil.url, e->contract, policy);
	alice = uid_of(&e->host1, "alice.example.org");
	/* p1 is a user, but login_allow does not name it */
	assert_int_equal(uid_of(&e->host1, "p1.example.net"), chain_uid(e, "p1.example.net"));
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_ACCOUNT, "p1.example.net"), 23);
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_CHALLENGE, "p1.example.net"), 23);
	assert_int_equal(authorized_keys(e, e->host1.sock, "p1.example.net", &out), 0);
	assert_null(strstr((const char *)out.data, "ecdsa-sha2-nistp256"));
	assert_non_null(strstr((const char *)out.data, "login_allow")); /* its stderr says why */
	dpk_buf_free(&out);
	assert_int_equal(login_call(&e->host1, DPK_MSG_LOGIN_ACCOUNT, "bob.corp.example"), 0);
	static const char *const p1[] = {"ok   policy", "FAIL login_allow", "is a user here", NULL};
	check_user(&e->host1, "p1.example.net", 1, p1);
	static const char *const groups[] = {"ok   groups         in sudo (gid 27) by user_group", NULL};
	check_user(&e->host1, "alice.example.org", 0, groups);

	/* id shows the group; getent group sudo lists the member (merged) */
	char *id[] = {(char *)"/usr/bin/id", (char *)"alice.example.org", NULL};
	assert_int_equal(in_host_ns(e, e->host1.sock, &out, id), 0);
	snprintf(want, sizeof(want), "uid=%u(alice.example.org) gid=%u(alice.example.org) groups=%u(alice.example.org),27(sudo)",
	    alice, alice, alice);
	assert_string_equal((const char *)out.data, want);
	dpk_buf_free(&out);
	char *grp[] = {(char *)"/usr/bin/getent", (char *)"group", (char *)"sudo", NULL};
	assert_int_equal(in_host_ns(e, e->host1.sock, &out, grp), 0);
	assert_non_null(strstr((const char *)out.data, "alice.example.org"));
	dpk_buf_free(&out);

	/* sudo grants %sudo's rights to the DPK user, and not to another one */
	char *sudo_alice[] = {(char *)"/usr/bin/sudo", (char *)"-l", (char *)"-U", (char *)"alice.example.org", NULL};
	if (in_host_ns(e, e->host1.sock, &out, sudo_alice) != 0 || strstr((const char *)out.data, "may run the following commands") == NULL ||
	    strstr((const char *)out.data, "(ALL : ALL) ALL") == NULL)
		fail_msg("sudo -l -U alice.example.org:\n%s", (const char *)out.data);
	dpk_buf_free(&out);
	char *sudo_bob[] = {(char *)"/usr/bin/sudo", (char *)"-l", (char *)"-U", (char *)"bob.corp.example", NULL};
	in_host_ns(e, e->host1.sock, &out, sudo_bob);
	if (strstr((const char *)out.data, "is not allowed to run sudo") == NULL)
		fail_msg("sudo -l -U bob.corp.example:\n%s", (const char *)out.data);
	dpk_buf_free(&out);
	dpk_test_agent_stop(&e->host1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_uid_on_every_host),
		cmocka_unit_test(test_never_shadows_a_local_account),
		cmocka_unit_test(test_unadmitted_approver_everywhere),
		cmocka_unit_test(test_login_allow_and_groups),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
