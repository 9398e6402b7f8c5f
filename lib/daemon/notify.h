/* Telling the service manager how a daemon is doing (systemd's sd_notify):
 * readiness, reloads, shutdown and the watchdog. Every function does nothing
 * and returns 0 when the daemon was not started by systemd with
 * Type=notify (no $NOTIFY_SOCKET). */
#ifndef DPK_DAEMON_NOTIFY_H
#define DPK_DAEMON_NOTIFY_H

/* The daemon serves requests now; status is a one-line human summary shown
 * by `systemctl status` (may be NULL). */
void dpk_notify_ready(const char *status);

/* A reload starts; call dpk_notify_reloaded() when it is over, whether the
 * new configuration was taken or refused (status says which). */
void dpk_notify_reloading(void);
void dpk_notify_reloaded(const char *status);

/* The daemon is stopping. */
void dpk_notify_stopping(void);

/* Ping the watchdog when half its interval has passed since the last ping.
 * Call it from the event loop, never from a helper thread, so that a stuck
 * loop misses its pings. Returns the milliseconds until the next ping is
 * due, or -1 when there is no watchdog (wait as long as you like). */
int dpk_notify_watchdog(void);

#endif
