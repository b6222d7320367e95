#ifndef BENCH_PROBES_H
#define BENCH_PROBES_H

/// Callgrind's client requests, for leadrouter-bench's instruction counts: outside valgrind
/// every call is a no-op that costs a few instructions.

/// 1 when the process runs under valgrind, else 0.
int bench_probe_on_valgrind(void);

/// Zeroes callgrind's counters and starts counting instructions (every thread).
void bench_probe_start(void);

/// Stops counting and writes what was counted since `bench_probe_start` to callgrind's
/// output file, under `name` (the dump's `desc: Trigger: Client Request: NAME` line).
void bench_probe_stop(const char *name);

/// One malloc and its free, kept from the optimiser: whether malloc is interposed shows in
/// the interposer's count.
void bench_probe_one_malloc(void);

#endif
