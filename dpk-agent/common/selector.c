/* Selectors of dpk.conf rules (selector.h). */
#include "common/selector.h"

#include "base/err.h"
#include "daemon/conffile.h"

#include <stdlib.h>
#include <string.h>

int
agent_suffix_match(const struct dpk_identity *id, const char *suffix)
{
	size_t sl = strlen(suffix);

	return id->kind == DPK_IDENTITY_DOMAIN && id->len > sl &&
	    memcmp(id->value + id->len - sl, suffix, sl) == 0;
}

/* One selector (n bytes of w) into *sel: 0, or 1 with *why. */
static int
parse_one(const char *w, size_t n, struct agent_selector *sel, const char **why)
{
	struct dpk_identity id;
	char tmp[300];

	memset(sel, 0, sizeof(*sel));
	if (n >= sizeof(tmp))
		return *why = "has a selector longer than any identity", 1;
	memcpy(tmp, w, n);
	tmp[n] = '\0';
	if (n == 1 && w[0] == '*') {
		sel->kind = AGENT_SEL_ALL;
		return 0;
	}
	if (n > 9 && memcmp(w, "approver:", 9) == 0) {
		sel->kind = AGENT_SEL_APPROVER;
		return dpk_conffile_address(tmp + 9, sel->approver, why);
	}
	if (w[0] == '.') {
		/* the suffix without its dot must itself be a domain */
		if (dpk_identity_parse_kind(DPK_IDENTITY_DOMAIN, tmp + 1, n - 1, &id) != 0 || tmp[n - 1] == '.' ||
		    (size_t)id.len + 1 != n || memcmp(id.value, tmp + 1, (size_t)id.len) != 0)
			return *why = "has a suffix that is not a lower-case domain with its leading dot (e.g. .example.org)", 1;
		sel->kind = AGENT_SEL_SUFFIX;
		memcpy(sel->suffix, tmp, n + 1);
		return 0;
	}
	if (dpk_identity_parse(tmp, n, &id) != 0 || dpk_identity_hash(&id, sel->hash) != 0)
		return *why = "has a selector that is not '*', an identity, a .suffix or approver:0xADDRESS", 1;
	sel->kind = AGENT_SEL_IDENTITY;
	return 0;
}

int
agent_selset_add(struct agent_selset *s, const char *text, const char **why)
{
	const char *p = text;
	size_t added = 0;

	while (*p != '\0') {
		struct agent_selector *v;
		size_t n;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		n = strcspn(p, " \t");
		if (s->n == AGENT_SELECTORS_MAX)
			return *why = "is one selector too many (at most 256 for one rule)", 1;
		if ((v = realloc(s->v, (s->n + 1) * sizeof(*v))) == NULL)
			return DPK_ERR_NOMEM;
		s->v = v;
		if (parse_one(p, n, &s->v[s->n], why) != 0)
			return 1;
		s->n++;
		added++;
		p += n;
	}
	if (added == 0)
		return *why = "names no one (give '*', identities, .suffixes or approver:0xADDRESS)", 1;
	return 0;
}

int
agent_selset_match(const struct agent_selset *s, const struct dpk_identity *id, const uint8_t h[32],
    const uint8_t *approver)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct agent_selector *sel = &s->v[i];

		switch (sel->kind) {
		case AGENT_SEL_ALL: return 1;
		case AGENT_SEL_IDENTITY:
			if (memcmp(sel->hash, h, 32) == 0)
				return 1;
			break;
		case AGENT_SEL_SUFFIX:
			if (agent_suffix_match(id, sel->suffix))
				return 1;
			break;
		case AGENT_SEL_APPROVER:
			if (approver != NULL && memcmp(sel->approver, approver, 20) == 0)
				return 1;
			break;
		}
	}
	return 0;
}

void
agent_selset_free(struct agent_selset *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}
