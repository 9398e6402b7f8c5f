/* pam_dpk's options, checks and error mapping (pamdpk.h). */
#include "pamdpk.h"

#include "dpk/client.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
pamdpk_parse_opts(int argc, const char **argv, struct pamdpk_opts *o, char *bad, size_t badsz)
{
	int nbad = 0;

	o->debug = 0;
	o->timeout_ms = PAMDPK_DEFAULT_TIMEOUT_MS;
	o->socket = DPK_CLIENT_DEFAULT_SOCKET;
	o->ignore_unknown_user = 0;
	o->config = NULL;
	if (badsz > 0)
		bad[0] = '\0';
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int ok = 1;

		if (a == NULL)
			continue;
		if (strcmp(a, "debug") == 0) {
			o->debug = 1;
		} else if (strcmp(a, "ignore_unknown_user") == 0) {
			o->ignore_unknown_user = 1;
		} else if (strncmp(a, "timeout=", 8) == 0) {
			char *end;
			long v;

			errno = 0;
			v = strtol(a + 8, &end, 10);
			if (errno != 0 || end == a + 8 || *end != '\0' || v < 100 || v > 60000)
				ok = 0;
			else
				o->timeout_ms = (int)v;
		} else if (strncmp(a, "config=", 7) == 0) {
			if (a[7] != '/' || strlen(a + 7) >= 4096)
				ok = 0;
			else
				o->config = a + 7;
		} else if (strncmp(a, "socket=", 7) == 0) {
			if (a[7] != '/' || strlen(a + 7) >= 108)
				ok = 0;
			else
				o->socket = a + 7;
		} else {
			ok = 0;
		}
		if (!ok && nbad++ == 0 && badsz > 0)
			snprintf(bad, badsz, "%s", a);
	}
	return nbad;
}

int
pamdpk_check_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
pamdpk_pam_code(int r, int agent_code, int user_lookup, const struct pamdpk_opts *o)
{
	switch (r) {
	case DPK_CLIENT_OK: return PAM_SUCCESS;
	case DPK_CLIENT_ENOMEM: return PAM_BUF_ERR;
	case DPK_CLIENT_EINVAL: return PAM_SERVICE_ERR;
	case DPK_CLIENT_EAGENT: break;
	default: return PAM_AUTHINFO_UNAVAIL; /* no agent, no answer in time, or a malformed one */
	}
	switch (agent_code) {
	case 19: /* not found */
		if (user_lookup)
			return o->ignore_unknown_user ? PAM_IGNORE : PAM_USER_UNKNOWN;
		return PAM_AUTH_ERR;
	case 1:  /* out of memory */
	case 2:  /* this host has no identity */
	case 15: /* the chain: network */
	case 16: /* the chain: timed out */
	case 20: /* an agent without this request */
	case 28: /* busy */
		return PAM_AUTHINFO_UNAVAIL;
	default: /* bad signature, expired, replayed, revoked, malformed response; 23: not
		  * allowed to log in here (login_allow), or the module not privileged */
		return PAM_AUTH_ERR;
	}
}

void
pamdpk_service_name(const char *service, char out[33])
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t n = 0;

	for (const char *p = service ? service : ""; *p != '\0' && n < 32; p++)
		out[n++] = strchr(ok, *p) != NULL ? *p : '_';
	if (n == 0)
		out[n++] = '_';
	out[n] = '\0';
}

void
pamdpk_prompt(const char *host, const char *identity, long long expires_in, const char *challenge, char *out,
    size_t outsz)
{
	/* the host first: the user checks it against what dpkctl respond shows
	 * before signing. Long identities leave out what matters less. */
	int n = snprintf(out, outsz,
	    "DPK login to %s as %s (the challenge expires in %lld s).\nOn your device, run: dpkctl respond %s\n"
	    "Response: ", host, identity, expires_in, challenge);

	if (n < 0 || (size_t)n >= outsz || n > 511)
		n = snprintf(out, outsz, "DPK login to %s:\nrun: dpkctl respond %s\nResponse: ", host, challenge);
	if (n < 0 || (size_t)n >= outsz || n > 511)
		snprintf(out, outsz, "run: dpkctl respond %s\nResponse: ", challenge);
}

void
pamdpk_trim(char *s)
{
	size_t n = strlen(s), lead = strspn(s, " \t\r\n");

	while (n > lead && strchr(" \t\r\n", s[n - 1]) != NULL)
		n--;
	memmove(s, s + lead, n - lead);
	s[n - lead] = '\0';
}

int
pamdpk_not_mine(const struct passwd *pw, const struct pamdpk_opts *o)
{
	if (pw == NULL)
		return 0;
	if (pw->pw_uid == 0)
		return 1;
	return !dpk_client_passwd_is_dpk(o->config, (uint32_t)pw->pw_uid, pw->pw_gecos);
}

int
pamdpk_gecos_agrees(const struct passwd *pw, const char *identity)
{
	const char *g;
	size_t n = strlen(identity);

	if (pw == NULL)
		return 1;
	if (pw->pw_gecos == NULL || strncmp(pw->pw_gecos, "DPK ", 4) != 0)
		return 0;
	g = pw->pw_gecos + 4;
	if (strlen(g) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (g[i] != (identity[i] == ':' ? '-' : identity[i]))
			return 0;
	return 1;
}
