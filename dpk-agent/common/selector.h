/* Selectors: who a dpk.conf rule is for (login_allow, user_group; see
 * dpk.conf(5)). A rule's value is a list of selectors separated by blanks;
 * an identity matches the rule if it matches any of them:
 *   *                   every DPK user of this host
 *   alice.example.org   one identity, in its canonical text form (any kind)
 *   .staff.example.org  every domain identity under that suffix
 *   approver:0xADDR     every identity whose record that approver approved */
#ifndef DPK_AGENT_SELECTOR_H
#define DPK_AGENT_SELECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "registry/identity.h"

#define AGENT_SELECTORS_MAX 256 /* in one set */

enum agent_selector_kind {
	AGENT_SEL_ALL = 1,
	AGENT_SEL_IDENTITY,
	AGENT_SEL_SUFFIX,
	AGENT_SEL_APPROVER,
};

struct agent_selector {
	enum agent_selector_kind kind;
	uint8_t hash[32];     /* AGENT_SEL_IDENTITY */
	char suffix[256];     /* AGENT_SEL_SUFFIX: ".example.org" */
	uint8_t approver[20]; /* AGENT_SEL_APPROVER */
};

struct agent_selset {
	struct agent_selector *v;
	size_t n;
};

/* Add the blank-separated selectors of text to s. 0, DPK_ERR_NOMEM, or 1
 * with *why ending the sentence "FILE:LINE: KEY: 'VALUE' <why>" (a
 * dpk_conffile_set_fn's convention). */
int agent_selset_add(struct agent_selset *s, const char *text, const char **why);
/* Whether identity id (hash h) approved by approver (NULL: not known)
 * matches one selector of s. */
int agent_selset_match(const struct agent_selset *s, const struct dpk_identity *id, const uint8_t h[32],
    const uint8_t *approver);
/* Whether domain identity id ends with suffix (".example.org"), below it. */
int agent_suffix_match(const struct dpk_identity *id, const char *suffix);
void agent_selset_free(struct agent_selset *s);

#endif
