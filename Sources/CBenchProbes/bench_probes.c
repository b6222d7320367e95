#include "bench_probes.h"

#include <stdlib.h>

// Valgrind's headers come with Debian's valgrind package; without them the probes do nothing
// and `leadrouter-bench --instructions` says valgrind is missing before it starts.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#else
#define HAVE_CALLGRIND 0
#endif

int bench_probe_on_valgrind(void) {
#if HAVE_CALLGRIND
    return RUNNING_ON_VALGRIND ? 1 : 0;
#else
    return 0;
#endif
}

void bench_probe_start(void) {
#if HAVE_CALLGRIND
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
#endif
}

void bench_probe_stop(const char *name) {
#if HAVE_CALLGRIND
    CALLGRIND_STOP_INSTRUMENTATION;
    CALLGRIND_DUMP_STATS_AT(name);
#else
    (void)name;
#endif
}

void bench_probe_one_malloc(void) {
    void *volatile block = malloc(24);
    free(block);
}
