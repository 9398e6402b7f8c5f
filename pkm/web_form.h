/* The body of an HTML form (application/x-www-form-urlencoded), as the
 * operator pages post it: untrusted bytes from the network. */
#ifndef DPK_PKM_WEB_FORM_H
#define DPK_PKM_WEB_FORM_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define PKM_WEB_FORM_KEY_MAX 127 /* the longest field name */

/* Parse len bytes (no NUL needed) into a new JSON object of strings, one
 * per field ('+' and %XX decoded). NULL (nothing to free) on a truncated or
 * malformed escape, an escaped or raw NUL, a field name over
 * PKM_WEB_FORM_KEY_MAX bytes, or a field given twice. Empty pieces ("a=1&&")
 * are skipped; a name without '=' has the value "". */
cJSON *pkm_web_form_parse(const char *s, size_t len);

#endif
