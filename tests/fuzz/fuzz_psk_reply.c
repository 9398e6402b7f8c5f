/* libdpkclient reading an arbitrary reply to the PSK requests (PSK_GET,
 * PSK_HANDSHAKE, TICKET_ISSUE, TICKET_REDEEM): the first byte picks the
 * request, the rest is what the "agent" sends back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpk/client.h"

int dpkclient_internal_adopt_fd(int fd, int timeout_ms, struct dpk_client **out);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ticket[3] = {1, 2, 3};
	struct dpk_client_psk psk;
	struct dpk_client *c;
	uint8_t *t = NULL;
	size_t tlen = 0;
	int sv[2];

	if (size < 1 || size > 70000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	int bufsz = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	if (dpkclient_internal_adopt_fd(sv[0], 50, &c) == 0) {
		switch (data[0] % 5) {
		case 0: dpk_client_psk_get(c, "b.example.org", 1, &psk); break;
		case 1: dpk_client_psk_get_by_identity(c, "dpk1-00", 0, &psk); break;
		case 2: dpk_client_psk_handshake(c, "b.example.org", "127.0.0.1:7443", 1, &psk); break;
		case 3: dpk_client_ticket_issue(c, "d.example.org", "s.example.org", 60, &t, &tlen, &psk); break;
		default: dpk_client_ticket_redeem(c, ticket, sizeof(ticket), 1, &psk); break;
		}
		free(t);
		dpk_client_psk_clear(&psk);
		dpk_client_close(c); /* closes sv[0] */
	}
	close(sv[1]);
	return 0;
}
