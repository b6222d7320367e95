#ifndef LEADROUTER_PROCESS_TUNING_H
#define LEADROUTER_PROCESS_TUNING_H

/// The glibc malloc arena limit leadrouterd set before main (4), or 0 when it left malloc
/// alone because the environment already tunes it (MALLOC_ARENA_MAX or GLIBC_TUNABLES).
int lr_malloc_arena_max(void);

/// Returns freed memory's pages to the system (malloc_trim), after the config is read.
void lr_release_free_memory(void);

#endif
