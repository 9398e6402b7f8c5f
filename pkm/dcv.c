/* Domain Control Validation (dcv.h): libcurl for http, the system resolver
 * (res_nquery, so /etc/resolv.conf decides the server) for dns. */
#include "dcv.h"

#include "base/err.h"
#include "base/hex.h"
#include "eth/wallet.h"
#include "registry/identity.h"

#include <arpa/nameser.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <netdb.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BODY_MAX 1024

int
pkm_dcv_value(const char *identity, const char *token, const uint8_t wallet[20], char value[65])
{
	static const char ctx[] = "DPK-DCV-v1";
	char addr[43];
	uint8_t md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	if (c == NULL)
		return DPK_ERR_NOMEM;
	dpk_wallet_address_format(wallet, addr);
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, ctx, sizeof(ctx)) == 1 &&
	    EVP_DigestUpdate(c, identity, strlen(identity) + 1) == 1 &&
	    EVP_DigestUpdate(c, token, strlen(token) + 1) == 1 && EVP_DigestUpdate(c, addr, strlen(addr)) == 1 &&
	    EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(c);
	if (!ok)
		return DPK_ERR_CRYPTO;
	dpk_hex_encode(md, 32, 0, value, 65);
	return 0;
}

struct body {
	char data[BODY_MAX + 1];
	size_t len;
	int over;
};

static size_t
body_write(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;

	if (b->len + len > BODY_MAX) {
		b->over = 1;
		return 0; /* abort the transfer */
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return len;
}

/* One http try: 0 if the body (trailing white space ignored) is value. */
static int
try_http(const char *identity, uint8_t kind, const char *token, const char *value, char *why, size_t whysz)
{
	char url[512];
	struct body b = {.len = 0};
	CURL *h = curl_easy_init();
	CURLcode cc;
	long status = 0;
	int r = DPK_ERR_PERM;

	if (h == NULL)
		return snprintf(why, whysz, "cannot start an HTTP request"), DPK_ERR_NOMEM;
	snprintf(url, sizeof(url), kind == DPK_IDENTITY_IPV6 ? "http://[%s]/.well-known/dpk-challenge/%s" :
	    "http://%s/.well-known/dpk-challenge/%s", identity, token);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "dpk-pkm-dcv/1");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (b.over) {
		snprintf(why, whysz, "GET %s: the answer is longer than %d bytes", url, BODY_MAX);
	} else if (cc != CURLE_OK) {
		snprintf(why, whysz, "GET %s: %s", url, curl_easy_strerror(cc));
	} else if (status != 200) {
		snprintf(why, whysz, "GET %s: HTTP status %ld, not 200", url, status);
	} else {
		while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' || b.data[b.len - 1] == ' '))
			b.len--;
		if (b.len == strlen(value) && memcmp(b.data, value, b.len) == 0)
			r = 0;
		else
			snprintf(why, whysz, "GET %s: the answer is not the challenge's value", url);
	}
	return r;
}

int
pkm_dcv_txt_join(const uint8_t *rd, size_t rdlen, char *out, size_t outsz, size_t *outlen)
{
	size_t off = 0, n = 0;

	*outlen = 0;
	if (rdlen == 0)
		return DPK_ERR_TRUNCATED;
	while (off < rdlen) {
		size_t l = rd[off++];

		if (l > rdlen - off)
			return DPK_ERR_TRUNCATED;
		if (n + l > outsz)
			return DPK_ERR_TOOBIG;
		if (memchr(rd + off, 0, l) != NULL)
			return DPK_ERR_SYNTAX;
		memcpy(out + n, rd + off, l);
		n += l;
		off += l;
	}
	*outlen = n;
	return 0;
}

/* One dns try: 0 if a TXT record at _dpk-challenge.identity is value. */
static int
try_dns(const char *identity, const char *value, char *why, size_t whysz)
{
	char name[300];
	unsigned char ans[4096];
	struct __res_state rs;
	ns_msg m;
	ns_rr rr;
	int n, count, seen = 0, herr;

	snprintf(name, sizeof(name), "_dpk-challenge.%s", identity);
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return snprintf(why, whysz, "TXT %s: cannot read the resolver's configuration", name), DPK_ERR_PERM;
	n = res_nquery(&rs, name, ns_c_in, ns_t_txt, ans, sizeof(ans));
	herr = rs.res_h_errno;
	res_nclose(&rs);
	if (n < 0) {
		snprintf(why, whysz, "TXT %s: %s", name, herr == HOST_NOT_FOUND ? "no such name" :
		    herr == NO_DATA ? "no TXT record" : "the lookup failed (no answer from the resolver)");
		return DPK_ERR_PERM;
	}
	if (ns_initparse(ans, n, &m) != 0)
		return snprintf(why, whysz, "TXT %s: a malformed answer", name), DPK_ERR_PERM;
	count = ns_msg_count(m, ns_s_an);
	for (int i = 0; i < count; i++) {
		const unsigned char *rd;
		size_t rdlen;
		char txt[256 * 4];
		size_t tl = 0;

		if (ns_parserr(&m, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt)
			continue;
		seen++;
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		if (pkm_dcv_txt_join(rd, rdlen, txt, sizeof(txt), &tl) == 0 && tl == strlen(value) &&
		    memcmp(txt, value, tl) == 0)
			return 0;
	}
	snprintf(why, whysz, "TXT %s: %s", name, seen ? "no record holds the challenge's value" : "no TXT record");
	return DPK_ERR_PERM;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
pkm_dcv_check(const char *identity, uint8_t kind, const char *token, const char *value,
    enum pkm_dcv_method method, uint32_t deadline_ms, char *why, size_t whysz)
{
	uint64_t end = now_ms() + deadline_ms, wait = 250;
	int r;

	if (method == PKM_DCV_DNS && kind != DPK_IDENTITY_DOMAIN)
		return snprintf(why, whysz, "%s is an address: prove it with the http method", identity),
		    DPK_ERR_UNSUPPORTED;
	if (kind != DPK_IDENTITY_DOMAIN && kind != DPK_IDENTITY_IPV4 && kind != DPK_IDENTITY_IPV6)
		return snprintf(why, whysz, "%s needs no proof of control", identity), DPK_ERR_UNSUPPORTED;
	for (;;) {
		r = method == PKM_DCV_DNS ? try_dns(identity, value, why, whysz) :
		    try_http(identity, kind, token, value, why, whysz);
		if (r == 0 || now_ms() + wait >= end)
			return r == 0 ? 0 : DPK_ERR_PERM;
		struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		if (wait < 4000)
			wait *= 2;
	}
}
