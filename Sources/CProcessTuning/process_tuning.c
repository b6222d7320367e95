// Process-wide tuning that must happen before main, while the process has one thread.
#include <malloc.h>
#include <stdlib.h>

#include "process_tuning.h"

static int arena_max = 0;

// One malloc arena for the whole daemon. glibc otherwise gives each thread that allocates
// its own arena: the thread that parses the config keeps ~40 MB of freed YAML tree resident
// with 10,000 partners, and ZeroMQ's I/O thread grows another arena for the ingest queue.
// With one arena, later allocations reuse that memory. The daemon's threads allocate little
// concurrently (one routing thread, one I/O thread), so the shared arena costs no throughput
// measurably (docs/benchmarks.md). An operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES wins.
__attribute__((constructor)) static void lr_tune_malloc(void) {
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL) return;
    if (mallopt(M_ARENA_MAX, 1) == 1) arena_max = 1;
}

int lr_malloc_arena_max(void) { return arena_max; }
