#ifndef LEADROUTER_SQLITE_SETUP_H
#define LEADROUTER_SQLITE_SETUP_H

#include <stdint.h>

/// Sets SQLite's process-wide options before its first connection: connections without
/// their own mutex (each is only ever used by one thread at a time: GRDB serialises every
/// connection, and the store's raw statements run inside its closures), no memory statistics
/// (a global mutex around every allocation), and statement journals kept in memory
/// (`SQLITE_CONFIG_STMTJRNL_SPILL` -1: never spilled to a temporary file, two `pwrite` calls
/// a page); and the log's writes gathered (`lr_register_gathering_vfs`). Returns 1 when all
/// of them took effect, 0 when SQLite was already initialised in this process (its defaults
/// then stay, but for the gathering VFS, which connections opened from then on use).
int lr_sqlite_setup(void);

/// Registers, as SQLite's default, a VFS over the default one that gathers the
/// write-ahead log's frame writes and writes a commit's frames out together, at the latest
/// before the write of its last frame returns (wal_writes.c). SQLITE_OK once registered.
int lr_register_gathering_vfs(void);

struct sqlite3;

/// How many writes the gathering VFS has made to the write-ahead log of connection `db`, and
/// how many bytes: 1, or 0 when its log is not open or not gathered.
int lr_log_file_write_counts(struct sqlite3 *db, uint64_t *calls, uint64_t *bytes);

/// Starts writing `fd`'s dirty pages to disk without waiting for them
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`): 0, or -1 with errno set.
int lr_start_writeback(int fd);

// On the calling thread, until called again with 0 pages: after every `pages` writes to a
// database file (not its log), sleep `micros` microseconds first.
void lr_slice_database_writes(int pages, int micros);

// How many such sleeps the calling thread has taken.
uint64_t lr_database_write_pauses(void);

#endif
