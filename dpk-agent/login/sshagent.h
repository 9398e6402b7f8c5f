/* dpk-agent's ssh-agent socket (dpk-agent(8)): a Unix socket of its own,
 * served by a thread of its own, speaking the ssh-agent protocol
 * (sshagent_msg.h) for the identity key, so a stock ssh client signs its
 * user authentication with the DPK key while the key stays in the agent.
 * Only the device's owners may use it: root and members of admin_group
 * (SO_PEERCRED / SO_PEERGROUPS when a connection is accepted). */
#ifndef DPK_AGENT_SSHAGENT_H
#define DPK_AGENT_SSHAGENT_H

#include <stddef.h>

struct agent;

#define SSHAGENT_MAX_CONNECTIONS 32

/* Listen on the configured ssh_agent_socket (default: ssh-agent.sock beside
 * the agent's socket; "none": not at all) and start its thread. 0, or a
 * negative DPK_ERR_* with a message in err. Called once a->idkey is loaded. */
int agent_sshagent_start(struct agent *a, char *err, size_t errsz);
/* Take admin_group's gid after a configuration reload. */
void agent_sshagent_reload(struct agent *a);
/* Stop the thread, close the connections, remove the socket. Safe to call
 * when not started. */
void agent_sshagent_stop(struct agent *a);

#endif
