/* dpk-pkm metrics: the PKM's tokens, journalled transactions, wallet and
 * chain in the Prometheus text format (doc/metrics.md). */
#ifndef DPK_PKM_METRICS_CMD_H
#define DPK_PKM_METRICS_CMD_H

struct pkm;

/* Print the metrics on stdout (json: as {"format", "metrics"}); exit status
 * (0 also when the chain does not answer: dpk_pkm_chain_up 0). */
int pkm_metrics_command(struct pkm *p, int json);

#endif
