/* The hanging JSON-RPC proxy (rpcproxy.h): one process, one poll loop over
 * up to PROXY_PAIRS client/upstream socket pairs. */
#include "rpcproxy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PROXY_PAIRS 64

struct pair {
	int cfd, ufd; /* client (the agent's curl), upstream (the node) */
};

static int
connect_upstream(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Move what is readable on from to to; -1 when either side is done. */
static int
pump(int from, int to)
{
	char buf[65536];
	ssize_t n = recv(from, buf, sizeof(buf), MSG_DONTWAIT);

	if (n <= 0)
		return -1;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		off += w;
	}
	return 0;
}

static void
proxy_loop(int lfd, int upstream_port, const char *flag)
{
	struct pair pairs[PROXY_PAIRS];
	size_t npairs = 0;

	for (;;) {
		struct pollfd pfd[1 + 2 * PROXY_PAIRS];
		int hung = access(flag, F_OK) == 0;
		size_t n = 1;

		pfd[0] = (struct pollfd){lfd, POLLIN, 0};
		for (size_t i = 0; i < npairs; i++) {
			/* hung: requests stay unread in the kernel, and nothing comes back */
			pfd[n++] = (struct pollfd){pairs[i].cfd, hung ? 0 : POLLIN, 0};
			pfd[n++] = (struct pollfd){pairs[i].ufd, hung ? 0 : POLLIN, 0};
		}
		if (poll(pfd, n, 50) < 0)
			continue;
		for (size_t i = npairs; i-- > 0;) {
			short cr = pfd[1 + 2 * i].revents, ur = pfd[2 + 2 * i].revents;
			int done = 0;

			if (hung)
				continue;
			if (cr & (POLLIN | POLLHUP | POLLERR))
				done = pump(pairs[i].cfd, pairs[i].ufd) != 0;
			if (!done && (ur & (POLLIN | POLLHUP | POLLERR)))
				done = pump(pairs[i].ufd, pairs[i].cfd) != 0;
			if (done) {
				close(pairs[i].cfd);
				close(pairs[i].ufd);
				pairs[i] = pairs[--npairs];
			}
		}
		if (pfd[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), ufd;

			if (cfd < 0)
				continue;
			if (npairs == PROXY_PAIRS || (ufd = connect_upstream(upstream_port)) < 0) {
				close(cfd);
				continue;
			}
			pairs[npairs++] = (struct pair){cfd, ufd};
		}
	}
}

void
dpk_test_rpcproxy_start(struct dpk_test_rpcproxy *p, const char *dir, int upstream_port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int lfd, one = 1;

	snprintf(p->hang_flag, sizeof(p->hang_flag), "%s/rpcproxy-hang", dir);
	unlink(p->hang_flag);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) != 0)
		fail_msg("rpcproxy: cannot listen on 127.0.0.1");
	p->port = ntohs(sin.sin_port);
	snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
	if ((p->pid = fork()) < 0)
		fail_msg("rpcproxy: fork failed");
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		proxy_loop(lfd, upstream_port, p->hang_flag);
		_exit(0);
	}
	close(lfd);
}

void
dpk_test_rpcproxy_hang(struct dpk_test_rpcproxy *p, int hang)
{
	if (hang)
		dpk_test_write_file(p->hang_flag, "", 0644);
	else
		unlink(p->hang_flag);
}

void
dpk_test_rpcproxy_stop(struct dpk_test_rpcproxy *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	unlink(p->hang_flag);
}
