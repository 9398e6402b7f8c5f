/* pam_dpk's logic, apart from the PAM entry points so that the unit tests
 * and the fuzz target link it too (the Yubico pam-u2f shape). libc and
 * libdpkclient only: no OpenSSL, curl or cJSON in a module every login
 * loads. */
#ifndef DPK_PAMDPK_H
#define DPK_PAMDPK_H

#include <stddef.h>

#define PAMDPK_DEFAULT_TIMEOUT_MS 5000

struct pamdpk_opts {
	int debug;
	int timeout_ms;          /* every exchange with the agent */
	const char *socket;      /* the agent's socket (root-owned) */
	int ignore_unknown_user; /* PAM_IGNORE instead of PAM_USER_UNKNOWN */
	const char *config;      /* dpk.conf, for the DPK uid range (NULL: the default) */
};

/* Parse the module arguments. Unknown or malformed ones are named in bad
 * (the first one) and otherwise skipped; returns how many there were. */
int pamdpk_parse_opts(int argc, const char **argv, struct pamdpk_opts *o, char *bad, size_t badsz);

/* 0 if path is a socket owned by root (no other user could have put it
 * there), else -1 with errno. The peer is checked again on connect. */
int pamdpk_check_socket(const char *path);

/* What a call of libdpkclient returned (r, and the agent's error code when
 * r is DPK_CLIENT_EAGENT) as a PAM return code. user_lookup: the call
 * mapped the user name to an identity (CHALLENGE, ACCOUNT), so "not found"
 * means "not a DPK user" and not a failed check. */
int pamdpk_pam_code(int r, int agent_code, int user_lookup, const struct pamdpk_opts *o);

/* Whether the passwd entry pw (NULL: no source has the user) leaves the
 * user to the other modules without asking the agent: 1 when the entry is
 * not DPK's (another source's account: local, LDAP, ...), 0 when it is
 * DPK's or absent (then the agent decides). */
struct passwd;
int pamdpk_not_mine(const struct passwd *pw, const struct pamdpk_opts *o);

/* Whether the identity the agent named for the user is the one its passwd
 * entry names ("DPK <identity>" in GECOS, an IPv6 address's ':' as '-'):
 * 1 if they agree or there is no entry, else 0. */
int pamdpk_gecos_agrees(const struct passwd *pw, const char *identity);

/* The service name as the agent accepts it (1..32 of [A-Za-z0-9._-]):
 * other characters become '_', longer names are cut. */
void pamdpk_service_name(const char *service, char out[33]);

/* The conversation prompt (at most 511 bytes + NUL) into out: it names
 * host (this host's identity) and the user's identity when they fit. */
void pamdpk_prompt(const char *host, const char *identity, long long expires_in, const char *challenge, char *out,
    size_t outsz);

/* Drop leading and trailing white space (a pasted response) in place. */
void pamdpk_trim(char *s);

#endif
