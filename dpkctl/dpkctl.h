/* dpkctl's commands that live in files of their own (dpkctl(1)). */
#ifndef DPK_DPKCTL_H
#define DPK_DPKCTL_H

/* dpkctl's exit codes */
#define DPKCTL_EXIT_REFUSED 1
#define DPKCTL_EXIT_USAGE 2
#define DPKCTL_EXIT_UNREACHABLE 3
#define DPKCTL_EXIT_PROTOCOL 4

struct dpk_client;
/* Connect to the agent at socket (NULL: the default) and check, before
 * anything is sent, that the process serving it is root or the caller
 * itself (SO_PEERCRED): anything else could be a local user's impostor
 * collecting what dpkctl sends or believing what it answers. 0, or the
 * exit code after a message on stderr. */
int dpkctl_open(const char *socket, int timeout_ms, struct dpk_client **c);

/* dpkctl respond [CHALLENGE | -]: its exit code. */
int dpkctl_respond(const char *socket, int timeout_ms, int argc, char **argv);

/* dpkctl join TOKEN_FILE --rpc URL [--config FILE] [--force]: writes the
 * configuration from an enrolment token, checks it with dpk-agent
 * --check-config ($DPK_AGENT, else dpk-agent from PATH), starts nothing; its exit code. */
int dpkctl_join(int argc, char **argv);

/* dpkctl metrics: the agent's metrics (root and admin_group) on stdout; its exit code. */
int dpkctl_metrics(struct dpk_client *c, int argc, char **argv);

#endif
