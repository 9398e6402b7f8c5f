/* dpk-pkm's operator interface (/api/v1/, doc/pkm-api.md) against a real
 * dpk-pkm serve and anvil with the registry deployed. The operator is a
 * real device: a dpk-agent whose identity is registered on chain, answering
 * the PKM's login challenge with `dpkctl respond --yes`, as a person would.
 * Covers: login (and its refusals: not an operator, replayed, another
 * device's answer, garbage), sessions that expire, CSRF and Origin on every
 * state change, an oversized body, the refusals the CLI makes (with the
 * same sentences), enrolment of a domain without proof of control, revoking
 * an identity this PKM did not approve, rate limits, and the whole life of a
 * UUID device: enrol, download the token once, a real agent registers with
 * it through the PKM, approved, revoked by the operator, revoked; every
 * action in the audit log with the operator's identity. Domain Control
 * Validation runs against Debian's busybox httpd and dnsmasq: the whole test
 * runs in a private network and mount namespace (unshare, as root) whose
 * resolv.conf names that DNS server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "registry/identity.h"
#include "registry/registry.h"
#include "eth/txsend.h"

#define OPERATOR "op.example.org"
#define HOST "pkm-host.example.org"
#define SESSION_S 8

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20], pkm_addr[20];
	char dir[64], conf[128], log[128];
	int port, web_port;
	pid_t pkm;
	struct dpk_test_agent op, other;
};

struct http {
	long status;
	char *body;
	size_t len;
	char cookie[200];         /* the session cookie "dpk_session=..." set by the answer */
	char disposition[200];
	cJSON *json;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	char *b = realloc(h->body, h->len + size * n + 1);

	assert_non_null(b);
	memcpy(b + h->len, p, size * n);
	h->body = b;
	h->len += size * n;
	b[h->len] = '\0';
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Set-Cookie: ", 12) == 0) {
		const char *semi = memchr(p + 12, ';', len - 12);

		snprintf(h->cookie, sizeof(h->cookie), "%.*s", (int)((semi ? semi : p + len) - (p + 12)), p + 12);
		/* the attributes the browser must enforce */
		assert_non_null(strstr(p, "Secure"));
		assert_non_null(strstr(p, "HttpOnly"));
		assert_non_null(strstr(p, "SameSite=Strict"));
	}
	if (len > 21 && strncasecmp(p, "Content-Disposition: ", 21) == 0)
		snprintf(h->disposition, sizeof(h->disposition), "%.*s", (int)(len - 21), p + 21);
	return len;
}

static void
http_free(struct http *h)
{
	free(h->body);
	cJSON_Delete(h->json);
	memset(h, 0, sizeof(*h));
}

/* The client address the "proxy" names in X-Real-IP for the next requests (NULL: none). */
static const char *client_ip;

/* One request to the web interface. body NULL: GET. ctype NULL: JSON. */
static void
req(struct env *e, const char *method, const char *path, const char *body, const char *ctype, const char *cookie,
    const char *csrf, const char *origin, struct http *h)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hd = NULL;
	char url[256], line[300];

	memset(h, 0, sizeof(*h));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", e->web_port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		snprintf(line, sizeof(line), "Content-Type: %s", ctype != NULL ? ctype : "application/json");
		hd = curl_slist_append(hd, line);
	}
	if (csrf != NULL) {
		snprintf(line, sizeof(line), "X-CSRF-Token: %s", csrf);
		hd = curl_slist_append(hd, line);
	}
	if (origin != NULL) {
		snprintf(line, sizeof(line), "Origin: %s", origin);
		hd = curl_slist_append(hd, line);
	}
	if (client_ip != NULL) {
		snprintf(line, sizeof(line), "X-Real-IP: %s", client_ip);
		hd = curl_slist_append(hd, line);
	}
	hd = curl_slist_append(hd, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	if (cookie != NULL)
		curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
	if (curl_easy_perform(c) != CURLE_OK)
		fail_msg("%s %s: no answer from dpk-pkm (see %s)", method, path, e->log);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(c);
	if (h->body != NULL)
		h->json = cJSON_Parse(h->body);
}

static const char *
jget(const struct http *h, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h->json, key));

	return v != NULL ? v : "";
}

/* The answer's status and, for a refusal, its sentence contains want. */
static void
expect(const struct http *h, long status, const char *want)
{
	if (h->status != status || (want != NULL && strstr(h->body != NULL ? h->body : "", want) == NULL))
		fail_msg("expected %ld with '%s', got %ld: %s", status, want ? want : "", h->status,
		    h->body != NULL ? h->body : "");
}

/* dpkctl respond --yes on the device agent a. */
static int
respond(const struct dpk_test_agent *a, const char *challenge, char *out, size_t outsz)
{
	char prog[512];
	struct dpk_buf o;
	int r;

	dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
	char *argv[] = {prog, (char *)"--socket", (char *)a->sock, (char *)"respond", (char *)"--yes", (char *)challenge,
	    NULL};
	r = dpk_test_run(argv, NULL, &o);
	dpk_test_chomp(&o);
	snprintf(out, outsz, "%.*s", (int)o.len, o.data != NULL ? (const char *)o.data : "");
	dpk_buf_free(&o);
	return r;
}

static void
challenge_for(struct env *e, const char *who, char *ch, size_t chsz)
{
	struct http h;
	char body[300];

	snprintf(body, sizeof(body), "{\"operator\":\"%s\"}", who);
	req(e, "POST", "/api/v1/login/challenge", body, NULL, NULL, NULL, NULL, &h);
	expect(&h, 200, NULL);
	snprintf(ch, chsz, "%s", jget(&h, "challenge"));
	assert_int_equal(strncmp(ch, "DPK-LOGIN-v1.", 13), 0);
	http_free(&h);
}

static void
post_login(struct env *e, const char *ch, const char *resp, struct http *h)
{
	char body[1200];

	snprintf(body, sizeof(body), "{\"challenge\":\"%s\",\"response\":\"%s\"}", ch, resp);
	req(e, "POST", "/api/v1/login", body, NULL, NULL, NULL, NULL, h);
}

/* Log the operator in: its session cookie and CSRF token. */
static void
login(struct env *e, char cookie[200], char csrf[65])
{
	struct http h;
	char ch[512], resp[600];

	challenge_for(e, OPERATOR, ch, sizeof(ch));
	if (respond(&e->op, ch, resp, sizeof(resp)) != 0)
		fail_msg("dpkctl respond failed on the operator's device (see %s)", e->op.log);
	post_login(e, ch, resp, &h);
	expect(&h, 200, NULL);
	assert_string_equal(jget(&h, "operator"), OPERATOR);
	assert_int_equal(strlen(jget(&h, "csrf")), 64);
	assert_true(h.cookie[0] != '\0');
	snprintf(cookie, 200, "%s", h.cookie);
	snprintf(csrf, 65, "%s", jget(&h, "csrf"));
	http_free(&h);
}

/* A log, for a failure's reader (the test's directory is removed). */
static void
dump(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	fprintf(stderr, "--- %s\n", path);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	if (f != NULL)
		fclose(f);
}

static int
run_pkm(struct env *e, const char *a1, const char *a2, struct dpk_buf *out)
{
	char prog[512];

	dpk_test_built("pkm/dpk-pkm", prog, sizeof(prog));
	char *argv[] = {prog, (char *)"-c", e->conf, (char *)a1, (char *)a2, NULL};
	return dpk_test_run(argv, NULL, out);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dpk_buf out, data, hostkey;
	char addr[43], path[128], extra[256];
	const char *w;
	FILE *f;

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/pkm.conf", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/pkm.log", e->dir);
	e->port = dpk_test_free_port();
	do
		e->web_port = dpk_test_free_port();
	while (e->web_port == e->port);
	dpk_wallet_address_format(e->contract, addr);
	f = fopen(e->conf, "w");
	assert_non_null(f);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nlisten = 127.0.0.1:%d\n"
	    "fund_amount = 10000000000000000\nrpc_timeout = 2s\nrequest_timeout = 15s\n"
	    "web_listen = 127.0.0.1:%d\nweb_identity = " HOST "\noperator = " OPERATOR "\n"
	    "web_session_lifetime = %ds\nweb_rate_limit = 60\ndcv_deadline = 4s\nweb_client_header = X-Real-IP\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->port, e->web_port, SESSION_S);
	fclose(f);

	/* the PKM: init, funded, an approver of the registry */
	dpk_buf_init(&out, 1 << 20);
	assert_int_equal(run_pkm(e, "init", NULL, &out), 0);
	assert_int_equal(dpk_buf_cstr(&out), 0);
	w = strstr((const char *)out.data, "wallet: ");
	assert_non_null(w);
	assert_int_equal(dpk_wallet_address_parse_n(w + 8, 42, e->pkm_addr), 0);
	dpk_buf_free(&out);
	struct dpk_txsend fund = {.to = e->pkm_addr};
	struct dpk_rpc_receipt rc;
	dpk_u256_from_u64(&fund.value, 5000000000000000000ULL);
	assert_int_equal(dpk_txsend(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, &fund, 30000, NULL, NULL, &rc), 0);
	dpk_rpc_receipt_free(&rc);
	dpk_buf_init(&data, 4096);
	assert_int_equal(dpk_registry_encode_add_approver(&data, e->pkm_addr), 0);
	dpk_test_send(e->rpc, e->contract, &e->owner, &data);
	dpk_buf_free(&data);

	/* the PKM's host is registered (devices answer only registered hosts);
	 * the operator and another person have devices of their own */
	snprintf(path, sizeof(path), "%s/host.key", e->dir);
	dpk_test_new_key(path, DPK_IDKEY_P256, &hostkey);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, HOST, DPK_REGISTRY_ALG_P256, hostkey.data,
	    hostkey.len);
	dpk_buf_free(&hostkey);
	dpk_test_agent_start(&e->op, e->dir, "op", e->anvil.url, e->contract, "identity = " OPERATOR "\n");
	dpk_test_agent_register(&e->op, e->rpc, e->contract, &e->approver, &e->device, OPERATOR);
	snprintf(extra, sizeof(extra), "identity = other.example.org\n");
	dpk_test_agent_start(&e->other, e->dir, "other", e->anvil.url, e->contract, extra);
	dpk_test_agent_register(&e->other, e->rpc, e->contract, &e->approver, &e->device, "other.example.org");

	char prog[512];
	dpk_test_built("pkm/dpk-pkm", prog, sizeof(prog));
	char *argv[] = {prog, (char *)"-c", e->conf, (char *)"serve", NULL};
	e->pkm = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_port(e->web_port, 30000) != 0)
		fail_msg("dpk-pkm serve did not open its web interface (see %s)", e->log);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->pkm > 0) {
		kill(e->pkm, SIGTERM);
		if (dpk_test_wait_exit(e->pkm, 20000) != 0)
			fprintf(stderr, "dpk-pkm did not stop cleanly on SIGTERM (see %s)\n", e->log);
	}
	dpk_test_agent_stop(&e->op);
	dpk_test_agent_stop(&e->other);
	if (getenv("DPK_TEST_VERBOSE") != NULL)
		dump(e->log);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* Nothing without a session; a login by challenge-response, once. */
static void
test_login(void **state)
{
	struct env *e = *state;
	struct http h;
	char ch[512], resp[600], other_resp[600], cookie[200], csrf[65];

	req(e, "GET", "/api/v1/devices", NULL, NULL, NULL, NULL, NULL, &h);
	expect(&h, 401, "not logged in");
	http_free(&h);
	req(e, "GET", "/devices", NULL, NULL, NULL, NULL, NULL, &h);
	assert_int_equal(h.status, 303); /* the page sends a browser to /login */
	http_free(&h);
	/* a forged session cookie is no session */
	req(e, "GET", "/api/v1/devices", NULL, NULL,
	    "dpk_session=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL, NULL, &h);
	expect(&h, 401, "expired");
	http_free(&h);

	/* only operators get a challenge */
	req(e, "POST", "/api/v1/login/challenge", "{\"operator\":\"other.example.org\"}", NULL, NULL, NULL, NULL, &h);
	expect(&h, 403, "other.example.org is not an operator of this PKM");
	http_free(&h);
	req(e, "POST", "/api/v1/login/challenge", "{\"operator\":\"not an identity\"}", NULL, NULL, NULL, NULL, &h);
	expect(&h, 400, "is not a DPK identity");
	http_free(&h);

	/* another person's device refuses to answer the operator's challenge,
	 * and the answer to another challenge is not this one's */
	challenge_for(e, OPERATOR, ch, sizeof(ch));
	assert_int_not_equal(respond(&e->other, ch, other_resp, sizeof(other_resp)), 0);
	char ch2[512];
	challenge_for(e, OPERATOR, ch2, sizeof(ch2));
	assert_int_equal(respond(&e->op, ch2, other_resp, sizeof(other_resp)), 0);
	post_login(e, ch, other_resp, &h);
	expect(&h, 403, "is not " OPERATOR "'s signature of this challenge");
	http_free(&h);
	/* the challenge was spent by that wrong answer */
	assert_int_equal(respond(&e->op, ch, resp, sizeof(resp)), 0);
	post_login(e, ch, resp, &h);
	expect(&h, 403, "not open here");
	http_free(&h);
	post_login(e, "DPK-LOGIN-v1.AAAA", resp, &h);
	expect(&h, 400, "not a login challenge");
	http_free(&h);

	/* the right answer logs in, once */
	challenge_for(e, OPERATOR, ch, sizeof(ch));
	assert_int_equal(respond(&e->op, ch, resp, sizeof(resp)), 0);
	post_login(e, ch, resp, &h);
	expect(&h, 200, NULL);
	snprintf(cookie, sizeof(cookie), "%s", h.cookie);
	snprintf(csrf, sizeof(csrf), "%s", jget(&h, "csrf"));
	http_free(&h);
	post_login(e, ch, resp, &h);
	expect(&h, 403, "not open here");
	http_free(&h);
	req(e, "GET", "/api/v1/session", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 200, OPERATOR);
	http_free(&h);
	req(e, "GET", "/devices", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 200, "<table id=\"devices\">");
	http_free(&h);

	/* a session ends at its lifetime */
	dpk_test_sleep_ms((SESSION_S + 1) * 1000);
	req(e, "GET", "/api/v1/devices", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 401, "the session expired");
	http_free(&h);

	/* logging out ends it too */
	login(e, cookie, csrf);
	req(e, "POST", "/api/v1/logout", "{}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 200, NULL);
	http_free(&h);
	req(e, "GET", "/api/v1/devices", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 401, NULL);
	http_free(&h);
}

/* Every state change needs the session's CSRF token, and a browser's Origin must be this server. */
static void
test_csrf_and_limits(void **state)
{
	struct env *e = *state;
	struct http h;
	char cookie[200], csrf[65], wrong[65], origin[64];
	char *big;

	login(e, cookie, csrf);
	req(e, "POST", "/api/v1/enrol", "{\"kind\":\"uuid\"}", NULL, cookie, NULL, NULL, &h);
	expect(&h, 403, "CSRF");
	http_free(&h);
	memcpy(wrong, csrf, sizeof(wrong));
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	req(e, "POST", "/api/v1/enrol", "{\"kind\":\"uuid\"}", NULL, cookie, wrong, NULL, &h);
	expect(&h, 403, "CSRF");
	http_free(&h);
	/* a page of another site posting with the operator's cookie */
	req(e, "POST", "/api/v1/enrol", "{\"kind\":\"uuid\"}", NULL, cookie, csrf, "https://evil.example", &h);
	expect(&h, 403, "another site");
	http_free(&h);
	/* the form of a page, without the token */
	req(e, "POST", "/tokens/revoke", "token=00", "application/x-www-form-urlencoded", cookie, NULL, NULL, &h);
	expect(&h, 403, "CSRF");
	http_free(&h);
	/* JSON only, and an object */
	req(e, "POST", "/api/v1/enrol", "kind=uuid", "text/plain", cookie, csrf, NULL, &h);
	expect(&h, 415, NULL);
	http_free(&h);
	req(e, "POST", "/api/v1/enrol", "[1,2]", NULL, cookie, csrf, NULL, &h);
	expect(&h, 400, "not a JSON object");
	http_free(&h);
	/* an oversized body, with and without a session */
	big = malloc(20001);
	memset(big, 'a', 20000);
	big[20000] = '\0';
	req(e, "POST", "/api/v1/enrol", big, NULL, cookie, csrf, NULL, &h);
	expect(&h, 413, "over 16384 bytes");
	http_free(&h);
	req(e, "POST", "/api/v1/login", big, NULL, NULL, NULL, NULL, &h);
	expect(&h, 413, NULL);
	http_free(&h);
	free(big);
	/* the right token from this server's own page works */
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", e->web_port);
	req(e, "POST", "/api/v1/enrol", "{\"kind\":\"uuid\"}", NULL, cookie, csrf, origin, &h);
	expect(&h, 200, NULL);
	http_free(&h);
	req(e, "GET", "/api/v1/nothing", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 404, NULL);
	http_free(&h);
	req(e, "DELETE", "/api/v1/devices", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 405, NULL);
	http_free(&h);
}

/* What the CLI refuses, the API refuses with the same sentence; an address
 * is not enrolled without proof of control; an identity another approver
 * approved is not this PKM's to revoke. */
static void
test_refusals(void **state)
{
	struct env *e = *state;
	struct http h;
	struct dpk_buf out;
	char cookie[200], csrf[65], body[300];
	char prog[512];

	login(e, cookie, csrf);
	req(e, "POST", "/api/v1/enrol", "{\"identity\":\"Not..an identity\"}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 400, "'Not..an identity' is not a DPK identity (a domain name, IPv4 or IPv6 address, or UUID)");
	http_free(&h);
	req(e, "POST", "/api/v1/tokens/revoke", "{\"token\":\"nothex\"}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 400, "'nothex' is not a token id (32 hex digits)");
	http_free(&h);
	req(e, "POST", "/api/v1/tokens/revoke", "{\"token\":\"00112233445566778899aabbccddeeff\"}", NULL, cookie, csrf, NULL,
	    &h);
	expect(&h, 409, "no token 00112233445566778899aabbccddeeff");
	http_free(&h);
	/* the CLI says the same (on stderr; its status says refused) */
	dpk_test_built("pkm/dpk-pkm", prog, sizeof(prog));
	dpk_buf_init(&out, 4096);
	char *argv[] = {prog, (char *)"-c", e->conf, (char *)"revoke-token", (char *)"00112233445566778899aabbccddeeff", NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &out), 1);
	dpk_buf_free(&out);

	/* a domain and an address: no proof, no token */
	req(e, "POST", "/api/v1/enrol", "{\"identity\":\"unproved.example.org\"}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 403, "enrolling unproved.example.org needs proof of control");
	http_free(&h);
	req(e, "POST", "/api/v1/dcv", "{\"identity\":\"127.0.0.1\"}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 200, NULL);
	assert_int_equal(strlen(jget(&h, "value")), 64);
	snprintf(body, sizeof(body), "{\"identity\":\"127.0.0.1\",\"dcv_token\":\"%s\",\"method\":\"http\"}",
	    jget(&h, "token"));
	http_free(&h);
	req(e, "POST", "/api/v1/enrol", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, 403, "control of 127.0.0.1 is not proved (http): GET http://127.0.0.1/.well-known/dpk-challenge/");
	http_free(&h);
	req(e, "POST", "/api/v1/dcv", "{\"identity\":\"127.0.0.1\"}", NULL, cookie, csrf, NULL, &h);
	snprintf(body, sizeof(body), "{\"identity\":\"127.0.0.1\",\"dcv_token\":\"%s\",\"method\":\"dns\"}",
	    jget(&h, "token"));
	http_free(&h);
	req(e, "POST", "/api/v1/enrol", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, 403, "is an address: prove it with the http method");
	http_free(&h);
	/* a challenge opened for one identity proves nothing for another */
	req(e, "POST", "/api/v1/dcv", "{\"identity\":\"a.example.org\"}", NULL, cookie, csrf, NULL, &h);
	snprintf(body, sizeof(body), "{\"identity\":\"b.example.org\",\"dcv_token\":\"%s\"}", jget(&h, "token"));
	http_free(&h);
	req(e, "POST", "/api/v1/enrol", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, 403, "needs proof of control");
	http_free(&h);

	/* revocation: of this PKM's approvals only */
	req(e, "POST", "/api/v1/identities/revoke", "{\"identity\":\"never.example.org\"}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 404, "never.example.org is not registered on chain");
	http_free(&h);
	req(e, "POST", "/api/v1/identities/revoke", "{\"identity\":\"other.example.org\"}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 403, "not by this PKM");
	http_free(&h);
	/* the download of a token nobody enrolled */
	req(e, "GET", "/api/v1/tokens/00112233445566778899aabbccddeeff", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 410, "no file to download");
	http_free(&h);
}

/* A UUID device's life: enrol, download once, register with a real agent
 * through the PKM, approved; revoked by the operator. */
static void
test_device_life(void **state)
{
	struct env *e = *state;
	struct http h;
	struct dpk_test_agent dev;
	char cookie[200], csrf[65], token[33], identity[64], path[160], dl[80], extra[512], body[200];
	cJSON *d;
	int approved = 0;

	login(e, cookie, csrf);
	req(e, "POST", "/api/v1/enrol", "{\"kind\":\"uuid\"}", NULL, cookie, csrf, NULL, &h);
	expect(&h, 200, NULL);
	snprintf(token, sizeof(token), "%s", jget(&h, "token"));
	snprintf(identity, sizeof(identity), "%s", jget(&h, "identity"));
	snprintf(dl, sizeof(dl), "%s", jget(&h, "download"));
	assert_string_equal(jget(&h, "kind"), "uuid");
	assert_int_equal(strlen(identity), 36);
	assert_int_equal(identity[14], '4'); /* a version 4 UUID */
	http_free(&h);

	req(e, "GET", dl, NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 200, NULL);
	assert_non_null(strstr(h.disposition, token));
	snprintf(path, sizeof(path), "%s/device.token", e->dir);
	dpk_test_write_file(path, h.body, 0600);
	http_free(&h);
	req(e, "GET", dl, NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 410, "downloaded once");
	http_free(&h);

	req(e, "GET", "/api/v1/devices", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 200, token);
	http_free(&h);

	snprintf(extra, sizeof(extra), "identity = %s\ntoken_file = %s\nregistration = eip712\n", identity, path);
	dpk_test_agent_start(&dev, e->dir, "uuid-device", e->anvil.url, e->contract, extra);
	/* the device's owner registers it, as the README says: dpkctl register */
	char prog[512];
	struct dpk_buf rout;
	dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
	char *rargv[] = {prog, (char *)"--socket", dev.sock, (char *)"register", (char *)"--wait", (char *)"60", NULL};
	if (dpk_test_run(rargv, NULL, &rout) != 0) {
		dump(dev.log);
		dump(e->log);
		fail_msg("dpkctl register failed on the device");
	}
	dpk_buf_free(&rout);
	for (int i = 0; i < 150 && !approved; i++) {
		req(e, "GET", "/api/v1/devices", NULL, NULL, cookie, NULL, NULL, &h);
		if (h.status == 401) { /* the short session of this test ended */
			http_free(&h);
			login(e, cookie, csrf);
			continue;
		}
		expect(&h, 200, NULL);
		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(h.json, "devices")) {
			if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "token")), token) == 0 &&
			    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "state")), "approved") == 0) {
				approved = 1;
				assert_non_null(cJSON_GetObjectItemCaseSensitive(d, "wallet"));
				assert_non_null(cJSON_GetObjectItemCaseSensitive(d, "last_seen_on_chain"));
			}
		}
		http_free(&h);
		if (!approved)
			dpk_test_sleep_ms(200);
	}
	dpk_test_agent_stop(&dev);
	if (!approved) {
		dump(dev.log);
		dump(e->log);
	}
	if (!approved)
		fail_msg("the device %s was not approved (see %s and %s)", identity, dev.log, e->log);
	login(e, cookie, csrf);
	/* a used token cannot be withdrawn: the identity is revoked instead */
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", token);
	req(e, "POST", "/api/v1/tokens/revoke", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, 409, "was used already; revoke the identity on chain instead");
	http_free(&h);
	snprintf(body, sizeof(body), "{\"identity\":\"%s\"}", identity);
	req(e, "POST", "/api/v1/identities/revoke", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, 200, NULL);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h.json, "mined")));
	http_free(&h);
	req(e, "POST", "/api/v1/identities/revoke", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, 409, "revoked already");
	http_free(&h);
	req(e, "GET", "/api/v1/devices", NULL, NULL, cookie, NULL, NULL, &h);
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(h.json, "devices"))
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "token")), token) == 0)
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "state")), "revoked");
	http_free(&h);

	/* the audit log names the operator for each action */
	req(e, "GET", "/api/v1/audit", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 200, NULL);
	int seen_enrol = 0, seen_revoke = 0, seen_dl = 0;
	cJSON *l;
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(h.json, "lines")) {
		const char *s = cJSON_GetStringValue(l);

		if (strstr(s, "operator=" OPERATOR) == NULL)
			continue;
		seen_enrol |= strstr(s, "action=enrol target=") != NULL && strstr(s, identity) != NULL;
		seen_revoke |= strstr(s, "action=revoke-identity") != NULL && strstr(s, identity) != NULL;
		seen_dl |= strstr(s, "action=token-download") != NULL && strstr(s, token) != NULL;
	}
	assert_true(seen_enrol && seen_revoke && seen_dl);
	http_free(&h);
	/* the PKM's own page */
	req(e, "GET", "/api/v1/pkm", NULL, NULL, cookie, NULL, NULL, &h);
	expect(&h, 200, "BEGIN PUBLIC KEY");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h.json, "key_published")));
	http_free(&h);
}

/* The absolute path of a program on PATH; the test fails if it is missing. */
static void
tool(const char *name, char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	char dir[256];

	for (const char *p = path; p != NULL && *p != '\0';) {
		const char *colon = strchr(p, ':');
		size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);

		snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, p, name);
		if (access(dir, X_OK) == 0) {
			snprintf(out, outsz, "%s", dir);
			return;
		}
		p = colon != NULL ? colon + 1 : NULL;
	}
	fail_msg("%s is not installed (scripts/setup installs it)", name);
}

/* Write value at dir/.well-known/dpk-challenge/token. */
static void
serve_file(const char *dir, const char *token, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/.well-known", dir);
	mkdir(dir, 0755);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.well-known/dpk-challenge", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.well-known/dpk-challenge/%s", dir, token);
	dpk_test_write_file(path, value, 0644);
}

struct challenge {
	const char *identity;
	char token[33], value[65];
};

static void
open_challenge(struct env *e, const char *cookie, const char *csrf, struct challenge *c)
{
	struct http h;
	char body[200];

	snprintf(body, sizeof(body), "{\"identity\":\"%s\"}", c->identity);
	req(e, "POST", "/api/v1/dcv", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, 200, NULL);
	snprintf(c->token, sizeof(c->token), "%s", jget(&h, "token"));
	snprintf(c->value, sizeof(c->value), "%s", jget(&h, "value"));
	http_free(&h);
}

static void
enrol_proved(struct env *e, const struct challenge *c, const char *method, long status, const char *want)
{
	struct http h;
	char body[300], cookie[200], csrf[65];

	login(e, cookie, csrf); /* a failed check takes dcv_deadline: longer than this test's sessions */
	snprintf(body, sizeof(body), "{\"identity\":\"%s\",\"dcv_token\":\"%s\",\"method\":\"%s\"}", c->identity,
	    c->token, method);
	req(e, "POST", "/api/v1/enrol", body, NULL, cookie, csrf, NULL, &h);
	expect(&h, status, want);
	if (status == 200)
		assert_string_equal(jget(&h, "identity"), c->identity);
	http_free(&h);
}

/* Domain Control Validation against a real HTTP server (busybox httpd) and
 * a real DNS server (dnsmasq), both from Debian, in this test's private
 * network namespace, whose resolv.conf names the DNS server (main()). */
static void
test_dcv(void **state)
{
	struct env *e = *state;
	char cookie[200], csrf[65], docs[128], wrong[128], log[160];
	struct challenge good = {.identity = "good.test"}, bad = {.identity = "bad.test"}, dnsgood = {.identity = "dnsgood.test"}, dnsbad = {.identity = "dnsbad.test"},
		nxdomain = {.identity = "nxdomain.test"}, v4 = {.identity = "127.0.0.2"}, v6 = {.identity = "::1"}, late = {.identity = "late.test"}, other = {.identity = "good.test"};
	char txt1[128], txt2[128];
	pid_t web1, web2, web6, dns, writer;
	char busybox[256], dnsmasq[256];

	tool("busybox", busybox, sizeof(busybox));
	tool("dnsmasq", dnsmasq, sizeof(dnsmasq));
	login(e, cookie, csrf);
	open_challenge(e, cookie, csrf, &good);
	open_challenge(e, cookie, csrf, &bad);
	open_challenge(e, cookie, csrf, &dnsgood);
	open_challenge(e, cookie, csrf, &dnsbad);
	open_challenge(e, cookie, csrf, &nxdomain);
	open_challenge(e, cookie, csrf, &v4);
	open_challenge(e, cookie, csrf, &v6);
	open_challenge(e, cookie, csrf, &late);
	open_challenge(e, cookie, csrf, &other);

	/* good.test and 127.0.0.2 (and late.test, later) at 127.0.0.2 and [::1]; bad.test at 127.0.0.3 */
	snprintf(docs, sizeof(docs), "%s/www", e->dir);
	snprintf(wrong, sizeof(wrong), "%s/www-wrong", e->dir);
	serve_file(docs, good.token, good.value);
	serve_file(docs, v4.token, v4.value);
	serve_file(docs, v6.token, v6.value);
	serve_file(wrong, bad.token, good.value); /* another challenge's value */
	char *b1[] = {busybox, (char *)"httpd", (char *)"-f", (char *)"-p", (char *)"127.0.0.2:80", (char *)"-h", docs,
	    NULL};
	char *b2[] = {busybox, (char *)"httpd", (char *)"-f", (char *)"-p", (char *)"127.0.0.3:80", (char *)"-h", wrong,
	    NULL};
	char *b6[] = {busybox, (char *)"httpd", (char *)"-f", (char *)"-p", (char *)"[::1]:80", (char *)"-h", docs,
	    NULL};
	snprintf(log, sizeof(log), "%s/httpd.log", e->dir);
	web1 = dpk_test_spawn(b1, log);
	web2 = dpk_test_spawn(b2, log);
	web6 = dpk_test_spawn(b6, log);
	snprintf(txt1, sizeof(txt1), "--txt-record=_dpk-challenge.dnsgood.test,%s", dnsgood.value);
	snprintf(txt2, sizeof(txt2), "--txt-record=_dpk-challenge.dnsbad.test,%s", dnsgood.value);
	char *d[] = {dnsmasq, (char *)"-k", (char *)"--no-resolv", (char *)"--no-hosts", (char *)"--conf-file=/dev/null",
	    (char *)"--listen-address=127.0.0.53", (char *)"--bind-interfaces", (char *)"--pid-file=", (char *)"--user=root",
	    (char *)"--host-record=good.test,127.0.0.2", (char *)"--host-record=late.test,127.0.0.2",
	    (char *)"--host-record=bad.test,127.0.0.3", (char *)"--address=/nxdomain.test/", txt1, txt2,
	    (char *)"--log-facility=-", NULL};
	snprintf(log, sizeof(log), "%s/dnsmasq.log", e->dir);
	dns = dpk_test_spawn(d, log);
	dpk_test_sleep_ms(500); /* the first tries of each check wait for the servers anyway */

	/* the right value: enrolled; the wrong one, or none: refused, with the reason */
	enrol_proved(e, &good, "http", 200, NULL);
	enrol_proved(e, &bad, "http", 403,
	    "control of bad.test is not proved (http): GET http://bad.test/.well-known/dpk-challenge/");
	enrol_proved(e, &dnsgood, "dns", 200, NULL);
	enrol_proved(e, &dnsbad, "dns", 403,
	    "control of dnsbad.test is not proved (dns): TXT _dpk-challenge.dnsbad.test: no record holds the challenge's value");
	enrol_proved(e, &nxdomain, "dns", 403, "TXT _dpk-challenge.nxdomain.test: no such name");
	enrol_proved(e, &v4, "http", 200, NULL);
	enrol_proved(e, &v6, "http", 200, NULL);
	/* the token of one challenge proves nothing by another challenge's file */
	enrol_proved(e, &other, "dns", 403, "control of good.test is not proved (dns): TXT _dpk-challenge.good.test: ");
	/* retries with back-off: the file appears a second and a half after the first try */
	if ((writer = fork()) == 0) {
		dpk_test_sleep_ms(1500);
		serve_file(docs, late.token, late.value);
		_exit(0);
	}
	enrol_proved(e, &late, "http", 200, NULL);
	waitpid(writer, NULL, 0);

	pid_t all[] = {web1, web2, web6, dns};
	for (size_t i = 0; i < 4; i++) {
		kill(all[i], SIGTERM);
		waitpid(all[i], NULL, 0);
	}
}

/* Run the browser script for step; its stdout into out (chomped). */
static void
browser(struct env *e, const char *step, const char *extra_env, struct dpk_buf *out)
{
	const char *data = getenv("DPK_TEST_DATA"), *build = getenv("DPK_TOP_BUILDDIR");
	char node[256], chromium[256], dpkctl[512], script[512], modules[512], shots[512];

	if (data == NULL || build == NULL)
		fail_msg("DPK_TEST_DATA and DPK_TOP_BUILDDIR are not set (run it with make check)");
	tool("node", node, sizeof(node));
	tool("chromium", chromium, sizeof(chromium));
	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	/* the source tree is DPK_TEST_DATA's grandparent */
	snprintf(script, sizeof(script), "%s/../integration/pkm_web_browser.js", data);
	snprintf(modules, sizeof(modules), "%s/../../tools/node_modules", data);
	if (access(modules, R_OK) != 0)
		fail_msg("%s is missing: run scripts/setup (puppeteer-core)", modules);
	snprintf(shots, sizeof(shots), "%s/tests/integration/pkm_web_screenshots", build);
	mkdir(shots, 0755);
	char v[9][600];
	snprintf(v[0], sizeof(v[0]), "PKM_URL=http://127.0.0.1:%d", e->web_port);
	snprintf(v[1], sizeof(v[1]), "CHROMIUM=%s", chromium);
	snprintf(v[2], sizeof(v[2]), "DPKCTL=%s", dpkctl);
	snprintf(v[3], sizeof(v[3]), "OPERATOR=%s", OPERATOR);
	snprintf(v[4], sizeof(v[4]), "OPERATOR_SOCKET=%s", e->op.sock);
	snprintf(v[5], sizeof(v[5]), "SHOTS=%s", shots);
	snprintf(v[6], sizeof(v[6]), "NODE_PATH=%s", modules);
	snprintf(v[7], sizeof(v[7]), "HOME=%s", e->dir);
	snprintf(v[8], sizeof(v[8]), "%s", extra_env);
	/* env(1) sets them for node alone */
	char *argv[] = {(char *)"/usr/bin/env", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], node, script,
	    (char *)step, NULL};
	if (dpk_test_run(argv, NULL, out) != 0) {
		dump(e->log);
		fail_msg("the browser step '%s' failed (its error is above; screenshots in %s)", step, shots);
	}
	dpk_test_chomp(out);
}

/* The pages in headless Chromium: operator login by challenge-response,
 * enrol a UUID device, download its token, register the device with a
 * real agent, see it approved, revoke it, see it revoked. Screenshots stay
 * in the build folder (tests/integration/pkm_web_screenshots). */
static void
test_browser(void **state)
{
	struct env *e = *state;
	struct dpk_test_agent dev;
	struct dpk_buf out;
	char token[160], extra[512], identity[64], env1[256], dpkctl[512];

	snprintf(token, sizeof(token), "%s/browser.token", e->dir);
	snprintf(env1, sizeof(env1), "TOKEN_FILE=%s", token);
	browser(e, "enrol", env1, &out);
	assert_int_equal(dpk_buf_cstr(&out), 0);
	const char *id = strstr((const char *)out.data, "identity ");
	assert_non_null(id);
	snprintf(identity, sizeof(identity), "%.36s", id + 9);
	dpk_buf_free(&out);

	snprintf(extra, sizeof(extra), "identity = %s\ntoken_file = %s\nregistration = eip712\n", identity, token);
	dpk_test_agent_start(&dev, e->dir, "browser-device", e->anvil.url, e->contract, extra);
	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	char *rargv[] = {dpkctl, (char *)"--socket", dev.sock, (char *)"register", (char *)"--wait", (char *)"60", NULL};
	if (dpk_test_run(rargv, NULL, &out) != 0) {
		dump(dev.log);
		fail_msg("dpkctl register failed on the browser's device");
	}
	dpk_buf_free(&out);
	dpk_test_agent_stop(&dev);

	snprintf(env1, sizeof(env1), "IDENTITY=%s", identity);
	browser(e, "revoke", env1, &out);
	dpk_buf_free(&out);
}

/* Logins from one source are limited per minute; behind the proxy the
 * source is the address in its header (web_client_header). */
static void
test_rate_limit(void **state)
{
	struct env *e = *state;
	struct http h;
	int limited = 0;

	client_ip = "192.0.2.7";
	/* 130 tries span at most two minutes: one of them passes 60 */
	for (int i = 0; i < 130 && !limited; i++) {
		/* a name that is no operator: refused, and counted all the same */
		req(e, "POST", "/api/v1/login/challenge", "{\"operator\":\"other.example.org\"}", NULL, NULL, NULL, NULL, &h);
		if (h.status == 429) {
			expect(&h, 429, "too many logins");
			limited = 1;
		} else {
			expect(&h, 403, "not an operator");
		}
		http_free(&h);
	}
	assert_true(limited);
	/* another client behind the same proxy is not limited, nor is the peer itself */
	client_ip = "2001:db8::1";
	req(e, "POST", "/api/v1/login/challenge", "{\"operator\":\"" OPERATOR "\"}", NULL, NULL, NULL, NULL, &h);
	expect(&h, 200, NULL);
	http_free(&h);
	/* only the last address counts: a client's own earlier entries are not believed */
	client_ip = "192.0.2.8, 192.0.2.7";
	req(e, "POST", "/api/v1/login/challenge", "{\"operator\":\"other.example.org\"}", NULL, NULL, NULL, NULL, &h);
	expect(&h, 429, NULL);
	http_free(&h);
	/* challenges for one operator, asked from many addresses, stop at 16
	 * open ones: the other operators' logins are not used up */
	int busy = 0;
	for (int i = 0; i < 20 && !busy; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		client_ip = ip;
		req(e, "POST", "/api/v1/login/challenge", "{\"operator\":\"" OPERATOR "\"}", NULL, NULL, NULL, NULL, &h);
		busy = h.status == 503;
		if (busy)
			expect(&h, 503, "login challenges for " OPERATOR " are open");
		else
			expect(&h, 200, NULL);
		http_free(&h);
	}
	assert_true(busy);
	client_ip = "not an address";
	req(e, "POST", "/api/v1/login/challenge", "{\"operator\":\"" OPERATOR "\"}", NULL, NULL, NULL, NULL, &h);
	expect(&h, 400, "X-Real-IP header does not name one address");
	http_free(&h);
	client_ip = NULL;
}

int
main(int argc, char **argv)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)argc;
	(void)argv;
	if (n <= 0)
		return 1;
	self[n] = '\0';
	/* ip and dnsmasq live in sbin, which a user's PATH may lack */
	char path[4096];
	snprintf(path, sizeof(path), "%s:/usr/sbin:/sbin", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_csrf_and_limits),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_device_life),
		cmocka_unit_test(test_dcv),
		cmocka_unit_test(test_browser),
		cmocka_unit_test(test_rate_limit),
	};

	/* The whole test runs in a private network and mount namespace: the DCV
	 * servers take port 80 and 53 on loopback addresses of its own, and its
	 * resolv.conf (bound over /etc/resolv.conf) names the DNS server. */
	if (getenv("DPK_TEST_NETNS") == NULL) {
		char *ns[] = {(char *)"unshare", (char *)"--net", (char *)"--mount", self, NULL};

		setenv("DPK_TEST_NETNS", "1", 1);
		execvp("unshare", ns);
		fprintf(stderr, "test_pkm_web: cannot run unshare --net --mount (util-linux, as root): %s\n", strerror(errno));
		return 1;
	}
	char resolv[64] = "/tmp/dpk-test-resolv.XXXXXX";
	int fd = mkstemp(resolv), r;
	char *up[] = {(char *)"/usr/sbin/ip", (char *)"link", (char *)"set", (char *)"lo", (char *)"up", NULL};

	if (fd < 0 || write(fd, "nameserver 127.0.0.53\noptions timeout:1 attempts:2\n", 51) != 51 ||
	    mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0 || dpk_test_run(up, NULL, NULL) != 0) {
		fprintf(stderr, "test_pkm_web: cannot set up the network namespace (lo up, resolv.conf): %s\n",
		    strerror(errno));
		return 1;
	}
	close(fd);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests(tests, setup, teardown);
	umount("/etc/resolv.conf");
	unlink(resolv);
	return r;
}
