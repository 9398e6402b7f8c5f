#include "timers.h"

#include "agent.h"
#include "daemon/notify.h"
#include "chain/lookup.h"
#include "chain/registration.h"
#include "chain/rotate.h"
#include "login/nss_cache.h"
#include "peers/peer.h"
#include "peers/psk.h"

int
agent_timers(struct agent *a, int64_t now)
{
	int64_t next = now + 1000, t;

	if ((t = agent_lookup_timers(a, now)) < next)
		next = t;
	if ((t = agent_nss_cache_tick(a, now)) >= 0 && now + t < next)
		next = now + t;
	if ((t = agent_register_timers(a, now)) < next)
		next = t;
	if ((t = agent_keyop_timers(a, now)) < next)
		next = t;
	/* here, in the event loop: a stuck loop stops the pings and systemd restarts us */
	if ((t = dpk_notify_watchdog()) >= 0 && now + t < next)
		next = now + t;
	if (a->peer != NULL)
		agent_psk_timers(a, now);
	return agent_peer_timers(a, now, next <= now ? 0 : (int)(next - now));
}
