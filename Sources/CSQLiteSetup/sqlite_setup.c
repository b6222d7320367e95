// SQLite's process-wide configuration, which only C can pass (sqlite3_config is variadic).
#include <sqlite3.h>

#include "sqlite_setup.h"

int lr_sqlite_setup(void) {
    // Both return SQLITE_MISUSE once SQLite is initialised: harmless, the defaults stay.
    int threading = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    int statistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return threading == SQLITE_OK && statistics == SQLITE_OK;
}
