/* dpkctl's commands that live in files of their own (dpkctl(1)). */
#ifndef DPK_DPKCTL_H
#define DPK_DPKCTL_H

/* dpkctl's exit codes */
#define DPKCTL_EXIT_REFUSED 1
#define DPKCTL_EXIT_USAGE 2
#define DPKCTL_EXIT_UNREACHABLE 3
#define DPKCTL_EXIT_PROTOCOL 4

/* dpkctl respond [CHALLENGE | -]: its exit code. */
int dpkctl_respond(const char *socket, int timeout_ms, int argc, char **argv);

#endif
