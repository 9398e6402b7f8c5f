/* nss_dpk's naming rules, apart from the agent's state so that dpk.conf's
 * parser (and its tests) can apply them: see nss_map.h and nss_dpk(8). */
#include "common/nss_map.h"

#include "base/err.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
hash_name(const uint8_t h[32], char out[33])
{
	static const char hx[] = "0123456789abcdef";

	memcpy(out, "dpk-", 4);
	for (int i = 0; i < 6; i++) {
		out[4 + 2 * i] = hx[h[i] >> 4];
		out[5 + 2 * i] = hx[h[i] & 15];
	}
	out[16] = '\0';
}

/* The user name of a canonical identity (nss_map.h). */
void
agent_nss_map_name(const struct dpk_identity *id, const uint8_t h[32], char out[33])
{
	if (id->kind == DPK_IDENTITY_DOMAIN && id->len <= 32 && id->value[0] >= 'a' && id->value[0] <= 'z' &&
	    memchr(id->value, '.', id->len) != NULL) {
		memcpy(out, id->value, id->len);
		out[id->len] = '\0';
	} else {
		hash_name(h, out);
	}
}

int
agent_nss_serial_uid(uint32_t uid_min, uint32_t uid_max, uint64_t serial, uint32_t *uid)
{
	if (serial == 0 || serial > (uint64_t)uid_max - uid_min)
		return -1;
	*uid = uid_min + (uint32_t)serial;
	return 0;
}

int
agent_nss_uid_serial(uint32_t uid_min, uint32_t uid_max, uint32_t uid, uint64_t *serial)
{
	if (uid <= uid_min || uid > uid_max)
		return -1;
	*serial = uid - uid_min;
	return 0;
}

int
agent_nss_cmp_hash(const void *x, const void *y)
{
	return memcmp(((const struct dpk_config_nss_user *)x)->hash, ((const struct dpk_config_nss_user *)y)->hash, 32);
}

int
agent_nss_assign(struct dpk_config_nss_user *users, size_t *n_users, const char *name, char *err, size_t errsz)
{
	size_t n = 0;

	if (*n_users == 0)
		return 0;
	qsort(users, *n_users, sizeof(users[0]), agent_nss_cmp_hash);
	for (size_t i = 0; i < *n_users; i++) /* one identity listed twice is one user */
		if (n == 0 || memcmp(users[n - 1].hash, users[i].hash, 32) != 0)
			users[n++] = users[i];
	*n_users = n;
	for (size_t i = 0; i < n; i++) {
		agent_nss_map_name(&users[i].id, users[i].hash, users[i].name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(users[j].name, users[i].name) == 0) { /* 48 bits of hash alike: never seen */
				snprintf(err, errsz, "%s: two nss_allow identities map to the user name %s", name, users[i].name);
				return DPK_ERR_INVALID;
			}
	}
	return 0;
}

int
agent_nss_range_check(uint32_t uid_min, uint32_t uid_max, const char *name, char *err, size_t errsz)
{
	const struct passwd *pw;
	const struct group *gr;
	int r = 0;

	setpwent();
	while ((pw = getpwent()) != NULL)
		if (pw->pw_uid >= uid_min && pw->pw_uid <= uid_max) {
			snprintf(err, errsz, "%s: the account %s has uid %lu, inside nss_uid_min..nss_uid_max (%u..%u): "
			    "DPK users would share ids with it; choose a range no other account uses (nss_dpk(8))", name,
			    pw->pw_name, (unsigned long)pw->pw_uid, uid_min, uid_max);
			r = DPK_ERR_INVALID;
			break;
		}
	endpwent();
	if (r != 0)
		return r;
	setgrent();
	while ((gr = getgrent()) != NULL)
		if (gr->gr_gid >= uid_min && gr->gr_gid <= uid_max) {
			snprintf(err, errsz, "%s: the group %s has gid %lu, inside nss_uid_min..nss_uid_max (%u..%u): "
			    "DPK users' private groups would share ids with it; choose a range no other group uses "
			    "(nss_dpk(8))", name, gr->gr_name, (unsigned long)gr->gr_gid, uid_min, uid_max);
			r = DPK_ERR_INVALID;
			break;
		}
	endgrent();
	return r;
}
