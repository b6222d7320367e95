// Process-wide tuning that must happen before main, while the process has one thread.
#include <malloc.h>
#include <stdlib.h>

#include "process_tuning.h"

static int arena_max = 0;

// Four malloc arenas for the whole daemon. glibc otherwise gives each thread that allocates
// its own arena (up to eight per core): the thread that parses the config keeps ~40 MB of
// freed YAML tree resident with 10,000 partners, and ZeroMQ's I/O thread grows another
// arena for the ingest queue. With few arenas, later allocations reuse that memory. One
// arena made the routing thread, the committer, the log syncer and ZeroMQ's I/O thread wait
// on one lock; two still made them wait often enough to show: 85,000-161,000 futex calls in
// the first 4 s of a durable throughput run (`perf stat -e syscalls:sys_enter_futex`),
// against 12,000-36,000 with four. Three were not enough: glibc hands the arenas past the
// first to threads in turn, and in one run of five the busy threads still shared one
// (145,000). With the config's freed pages handed back (lr_release_free_memory), four keep
// the peak RSS with 10,000 partners under its target (130-139 MB; docs/benchmarks.md,
// "Malloc arenas").
// An operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES wins.
enum { lr_arena_max = 4 };

__attribute__((constructor)) static void lr_tune_malloc(void) {
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL) return;
    if (mallopt(M_ARENA_MAX, lr_arena_max) == 1) arena_max = lr_arena_max;
}

int lr_malloc_arena_max(void) { return arena_max; }

// Returns the pages of freed memory to the system (glibc's malloc_trim: the top of each
// arena, and whole free pages inside them). Called once the config is read: with 10,000
// partners, the YAML tree and the checks' temporaries (~36 MB) are free by then, and with
// several arenas a thread allocating in another one would not reuse them.
void lr_release_free_memory(void) { malloc_trim(0); }
