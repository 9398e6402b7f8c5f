/* dpk-pkm's operator interface (man page dpk-pkm(8), doc/pkm-api.md): an
 * HTTP server (libmicrohttpd) on a loopback address, behind a TLS proxy.
 *   web.c        the server: requests and their caps, sessions, CSRF, rate
 *                limits, operator login by challenge-response, audit log;
 *   web_api.c    the actions (JSON in, JSON out), for /api/v1/ and the pages;
 *   web_pages.c  the HTML pages, made from the actions' results;
 *   dcv.c        Domain Control Validation before a domain or address enrols. */
#ifndef DPK_PKM_WEB_H
#define DPK_PKM_WEB_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "registry/identity.h"
#include "serve.h"

struct pkm_web;

/* Start the interface on cfg.web_listen with threads of its own; the chain
 * path is the device channel's, so transactions share one nonce sequence.
 * 0, or -1 with the reason logged. */
int pkm_web_start(struct pkm *p, struct pkm_chain *chain, struct pkm_web **out);
/* Stop it: finish the requests in progress, wipe sessions and tokens. */
void pkm_web_stop(struct pkm_web *w);

/* --- between web.c, web_api.c and web_pages.c --- */

/* One request as the actions see it: who asks (an operator once logged in)
 * and from where. */
struct pkm_web_req {
	struct pkm_web *w;
	struct pkm *p;
	struct pkm_chain *chain;
	char source[64];          /* the client's address (an IPv6 /64) */
	char operator[DPK_IDENTITY_FORMAT_SIZE]; /* "" before login */
	char csrf[65];            /* the session's CSRF token, for the pages' forms */
	const char *session_cookie; /* set by a successful login: "name=value; attributes" */
	char set_cookie[256];
};

/* An action: in is a JSON object (the request body, or the form's fields as
 * strings; never NULL), *out a new JSON object (the answer, or {"error":
 * sentence}). Returns the HTTP status. */
typedef int (*pkm_web_action_fn)(struct pkm_web_req *q, const cJSON *in, cJSON **out);

int pkm_web_api_login_challenge(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_login(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_logout(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_session(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_devices(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_dcv(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_enrol(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_token_revoke(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_identity_revoke(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_pkm(struct pkm_web_req *q, const cJSON *in, cJSON **out);
int pkm_web_api_audit(struct pkm_web_req *q, const cJSON *in, cJSON **out);
/* The token file of a new enrolment, once: 200 and *text (malloc'd, the
 * caller wipes and frees it), or 404/410 with *out an error. */
int pkm_web_token_take(struct pkm_web_req *q, const char *token_hex, char **text, size_t *len, cJSON **out);

/* web.c's services to the actions. */
cJSON *pkm_web_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 0 if the source may do one more of kind ("login", "enrol") this minute. */
int pkm_web_rate_ok(struct pkm_web *w, const char *source, int kind);
#define PKM_WEB_RATE_LOGIN 0
#define PKM_WEB_RATE_ENROL 1
/* Append one line to the audit log: who, from where, what, on what, outcome. */
void pkm_web_audit(struct pkm_web *w, const char *operator, const char *source, const char *action,
    const char *target, const char *outcome);
/* The audit log's last max lines, oldest first, as a JSON array of strings. */
cJSON *pkm_web_audit_tail(struct pkm_web *w, size_t max);
/* Login state: issue a challenge for operator (0, text into ch[401]) and
 * verify an answer (0 and the operator into q, a session opened). */
int pkm_web_login_begin(struct pkm_web *w, const char *operator, char ch[401], uint64_t *expiry, char *msg,
    size_t msgsz);
int pkm_web_login_finish(struct pkm_web_req *q, const char *challenge, const char *response, char *msg,
    size_t msgsz);
void pkm_web_logout(struct pkm_web_req *q);
/* Keep a token's file text for one download (text is copied). */
int pkm_web_token_keep(struct pkm_web *w, const char *token_hex, const uint8_t *text, size_t len);
/* DCV challenges: open one (0, token into token[33]) and take it back for
 * the enrolment (0 if identity has an open challenge token). */
int pkm_web_dcv_open(struct pkm_web *w, const char *identity, char token[33]);
int pkm_web_dcv_find(struct pkm_web *w, const char *identity, const char *token);
void pkm_web_dcv_close(struct pkm_web *w, const char *token);

/* web_pages.c: answer a page request (GET, or a form POST already checked
 * for CSRF); *body a new HTML text, *status, *redirect (a path, or NULL). */
struct pkm_web_page {
	int status;
	char *body;               /* malloc'd */
	size_t len;
	const char *redirect;     /* a fixed path, or NULL */
	const char *content_type; /* default text/html */
	char filename[64];        /* a download's name */
	int wipe;                 /* the body is secret: wiped before it is freed */
};
int pkm_web_page(struct pkm_web_req *q, const char *method, const char *path, const cJSON *form,
    struct pkm_web_page *pg);

#endif
