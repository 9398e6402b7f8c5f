/* Domain Control Validation (as ACME, RFC 8555 section 8, does it) before
 * the PKM enrols an addressable identity:
 *   http: GET http://IDENTITY/.well-known/dpk-challenge/TOKEN (port 80, no
 *         redirects, at most 1 KiB) must answer the value;
 *   dns:  a TXT record at _dpk-challenge.DOMAIN must hold the value.
 * IPv4 and IPv6 identities have the http method only. The value binds the
 * identity, the token and the PKM's wallet, so that a proof made for one
 * PKM or one identity does not serve another:
 *   value = hex(SHA-256("DPK-DCV-v1" 0x00 identity 0x00 token 0x00 wallet)) */
#ifndef DPK_PKM_DCV_H
#define DPK_PKM_DCV_H

#include <stddef.h>
#include <stdint.h>

#define PKM_DCV_TOKEN_LEN 32   /* hex characters */
#define PKM_DCV_VALUE_LEN 64

enum pkm_dcv_method { PKM_DCV_HTTP = 1, PKM_DCV_DNS = 2 };

/* The value a challenge's answer must be, NUL-terminated, into value[65]. */
int pkm_dcv_value(const char *identity, const char *token, const uint8_t wallet[20], char value[65]);

/* A TXT record's data (rdlen bytes: one or more length-prefixed character
 * strings, RFC 1035 3.3.14) joined into out (not NUL-terminated), as RFC
 * 8555 8.4 reads it; *outlen its length. DPK_ERR_TRUNCATED (empty, or a
 * string longer than what is left), DPK_ERR_TOOBIG (over outsz),
 * DPK_ERR_SYNTAX (a NUL byte). */
int pkm_dcv_txt_join(const uint8_t *rd, size_t rdlen, char *out, size_t outsz, size_t *outlen);

/* Try the method for identity (canonical text, kind as in registry/identity.h)
 * until it answers value or deadline_ms passes, waiting 0.25 s, 0.5 s, 1 s,
 * ... (at most 4 s) between tries. 0 if proved; otherwise DPK_ERR_PERM
 * (the last try's reason in why: what was fetched or looked up, and what
 * came back), DPK_ERR_UNSUPPORTED (dns for an address). */
int pkm_dcv_check(const char *identity, uint8_t kind, const char *token, const char *value,
    enum pkm_dcv_method method, uint32_t deadline_ms, char *why, size_t whysz);

#endif
