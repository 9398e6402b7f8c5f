/* dpk-agent's log: to stderr ("dpk-agent: level: message"), or to syslog
 * (facility daemon) after agent_log_to_syslog(). */
#ifndef DPK_AGENT_LOG_H
#define DPK_AGENT_LOG_H

void agent_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void agent_log_to_syslog(void);

#endif
