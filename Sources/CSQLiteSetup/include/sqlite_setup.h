#ifndef LEADROUTER_SQLITE_SETUP_H
#define LEADROUTER_SQLITE_SETUP_H

/// Sets SQLite's process-wide options before its first connection: connections without
/// their own mutex (each is only ever used by one thread at a time: GRDB serialises every
/// connection, and the store's raw statements run inside its closures), no memory statistics
/// (a global mutex around every allocation), and statement journals kept in memory
/// (`SQLITE_CONFIG_STMTJRNL_SPILL` -1: never spilled to a temporary file, two `pwrite` calls
/// a page). Returns 1 when all three took effect, 0 when SQLite was already initialised in
/// this process (its defaults then stay).
int lr_sqlite_setup(void);

/// Starts writing `fd`'s dirty pages to disk without waiting for them
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`): 0, or -1 with errno set.
int lr_start_writeback(int fd);

#endif
