/* Memory an idle agent gives back (issue 13's idle target): the malloc
 * heap's free pages, and the pages of the event loop thread's stack below
 * the frame that calls it, which start-up, a registration or a burst of
 * requests touched once and the loop no longer needs. */
#ifndef DPK_AGENT_IDLE_H
#define DPK_AGENT_IDLE_H

/* Before any thread starts: one malloc arena for all threads (the chain
 * workers allocate little and seldom; an arena each kept ~25 kB more). */
void agent_idle_init(void);

/* Call from the event loop itself (its frame is kept, everything deeper is
 * released), when it has nothing to do. */
void agent_idle_trim(void);

#endif
