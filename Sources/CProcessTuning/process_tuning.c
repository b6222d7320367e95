// Process-wide tuning that must happen before main, while the process has one thread.
#include <malloc.h>
#include <stdlib.h>

#include "process_tuning.h"

static int arena_max = 0;

// Two malloc arenas for the whole daemon. glibc otherwise gives each thread that allocates
// its own arena (up to eight per core): the thread that parses the config keeps ~40 MB of
// freed YAML tree resident with 10,000 partners, and ZeroMQ's I/O thread grows another
// arena for the ingest queue. With few arenas, later allocations reuse that memory. One
// arena (the setting before) made the routing thread, the committer, the log syncer and
// ZeroMQ's I/O thread wait on one lock; two cost 6-12% less CPU per lead, and with the
// config's freed pages handed back (lr_release_free_memory) keep the peak RSS where one had it
// (112 against 111 MB with 10,000 partners; docs/benchmarks.md).
// An operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES wins.
enum { lr_arena_max = 2 };

__attribute__((constructor)) static void lr_tune_malloc(void) {
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL) return;
    if (mallopt(M_ARENA_MAX, lr_arena_max) == 1) arena_max = lr_arena_max;
}

int lr_malloc_arena_max(void) { return arena_max; }

// Returns the pages of freed memory to the system (glibc's malloc_trim: the top of each
// arena, and whole free pages inside them). Called once the config is read: with 10,000
// partners, the YAML tree and the checks' temporaries (~36 MB) are free by then, and with
// two arenas a thread allocating in the other one would not reuse them.
void lr_release_free_memory(void) { malloc_trim(0); }
