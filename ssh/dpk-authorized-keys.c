/* dpk-authorized-keys: sshd's AuthorizedKeysCommand for DPK users
 * (dpk-authorized-keys(8)). Given a user name, it asks dpk-agent which DPK
 * identity the name belongs to (GETPWNAM, the question nss_dpk asks), reads
 * that identity's key through the agent's cache (LOOKUP) and prints it as one
 * authorized_keys line while it is active on chain.
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

#include <arpa/inet.h>
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

/* Which identity a user is. The agent writes it into the GECOS field as
 * "DPK <identity>" with an IPv6 address's ':' turned into '-' (nss_dpk(8)),
 * which a dot-less domain could also read as; so each spelling is asked
 * back, and only the one the agent maps to this very user (same name, same
 * uid) is taken. 1 with the identity in out, 0 if none matches, or a
 * negative client error. */
static int
identity_of(struct dpk_client *c, const struct ak_passwd *pw, char *out, size_t outsz)
{
	char cand[2][AK_FIELD_MAX];
	const char *g = pw->gecos;
	struct in6_addr a6;
	int ncand = 0, r;

	if (strncmp(g, "DPK ", 4) != 0)
		return 0;
	g += 4;
	if (strlen(g) == 0 || strlen(g) >= sizeof(cand[0]))
		return 0;
	if (strchr(g, '-') != NULL && strchr(g, '.') == NULL) {
		snprintf(cand[ncand], sizeof(cand[ncand]), "%s", g);
		for (char *p = cand[ncand]; (p = strchr(p, '-')) != NULL;)
			*p = ':';
		if (inet_pton(AF_INET6, cand[ncand], &a6) == 1)
			ncand++;
	}
	snprintf(cand[ncand++], sizeof(cand[0]), "%s", g);
	for (int i = 0; i < ncand; i++) {
		struct ak_passwd back;

		if (strlen(cand[i]) > AK_NAME_MAX)
			continue;
		if ((r = getpwnam_agent(c, cand[i], &back)) < 0)
			return r;
		if (r == 1 && back.uid == pw->uid && strcmp(back.name, pw->name) == 0) {
			if (strlen(cand[i]) >= outsz)
				return DPK_CLIENT_EPROTO;
			memcpy(out, cand[i], strlen(cand[i]) + 1);
			return 1;
		}
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: dpk-authorized-keys [-S] [-c CONFIG] [-s SOCKET] USER\n"
	    "  print the OpenSSH key of the DPK identity mapped to USER (sshd's AuthorizedKeysCommand)\n"
	    "  -c CONFIG  dpk.conf, for the DPK uid range (default " DPK_CLIENT_DEFAULT_CONFIG ")\n"
	    "  -s SOCKET  the agent's socket (default " DPK_CLIENT_DEFAULT_SOCKET "); its owner is not checked\n"
	    "  -S         print a key the agent serves from its cache while the chain is unreachable\n");
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
	int allow_stale = 0, opt, r, ret = AK_FAIL;

	memset(&rec, 0, sizeof(rec));
	dpk_buf_init(&line, 32768);
	while ((opt = getopt(argc, argv, "Sc:s:h")) != -1) {
		switch (opt) {
		case 'S': allow_stale = 1; break;
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
	if ((r = identity_of(c, &pw, ident, sizeof(ident))) < 0) {
		agent_failed(c, r, "user", user);
		goto out;
	}
	if (r == 0) {
		fprintf(stderr, "dpk-authorized-keys: user %s: the agent names no identity for it\n", user);
		goto out;
	}
	if ((r = dpk_client_lookup(c, ident, &rec)) != 0) {
		agent_failed(c, r, "identity", ident);
		goto out;
	}
	if (rec.stale && !allow_stale) {
		fprintf(stderr, "dpk-authorized-keys: identity %s: the chain is unreachable and the agent's answer "
		    "is %.1f s old; refusing (-S accepts it)\n", ident, rec.age_ms / 1000.0);
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
