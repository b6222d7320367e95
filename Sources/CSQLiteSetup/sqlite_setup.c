// SQLite's process-wide configuration, which only C can pass (sqlite3_config is variadic),
// and the store's file calls Swift's Glibc module does not declare.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sqlite3.h>

#include "sqlite_setup.h"

int lr_sqlite_setup(void) {
    // Both return SQLITE_MISUSE once SQLite is initialised: harmless, the defaults stay.
    int threading = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    int statistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    // Statement journals in memory, never spilled to a temporary file: a statement that
    // writes several rows keeps the pages it changes, so that it alone can be undone, and
    // past 64 KB SQLite moved them to a file in /var/tmp, two pwrite calls a page.
    int journals = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
    // Last: finding the default VFS initialises SQLite (wal_writes.c).
    int gathering = lr_register_gathering_vfs();
    return threading == SQLITE_OK && statistics == SQLITE_OK && journals == SQLITE_OK && gathering == SQLITE_OK;
}

int lr_start_writeback(int fd) {
    // Starts writing the file's dirty pages out and returns at once (nothing waits for them).
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}
