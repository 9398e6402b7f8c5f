/* The local socket and the event loop (server.c). */
#ifndef DPK_AGENT_SERVER_H
#define DPK_AGENT_SERVER_H

#include <stddef.h>

struct agent;

int agent_server_listen(struct agent *a, char *err, size_t errsz);
/* Run the loop until a signal: 0 on SIGTERM/SIGINT, 1 on SIGHUP (main()
 * reloads and calls it again), or an error. */
int agent_server_run(struct agent *a);
void agent_server_close(struct agent *a);

#endif
