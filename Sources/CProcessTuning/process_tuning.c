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
// ZeroMQ's I/O thread wait on one lock; two keep the peak RSS where one had it (110 against
// 108 MB with 10,000 partners) and cost 6-12% less CPU per lead (docs/benchmarks.md).
// An operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES wins.
enum { lr_arena_max = 2 };

__attribute__((constructor)) static void lr_tune_malloc(void) {
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL) return;
    if (mallopt(M_ARENA_MAX, lr_arena_max) == 1) arena_max = lr_arena_max;
}

int lr_malloc_arena_max(void) { return arena_max; }
