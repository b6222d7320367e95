// A VFS over SQLite's own ("unix") that gathers the write-ahead log's writes.
//
// SQLite writes each frame of the log with two calls, its 24-byte header and then its page,
// at offsets that never line up with the file system's blocks (a frame is a page and 24
// bytes). Each call into a block the log has not had before made the kernel zero the rest of
// that block first, and a commit of a batch paid two system calls a page. Gathered, a
// commit's frames reach the file in calls of up to 64 KB, whole blocks but its two ends.
//
// What SQLite sees does not change: a commit's last frame (the one whose header gives the
// database's size after the commit) is written out before the call that wrote it returns,
// and an error in doing so is that call's error, so a commit that returns has all its
// frames in the file, where other connections read them and the log's sync finds them.
// Anything else done with the file that reads or changes it (a read, a sync, a truncation,
// its size, closing it, a write elsewhere) writes what is gathered first. Only the log's
// files are wrapped so; every other file, and every other call, goes straight to the VFS
// underneath, but for the database file's writes on a thread that asked for them in slices.
#include <time.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "sqlite_setup.h"

enum { gatherCapacity = 1 << 20 };

typedef struct {
    sqlite3_file base;
    sqlite3_file *real;          // the underlying VFS's file, right after this struct
    int isLog;
    int flushAfterNextWrite;     // the commit frame's header was just written
    unsigned char *gathered;     // allocated at the first write
    int length;
    sqlite3_int64 start;
    uint64_t writeCalls, writeBytes;  // this file's, for lr_log_file_write_counts
} GatheringFile;

static sqlite3_vfs *underlying;
static sqlite3_vfs gathering;

static void count(GatheringFile *f, int amount) {
    f->writeCalls += 1;
    f->writeBytes += (uint64_t)amount;
}

/// The unix VFS writes at most 128 KB a call (it masks the length to 17 bits), so what is
/// gathered goes out in pieces that end on 64 KB boundaries of the file: whole blocks.
enum { piece = 1 << 16 };

/// Writes out what is gathered. On an error what was not written is dropped, as a write
/// that failed: it can only be frames of a transaction not committed yet (a commit's frames
/// are written out before its last frame's write returns), which that error fails.
static int writeOut(GatheringFile *f) {
    int done = 0;
    int rc = SQLITE_OK;
    while (done < f->length) {
        sqlite3_int64 at = f->start + done;
        int amount = (int)(piece - at % piece);
        if (amount > f->length - done) amount = f->length - done;
        count(f, amount);
        rc = f->real->pMethods->xWrite(f->real, f->gathered + done, amount, at);
        if (rc != SQLITE_OK) break;
        done += amount;
    }
    f->length = 0;
    return rc;
}

// Writes to the database file in slices (lr_slice_database_writes): set on the thread that
// runs the background checkpoint, so that its copying gives up the core every few pages.
static _Thread_local int slicePages = 0, sliceMicros = 0, sliceWritten = 0;
static _Thread_local uint64_t slicePauses = 0;

void lr_slice_database_writes(int pages, int micros) {
    slicePages = pages;
    sliceMicros = micros;
    sliceWritten = 0;
}

uint64_t lr_database_write_pauses(void) { return slicePauses; }

static int gWrite(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    GatheringFile *f = (GatheringFile *)file;
    if (!f->isLog) {
        if (slicePages > 0 && ++sliceWritten >= slicePages) {
            sliceWritten = 0;
            slicePauses += 1;
            struct timespec pause = { 0, (long)sliceMicros * 1000 };
            nanosleep(&pause, NULL);
        }
        return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    int commitFrame = f->flushAfterNextWrite;
    f->flushAfterNextWrite = 0;
    // A frame's header: page number, then the database's size in pages after the commit
    // (big-endian), which only a transaction's last frame gives.
    if (amount == 24) {
        const unsigned char *h = data;
        f->flushAfterNextWrite = (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    if (f->gathered == NULL) f->gathered = sqlite3_malloc(gatherCapacity);
    int rc = SQLITE_OK;
    if (f->gathered != NULL && f->length > 0 && offset == f->start + f->length && f->length + amount <= gatherCapacity) {
        memcpy(f->gathered + f->length, data, (size_t)amount);
        f->length += amount;
    } else {
        rc = writeOut(f);
        if (rc != SQLITE_OK) return rc;
        if (f->gathered == NULL || amount > piece) {
            count(f, amount);
            return f->real->pMethods->xWrite(f->real, data, amount, offset);
        }
        memcpy(f->gathered, data, (size_t)amount);
        f->start = offset;
        f->length = amount;
    }
    return commitFrame ? writeOut(f) : SQLITE_OK;
}

static int gClose(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    int rc = writeOut(f);
    int closed = f->real->pMethods->xClose(f->real);
    sqlite3_free(f->gathered);
    f->gathered = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

// Every other call writes out what is gathered first, then goes straight through.
#define FIRST(f) GatheringFile *f = (GatheringFile *)file; int first = writeOut(f); if (first != SQLITE_OK) return first

static int gRead(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset) {
    FIRST(f);
    return f->real->pMethods->xRead(f->real, data, amount, offset);
}
static int gTruncate(sqlite3_file *file, sqlite3_int64 size) {
    FIRST(f);
    return f->real->pMethods->xTruncate(f->real, size);
}
static int gSync(sqlite3_file *file, int flags) {
    FIRST(f);
    return f->real->pMethods->xSync(f->real, flags);
}
static int gFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    FIRST(f);
    return f->real->pMethods->xFileSize(f->real, size);
}
static int gLock(sqlite3_file *file, int level) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xLock(f->real, level);
}
static int gUnlock(sqlite3_file *file, int level) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}
static int gCheckReservedLock(sqlite3_file *file, int *out) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}
static int gFileControl(sqlite3_file *file, int op, void *arg) {
    // Hints and queries: SQLite ignores the result of some, so nothing is written out here
    // (a sync, which one of them comes before, writes out first).
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xFileControl(f->real, op, arg);
}
static int gSectorSize(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xSectorSize(f->real);
}
static int gDeviceCharacteristics(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}
static int gShmMap(sqlite3_file *file, int region, int size, int extend, void volatile **out) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}
static int gShmLock(sqlite3_file *file, int offset, int n, int flags) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}
static void gShmBarrier(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    f->real->pMethods->xShmBarrier(f->real);
}
static int gShmUnmap(sqlite3_file *file, int deleteFlag) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xShmUnmap(f->real, deleteFlag);
}
static int gFetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    FIRST(f);
    return f->real->pMethods->xFetch(f->real, offset, amount, out);
}
static int gUnfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xUnfetch(f->real, offset, page);
}

static const sqlite3_io_methods gatheringMethods = {
    3, gClose, gRead, gWrite, gTruncate, gSync, gFileSize, gLock, gUnlock, gCheckReservedLock,
    gFileControl, gSectorSize, gDeviceCharacteristics, gShmMap, gShmLock, gShmBarrier, gShmUnmap,
    gFetch, gUnfetch,
};

static int gOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *outFlags) {
    (void)vfs;
    GatheringFile *f = (GatheringFile *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    int rc = underlying->xOpen(underlying, name, f->real, flags, outFlags);
    // Without methods SQLite calls nothing on the file, not even xClose.
    if (rc != SQLITE_OK || f->real->pMethods == NULL) return rc;
    // A file of the underlying VFS that cannot do everything this one forwards is left
    // unwrapped in all but name: its calls still go through, never gathered.
    f->isLog = (flags & SQLITE_OPEN_WAL) != 0 && f->real->pMethods->iVersion >= 3;
    f->base.pMethods = &gatheringMethods;
    return SQLITE_OK;
}

static int gDelete(sqlite3_vfs *v, const char *n, int s) { (void)v; return underlying->xDelete(underlying, n, s); }
static int gAccess(sqlite3_vfs *v, const char *n, int fl, int *out) { (void)v; return underlying->xAccess(underlying, n, fl, out); }
static int gFullPathname(sqlite3_vfs *v, const char *n, int size, char *out) { (void)v; return underlying->xFullPathname(underlying, n, size, out); }
static void *gDlOpen(sqlite3_vfs *v, const char *n) { (void)v; return underlying->xDlOpen(underlying, n); }
static void gDlError(sqlite3_vfs *v, int size, char *out) { (void)v; underlying->xDlError(underlying, size, out); }
static void (*gDlSym(sqlite3_vfs *v, void *h, const char *n))(void) { (void)v; return underlying->xDlSym(underlying, h, n); }
static void gDlClose(sqlite3_vfs *v, void *h) { (void)v; underlying->xDlClose(underlying, h); }
static int gRandomness(sqlite3_vfs *v, int size, char *out) { (void)v; return underlying->xRandomness(underlying, size, out); }
static int gSleep(sqlite3_vfs *v, int micro) { (void)v; return underlying->xSleep(underlying, micro); }
static int gCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return underlying->xCurrentTime(underlying, out); }
static int gGetLastError(sqlite3_vfs *v, int size, char *out) { (void)v; return underlying->xGetLastError(underlying, size, out); }
static int gCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return underlying->xCurrentTimeInt64(underlying, out); }
static int gSetSystemCall(sqlite3_vfs *v, const char *n, sqlite3_syscall_ptr p) { (void)v; return underlying->xSetSystemCall(underlying, n, p); }
static sqlite3_syscall_ptr gGetSystemCall(sqlite3_vfs *v, const char *n) { (void)v; return underlying->xGetSystemCall(underlying, n); }
static const char *gNextSystemCall(sqlite3_vfs *v, const char *n) { (void)v; return underlying->xNextSystemCall(underlying, n); }

int lr_register_gathering_vfs(void) {
    if (underlying != NULL) return SQLITE_OK;
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    // The unix VFS is version 3; anything older is left as the default, unwrapped.
    if (base == NULL || base->iVersion < 3) return SQLITE_ERROR;
    underlying = base;
    gathering = (sqlite3_vfs){
        3, (int)sizeof(GatheringFile) + base->szOsFile, base->mxPathname, NULL, "leadrouter-gathering", NULL,
        gOpen, gDelete, gAccess, gFullPathname, gDlOpen, gDlError, gDlSym, gDlClose, gRandomness, gSleep,
        gCurrentTime, gGetLastError, gCurrentTimeInt64, gSetSystemCall, gGetSystemCall, gNextSystemCall,
    };
    return sqlite3_vfs_register(&gathering, 1);
}

int lr_log_file_write_counts(struct sqlite3 *db, uint64_t *calls, uint64_t *bytes) {
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file) != SQLITE_OK || file == NULL
        || file->pMethods != &gatheringMethods || !((GatheringFile *)file)->isLog) return 0;
    *calls = ((GatheringFile *)file)->writeCalls;
    *bytes = ((GatheringFile *)file)->writeBytes;
    return 1;
}
