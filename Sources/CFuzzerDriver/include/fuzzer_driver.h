#ifndef LEADROUTER_FUZZER_DRIVER_H
#define LEADROUTER_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (libclang_rt.fuzzer, linked by -sanitize=fuzzer): runs the fuzzer with
/// the command line given, calling `callback` with each input. The fuzz targets call it from
/// their own main, because SwiftPM renames an executable's main and aliases `main` to it,
/// which leaves no room for libFuzzer's. Only referenced in builds with -D FUZZING.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
