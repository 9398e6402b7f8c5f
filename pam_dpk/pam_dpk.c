/* pam_dpk.so (pam_dpk(8)): DPK challenge-response login ("auth") and the
 * on-chain account check ("account"). A thin shell: every decision is the
 * agent's (dpk-agent/login/login.c); the logic here is in pamdpk.c. Exports the
 * PAM entry points only (pam_dpk.sym, checked by tests/unit/pam_dpk/test_pam_module). */
#include "pamdpk.h"

#include "dpk/client.h"

#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* Options, user and service, and a connection to a root-owned agent. A user
 * whose passwd entry another source has (root, local accounts, LDAP) is not
 * ours: PAM_USER_UNKNOWN (or PAM_IGNORE) at once, without the agent, so
 * local logins never depend on it. The entry (NULL if none) into *pw. */
static int
begin(pam_handle_t *pamh, int argc, const char **argv, struct pamdpk_opts *o, const char **user, char service[33],
    struct dpk_client **c, struct passwd *pwbuf, char *pwstr, size_t pwstrsz, struct passwd **pw)
{
	const void *svc = NULL;
	char bad[128];
	int r;

	*c = NULL;
	*pw = NULL;
	if (pamdpk_parse_opts(argc, argv, o, bad, sizeof(bad)) > 0)
		pam_syslog(pamh, LOG_ERR, "ignoring the unknown or malformed option '%s' (see pam_dpk(8))", bad);
	if ((r = pam_get_user(pamh, user, NULL)) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "cannot get the user name: %s", pam_strerror(pamh, r));
		return r;
	}
	if (*user == NULL || **user == '\0')
		return PAM_USER_UNKNOWN;
	if (getpwnam_r(*user, pwbuf, pwstr, pwstrsz, pw) != 0)
		*pw = NULL; /* no answer (the DPK agent itself may be down): the agent decides */
	if (pamdpk_not_mine(*pw, o)) {
		if (o->debug)
			pam_syslog(pamh, LOG_DEBUG, "%s is not a DPK user (uid %ld): left to the other modules", *user,
			    (long)(*pw)->pw_uid);
		return o->ignore_unknown_user ? PAM_IGNORE : PAM_USER_UNKNOWN;
	}
	pam_get_item(pamh, PAM_SERVICE, &svc);
	pamdpk_service_name(svc, service);
	if (pamdpk_check_socket(o->socket) != 0) {
		pam_syslog(pamh, LOG_ERR, "%s is not a socket owned by root: is dpk-agent running?", o->socket);
		return PAM_AUTHINFO_UNAVAIL;
	}
	/* require_root_owner: the peer must be root (SO_PEERCRED) before any byte is sent */
	if ((r = dpk_client_open(o->socket, o->timeout_ms, 1, c)) != 0) {
		pam_syslog(pamh, LOG_ERR, "%s: %s", o->socket, dpk_client_strerror(r));
		return PAM_AUTHINFO_UNAVAIL;
	}
	return PAM_SUCCESS;
}

/* Log a failed call and map it to a PAM code. */
static int
failed(pam_handle_t *pamh, struct dpk_client *c, int r, const char *what, const char *user, int user_lookup,
    const struct pamdpk_opts *o)
{
	const char *msg = dpk_client_strerror(r);
	int code = 0, pr;

	if (r == DPK_CLIENT_EAGENT)
		code = dpk_client_agent_error(c, &msg);
	pr = pamdpk_pam_code(r, code, user_lookup, o);
	if (pr != PAM_IGNORE || o->debug)
		pam_syslog(pamh, pr == PAM_AUTHINFO_UNAVAIL ? LOG_ERR : LOG_NOTICE, "%s for %s: %s", what, user, msg);
	return pr;
}

/* One PAM_PROMPT_ECHO_ON; the answer (malloc()ed) into *answer. */
static int
ask(pam_handle_t *pamh, const char *prompt, char **answer)
{
	const struct pam_conv *conv = NULL;
	struct pam_message msg = {PAM_PROMPT_ECHO_ON, prompt};
	const struct pam_message *msgp = &msg;
	struct pam_response *resp = NULL;
	int r;

	*answer = NULL;
	if ((r = pam_get_item(pamh, PAM_CONV, (const void **)&conv)) != PAM_SUCCESS || conv == NULL ||
	    conv->conv == NULL)
		return PAM_CONV_ERR;
	r = conv->conv(1, &msgp, &resp, conv->appdata_ptr);
	if (r != PAM_SUCCESS || resp == NULL || resp[0].resp == NULL) {
		if (resp != NULL)
			free(resp[0].resp);
		free(resp);
		return r != PAM_SUCCESS ? r : PAM_CONV_ERR;
	}
	*answer = resp[0].resp;
	free(resp);
	return PAM_SUCCESS;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct dpk_client_login_challenge ch;
	struct pamdpk_opts o;
	struct dpk_client *c = NULL;
	struct passwd pwbuf, *pw;
	const char *user = NULL;
	const void *rhost = NULL;
	char service[33], prompt[512], identity[254], *answer = NULL, pwstr[4096];
	int retval = PAM_AUTH_ERR, r;

	(void)flags;
	if ((retval = begin(pamh, argc, argv, &o, &user, service, &c, &pwbuf, pwstr, sizeof(pwstr), &pw)) != PAM_SUCCESS)
		goto out;
	retval = PAM_AUTH_ERR;
	/* the remote host (sshd sets it) lets the agent share challenges out per host */
	if (pam_get_item(pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	if ((r = dpk_client_login_challenge_from(c, user, service, rhost, &ch)) != 0) {
		retval = failed(pamh, c, r, "no login challenge", user, 1, &o);
		goto out;
	}
	if (!pamdpk_gecos_agrees(pw, ch.identity)) {
		pam_syslog(pamh, LOG_NOTICE, "%s: its passwd entry does not name DPK identity %s; refusing", user, ch.identity);
		goto out;
	}
	pamdpk_prompt(ch.host, ch.identity, (long long)ch.expiry - (long long)time(NULL), ch.challenge, prompt, sizeof(prompt));
	if ((retval = ask(pamh, prompt, &answer)) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "the conversation for %s failed: %s", user, pam_strerror(pamh, retval));
		goto out;
	}
	pamdpk_trim(answer);
	if (answer[0] == '\0' || strlen(answer) > DPK_CLIENT_LOGIN_TEXT_MAX) {
		pam_syslog(pamh, LOG_NOTICE, "%s gave no response to the login challenge", user);
		retval = PAM_AUTH_ERR;
		goto out;
	}
	if ((r = dpk_client_login_verify(c, ch.challenge, answer, identity, sizeof(identity))) != 0) {
		retval = failed(pamh, c, r, "login refused", user, 0, &o);
		goto out;
	}
	char proof[48] = "";
	uint64_t block;

	if (dpk_client_login_proof(c, &block, NULL))
		snprintf(proof, sizeof(proof), "; record proven at block %llu", (unsigned long long)block);
	if (dpk_client_login_stale_ms(c) != 0)
		pam_syslog(pamh, LOG_NOTICE, "%s logged in to %s with DPK identity %s, checked against a record %u s old: "
		    "the chain is unreachable (offline_login_max_age)%s", user, service, identity,
		    dpk_client_login_stale_ms(c) / 1000, proof);
	else if (o.debug)
		pam_syslog(pamh, LOG_DEBUG, "%s logged in to %s with DPK identity %s%s", user, service, identity, proof);
	retval = PAM_SUCCESS;
out:
	if (answer != NULL) {
		explicit_bzero(answer, strlen(answer));
		free(answer);
	}
	dpk_client_close(c);
	return retval;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS; /* no credentials to set: the agent keeps every key */
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pamdpk_opts o;
	struct dpk_client *c = NULL;
	struct passwd pwbuf, *pw;
	const char *user = NULL;
	char service[33], identity[254], pwstr[4096];
	uint8_t status = 0;
	int retval = PAM_PERM_DENIED, r;

	(void)flags;
	if ((retval = begin(pamh, argc, argv, &o, &user, service, &c, &pwbuf, pwstr, sizeof(pwstr), &pw)) != PAM_SUCCESS)
		goto out;
	retval = PAM_PERM_DENIED;
	if ((r = dpk_client_login_account(c, user, &status, identity, sizeof(identity))) != 0) {
		retval = failed(pamh, c, r, "no account check", user, 1, &o);
		if (retval == PAM_AUTH_ERR) /* revoked, or not allowed to log in here */
			retval = PAM_PERM_DENIED;
		goto out;
	}
	if (status == 1 && !pamdpk_gecos_agrees(pw, identity)) {
		pam_syslog(pamh, LOG_NOTICE, "%s: its passwd entry does not name DPK identity %s; refusing", user, identity);
		retval = PAM_PERM_DENIED;
	} else if (status == 1) {
		uint64_t block;

		if (o.debug && dpk_client_login_proof(c, &block, NULL))
			pam_syslog(pamh, LOG_DEBUG, "%s: account of DPK identity %s in order; record proven at block %llu",
			    user, identity, (unsigned long long)block);
		retval = PAM_SUCCESS;
	} else {
		pam_syslog(pamh, LOG_NOTICE, "%s: DPK identity %s is %s on chain", user, identity,
		    status == 2 ? "revoked" : "not registered");
		retval = status == 2 ? PAM_PERM_DENIED : PAM_USER_UNKNOWN;
		if (retval == PAM_USER_UNKNOWN && o.ignore_unknown_user)
			retval = PAM_IGNORE;
	}
out:
	dpk_client_close(c);
	return retval;
}
