/* The agent's Unix sockets (its request socket, the ssh-agent socket): how
 * they are opened and who may make privileged requests on them. */
#ifndef DPK_AGENT_SOCK_H
#define DPK_AGENT_SOCK_H

#include <stddef.h>
#include <sys/types.h>

/* Listen on a Unix socket at path (mode 0666: callers are checked per
 * connection), replacing a socket left by an earlier run. A socket file that
 * a live process still serves is never replaced: DPK_ERR_EXISTS, with a
 * sentence in err; so is a path that is not a socket. */
int agent_listen_unix(const char *path, int *fd, char *err, size_t errsz);
/* Root, or in admin_group (have_admin_gid, admin_gid) as primary or
 * supplementary group (SO_PEERGROUPS: the groups the peer had when it
 * connected; no NSS lookup, so no recursion). */
struct ucred;
int agent_peer_privileged(int fd, const struct ucred *cred, int have_admin_gid, gid_t admin_gid);

#endif
