/* libdpkclient reading an arbitrary reply from the agent's socket. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpk/client.h"

int dpkclient_internal_adopt_fd(int fd, int timeout_ms, struct dpk_client **out);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_client *c;
	char version[64];
	uint32_t proto;
	int sv[2];

	if (size > 70000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	int bufsz = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	if (dpkclient_internal_adopt_fd(sv[0], 50, &c) == 0) {
		struct dpk_client_status st;
		struct dpk_client_status_ops ops;
		uint32_t dropped;

		dpk_client_hello(c, &proto, version, sizeof(version));
		/* the next frames: a STATUS reply (its operations block), a CACHE_FLUSH reply */
		if (dpk_client_status(c, &st) == 0)
			dpk_client_status_ops(c, &ops);
		dpk_client_cache_flush(c, &dropped);
		dpk_client_close(c); /* closes sv[0] */
	}
	close(sv[1]);
	return 0;
}
