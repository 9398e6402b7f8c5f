/* Ethereum JSON-RPC client: transport and failover (libcurl), the bounded
 * response parser, and typed wrappers for the methods the agent uses. */
#include "eth/rpc.h"
#include "base/err.h"
#include "base/hex.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RPC_MAX_ENDPOINTS 16
#define RPC_MAX_DEPTH 64
#define RPC_ERRMAX 1024
#define RPC_DEFAULT_CONNECT_MS 2000
#define RPC_DEFAULT_TIMEOUT_MS 10000
#define RPC_DEFAULT_MAX_RESPONSE ((size_t)4 << 20)
#define RPC_MAX_MAX_RESPONSE ((size_t)1 << 30)
#define RPC_GWEI 1000000000ULL
#define RPC_DEFAULT_BACKOFF_MS 30000

static uint64_t now_ms(void);

struct rpc_endpoint {
	char *url;
	char display[160]; /* scheme://host:port, escaped */
	uint64_t bad_until_ms; /* monotonic; tried last until then */
	int disabled;          /* never asked (dpk_rpc_endpoint_disable) */
	unsigned bad_count;    /* bad answers so far */
};

struct dpk_rpc {
	CURL *curl;
	struct curl_slist *headers;
	struct rpc_endpoint ep[RPC_MAX_ENDPOINTS];
	size_t nep;
	size_t good; /* endpoint tried first */
	size_t max_response;
	uint64_t backoff_ms;
	uint64_t next_id;
	struct dpk_buf body;
	int body_err; /* why the write callback refused bytes */
	char curl_err[CURL_ERROR_SIZE];
	char last_error[RPC_ERRMAX];
	struct dpk_rpc_error nerr; /* the node's error object, after DPK_ERR_RPC / REVERT */
	struct dpk_rpc_depth depth; /* what DPK_RPC_SETTLED and receipts wait for */
};

/* ---------------------------------------------------------------- text */

static size_t
escape_token(unsigned char c, char tmp[4])
{
	static const char digits[] = "0123456789abcdef";

	if (c == '\\') {
		tmp[0] = '\\';
		tmp[1] = '\\';
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		tmp[0] = (char)c;
		return 1;
	}
	tmp[0] = '\\';
	tmp[1] = 'x';
	tmp[2] = digits[c >> 4];
	tmp[3] = digits[c & 0xf];
	return 4;
}

void
dpk_rpc_escape(const char *in, size_t inlen, char *out, size_t outsz)
{
	size_t total = 0, room, o = 0;
	char tmp[4];

	if (outsz == 0)
		return;
	for (size_t i = 0; i < inlen; i++)
		total += escape_token((unsigned char)in[i], tmp);
	/* If it does not all fit, keep whole escapes only and mark the cut, so
	 * a reader knows the node said more. */
	room = total < outsz ? outsz - 1 : (outsz > 4 ? outsz - 4 : 0);
	for (size_t i = 0; i < inlen; i++) {
		size_t n = escape_token((unsigned char)in[i], tmp);

		if (o + n > room)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (total >= outsz)
		for (int k = 0; k < 3 && o + 1 < outsz; k++)
			out[o++] = '.';
	out[o] = '\0';
}

static void
err_clear(struct dpk_rpc *rpc)
{
	rpc->last_error[0] = '\0';
	rpc->nerr.code = 0;
	rpc->nerr.message[0] = '\0';
	dpk_buf_reset(&rpc->nerr.data);
}

/* Append one "endpoint: method: reason" clause to last_error; failures on
 * several endpoints are joined with "; " so that none is hidden. */
static void
err_add(struct dpk_rpc *rpc, const char *where, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
err_add(struct dpk_rpc *rpc, const char *where, const char *method, const char *fmt, ...)
{
	size_t used = strlen(rpc->last_error), room = sizeof(rpc->last_error) - used;
	char why[512], meth[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	dpk_rpc_escape(method, strlen(method), meth, sizeof(meth));
	snprintf(rpc->last_error + used, room, "%s%s: %s: %s", used ? "; " : "", where, meth, why);
}

void
dpk_rpc_refuse(struct dpk_rpc *rpc, const char *method, const char *why)
{
	err_clear(rpc);
	err_add(rpc, rpc->ep[rpc->good].display, method, "refused here: %s", why);
}

const char *
dpk_rpc_last_error(const struct dpk_rpc *rpc)
{
	return rpc->last_error;
}

long long
dpk_rpc_error_code(const struct dpk_rpc *rpc)
{
	return rpc->nerr.code;
}

const char *
dpk_rpc_error_message(const struct dpk_rpc *rpc)
{
	return rpc->nerr.message;
}

const uint8_t *
dpk_rpc_revert_data(const struct dpk_rpc *rpc, size_t *len)
{
	*len = rpc->nerr.data.len;
	return rpc->nerr.data.data;
}

const char *
dpk_rpc_endpoint(const struct dpk_rpc *rpc)
{
	return rpc->ep[rpc->good].display;
}

/* ---------------------------------------------------------------- parser */

static int
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* What cJSON does not check for us: NUL bytes (they would cut C strings
 * short), \u0000 escapes (same, after decoding), raw control characters in
 * strings, nesting depth (cJSON recurses up to 1000 levels), and whether
 * the input ends before the document does.
 * One exception: a \u0000 escape is let through in the value of a "message"
 * member, because nodes (anvil) put raw revert bytes in error.message; that
 * text is only ever shown, escaped, and cutting it short loses nothing that
 * is used (the revert data comes from error.data, where \u0000 is refused). */
static int
prescan(const uint8_t *p, size_t len, const char **why)
{
	char stack[RPC_MAX_DEPTH + 1], key[16];
	size_t depth = 0, str_start = 0;
	int in_str = 0, esc = 0, opened = 0, closed = 0, expect_key = 0, is_key = 0, value_of_message = 0;

	key[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c == 0) {
			*why = "NUL byte in the response";
			return DPK_ERR_SYNTAX;
		}
		if (closed)
			continue;
		if (in_str) {
			if (esc) {
				esc = 0;
				if (c == 'u' && len - i > 4 && memcmp(p + i + 1, "0000", 4) == 0 &&
				    (is_key || !value_of_message)) {
					*why = "\\u0000 escape in a string";
					return DPK_ERR_SYNTAX;
				}
			} else if (c == '\\') {
				esc = 1;
			} else if (c == '"') {
				in_str = 0;
				if (is_key) {
					size_t n = i - str_start;

					if (n < sizeof(key)) {
						memcpy(key, p + str_start, n);
						key[n] = '\0';
					} else {
						key[0] = '\0';
					}
				}
			} else if (c < 0x20) {
				*why = "control character in a string";
				return DPK_ERR_SYNTAX;
			}
			continue;
		}
		if (c == '"') {
			in_str = 1;
			str_start = i + 1;
			is_key = expect_key;
			value_of_message = !is_key && depth > 0 && stack[depth - 1] == '{' && strcmp(key, "message") == 0;
			expect_key = 0;
		} else if (c == '{' || c == '[') {
			opened = 1;
			if (depth >= RPC_MAX_DEPTH) {
				*why = "JSON nested too deeply";
				return DPK_ERR_DEPTH;
			}
			stack[depth++] = (char)c;
			expect_key = c == '{';
			key[0] = '\0';
		} else if ((c == '}' || c == ']') && depth > 0) {
			key[0] = '\0';
			if (--depth == 0)
				closed = 1;
		} else if (c == ',') {
			expect_key = depth > 0 && stack[depth - 1] == '{';
			if (expect_key)
				key[0] = '\0';
		}
	}
	if (in_str || (opened && !closed)) {
		*why = "response ends inside the JSON document";
		return DPK_ERR_TRUNCATED;
	}
	return 0;
}

static int
count_member(const cJSON *obj, const char *name)
{
	int n = 0;

	for (const cJSON *it = obj->child; it != NULL; it = it->next)
		if (it->string != NULL && strcmp(it->string, name) == 0)
			n++;
	return n;
}

/* Integral JSON number within +-2^53 (where a double is exact). */
static int
json_int(const cJSON *it, long long *v)
{
	double d;

	if (!cJSON_IsNumber(it))
		return DPK_ERR_TYPE;
	d = it->valuedouble;
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(long long)d)
		return DPK_ERR_RANGE;
	*v = (long long)d;
	return 0;
}

static int
starts_with_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* "0x..." hex into b (appended); b unchanged on error. */
static int
hex_to_buf(const char *s, struct dpk_buf *b)
{
	size_t slen = strlen(s), got;
	uint8_t *dst;
	int r;

	if (slen < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return DPK_ERR_SYNTAX;
	if (slen % 2 != 0)
		return DPK_ERR_SYNTAX;
	if (slen == 2)
		return 0;
	if ((r = dpk_buf_reserve(b, (slen - 2) / 2, &dst)) != 0)
		return r;
	if ((r = dpk_hex_decode(s + 2, slen - 2, dst, (slen - 2) / 2, &got)) != 0) {
		b->len -= (slen - 2) / 2;
		return r;
	}
	return 0;
}

static int
parse_error_object(const cJSON *e, struct dpk_rpc_error *err, const char **why)
{
	const cJSON *code, *msg, *data;
	long long c;

	if (!cJSON_IsObject(e) || count_member(e, "code") != 1 || count_member(e, "message") != 1) {
		*why = "malformed error object";
		return DPK_ERR_TYPE;
	}
	code = cJSON_GetObjectItemCaseSensitive(e, "code");
	msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (json_int(code, &c) != 0 || !cJSON_IsString(msg)) {
		*why = "malformed error object";
		return DPK_ERR_TYPE;
	}
	err->code = c;
	dpk_rpc_escape(msg->valuestring, strlen(msg->valuestring), err->message, sizeof(err->message));
	data = cJSON_GetObjectItemCaseSensitive(e, "data");
	/* Some nodes nest the revert data one level down: {"data": {"data": "0x..."}};
	 * ganache 7's eth_estimateGas as {"data": {"result": "0x...", "programCounter": ...}}. */
	if (cJSON_IsObject(data)) {
		const cJSON *inner = cJSON_GetObjectItemCaseSensitive(data, "data");

		data = inner != NULL ? inner : cJSON_GetObjectItemCaseSensitive(data, "result");
	}
	dpk_buf_reset(&err->data);
	if (cJSON_IsString(data) && hex_to_buf(data->valuestring, &err->data) != 0)
		dpk_buf_reset(&err->data); /* not revert bytes: the message still says it all */
	if (c == 3 || starts_with_ci(msg->valuestring, "execution reverted") ||
	    starts_with_ci(msg->valuestring, "VM Exception while processing transaction: revert"))
		return DPK_ERR_REVERT;
	return DPK_ERR_RPC;
}

static int
parse_response(const uint8_t *body, size_t len, uint64_t want_id, cJSON **rootp,
    const cJSON **result, struct dpk_rpc_error *err, const char **why)
{
	const char *end = NULL;
	const cJSON *ver, *id, *res, *e;
	cJSON *root = NULL;
	int r;

	*rootp = NULL;
	*why = "";
	if ((r = prescan(body, len, why)) != 0)
		return r;
	if ((root = cJSON_ParseWithLengthOpts((const char *)body, len, &end, 0)) == NULL) {
		*why = len == 0 ? "empty response" : "response is not JSON";
		return len == 0 ? DPK_ERR_TRUNCATED : DPK_ERR_SYNTAX;
	}
	for (size_t i = (size_t)((const uint8_t *)end - body); i < len; i++)
		if (!is_ws(body[i])) {
			*why = "bytes after the JSON document";
			r = DPK_ERR_TRAILING;
			goto out;
		}
	r = DPK_ERR_TYPE;
	if (!cJSON_IsObject(root)) {
		*why = "response is not a JSON object";
		goto out;
	}
	if (count_member(root, "jsonrpc") != 1 || count_member(root, "id") != 1 ||
	    count_member(root, "result") > 1 || count_member(root, "error") > 1) {
		*why = "missing or duplicate jsonrpc/id/result/error member";
		goto out;
	}
	ver = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
	if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0) {
		*why = "jsonrpc version is not \"2.0\"";
		goto out;
	}
	res = cJSON_GetObjectItemCaseSensitive(root, "result");
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if ((res == NULL) == (e == NULL)) {
		*why = res == NULL ? "neither result nor error in the response" :
		    "both result and error in the response";
		goto out;
	}
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	/* A node that could not read our id answers an error with id null. */
	if (!(e != NULL && cJSON_IsNull(id))) {
		long long got;

		if (json_int(id, &got) != 0 || got < 0 || (uint64_t)got != want_id) {
			*why = "response id does not match the request";
			goto out;
		}
	}
	if (e != NULL) {
		r = parse_error_object(e, err, why);
		goto out;
	}
	*rootp = root;
	*result = res;
	root = NULL;
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

int
dpk_rpc_parse_response(const uint8_t *body, size_t len, uint64_t want_id, cJSON **root,
    const cJSON **result, struct dpk_rpc_error *err)
{
	const char *why;

	return parse_response(body, len, want_id, root, result, err, &why);
}

/* ------------------------------------------------------------ transport */

/* A response buffer above this is freed once parsed (a proof, a header, the
 * registry's code); the usual answers fit, and reuse it. */
#define RPC_BODY_KEEP 8192

static size_t
on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct dpk_rpc *rpc = ud;
	size_t n = size * nmemb;
	int r;

	/* Returning less than n makes curl abort the transfer at once. */
	if ((r = dpk_buf_put(&rpc->body, p, n)) != 0) {
		rpc->body_err = r;
		return 0;
	}
	return n;
}

static int
endpoint_display(const char *url, char *out, size_t outsz)
{
	char *scheme = NULL, *host = NULL, *port = NULL, tmp[300];
	CURLU *u = curl_url();
	int r = DPK_ERR_INVALID;

	if (u == NULL)
		return DPK_ERR_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s://%s:%s", scheme, host, port);
	dpk_rpc_escape(tmp, strlen(tmp), out, outsz);
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

int
dpk_rpc_new(struct dpk_rpc **out, const char *const *urls, size_t nurls,
    const struct dpk_rpc_opts *opts)
{
	struct dpk_rpc *rpc = NULL;
	long cto = RPC_DEFAULT_CONNECT_MS, to = RPC_DEFAULT_TIMEOUT_MS;
	size_t maxr = RPC_DEFAULT_MAX_RESPONSE;
	uint64_t backoff = RPC_DEFAULT_BACKOFF_MS;
	int r = DPK_ERR_INVALID;

	*out = NULL;
	if (urls == NULL || nurls == 0 || nurls > RPC_MAX_ENDPOINTS)
		return DPK_ERR_INVALID;
	if (opts != NULL) {
		if (opts->connect_timeout_ms < 0 || opts->timeout_ms < 0 ||
		    opts->max_response > RPC_MAX_MAX_RESPONSE)
			return DPK_ERR_INVALID;
		if (opts->connect_timeout_ms > 0)
			cto = opts->connect_timeout_ms;
		if (opts->timeout_ms > 0)
			to = opts->timeout_ms;
		if (opts->max_response > 0)
			maxr = opts->max_response;
		if (opts->backoff_ms > 0)
			backoff = opts->backoff_ms;
	}
	if ((rpc = calloc(1, sizeof(*rpc))) == NULL)
		return DPK_ERR_NOMEM;
	rpc->max_response = maxr;
	rpc->backoff_ms = backoff;
	rpc->next_id = 1;
	dpk_buf_init(&rpc->body, maxr);
	dpk_buf_init(&rpc->nerr.data, maxr);
	for (size_t i = 0; i < nurls; i++) {
		if (urls[i] == NULL || (r = endpoint_display(urls[i], rpc->ep[i].display,
		    sizeof(rpc->ep[i].display))) != 0)
			goto out;
		r = DPK_ERR_NOMEM;
		if ((rpc->ep[i].url = strdup(urls[i])) == NULL)
			goto out;
		rpc->nep++;
	}
	r = DPK_ERR_NOMEM;
	if ((rpc->curl = curl_easy_init()) == NULL)
		goto out;
	if ((rpc->headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL)
		goto out;
	/* curl would otherwise send "Expect: 100-continue" for large bodies and wait. */
	if ((rpc->headers = curl_slist_append(rpc->headers, "Expect:")) == NULL)
		goto out;
	r = DPK_ERR_INVALID;
	if (curl_easy_setopt(rpc->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_CONNECTTIMEOUT_MS, cto) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_TIMEOUT_MS, to) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)maxr) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_WRITEDATA, rpc) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_HTTPHEADER, rpc->headers) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_ERRORBUFFER, rpc->curl_err) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_USERAGENT, "dpk") != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_POST, 1L) != CURLE_OK)
		goto out;
	*out = rpc;
	rpc = NULL;
	r = 0;
out:
	dpk_rpc_free(rpc);
	return r;
}

void
dpk_rpc_free(struct dpk_rpc *rpc)
{
	if (rpc == NULL)
		return;
	if (rpc->curl != NULL)
		curl_easy_cleanup(rpc->curl);
	curl_slist_free_all(rpc->headers);
	for (size_t i = 0; i < RPC_MAX_ENDPOINTS; i++)
		free(rpc->ep[i].url);
	dpk_buf_free(&rpc->body);
	dpk_buf_free(&rpc->nerr.data);
	free(rpc);
}

/* One POST to endpoint i; on 0 the body is in rpc->body. *failover says
 * whether another endpoint may do better. */
static int
http_post(struct dpk_rpc *rpc, size_t i, const char *req, size_t reqlen, const char *method,
    int *failover)
{
	const char *where = rpc->ep[i].display;
	char detail[2 * CURL_ERROR_SIZE];
	long status = 0;
	CURLcode cc;

	*failover = 0;
	dpk_buf_reset(&rpc->body);
	rpc->body_err = 0;
	rpc->curl_err[0] = '\0';
	if (curl_easy_setopt(rpc->curl, CURLOPT_URL, rpc->ep[i].url) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_POSTFIELDS, req) != CURLE_OK ||
	    curl_easy_setopt(rpc->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)reqlen) != CURLE_OK) {
		err_add(rpc, where, method, "cannot set up the request");
		return DPK_ERR_NOMEM;
	}
	cc = curl_easy_perform(rpc->curl);
	if (cc == CURLE_WRITE_ERROR && rpc->body_err != 0) {
		if (rpc->body_err == DPK_ERR_TOOBIG)
			err_add(rpc, where, method, "response larger than %zu bytes, transfer aborted",
			    rpc->max_response);
		else
			err_add(rpc, where, method, "%s", dpk_strerror(rpc->body_err));
		return rpc->body_err;
	}
	if (cc == CURLE_FILESIZE_EXCEEDED) {
		err_add(rpc, where, method, "response larger than %zu bytes (Content-Length), refused",
		    rpc->max_response);
		return DPK_ERR_TOOBIG;
	}
	if (cc != CURLE_OK) {
		const char *msg = rpc->curl_err[0] ? rpc->curl_err : curl_easy_strerror(cc);

		dpk_rpc_escape(msg, strlen(msg), detail, sizeof(detail));
		*failover = 1;
		if (cc == CURLE_OPERATION_TIMEDOUT) {
			err_add(rpc, where, method, "timed out: %s", detail);
			return DPK_ERR_TIMEOUT;
		}
		err_add(rpc, where, method, "%s", detail);
		return DPK_ERR_NET;
	}
	curl_easy_getinfo(rpc->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* 5xx: that node is unwell; 429: rate-limited there. Another may answer. */
		*failover = status >= 500 || status == 429;
		err_add(rpc, where, method, "HTTP status %ld", status);
		return DPK_ERR_NET;
	}
	return 0;
}

/* Put endpoint i in back-off: it is asked last until then. */
static void
endpoint_bench(struct dpk_rpc *rpc, size_t i)
{
	rpc->ep[i].bad_until_ms = now_ms() + rpc->backoff_ms;
	rpc->ep[i].bad_count++;
	if (rpc->good == i && rpc->nep > 1)
		rpc->good = (i + 1) % rpc->nep;
}

void
dpk_rpc_mark_bad(struct dpk_rpc *rpc)
{
	if (rpc != NULL)
		endpoint_bench(rpc, rpc->good);
}

int
dpk_rpc_endpoint_disable(struct dpk_rpc *rpc, size_t i, int disabled)
{
	if (rpc == NULL || i >= rpc->nep)
		return DPK_ERR_INVALID;
	rpc->ep[i].disabled = disabled != 0;
	return 0;
}

size_t
dpk_rpc_endpoint_count(const struct dpk_rpc *rpc)
{
	return rpc->nep;
}

int
dpk_rpc_endpoint_state(const struct dpk_rpc *rpc, size_t i, const char **display,
    uint64_t *benched_ms, unsigned *bad_count)
{
	uint64_t now = now_ms();

	if (rpc == NULL || i >= rpc->nep)
		return DPK_ERR_INVALID;
	if (display != NULL)
		*display = rpc->ep[i].display;
	if (benched_ms != NULL)
		*benched_ms = rpc->ep[i].bad_until_ms > now ? rpc->ep[i].bad_until_ms - now : 0;
	if (bad_count != NULL)
		*bad_count = rpc->ep[i].bad_count;
	return 0;
}

/* Send method(params) with failover. On 0, *root (caller deletes) and *result. */
static int
rpc_call(struct dpk_rpc *rpc, const char *method, cJSON *params, cJSON **root,
    const cJSON **result)
{
	cJSON *req = NULL, *empty = NULL;
	char *text = NULL;
	uint64_t id = rpc->next_id++;
	size_t start, tried = 0;
	int r = DPK_ERR_NOMEM, failover;

	*root = NULL;
	err_clear(rpc);
	if ((req = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(req, "jsonrpc", "2.0") == NULL ||
	    cJSON_AddNumberToObject(req, "id", (double)id) == NULL ||
	    cJSON_AddStringToObject(req, "method", method) == NULL)
		goto out;
	if (params == NULL) {
		if ((empty = cJSON_AddArrayToObject(req, "params")) == NULL)
			goto out;
	} else if (!cJSON_AddItemReferenceToObject(req, "params", params)) {
		goto out;
	}
	if ((text = cJSON_PrintUnformatted(req)) == NULL)
		goto out;
	/* Endpoints in back-off go last: asked only when all others failed. */
	start = rpc->good;
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < rpc->nep; k++) {
			size_t i = (start + k) % rpc->nep;
			int benched = rpc->ep[i].bad_until_ms > now_ms();
			const char *why;

			if (benched != (int)pass || rpc->ep[i].disabled)
				continue;
			tried++;
			if ((r = http_post(rpc, i, text, strlen(text), method, &failover)) != 0) {
				if (r == DPK_ERR_TOOBIG) {
					endpoint_bench(rpc, i);
					continue;
				}
				if (failover)
					continue;
				goto out;
			}
			r = parse_response(rpc->body.data, rpc->body.len, id, root, result, &rpc->nerr, &why);
			if (r == 0 || r == DPK_ERR_RPC || r == DPK_ERR_REVERT)
				rpc->good = i;
			if (r == DPK_ERR_REVERT) {
				err_add(rpc, rpc->ep[i].display, method, "%s%s",
				    starts_with_ci(rpc->nerr.message, "execution reverted") ? "" :
				    "execution reverted: ", rpc->nerr.message);
			} else if (r == DPK_ERR_RPC) {
				err_add(rpc, rpc->ep[i].display, method, "node error %lld: %s",
				    rpc->nerr.code, rpc->nerr.message);
			} else if (r != 0) {
				/* unparsable, wrong id, wrong shape: that node is broken or
				 * lying; another one may answer properly */
				err_add(rpc, rpc->ep[i].display, method, "bad response: %s", why);
				endpoint_bench(rpc, i);
				continue;
			} else {
				rpc->last_error[0] = '\0'; /* earlier endpoints failed, this one answered */
			}
			goto out;
		}
	}
	if (tried == 0) {
		r = DPK_ERR_STATE;
		err_add(rpc, rpc->ep[rpc->good].display, method, "every endpoint is disabled (another chain?)");
	}
out:
	if (r == DPK_ERR_NOMEM && rpc->last_error[0] == '\0')
		err_add(rpc, rpc->ep[rpc->good].display, method, "out of memory");
	if (text != NULL)
		cJSON_free(text);
	cJSON_Delete(req);
	if (rpc->body.cap > RPC_BODY_KEEP) { /* parsed: a big answer's buffer is given back */
		size_t max = rpc->body.max;

		dpk_buf_free(&rpc->body);
		dpk_buf_init(&rpc->body, max);
	}
	return r;
}

/* ------------------------------------------------------- result decoding */

static int
bad_result(struct dpk_rpc *rpc, const char *method, int r, const char *what)
{
	err_add(rpc, rpc->ep[rpc->good].display, method, "bad %s in the result: %s", what,
	    dpk_strerror(r));
	return r;
}

static int
str_u64(const cJSON *it, uint64_t *v)
{
	if (!cJSON_IsString(it))
		return DPK_ERR_TYPE;
	return dpk_hex_quantity_u64(it->valuestring, v);
}

static int
str_u256(const cJSON *it, struct dpk_u256 *v)
{
	if (!cJSON_IsString(it))
		return DPK_ERR_TYPE;
	return dpk_u256_from_quantity(v, it->valuestring);
}

/* Exactly n bytes of 0x-prefixed hex. */
static int
str_fixed(const cJSON *it, uint8_t *out, size_t n)
{
	const char *s;
	size_t got;
	int r;

	if (!cJSON_IsString(it))
		return DPK_ERR_TYPE;
	s = it->valuestring;
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return DPK_ERR_SYNTAX;
	if (strlen(s) != 2 + 2 * n)
		return strlen(s) < 2 + 2 * n ? DPK_ERR_TRUNCATED : DPK_ERR_TOOBIG;
	if ((r = dpk_hex_decode(s, strlen(s), out, n, &got)) != 0)
		return r;
	return 0;
}

static const cJSON *
member(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static int
call_u64(struct dpk_rpc *rpc, const char *method, cJSON *params, uint64_t *v)
{
	const cJSON *res;
	cJSON *root;
	uint64_t x;
	int r;

	if ((r = rpc_call(rpc, method, params, &root, &res)) != 0)
		return r;
	if ((r = str_u64(res, &x)) != 0)
		bad_result(rpc, method, r, "quantity");
	else
		*v = x;
	cJSON_Delete(root);
	return r;
}

static int
call_u256(struct dpk_rpc *rpc, const char *method, cJSON *params, struct dpk_u256 *v)
{
	const cJSON *res;
	struct dpk_u256 x;
	cJSON *root;
	int r;

	if ((r = rpc_call(rpc, method, params, &root, &res)) != 0)
		return r;
	if ((r = str_u256(res, &x)) != 0)
		bad_result(rpc, method, r, "quantity");
	else
		*v = x;
	cJSON_Delete(root);
	return r;
}

/* ---------------------------------------------------- request building */

static void
block_param(uint64_t b, char out[19])
{
	if (b == DPK_RPC_LATEST)
		memcpy(out, "latest", 7);
	else if (b == DPK_RPC_PENDING)
		memcpy(out, "pending", 8);
	else if (b == DPK_RPC_EARLIEST)
		memcpy(out, "earliest", 9);
	else
		dpk_hex_from_u64(b, out);
}

static int
add_hex(cJSON *arr_or_obj, const char *name, const uint8_t *p, size_t n)
{
	char *s;
	int ok;

	if (n > (SIZE_MAX - 3) / 2 || (s = malloc(2 * n + 3)) == NULL)
		return DPK_ERR_NOMEM;
	dpk_hex_encode(p, n, 1, s, 2 * n + 3);
	if (name != NULL)
		ok = cJSON_AddStringToObject(arr_or_obj, name, s) != NULL;
	else
		ok = cJSON_AddItemToArray(arr_or_obj, cJSON_CreateString(s));
	free(s);
	return ok ? 0 : DPK_ERR_NOMEM;
}

static int
add_str(cJSON *arr, const char *s)
{
	cJSON *it = cJSON_CreateString(s);

	if (it == NULL || !cJSON_AddItemToArray(arr, it)) {
		cJSON_Delete(it);
		return DPK_ERR_NOMEM;
	}
	return 0;
}

static int
add_block(cJSON *arr, uint64_t b)
{
	char tag[19];

	block_param(b, tag);
	return add_str(arr, tag);
}

static int
callmsg_json(const struct dpk_rpc_callmsg *m, cJSON **out)
{
	cJSON *o = cJSON_CreateObject();
	char q[67];
	int r = DPK_ERR_NOMEM;

	if (o == NULL)
		goto out;
	if (m->from != NULL && (r = add_hex(o, "from", m->from, 20)) != 0)
		goto out;
	if (m->to != NULL && (r = add_hex(o, "to", m->to, 20)) != 0)
		goto out;
	if (m->value != NULL) {
		dpk_u256_to_quantity(m->value, q);
		r = DPK_ERR_NOMEM;
		if (cJSON_AddStringToObject(o, "value", q) == NULL)
			goto out;
	}
	/* "data" rather than "input": every node version knows it. */
	if (m->data_len > 0 && (r = add_hex(o, "data", m->data, m->data_len)) != 0)
		goto out;
	*out = o;
	o = NULL;
	r = 0;
out:
	cJSON_Delete(o);
	return r;
}

/* ------------------------------------------------------------- methods */

int
dpk_rpc_chain_id(struct dpk_rpc *rpc, uint64_t *chain_id)
{
	return call_u64(rpc, "eth_chainId", NULL, chain_id);
}

int
dpk_rpc_block_number(struct dpk_rpc *rpc, uint64_t *number)
{
	return call_u64(rpc, "eth_blockNumber", NULL, number);
}

static int settle(struct dpk_rpc *rpc, uint64_t *block);

static int
addr_block_params(const uint8_t addr[20], uint64_t block, cJSON **out)
{
	cJSON *p = cJSON_CreateArray();
	int r = DPK_ERR_NOMEM;

	if (p == NULL || (r = add_hex(p, NULL, addr, 20)) != 0 || (r = add_block(p, block)) != 0) {
		cJSON_Delete(p);
		return r;
	}
	*out = p;
	return 0;
}

int
dpk_rpc_nonce(struct dpk_rpc *rpc, const uint8_t addr[20], uint64_t block, uint64_t *nonce)
{
	cJSON *p;
	int r;

	if ((r = settle(rpc, &block)) != 0 || (r = addr_block_params(addr, block, &p)) != 0)
		return r;
	r = call_u64(rpc, "eth_getTransactionCount", p, nonce);
	cJSON_Delete(p);
	return r;
}

int
dpk_rpc_balance(struct dpk_rpc *rpc, const uint8_t addr[20], uint64_t block, struct dpk_u256 *wei)
{
	cJSON *p;
	int r;

	if ((r = settle(rpc, &block)) != 0 || (r = addr_block_params(addr, block, &p)) != 0)
		return r;
	r = call_u256(rpc, "eth_getBalance", p, wei);
	cJSON_Delete(p);
	return r;
}

int
dpk_rpc_estimate_gas(struct dpk_rpc *rpc, const struct dpk_rpc_callmsg *msg, uint64_t *gas)
{
	cJSON *p = cJSON_CreateArray(), *m = NULL;
	int r = DPK_ERR_NOMEM;

	if (p == NULL || (r = callmsg_json(msg, &m)) != 0)
		goto out;
	if (!cJSON_AddItemToArray(p, m)) {
		cJSON_Delete(m);
		r = DPK_ERR_NOMEM;
		goto out;
	}
	r = call_u64(rpc, "eth_estimateGas", p, gas);
out:
	cJSON_Delete(p);
	return r;
}

void
dpk_rpc_set_depth(struct dpk_rpc *rpc, const struct dpk_rpc_depth *d)
{
	rpc->depth = *d;
}

static const char *
depth_tag(const struct dpk_rpc *rpc)
{
	return rpc->depth.kind == DPK_RPC_DEPTH_SAFE ? "safe" :
	    rpc->depth.kind == DPK_RPC_DEPTH_FINALIZED ? "finalized" : NULL;
}

static int
has_depth(const struct dpk_rpc *rpc)
{
	return depth_tag(rpc) != NULL || rpc->depth.confirmations > 0;
}

int
dpk_rpc_settled_block(struct dpk_rpc *rpc, uint64_t *number)
{
	static const char *method = "eth_getBlockByNumber";
	const char *tag = depth_tag(rpc);
	cJSON *p, *root = NULL;
	const cJSON *res;
	uint64_t head;
	int r;

	if (tag == NULL) {
		if ((r = dpk_rpc_block_number(rpc, &head)) != 0)
			return r;
		if (head < rpc->depth.confirmations) {
			err_clear(rpc);
			err_add(rpc, rpc->ep[rpc->good].display, "eth_blockNumber",
			    "the head is block %llu: no block is confirmations (%u) blocks below it yet",
			    (unsigned long long)head, rpc->depth.confirmations);
			return DPK_ERR_STATE;
		}
		*number = head - rpc->depth.confirmations;
		return 0;
	}
	if ((p = cJSON_CreateArray()) == NULL)
		return DPK_ERR_NOMEM;
	if ((r = add_str(p, tag)) != 0 || !cJSON_AddItemToArray(p, cJSON_CreateFalse())) {
		cJSON_Delete(p);
		return r != 0 ? r : DPK_ERR_NOMEM;
	}
	r = rpc_call(rpc, method, p, &root, &res);
	cJSON_Delete(p);
	if (r == DPK_ERR_RPC || (r == 0 && cJSON_IsNull(res))) {
		/* a node before the Merge, or a chain without finality, has none */
		err_clear(rpc);
		err_add(rpc, rpc->ep[rpc->good].display, method,
		    "the node has no '%s' block: set confirmations to a number of blocks instead", tag);
		cJSON_Delete(root);
		return DPK_ERR_STATE;
	}
	if (r != 0)
		return r;
	if (!cJSON_IsObject(res) || (r = str_u64(member(res, "number"), number)) != 0)
		r = bad_result(rpc, method, r != 0 ? r : DPK_ERR_TYPE, "block number");
	cJSON_Delete(root);
	return r;
}

/* DPK_RPC_SETTLED to a block number (latest when no depth is set: no extra
 * request); other blocks are left as they are. */
static int
settle(struct dpk_rpc *rpc, uint64_t *block)
{
	if (*block != DPK_RPC_SETTLED)
		return 0;
	if (!has_depth(rpc)) {
		*block = DPK_RPC_LATEST;
		return 0;
	}
	return dpk_rpc_settled_block(rpc, block);
}

int
dpk_rpc_call(struct dpk_rpc *rpc, const struct dpk_rpc_callmsg *msg, uint64_t block,
    struct dpk_buf *out)
{
	cJSON *p = cJSON_CreateArray(), *m = NULL, *root = NULL;
	const cJSON *res;
	int r = DPK_ERR_NOMEM;

	if ((r = settle(rpc, &block)) != 0)
		goto out;
	r = DPK_ERR_NOMEM;
	if (p == NULL || (r = callmsg_json(msg, &m)) != 0)
		goto out;
	if (!cJSON_AddItemToArray(p, m)) {
		cJSON_Delete(m);
		r = DPK_ERR_NOMEM;
		goto out;
	}
	if ((r = add_block(p, block)) != 0)
		goto out;
	if ((r = rpc_call(rpc, "eth_call", p, &root, &res)) != 0)
		goto out;
	if (!cJSON_IsString(res))
		r = DPK_ERR_TYPE;
	else
		r = hex_to_buf(res->valuestring, out);
	if (r != 0)
		bad_result(rpc, "eth_call", r, "return data");
out:
	cJSON_Delete(root);
	cJSON_Delete(p);
	return r;
}

int
dpk_rpc_fee_data(struct dpk_rpc *rpc, struct dpk_rpc_fees *out)
{
	static const char *method = "eth_getBlockByNumber";
	struct dpk_u256 base, tip, gp, max;
	cJSON *p = cJSON_CreateArray(), *root = NULL;
	const cJSON *res;
	int r = DPK_ERR_NOMEM;

	if (p == NULL || (r = add_str(p, "latest")) != 0)
		goto out;
	r = DPK_ERR_NOMEM;
	if (!cJSON_AddItemToArray(p, cJSON_CreateFalse()))
		goto out;
	if ((r = rpc_call(rpc, method, p, &root, &res)) != 0)
		goto out;
	if (!cJSON_IsObject(res)) {
		r = bad_result(rpc, method, DPK_ERR_TYPE, "block");
		goto out;
	}
	if (member(res, "baseFeePerGas") == NULL) {
		err_add(rpc, rpc->ep[rpc->good].display, method,
		    "the latest block has no base fee (chain without EIP-1559)");
		r = DPK_ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = str_u256(member(res, "baseFeePerGas"), &base)) != 0) {
		bad_result(rpc, method, r, "baseFeePerGas");
		goto out;
	}
	r = call_u256(rpc, "eth_maxPriorityFeePerGas", NULL, &tip);
	if (r == DPK_ERR_RPC) {
		/* Older nodes: derive the tip from the legacy gas price. */
		if ((r = call_u256(rpc, "eth_gasPrice", NULL, &gp)) != 0)
			goto out;
		if (dpk_u256_sub(&tip, &gp, &base) != 0 || dpk_u256_is_zero(&tip))
			dpk_u256_from_u64(&tip, RPC_GWEI);
	} else if (r != 0) {
		goto out;
	}
	if ((r = dpk_u256_add(&max, &base, &base)) != 0 || (r = dpk_u256_add(&max, &max, &tip)) != 0) {
		bad_result(rpc, method, r, "fee (overflow)");
		goto out;
	}
	out->base_fee = base;
	out->priority_fee = tip;
	out->max_fee = max;
	r = 0;
out:
	cJSON_Delete(root);
	cJSON_Delete(p);
	return r;
}

int
dpk_rpc_send_raw(struct dpk_rpc *rpc, const uint8_t *raw, size_t len, uint8_t txhash[32])
{
	static const char *method = "eth_sendRawTransaction";
	cJSON *p = cJSON_CreateArray(), *root = NULL;
	const cJSON *res;
	uint8_t h[32];
	int r = DPK_ERR_NOMEM;

	if (p == NULL || (r = add_hex(p, NULL, raw, len)) != 0)
		goto out;
	if ((r = rpc_call(rpc, method, p, &root, &res)) != 0)
		goto out;
	if ((r = str_fixed(res, h, 32)) != 0) {
		bad_result(rpc, method, r, "transaction hash");
		goto out;
	}
	memcpy(txhash, h, 32);
out:
	cJSON_Delete(root);
	cJSON_Delete(p);
	return r;
}

void
dpk_rpc_logs_free(struct dpk_rpc_log *logs, size_t n)
{
	if (logs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(logs[i].data);
	free(logs);
}

void
dpk_rpc_receipt_free(struct dpk_rpc_receipt *r)
{
	if (r == NULL)
		return;
	dpk_rpc_logs_free(r->logs, r->nlogs);
	r->logs = NULL;
	r->nlogs = 0;
}

/* Optional quantity: absent or null leaves *has 0. */
static int
opt_u64(const cJSON *obj, const char *name, int *has, uint64_t *v)
{
	const cJSON *it = member(obj, name);

	*has = 0;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	*has = 1;
	return str_u64(it, v);
}

static int
parse_log(const cJSON *o, struct dpk_rpc_log *lg, const char **what)
{
	const cJSON *topics, *data, *t, *rm;
	struct dpk_buf b;
	int r, has;

	memset(lg, 0, sizeof(*lg));
	*what = "log";
	if (!cJSON_IsObject(o))
		return DPK_ERR_TYPE;
	*what = "log address";
	if ((r = str_fixed(member(o, "address"), lg->address, 20)) != 0)
		return r;
	*what = "log topics";
	topics = member(o, "topics");
	if (!cJSON_IsArray(topics))
		return DPK_ERR_TYPE;
	cJSON_ArrayForEach(t, topics) {
		if (lg->ntopics == 4)
			return DPK_ERR_TOOBIG; /* the EVM has LOG0..LOG4 only */
		if ((r = str_fixed(t, lg->topics[lg->ntopics], 32)) != 0)
			return r;
		lg->ntopics++;
	}
	*what = "log data";
	data = member(o, "data");
	if (!cJSON_IsString(data))
		return DPK_ERR_TYPE;
	dpk_buf_init(&b, strlen(data->valuestring) / 2);
	if ((r = hex_to_buf(data->valuestring, &b)) != 0) {
		dpk_buf_free(&b);
		return r;
	}
	lg->data = b.data; /* ownership moves to the log */
	lg->data_len = b.len;
	*what = "log blockNumber";
	if ((r = opt_u64(o, "blockNumber", &lg->has_block, &lg->block_number)) != 0)
		return r;
	*what = "log logIndex";
	if ((r = opt_u64(o, "logIndex", &has, &lg->log_index)) != 0)
		return r;
	*what = "log transactionHash";
	t = member(o, "transactionHash");
	if (t != NULL && !cJSON_IsNull(t) && (r = str_fixed(t, lg->tx_hash, 32)) != 0)
		return r;
	*what = "log removed";
	rm = member(o, "removed");
	if (rm != NULL && !cJSON_IsBool(rm))
		return DPK_ERR_TYPE;
	lg->removed = cJSON_IsTrue(rm);
	return 0;
}

static int
parse_logs(const cJSON *arr, struct dpk_rpc_log **logsp, size_t *np, const char **what)
{
	struct dpk_rpc_log *logs;
	const cJSON *it;
	size_t n = 0, cnt;
	int r;

	*what = "logs";
	if (!cJSON_IsArray(arr))
		return DPK_ERR_TYPE;
	cnt = (size_t)cJSON_GetArraySize(arr);
	if ((logs = calloc(cnt ? cnt : 1, sizeof(*logs))) == NULL)
		return DPK_ERR_NOMEM;
	cJSON_ArrayForEach(it, arr) {
		r = parse_log(it, &logs[n], what);
		n++; /* a failed log may own data already */
		if (r != 0) {
			dpk_rpc_logs_free(logs, n);
			return r;
		}
	}
	*logsp = logs;
	*np = n;
	return 0;
}

static int
parse_receipt(const cJSON *o, struct dpk_rpc_receipt *out, const char **what)
{
	struct dpk_rpc_receipt rc;
	const cJSON *it;
	uint64_t st;
	int r, has;

	memset(&rc, 0, sizeof(rc));
	*what = "receipt";
	if (!cJSON_IsObject(o))
		return DPK_ERR_TYPE;
	*what = "receipt transactionHash";
	if ((r = str_fixed(member(o, "transactionHash"), rc.tx_hash, 32)) != 0)
		return r;
	*what = "receipt blockHash";
	if ((r = str_fixed(member(o, "blockHash"), rc.block_hash, 32)) != 0)
		return r;
	*what = "receipt blockNumber";
	if ((r = str_u64(member(o, "blockNumber"), &rc.block_number)) != 0)
		return r;
	*what = "receipt gasUsed";
	if ((r = str_u64(member(o, "gasUsed"), &rc.gas_used)) != 0)
		return r;
	*what = "receipt status";
	rc.status = -1;
	if ((r = opt_u64(o, "status", &has, &st)) != 0)
		return r;
	if (has) {
		if (st > 1)
			return DPK_ERR_RANGE;
		rc.status = (int)st;
	}
	*what = "receipt effectiveGasPrice";
	it = member(o, "effectiveGasPrice");
	if (it != NULL && !cJSON_IsNull(it) && (r = str_u256(it, &rc.effective_gas_price)) != 0)
		return r;
	*what = "receipt contractAddress";
	it = member(o, "contractAddress");
	if (it != NULL && !cJSON_IsNull(it)) {
		if ((r = str_fixed(it, rc.contract_address, 20)) != 0)
			return r;
		rc.has_contract_address = 1;
	}
	if ((r = parse_logs(member(o, "logs"), &rc.logs, &rc.nlogs, what)) != 0)
		return r;
	*out = rc;
	return 0;
}

int
dpk_rpc_receipt_from_json(const cJSON *res, struct dpk_rpc_receipt *out)
{
	const char *what;

	return parse_receipt(res, out, &what);
}

int
dpk_rpc_logs_from_json(const cJSON *res, struct dpk_rpc_log **logs, size_t *n)
{
	const char *what;

	return parse_logs(res, logs, n, &what);
}

static int
hash_params(const uint8_t h[32], cJSON **out)
{
	cJSON *p = cJSON_CreateArray();
	int r = DPK_ERR_NOMEM;

	if (p == NULL || (r = add_hex(p, NULL, h, 32)) != 0) {
		cJSON_Delete(p);
		return r;
	}
	*out = p;
	return 0;
}

int
dpk_rpc_receipt(struct dpk_rpc *rpc, const uint8_t txhash[32], struct dpk_rpc_receipt *out)
{
	static const char *method = "eth_getTransactionReceipt";
	cJSON *p = NULL, *root = NULL;
	const cJSON *res;
	const char *what;
	char hx[67];
	int r;

	if ((r = hash_params(txhash, &p)) != 0)
		return r;
	if ((r = rpc_call(rpc, method, p, &root, &res)) != 0)
		goto out;
	if (cJSON_IsNull(res)) {
		dpk_hex_encode(txhash, 32, 1, hx, sizeof(hx));
		err_add(rpc, rpc->ep[rpc->good].display, method, "transaction %s is not mined yet", hx);
		r = DPK_ERR_NOTFOUND;
		goto out;
	}
	if ((r = parse_receipt(res, out, &what)) != 0)
		bad_result(rpc, method, r, what);
out:
	cJSON_Delete(root);
	cJSON_Delete(p);
	return r;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
dpk_rpc_wait_receipt(struct dpk_rpc *rpc, const uint8_t txhash[32], uint64_t timeout_ms,
    uint64_t poll_ms, dpk_rpc_progress_fn progress, void *ctx, struct dpk_rpc_receipt *out)
{
	uint64_t start = now_ms(), first = 0, seen = 0, bn, elapsed, mined = 0;
	int have_first, r;
	char hx[67];

	if (poll_ms == 0)
		poll_ms = 500;
	have_first = dpk_rpc_block_number(rpc, &first) == 0;
	for (;;) {
		uint64_t settled = 0;
		int nodepth = !has_depth(rpc);

		/* the settled block first, the receipt after: a receipt in a block
		 * at or below it is deep enough (a reorg since then moves the
		 * receipt too, and the next round sees it) */
		if (!nodepth && dpk_rpc_settled_block(rpc, &settled) != 0)
			settled = 0;
		r = dpk_rpc_receipt(rpc, txhash, out);
		if (r == 0 && !nodepth && (settled == 0 || out->block_number > settled)) {
			mined = out->block_number;
			dpk_rpc_receipt_free(out);
			r = DPK_ERR_NOTFOUND; /* mined, not deep enough yet */
		} else if (r == 0) {
			return 0;
		}
		if (r != DPK_ERR_NOTFOUND && r != DPK_ERR_NET && r != DPK_ERR_TIMEOUT)
			return r;
		if (dpk_rpc_block_number(rpc, &bn) == 0) {
			if (!have_first) {
				first = bn;
				have_first = 1;
			}
			seen = bn > first ? bn - first : 0;
		}
		elapsed = now_ms() - start;
		if (progress != NULL)
			progress(ctx, seen, elapsed);
		if (elapsed >= timeout_ms)
			break;
		sleep_ms(timeout_ms - elapsed < poll_ms ? timeout_ms - elapsed : poll_ms);
	}
	dpk_hex_encode(txhash, 32, 1, hx, sizeof(hx));
	err_clear(rpc);
	if (mined != 0) {
		char deep[48];

		if (depth_tag(rpc) != NULL)
			snprintf(deep, sizeof(deep), "at or below the node's %s block", depth_tag(rpc));
		else
			snprintf(deep, sizeof(deep), "%u blocks below the head", rpc->depth.confirmations);
		err_add(rpc, rpc->ep[rpc->good].display, "eth_getTransactionReceipt",
		    "transaction %s mined in block %llu, not yet %s after %llu ms (confirmations; %llu blocks seen)",
		    hx, (unsigned long long)mined, deep, (unsigned long long)elapsed, (unsigned long long)seen);
	} else
		err_add(rpc, rpc->ep[rpc->good].display, "eth_getTransactionReceipt",
		    "transaction %s not mined after %llu ms (%llu blocks seen)", hx,
		    (unsigned long long)elapsed, (unsigned long long)seen);
	return DPK_ERR_TIMEOUT;
}

int
dpk_rpc_get_logs(struct dpk_rpc *rpc, const struct dpk_rpc_filter *f,
    struct dpk_rpc_log **logs, size_t *n)
{
	static const char *method = "eth_getLogs";
	cJSON *p = cJSON_CreateArray(), *o = NULL, *topics, *root = NULL;
	const cJSON *res;
	const char *what;
	char tag[19];
	int r = DPK_ERR_NOMEM;

	if (f->ntopics > 4)
		r = DPK_ERR_INVALID;
	if (p == NULL || f->ntopics > 4 || (o = cJSON_CreateObject()) == NULL)
		goto out;
	if (!cJSON_AddItemToArray(p, o)) {
		cJSON_Delete(o);
		goto out;
	}
	if (f->address != NULL && (r = add_hex(o, "address", f->address, 20)) != 0)
		goto out;
	r = DPK_ERR_NOMEM;
	block_param(f->from_block, tag);
	if (cJSON_AddStringToObject(o, "fromBlock", tag) == NULL)
		goto out;
	block_param(f->to_block, tag);
	if (cJSON_AddStringToObject(o, "toBlock", tag) == NULL)
		goto out;
	if (f->ntopics > 0) {
		if ((topics = cJSON_AddArrayToObject(o, "topics")) == NULL)
			goto out;
		for (size_t i = 0; i < f->ntopics; i++) {
			if (f->topics[i] == NULL) {
				if (!cJSON_AddItemToArray(topics, cJSON_CreateNull()))
					goto out;
			} else if ((r = add_hex(topics, NULL, f->topics[i], 32)) != 0) {
				goto out;
			}
		}
	}
	if ((r = rpc_call(rpc, method, p, &root, &res)) != 0)
		goto out;
	if ((r = parse_logs(res, logs, n, &what)) != 0)
		bad_result(rpc, method, r, what);
out:
	cJSON_Delete(root);
	cJSON_Delete(p);
	return r;
}

int
dpk_rpc_request(struct dpk_rpc *rpc, const char *method, cJSON *params, cJSON **result)
{
	const cJSON *res;
	cJSON *root;
	int r;

	if (method == NULL || (params != NULL && !cJSON_IsArray(params) && !cJSON_IsObject(params)))
		return DPK_ERR_INVALID;
	if ((r = rpc_call(rpc, method, params, &root, &res)) != 0)
		return r;
	*result = cJSON_DetachItemViaPointer(root, (cJSON *)res);
	cJSON_Delete(root);
	return 0;
}
