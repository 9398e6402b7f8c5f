/* The operator interface's HTML pages (web.h): plain server-rendered HTML
 * made from the same actions as /api/v1/, one small script (confirmations,
 * copying the challenge) and one style sheet, served from this file. Every
 * value from the database, the chain or the request is HTML-escaped; the
 * Content-Security-Policy (web.c) allows no inline script or style. */
#include "web.h"

#include "base/buf.h"
#include "base/hex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX (1u << 22)

static const char script[] =
	"'use strict';\n"
	"document.addEventListener('submit', function (e) {\n"
	"  var m = e.target.getAttribute('data-confirm');\n"
	"  if (m && !window.confirm(m)) e.preventDefault();\n"
	"});\n"
	"document.addEventListener('click', function (e) {\n"
	"  var id = e.target.getAttribute('data-copy');\n"
	"  if (id && navigator.clipboard) navigator.clipboard.writeText(document.getElementById(id).textContent);\n"
	"});\n";

static const char style[] =
	"body{font-family:sans-serif;margin:1em 2em;color:#222}nav a,nav form{margin-right:1em;display:inline}"
	"table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;font-size:.9em}"
	"pre,code{background:#f4f4f4;padding:.2em;overflow-wrap:anywhere;white-space:pre-wrap}"
	".error{color:#a00;font-weight:bold}.ok{color:#070}textarea{width:100%}"
	".state-approved{color:#070}.state-revoked{color:#a00}.state-pending{color:#a60}\n";

static void
put(struct dpk_buf *b, const char *s)
{
	dpk_buf_put(b, s, strlen(s));
}

static void
putf(struct dpk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
putf(struct dpk_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		dpk_buf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* text, HTML-escaped (for element content and quoted attributes) */
static void
esc(struct dpk_buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<': put(b, "&lt;"); break;
		case '>': put(b, "&gt;"); break;
		case '&': put(b, "&amp;"); break;
		case '"': put(b, "&quot;"); break;
		case '\'': put(b, "&#39;"); break;
		default: dpk_buf_put(b, s, 1);
		}
	}
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));

	return v != NULL ? v : "";
}

static void
head(struct dpk_buf *b, const struct pkm_web_req *q, const char *title)
{
	put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
	esc(b, title);
	put(b, " — dpk-pkm</title><link rel=\"stylesheet\" href=\"/static/pkm.css\">"
	    "<script src=\"/static/pkm.js\" defer></script></head><body>\n");
	if (q->operator[0] != '\0') {
		put(b, "<nav><a href=\"/devices\">Devices</a><a href=\"/enrol\">Enrol</a><a href=\"/pkm\">PKM</a>"
		    "<a href=\"/audit\">Audit log</a><form method=\"post\" action=\"/logout\"><input type=\"hidden\" "
		    "name=\"csrf\" value=\"");
		esc(b, q->csrf);
		put(b, "\"><button id=\"logout\">Log out ");
		esc(b, q->operator);
		put(b, "</button></form></nav>\n");
	}
	put(b, "<h1>");
	esc(b, title);
	put(b, "</h1>\n");
}

static void
csrf_field(struct dpk_buf *b, const struct pkm_web_req *q)
{
	put(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	esc(b, q->csrf);
	put(b, "\">");
}

static void
error_p(struct dpk_buf *b, const cJSON *o)
{
	put(b, "<p class=\"error\" id=\"error\">");
	esc(b, jstr(o, "error"));
	put(b, "</p>\n");
}

static int
finish(struct dpk_buf *b, struct pkm_web_page *pg, int status)
{
	put(b, "</body></html>\n");
	pg->len = b->len;
	pg->body = (char *)b->data; /* the buffer's allocation passes to the page */
	b->data = NULL;
	b->len = b->cap = 0;
	pg->status = status;
	return status;
}

static int
login_page(struct pkm_web_req *q, const char *method, const cJSON *form, struct dpk_buf *b, struct pkm_web_page *pg)
{
	cJSON *out = NULL;
	int status = 200;

	if (strcmp(method, "POST") == 0) {
		status = pkm_web_api_login(q, form, &out);
		if (status == 200) {
			cJSON_Delete(out);
			pg->redirect = "/devices";
			return 303;
		}
	}
	head(b, q, "Operator login");
	if (out != NULL)
		error_p(b, out);
	cJSON_Delete(out);
	out = NULL;
	if (strcmp(method, "GET") == 0 && cJSON_GetObjectItemCaseSensitive(form, "operator") != NULL) {
		status = pkm_web_api_login_challenge(q, form, &out);
		if (status == 200) {
			put(b, "<p>On your device, run this and confirm the host it names:</p><pre id=\"command\">dpkctl respond ");
			esc(b, jstr(out, "challenge"));
			put(b, "</pre><button type=\"button\" data-copy=\"challenge\">Copy the challenge</button>"
			    "<pre id=\"challenge\" hidden>");
			esc(b, jstr(out, "challenge"));
			put(b, "</pre><form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"challenge\" value=\"");
			esc(b, jstr(out, "challenge"));
			put(b, "\"><p><label>Its answer (DPK-RESPONSE-v1.…)<br><textarea name=\"response\" id=\"response\" "
			    "rows=\"4\" required></textarea></label></p><button id=\"login\">Log in</button></form>\n");
			cJSON_Delete(out);
			return finish(b, pg, 200);
		}
		error_p(b, out);
		cJSON_Delete(out);
	}
	put(b, "<form method=\"get\" action=\"/login\"><p><label>Your DPK identity (an operator of this PKM)<br>"
	    "<input name=\"operator\" id=\"operator\" required size=\"50\"></label></p>"
	    "<button id=\"challenge-button\">Get a login challenge</button></form>\n");
	return finish(b, pg, status);
}

static void
devices_table(struct pkm_web_req *q, struct dpk_buf *b)
{
	cJSON *out = NULL, *d;

	pkm_web_api_devices(q, NULL, &out);
	put(b, "<table id=\"devices\"><tr><th>Identity</th><th>Kind</th><th>State</th><th>Wallet</th><th>Balance (wei)</th>"
	    "<th>Last seen on chain</th><th>Token</th><th></th></tr>\n");
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(out, "devices")) {
		const char *state = jstr(d, "state");

		put(b, "<tr data-identity=\"");
		esc(b, jstr(d, "identity"));
		put(b, "\"><td>");
		esc(b, jstr(d, "identity"));
		put(b, "</td><td>");
		esc(b, jstr(d, "kind"));
		put(b, "</td><td class=\"state state-");
		esc(b, state);
		put(b, "\">");
		esc(b, state);
		put(b, "</td><td><code>");
		esc(b, jstr(d, "wallet"));
		put(b, "</code></td><td>");
		esc(b, jstr(d, "balance_wei"));
		put(b, "</td><td>");
		esc(b, jstr(d, "last_seen_on_chain"));
		put(b, "</td><td><code>");
		esc(b, jstr(d, "token"));
		put(b, "</code></td><td>");
		if (strcmp(state, "issued") == 0 || strcmp(state, "funded") == 0 || strcmp(state, "expired") == 0 ||
		    strcmp(state, "pending") == 0) {
			put(b, "<form method=\"post\" action=\"/tokens/revoke\" data-confirm=\"Withdraw this token?\">");
			csrf_field(b, q);
			put(b, "<input type=\"hidden\" name=\"token\" value=\"");
			esc(b, jstr(d, "token"));
			put(b, "\"><button class=\"withdraw\">Withdraw token</button></form>");
		}
		if (strcmp(jstr(d, "chain_status"), "active") == 0) {
			put(b, "<form method=\"post\" action=\"/identities/revoke\" data-confirm=\"Revoke this identity on chain?\">");
			csrf_field(b, q);
			put(b, "<input type=\"hidden\" name=\"identity\" value=\"");
			esc(b, jstr(d, "identity"));
			put(b, "\"><button class=\"revoke\">Revoke identity</button></form>");
		}
		put(b, "</td></tr>\n");
	}
	put(b, "</table>\n");
	cJSON_Delete(out);
}

static int
enrol_forms(struct pkm_web_req *q, struct dpk_buf *b)
{
	put(b, "<h2>A device named by a new UUID</h2><form method=\"post\" action=\"/enrol\">");
	csrf_field(b, q);
	put(b, "<input type=\"hidden\" name=\"kind\" value=\"uuid\"><button id=\"enrol-uuid\">Enrol a UUID device</button>"
	    "</form>\n<h2>A domain name, IPv4 or IPv6 address</h2><p>The PKM enrols an address only after its requester "
	    "proves control of it (an HTTP file or a DNS TXT record).</p><form method=\"post\" action=\"/dcv\">");
	csrf_field(b, q);
	put(b, "<label>Identity <input name=\"identity\" id=\"dcv-identity\" required size=\"50\"></label> "
	    "<button id=\"dcv-button\">Get a challenge</button></form>\n");
	return 0;
}

static int
action_result(struct pkm_web_req *q, pkm_web_action_fn fn, const cJSON *form, struct dpk_buf *b,
    struct pkm_web_page *pg, const char *title)
{
	cJSON *out = NULL;
	int status = fn(q, form, &out);

	if (status == 200) {
		cJSON_Delete(out);
		pg->redirect = "/devices";
		return 303;
	}
	head(b, q, title);
	error_p(b, out);
	cJSON_Delete(out);
	put(b, "<p><a href=\"/devices\">Back to the devices</a></p>");
	return finish(b, pg, status);
}

int
pkm_web_page(struct pkm_web_req *q, const char *method, const char *path, const cJSON *form,
    struct pkm_web_page *pg)
{
	struct dpk_buf b;
	int post = strcmp(method, "POST") == 0, status;
	cJSON *out = NULL;

	memset(pg, 0, sizeof(*pg));
	pg->status = 200;
	if (strcmp(path, "/static/pkm.js") == 0 || strcmp(path, "/static/pkm.css") == 0) {
		int js = path[8] == 'p' && strstr(path, ".js") != NULL;

		pg->body = strdup(js ? script : style);
		pg->len = strlen(js ? script : style);
		pg->content_type = js ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
		return 200;
	}
	dpk_buf_init(&b, PAGE_MAX);
	if (strcmp(path, "/login") == 0) {
		status = login_page(q, method, form, &b, pg);
		dpk_buf_free(&b);
		return status;
	}
	if (q->operator[0] == '\0') {
		dpk_buf_free(&b);
		pg->redirect = "/login";
		return 303;
	}
	if (strcmp(path, "/") == 0 && !post) {
		pg->redirect = "/devices";
		status = 303;
	} else if (strcmp(path, "/logout") == 0 && post) {
		pkm_web_api_logout(q, form, &out);
		cJSON_Delete(out);
		pg->redirect = "/login";
		status = 303;
	} else if (strcmp(path, "/devices") == 0 && !post) {
		head(&b, q, "Devices");
		devices_table(q, &b);
		status = finish(&b, pg, 200);
	} else if (strcmp(path, "/enrol") == 0 && !post) {
		head(&b, q, "Enrol a device");
		enrol_forms(q, &b);
		status = finish(&b, pg, 200);
	} else if (strcmp(path, "/dcv") == 0 && post) {
		status = pkm_web_api_dcv(q, form, &out);
		head(&b, q, "Prove control");
		if (status != 200) {
			error_p(&b, out);
			enrol_forms(q, &b);
		} else {
			put(&b, "<p>Serve this value, then enrol. Either:</p><ul><li>HTTP: <code id=\"http-url\">");
			esc(&b, jstr(out, "http_url"));
			put(&b, "</code> answers <code id=\"dcv-value\">");
			esc(&b, jstr(out, "value"));
			put(&b, "</code></li>");
			if (jstr(out, "dns_name")[0] != '\0') {
				put(&b, "<li>DNS: a TXT record <code id=\"dns-name\">");
				esc(&b, jstr(out, "dns_name"));
				put(&b, "</code> holding the same value</li>");
			}
			put(&b, "</ul><form method=\"post\" action=\"/enrol\">");
			csrf_field(&b, q);
			put(&b, "<input type=\"hidden\" name=\"identity\" value=\"");
			esc(&b, jstr(out, "identity"));
			put(&b, "\"><input type=\"hidden\" name=\"dcv_token\" value=\"");
			esc(&b, jstr(out, "token"));
			put(&b, "\"><label>Method <select name=\"method\" id=\"method\"><option>http</option>");
			if (jstr(out, "dns_name")[0] != '\0')
				put(&b, "<option>dns</option>");
			put(&b, "</select></label> <button id=\"enrol-proved\">Check and enrol</button></form>\n");
		}
		cJSON_Delete(out);
		status = finish(&b, pg, status);
	} else if (strcmp(path, "/enrol") == 0 && post) {
		status = pkm_web_api_enrol(q, form, &out);
		head(&b, q, status == 200 ? "Enrolled" : "Not enrolled");
		if (status != 200) {
			error_p(&b, out);
		} else {
			put(&b, "<p class=\"ok\">Token <code id=\"token\">");
			esc(&b, jstr(out, "token"));
			put(&b, "</code> for <code id=\"identity\">");
			esc(&b, jstr(out, "identity"));
			put(&b, "</code>. Download it once, and copy it to the device as its token_file (mode 0600): it is "
			    "secret and works once.</p><p><a id=\"download\" href=\"/tokens/");
			esc(&b, jstr(out, "token"));
			put(&b, "\" download>Download the token</a></p>");
		}
		put(&b, "<p><a href=\"/devices\">Back to the devices</a></p>");
		cJSON_Delete(out);
		status = finish(&b, pg, status);
	} else if (strncmp(path, "/tokens/", 8) == 0 && strlen(path) == 8 + 32 && !post) {
		char *text;
		size_t len;

		status = pkm_web_token_take(q, path + 8, &text, &len, &out);
		if (status == 200) {
			pg->body = text;
			pg->len = len;
			pg->wipe = 1;
			pg->content_type = "text/plain; charset=utf-8";
			snprintf(pg->filename, sizeof(pg->filename), "dpk-token-%.32s.txt", path + 8);
		} else {
			head(&b, q, "No token file");
			error_p(&b, out);
			status = finish(&b, pg, status);
		}
		cJSON_Delete(out);
	} else if (strcmp(path, "/tokens/revoke") == 0 && post) {
		status = action_result(q, pkm_web_api_token_revoke, form, &b, pg, "Token not withdrawn");
	} else if (strcmp(path, "/identities/revoke") == 0 && post) {
		status = action_result(q, pkm_web_api_identity_revoke, form, &b, pg, "Identity not revoked");
	} else if (strcmp(path, "/pkm") == 0 && !post) {
		cJSON *o;

		pkm_web_api_pkm(q, NULL, &out);
		head(&b, q, "This PKM");
		put(&b, "<table id=\"pkm\">");
		const char *keys[] = {"wallet", "balance_wei", "contract", "endpoint", "web_identity"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			put(&b, "<tr><th>");
			esc(&b, keys[i]);
			put(&b, "</th><td><code>");
			esc(&b, jstr(out, keys[i]));
			put(&b, "</code></td></tr>");
		}
		putf(&b, "<tr><th>chain_id</th><td>%.0f</td></tr><tr><th>key published</th><td>%s</td></tr>",
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(out, "chain_id")),
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out, "key_published")) ? "yes" : "no");
		put(&b, "<tr><th>operators</th><td>");
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(out, "operators")) {
			esc(&b, cJSON_GetStringValue(o));
			put(&b, " ");
		}
		put(&b, "</td></tr></table><h2>Identity key</h2><pre id=\"key\">");
		esc(&b, jstr(out, "key_pem"));
		put(&b, "</pre>");
		cJSON_Delete(out);
		status = finish(&b, pg, 200);
	} else if (strcmp(path, "/audit") == 0 && !post) {
		cJSON *l;

		pkm_web_api_audit(q, NULL, &out);
		head(&b, q, "Audit log");
		put(&b, "<pre id=\"audit\">");
		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(out, "lines")) {
			esc(&b, cJSON_GetStringValue(l));
			put(&b, "\n");
		}
		put(&b, "</pre>");
		cJSON_Delete(out);
		status = finish(&b, pg, 200);
	} else {
		head(&b, q, "Not found");
		put(&b, "<p class=\"error\">There is no such page.</p>");
		status = finish(&b, pg, 404);
	}
	dpk_buf_free(&b);
	return status;
}
