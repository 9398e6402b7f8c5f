/* What a PAM module or sshd helper must know without asking the agent:
 * whether a passwd entry is a DPK user's. dpk.conf is read for two keys
 * only (nss_uid_min, nss_uid_max), with a bounded reader: libc only, as the
 * rest of libdpkclient. The agent refuses to start when a local account
 * has an id in that range, so an id inside it is DPK's. */
#include "dpk/client.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOSTCONF_MAX (64 * 1024)

/* A decimal id from 1000 to 2147483646, as the agent accepts it. */
static int
parse_id(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < 1000 || v > 2147483646)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "key = value" on one line, blanks around both; '#' starts a comment. */
static void
scan_line(const char *p, size_t n, uint32_t *min, uint32_t *max, int *bad)
{
	size_t k = 0, ke, v, ve = n;

	while (k < n && (p[k] == ' ' || p[k] == '\t'))
		k++;
	if (k == n || p[k] == '#')
		return;
	for (ke = k; ke < n && p[ke] != '=' && p[ke] != ' ' && p[ke] != '\t'; ke++)
		;
	for (v = ke; v < n && (p[v] == ' ' || p[v] == '\t'); v++)
		;
	if (v == n || p[v] != '=')
		return; /* not ours to judge: the agent reports it */
	for (v++; v < n && (p[v] == ' ' || p[v] == '\t'); v++)
		;
	while (ve > v && (p[ve - 1] == ' ' || p[ve - 1] == '\t' || p[ve - 1] == '\r'))
		ve--;
	if (ke - k == 11 && memcmp(p + k, "nss_uid_min", 11) == 0 && parse_id(p + v, ve - v, min) != 0)
		*bad = 1;
	if (ke - k == 11 && memcmp(p + k, "nss_uid_max", 11) == 0 && parse_id(p + v, ve - v, max) != 0)
		*bad = 1;
}

int
dpk_client_host_uid_range(const char *config, uint32_t *min, uint32_t *max)
{
	char *buf;
	ssize_t r;
	size_t len = 0;
	int fd, bad = 0;

	*min = DPK_NSS_UID_MIN_DEFAULT;
	*max = DPK_NSS_UID_MAX_DEFAULT;
	if ((fd = open(config != NULL ? config : DPK_CLIENT_DEFAULT_CONFIG, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return DPK_CLIENT_EUNAVAIL;
	if ((buf = malloc(HOSTCONF_MAX + 1)) == NULL) {
		close(fd);
		return DPK_CLIENT_ENOMEM;
	}
	while (len <= HOSTCONF_MAX && (r = read(fd, buf + len, HOSTCONF_MAX + 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > HOSTCONF_MAX) {
		free(buf);
		return DPK_CLIENT_EPROTO;
	}
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (buf + i)) : len - i;

		scan_line(buf + i, n, min, max, &bad);
		i += n + 1;
	}
	free(buf);
	if (bad || *min > *max) {
		*min = DPK_NSS_UID_MIN_DEFAULT;
		*max = DPK_NSS_UID_MAX_DEFAULT;
		return DPK_CLIENT_EPROTO;
	}
	return 0;
}

int
dpk_client_passwd_is_dpk(const char *config, uint32_t uid, const char *gecos)
{
	uint32_t min, max;

	if (dpk_client_host_uid_range(config, &min, &max) != 0)
		return 0; /* no readable dpk.conf: no DPK users here */
	return uid >= min && uid <= max && gecos != NULL && strncmp(gecos, "DPK ", 4) == 0;
}
