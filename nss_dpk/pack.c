/* nss_dpk: checking the agent's answers and packing them (pack.h). Every
 * byte here came from a socket: each field is bounded and checked before
 * anything is written to the caller's buffer. */
#include "pack.h"
#include "wire.h"

#include <errno.h>
#include <stdalign.h>
#include <string.h>

int
nss_dpk_plausible(const uint8_t *p, size_t n)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:";

	if (n == 0 || n > NSS_DPK_NAME_MAX || p[0] == '-' || (n == 4 && memcmp(p, "root", 4) == 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\0' || strchr(ok, p[i]) == NULL)
			return 0;
	return 1;
}

int
nss_dpk_reserved_id(uint32_t id)
{
	return id == 0 || id == 65534 || id == UINT32_MAX;
}

/* A text field of a passwd or group line: no NUL, ':' or newline, which
 * would corrupt /etc/passwd-shaped output (getent, sshd's logs). */
struct field {
	const uint8_t *p;
	size_t n;
};

static int
get_field(struct dpk_wire_r *rd, struct field *f, size_t max, int nonempty)
{
	f->p = dpk_wire_get_string(rd, &f->n);
	if (f->p == NULL || f->n > max || (nonempty && f->n == 0))
		return -1;
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i] == '\0' || f->p[i] == ':' || f->p[i] == '\n')
			return -1;
	return 0;
}

/* Copy f into the caller's buffer at *pos as a C string. */
static char *
put_field(char *buf, size_t *pos, const struct field *f)
{
	char *s = buf + *pos;

	if (f->n > 0)
		memcpy(s, f->p, f->n);
	s[f->n] = '\0';
	*pos += f->n + 1;
	return s;
}

static const struct field star = {(const uint8_t *)"*", 1};

/* Copy checked fields into the caller's buffer, or say it is too small
 * (pw untouched). */
static enum nss_status
put_passwd(const struct field *name, uint32_t u, uint32_t g, const struct field *gecos, const struct field *dir,
    const struct field *shell, struct passwd *pw, char *buf, size_t buflen, int *err)
{
	size_t need = name->n + 1 + star.n + 1 + gecos->n + 1 + dir->n + 1 + shell->n + 1, pos = 0;

	if (need > buflen) {
		*err = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	pw->pw_name = put_field(buf, &pos, name);
	pw->pw_passwd = put_field(buf, &pos, &star);
	pw->pw_uid = u;
	pw->pw_gid = g;
	pw->pw_gecos = put_field(buf, &pos, gecos);
	pw->pw_dir = put_field(buf, &pos, dir);
	pw->pw_shell = put_field(buf, &pos, shell);
	return NSS_STATUS_SUCCESS;
}

enum nss_status
nss_dpk_put_passwd(const char *name, size_t name_n, uint32_t uid, uint32_t gid, const char *gecos, size_t gecos_n,
    const char *dir, size_t dir_n, const char *shell, size_t shell_n, struct passwd *pw, char *buf, size_t buflen,
    int *err)
{
	struct field f_name = {(const uint8_t *)name, name_n}, f_gecos = {(const uint8_t *)gecos, gecos_n},
		     f_dir = {(const uint8_t *)dir, dir_n}, f_shell = {(const uint8_t *)shell, shell_n};

	return put_passwd(&f_name, uid, gid, &f_gecos, &f_dir, &f_shell, pw, buf, buflen, err);
}

enum nss_status
nss_dpk_put_group(const char *name, size_t name_n, uint32_t gid, struct group *gr, char *buf, size_t buflen, int *err)
{
	struct field f_name = {(const uint8_t *)name, name_n};
	size_t pad = (alignof(char *) - ((uintptr_t)buf % alignof(char *))) % alignof(char *);
	size_t pos = pad + sizeof(char *);
	char **mem;

	if (pos + name_n + 1 + star.n + 1 > buflen) {
		*err = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	mem = (char **)(void *)(buf + pad);
	mem[0] = NULL;
	gr->gr_name = put_field(buf, &pos, &f_name);
	gr->gr_passwd = put_field(buf, &pos, &star);
	gr->gr_gid = gid;
	gr->gr_mem = mem;
	return NSS_STATUS_SUCCESS;
}

enum nss_status
nss_dpk_pack_passwd(const uint8_t *body, size_t n, int want_uid, uint32_t uid, struct passwd *pw, char *buf,
    size_t buflen, int *err)
{
	struct dpk_wire_r rd;
	struct field name, gecos, dir, shell;
	uint32_t u, g;

	dpk_wire_r_init(&rd, body, n);
	if (get_field(&rd, &name, 64, 1) != 0)
		goto corrupt;
	u = dpk_wire_get_u32(&rd);
	g = dpk_wire_get_u32(&rd);
	if (get_field(&rd, &gecos, 1024, 0) != 0 || get_field(&rd, &dir, 4096, 1) != 0 ||
	    get_field(&rd, &shell, 4096, 1) != 0 || dpk_wire_r_done(&rd) != 0)
		goto corrupt;
	/* an agent that answers another id, or root, is not to be believed */
	if (nss_dpk_reserved_id(u) || nss_dpk_reserved_id(g) || (want_uid && u != uid) || dir.p[0] != '/' || shell.p[0] != '/' ||
	    !nss_dpk_plausible(name.p, name.n) || memchr(name.p, ':', name.n) != NULL)
		goto corrupt;
	return put_passwd(&name, u, g, &gecos, &dir, &shell, pw, buf, buflen, err);
corrupt:
	*err = EPROTO;
	return NSS_STATUS_UNAVAIL;
}

/* The member array goes first, aligned, then the strings. */
enum nss_status
nss_dpk_pack_group(const uint8_t *body, size_t n, int want_gid, uint32_t gid, struct group *gr, char *buf,
    size_t buflen, int *err)
{
	struct dpk_wire_r rd, again;
	struct field name, m;
	uint32_t g, count;
	size_t need, pos, pad = (alignof(char *) - ((uintptr_t)buf % alignof(char *))) % alignof(char *);
	char **mem;

	dpk_wire_r_init(&rd, body, n);
	if (get_field(&rd, &name, 64, 1) != 0)
		goto corrupt;
	g = dpk_wire_get_u32(&rd);
	count = dpk_wire_get_u32(&rd);
	if (rd.err || count > NSS_DPK_MAX_MEMBERS || nss_dpk_reserved_id(g) || (want_gid && g != gid) ||
	    !nss_dpk_plausible(name.p, name.n) || memchr(name.p, ':', name.n) != NULL)
		goto corrupt;
	/* first pass: check every member and add up the size */
	need = pad + ((size_t)count + 1) * sizeof(char *) + name.n + 1 + star.n + 1;
	again = rd;
	for (uint32_t i = 0; i < count; i++) {
		if (get_field(&rd, &m, 64, 1) != 0 || memchr(m.p, ',', m.n) != NULL)
			goto corrupt;
		need += m.n + 1;
	}
	if (dpk_wire_r_done(&rd) != 0)
		goto corrupt;
	if (need > buflen) {
		*err = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	mem = (char **)(void *)(buf + pad);
	pos = pad + ((size_t)count + 1) * sizeof(char *);
	for (uint32_t i = 0; i < count; i++) {
		get_field(&again, &m, 64, 1);
		mem[i] = put_field(buf, &pos, &m);
	}
	mem[count] = NULL;
	gr->gr_name = put_field(buf, &pos, &name);
	gr->gr_passwd = put_field(buf, &pos, &star);
	gr->gr_gid = g;
	gr->gr_mem = mem;
	return NSS_STATUS_SUCCESS;
corrupt:
	*err = EPROTO;
	return NSS_STATUS_UNAVAIL;
}

int
nss_dpk_unpack_groups(const uint8_t *body, size_t n, uint32_t gids[NSS_DPK_MAX_GROUPS])
{
	struct dpk_wire_r rd;
	uint32_t count;

	dpk_wire_r_init(&rd, body, n);
	count = dpk_wire_get_u32(&rd);
	if (rd.err || count > NSS_DPK_MAX_GROUPS || rd.len != (size_t)count * 4)
		return -1;
	for (uint32_t i = 0; i < count; i++)
		if (nss_dpk_reserved_id(gids[i] = dpk_wire_get_u32(&rd)))
			return -1;
	return dpk_wire_r_done(&rd) == 0 ? (int)count : -1;
}
