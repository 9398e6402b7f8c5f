/* dpk-authorized-keys: sshd's AuthorizedKeysCommand for DPK users
 * (dpk-authorized-keys(8)). Given a user name, it asks dpk-agent for the
 * user's passwd entry (GETPWNAM, the question nss_dpk asks) and whether the
 * admission decision lets that DPK identity log in here (LOGIN_ACCOUNT, the
 * question pam_dpk's account check asks), reads the identity's key through
 * the agent's cache (LOOKUP) and prints it as one authorized_keys line
 * while it is active on chain.
 *
 * Exit status, as sshd reads it (a non-zero exit makes sshd ignore the
 * output and log our stderr):
 *   0  a key was printed, or the name is not a DPK user (nothing printed,
 *      so sshd goes on to AuthorizedKeysFile)
 *   1  no answer: the agent is down, slow, cannot reach the chain, or its
 *      answer is stale or malformed. A login is refused rather than decided
 *      on a key that may have been revoked.
 *   2  usage
 * A watchdog bounds the whole run, whatever the agent does. */
#include "dpk/client.h"
#include "base/buf.h"
#include "base/err.h"
#include "crypto/idkey.h"
#include "proto.h"
#include "wire.h"

#include <getopt.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define AK_TOTAL_MS 2000   /* sshd waits on us while the client waits on sshd */
#define AK_CALL_MS 1500    /* one request; the watchdog caps the sum */
#define AK_NAME_MAX 253
#define AK_FIELD_MAX 4096

enum { AK_OK = 0, AK_FAIL = 1, AK_USAGE = 2 };

struct ak_passwd {
	char name[AK_NAME_MAX + 1];
	uint32_t uid;
	char gecos[AK_FIELD_MAX];
};

static void
on_alarm(int sig)
{
	static const char msg[] = "dpk-authorized-keys: no answer from dpk-agent within 2 s; is it running?\n";
	ssize_t w;

	(void)sig;
	w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)w;
	_exit(AK_FAIL);
}

static void
watchdog_start(void)
{
	struct sigaction sa;
	struct itimerval it = {{0, 0}, {AK_TOTAL_MS / 1000, (AK_TOTAL_MS % 1000) * 1000}};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
agent_failed(struct dpk_client *c, int r, const char *what, const char *arg)
{
	const char *msg = NULL;

	if (r == DPK_CLIENT_EAGENT) {
		int code = dpk_client_agent_error(c, &msg);

		fprintf(stderr, "dpk-authorized-keys: %s %s: the agent cannot tell (error %d: %s)\n", what, arg, code,
		    msg != NULL ? msg : "");
	} else {
		fprintf(stderr, "dpk-authorized-keys: %s %s: %s\n", what, arg, dpk_client_strerror(r));
	}
}

/* GETPWNAM: 1 found (into *pw), 0 not a DPK user, negative client error.
 * Every field of the reply is checked; bytes left over are an error. */
static int
getpwnam_agent(struct dpk_client *c, const char *name, struct ak_passwd *pw)
{
	uint8_t req[4 + AK_NAME_MAX], reply[DPK_CLIENT_MAX_FRAME], rtype;
	char skip[AK_FIELD_MAX];
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	size_t n;
	int r;

	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_string(&w, name, strlen(name));
	if (w.err)
		return DPK_CLIENT_EINVAL;
	if ((r = dpk_client_call(c, DPK_MSG_GETPWNAM, req, w.len, &rtype, reply, sizeof(reply), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, reply, n);
	switch (dpk_wire_get_u8(&rd)) {
	case 0:
		return dpk_wire_r_done(&rd) == 0 ? 0 : DPK_CLIENT_EPROTO;
	case 1:
		break;
	default:
		return DPK_CLIENT_EPROTO;
	}
	dpk_wire_get_text(&rd, pw->name, sizeof(pw->name));
	pw->uid = dpk_wire_get_u32(&rd);
	(void)dpk_wire_get_u32(&rd); /* gid */
	dpk_wire_get_text(&rd, pw->gecos, sizeof(pw->gecos));
	dpk_wire_get_text(&rd, skip, sizeof(skip)); /* home */
	dpk_wire_get_text(&rd, skip, sizeof(skip)); /* shell */
	if (dpk_wire_r_done(&rd) != 0 || pw->name[0] == '\0' || pw->uid == 0)
		return DPK_CLIENT_EPROTO;
	return 1;
}

/* Which identity the user is, and whether the agent's admission decision
 * lets it log in here (LOGIN_ACCOUNT: the same decision as pam_dpk's
 * account check): 1 with the identity in out, 0 when it may not (the
 * reason on stderr), or a negative client error. */
static int
login_identity(struct dpk_client *c, const char *user, char *out, size_t outsz)
{
	const char *msg = NULL;
	uint8_t status;
	int r = dpk_client_login_account(c, user, &status, out, outsz);

	if (r != DPK_CLIENT_EAGENT)
		return r == 0 ? 1 : r;
	switch (dpk_client_agent_error(c, &msg)) {
	case 19: /* not found */
	case 23: /* not allowed to log in here (login_allow) */
	case 26: /* revoked */
		fprintf(stderr, "dpk-authorized-keys: user %s: no key: %s\n", user, msg != NULL ? msg : "");
		return 0;
	default:
		return r;
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: dpk-authorized-keys [-c CONFIG] [-s SOCKET] USER\n"
	    "  print the OpenSSH key of the DPK identity mapped to USER (sshd's AuthorizedKeysCommand)\n"
	    "  -c CONFIG  dpk.conf, for the DPK uid range (default " DPK_CLIENT_DEFAULT_CONFIG ")\n"
	    "  -s SOCKET  the agent's socket (default " DPK_CLIENT_DEFAULT_SOCKET "); its owner is not checked\n");
}

int
main(int argc, char **argv)
{
	struct dpk_client *c = NULL;
	struct dpk_client_record rec;
	struct ak_passwd pw;
	struct dpk_buf line;
	const char *sock = NULL, *config = NULL, *user;
	const struct passwd *sys;
	char ident[AK_NAME_MAX + 1];
	int opt, r, ret = AK_FAIL;

	memset(&rec, 0, sizeof(rec));
	dpk_buf_init(&line, 32768);
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		ret = AK_OK;
		goto out;
	}
	while ((opt = getopt(argc, argv, "c:s:h")) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); ret = AK_OK; goto out;
		default: usage(stderr); ret = AK_USAGE; goto out;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		ret = AK_USAGE;
		goto out;
	}
	user = argv[optind];
	/* never a DPK user: answered without the agent, so local logins do not
	 * depend on it */
	if (user[0] == '\0' || user[0] == '-' || strcmp(user, "root") == 0 || strlen(user) > AK_NAME_MAX) {
		ret = AK_OK;
		goto out;
	}
	watchdog_start();
	/* an account another source has (local, LDAP, ...) is not DPK's: never
	 * print a DPK key for it, and do not ask the agent */
	if ((sys = getpwnam(user)) != NULL && !dpk_client_passwd_is_dpk(config, (uint32_t)sys->pw_uid, sys->pw_gecos)) {
		ret = AK_OK;
		goto out;
	}
	/* the socket named on the command line (by root, in sshd_config) or in
	 * $DPK_AGENT_SOCKET is trusted as given; the default must be root's */
	r = dpk_client_open(sock, AK_CALL_MS, sock == NULL && secure_getenv("DPK_AGENT_SOCKET") == NULL, &c);
	if (r != 0) {
		fprintf(stderr, "dpk-authorized-keys: cannot reach dpk-agent at %s: %s\n",
		    sock != NULL ? sock : DPK_CLIENT_DEFAULT_SOCKET, dpk_client_strerror(r));
		goto out;
	}
	if ((r = getpwnam_agent(c, user, &pw)) < 0) {
		agent_failed(c, r, "user", user);
		goto out;
	}
	if (r == 0) {
		ret = AK_OK; /* not a DPK user (or one whose key is not active) */
		goto out;
	}
	if (sys != NULL && (sys->pw_uid != pw.uid || strcmp(sys->pw_gecos, pw.gecos) != 0)) {
		fprintf(stderr, "dpk-authorized-keys: user %s: its passwd entry (uid %lu) is not the one the agent serves "
		    "(uid %lu); no key\n", user, (unsigned long)sys->pw_uid, (unsigned long)pw.uid);
		goto out;
	}
	if ((r = login_identity(c, user, ident, sizeof(ident))) < 0) {
		agent_failed(c, r, "user", user);
		goto out;
	}
	if (r == 0) {
		ret = AK_OK;
		goto out;
	}
	{
		/* the passwd entry names the same identity ("DPK " + it, ':' as '-') */
		char want[AK_FIELD_MAX];

		snprintf(want, sizeof(want), "DPK %s", ident);
		for (char *p = want; (p = strchr(p, ':')) != NULL;)
			*p = '-';
		if (strcmp(want, pw.gecos) != 0) {
			fprintf(stderr, "dpk-authorized-keys: user %s: its passwd entry names '%s', not identity %s; no key\n",
			    user, pw.gecos, ident);
			goto out;
		}
	}
	if ((r = dpk_client_lookup(c, ident, &rec)) != 0) {
		agent_failed(c, r, "identity", ident);
		goto out;
	}
	if (rec.stale && dpk_client_login_stale_ms(c) == 0) {
		/* the account check saw a fresh record, the lookup a stale one */
		fprintf(stderr, "dpk-authorized-keys: identity %s: the chain stopped answering; try again\n", ident);
		goto out;
	}
	if (rec.status != 1 || rec.pubkey == NULL) {
		ret = AK_OK; /* revoked since GETPWNAM answered: no key */
		goto out;
	}
	r = dpk_idkey_onchain_to_openssh((enum dpk_idkey_alg)rec.algorithm, rec.pubkey, rec.publen, rec.identity, &line);
	if (r != 0) {
		fprintf(stderr, "dpk-authorized-keys: identity %s: its key on chain is not usable by OpenSSH: %s\n", ident,
		    dpk_strerror(r));
		goto out;
	}
	if (printf("%s\n", (const char *)line.data) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "dpk-authorized-keys: cannot write the key\n");
		goto out;
	}
	ret = AK_OK;
out:
	dpk_client_record_free(&rec);
	dpk_client_close(c);
	dpk_buf_free(&line);
	return ret;
}
