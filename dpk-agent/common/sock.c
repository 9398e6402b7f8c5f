#include "common/sock.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* 1 if a process accepts connections on sa. Only "nobody listens"
 * (ECONNREFUSED) makes a socket file stale; a full backlog (EAGAIN) or a
 * permission error means someone is there. */
static int
socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), live;

	if (fd < 0)
		return 1;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return live;
}

int
agent_listen_unix(const char *path, int *out, char *err, size_t errsz)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errsz, "socket path %s is too long", path);
		return DPK_ERR_INVALID;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* a socket left by a previous run is replaced; one a live process still
	 * serves (another agent sharing the folder) is not, nor anything else */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsz, "%s exists and is not a socket; refusing to replace it", path);
			return DPK_ERR_EXISTS;
		}
		if (socket_in_use(&sa)) {
			snprintf(err, errsz, "%s is in use: another process (another dpk-agent?) serves it; "
			    "stop it, or give this agent another path", path);
			return DPK_ERR_EXISTS;
		}
		unlink(path);
	}
	/* Bound under a temporary name and renamed into place once it listens:
	 * a client that finds the path can connect (no ECONNREFUSED between
	 * bind() and listen() while the agent starts). */
	char tmp[sizeof(sa.sun_path)];
	int named = snprintf(tmp, sizeof(tmp), "%s.new", path) < (int)sizeof(tmp), bound = 0;

	if (named) {
		if (lstat(tmp, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(tmp); /* left by a start that died half-way */
		memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    !(bound = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) ||
	    chmod(sa.sun_path, 0666) != 0 || /* everyone may connect; each request is checked */
	    listen(fd, 64) != 0 || (named && rename(tmp, path) != 0)) {
		snprintf(err, errsz, "cannot listen on %s: %s", path, strerror(errno));
		if (bound)
			unlink(sa.sun_path);
		if (fd >= 0)
			close(fd);
		return DPK_ERR_IO;
	}
	*out = fd;
	return 0;
}

/* Root, or in admin_group as primary or supplementary group (SO_PEERGROUPS:
 * the groups the peer had when it connected; no NSS lookup, so no recursion). */
int
agent_peer_privileged(int fd, const struct ucred *cred, int have_admin_gid, gid_t admin_gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0)
		return 1;
	if (!have_admin_gid)
		return 0;
	if (cred->gid == admin_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return 0;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == admin_gid)
			return 1;
	return 0;
}

