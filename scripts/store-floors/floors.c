/*
 * floors.c: what each candidate durable store costs per lead, measured in one run on one
 * machine (issue 19, part 2). docs/store-floors.md explains the designs and holds the results;
 * scripts/store-floors/run builds and runs this.
 *
 * Usage: floors [DIR] [LEADS] [DESIGNS] [PASSES]
 *   DIR      a directory on disk (default /tmp); each design runs in a fresh directory under it,
 *            removed afterwards
 *   LEADS    leads per design (default 200000), committed in batches of 2,048
 *   DESIGNS  comma-separated keys (1,2,3a,3,4,5,6a,6) to run only some (default all)
 *   PASSES   how many times each design runs, interleaved (default 3); medians are shown
 *
 * The workload is the same for every design (the same seed): per lead a random UUID lead_id,
 * 1,600 bytes of JSON-like text, a ~100-byte decision record and one ~300-byte envelope on
 * one of 1,000 partner topics `partner/pN/`, numbered gaplessly per topic. A batch is
 * acknowledged only once it is on disk: every design syncs once per committed batch.
 *
 * Only the store's work is measured: the leads of a batch are generated before its timing
 * starts. CPU time is getrusage(RUSAGE_SELF) user + system over the store's calls; the process
 * is single-threaded, so this counts the kernel's copying and writing out of pages done inside
 * write(), fdatasync() and fsync() too (what the daemon's CPU time counts as well); pages the
 * kernel's flusher threads write out instead are not counted. Before each design the file
 * system is synced and the program waits a second, so the last design's leftovers are not
 * charged to it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    BATCH = 2048,            /* leads per committed batch (the daemon's largest batch) */
    ID_LEN = 36,             /* a UUID as text: 8-4-4-4-12 hex digits */
    LEAD_BYTES = 1600,
    ENVELOPE_BYTES = 300,    /* an envelope stored without its lead, as the store does today */
    DECISION_BYTES = 100,
    TOPICS = 1000,
    BUCKETS = 4096,          /* hash buckets of the sweep, as the account-owner sweep's */
    CYCLE_LEADS = 16384,     /* a sweep cycle writes every bucket once per this many leads */
    CHECKPOINT_EVERY = 8,    /* SQLite: a WAL checkpoint every 8 commits (~16k leads) */
    TOPIC_GROUP = 64,        /* today's envelope index: a topic's entries are written 64 at a time, */
    TOPIC_MAX_AGE = 32768,   /* or once the oldest has waited for this many later envelopes */
    TAIL_LEADS = 20000,      /* the unindexed tail a crash recovery scans (rounded up to batches) */
    PROBES = 10000,          /* dedupe probes of each kind */
    TEXT_POOL = 1 << 16,     /* JSON-like text the lead, envelope and decision bytes are cut from */
    MAX_RECORDS_BYTES = BATCH * (LEAD_BYTES + ENVELOPE_BYTES + DECISION_BYTES + 2 * ID_LEN + 128),
};
static const double PROBE_SECONDS = 2.0; /* probes of one kind stop after this (a full scan is slow) */

static void die(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("floors: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) die("out of memory (%zu bytes)", n);
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { PATH_BYTES = 4096 };

/* `dir`/`name` into `out` (PATH_BYTES long). */
static void path_join(char *out, const char *dir, const char *name)
{
    if (snprintf(out, PATH_BYTES, "%s/%s", dir, name) >= PATH_BYTES) die("path too long: %s/%s", dir, name);
}

/* ---------------------------------------------------------------------------------------- */
/* Random numbers (splitmix64: fast, and the same sequence for every design)                  */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------------------------------- */
/* CRC32C (Castagnoli), table-driven, eight bytes at a time ("slicing by 8")                  */

static uint32_t crc_table[8][256];

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc32c(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = ~0u;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* little-endian host */
        w ^= c;
        c = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^ crc_table[5][(w >> 16) & 0xff]
            ^ crc_table[4][(w >> 24) & 0xff] ^ crc_table[3][(w >> 32) & 0xff]
            ^ crc_table[2][(w >> 40) & 0xff] ^ crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

/* ---------------------------------------------------------------------------------------- */
/* The workload                                                                              */

typedef struct {
    char id[ID_LEN + 1];      /* the lead_id: a random UUID */
    char assignment[19];      /* "a-" and 16 hex digits */
    char partner[16];         /* "pN", the partner of the topic */
    int topic;                /* 0 .. TOPICS-1 */
    int64_t seq;              /* the topic's seq: 1, 2, 3, ... */
    int64_t received_at;      /* milliseconds since 1970 */
    char lead[LEAD_BYTES];
    char envelope[ENVELOPE_BYTES];
    char decision[DECISION_BYTES];
} Lead;

static char topic_name[TOPICS][16];
static uint8_t topic_len[TOPICS];
static int topic_rank[TOPICS];    /* a topic's place in the text order of topic names */
static char text_pool[TEXT_POOL];
static int64_t next_seq[TOPICS];
static int64_t clock_ms;
static char (*all_ids)[ID_LEN + 1]; /* every lead_id stored, for probes of existing ids */
static long ids_stored;

static int compare_topic_names(const void *a, const void *b)
{
    return strcmp(topic_name[*(const int *)a], topic_name[*(const int *)b]);
}

static void make_topics(void)
{
    int order[TOPICS];
    for (int t = 0; t < TOPICS; t++) {
        topic_len[t] = (uint8_t)snprintf(topic_name[t], sizeof topic_name[t], "partner/p%d/", t);
        order[t] = t;
    }
    qsort(order, TOPICS, sizeof order[0], compare_topic_names);
    for (int r = 0; r < TOPICS; r++) topic_rank[order[r]] = r;
}

/* JSON-like text: "fieldN":"words and digits", ... */
static void make_text_pool(void)
{
    static const char *words[] = {"acme", "gmbh", "sales", "berlin", "lead", "form", "demo", "pricing",
        "enterprise", "cloud", "contact", "request", "quote", "industry", "manufacturing", "retail"};
    size_t at = 0;
    while (at < TEXT_POOL - 64) {
        int n = snprintf(text_pool + at, 64, "\"field%u\":\"%s %s %u\",", (unsigned)(rnd() % 100),
            words[rnd() % 16], words[rnd() % 16], (unsigned)(rnd() % 100000));
        at += (size_t)n;
    }
    memset(text_pool + at, ' ', TEXT_POOL - at);
}

/* Fills `n` bytes at `out` with text from a random place in the pool. */
static void fill_text(char *out, size_t n)
{
    memcpy(out, text_pool + rnd() % (TEXT_POOL - n), n);
}

/* Writes `header` then text, then `tail`, exactly `size` bytes in all. */
static void make_json(char *out, size_t size, const char *header, const char *tail)
{
    size_t h = strlen(header), t = strlen(tail);
    memcpy(out, header, h);
    fill_text(out + h, size - h - t);
    memcpy(out + size - t, tail, t);
}

/* FLOORS_IDS=sources: lead ids as the contract's example gives them ("web-2026-000123"): each
 * of a few sources numbers its own leads, so ids rise within a source, and a source's new ids
 * land at one end of any index of them. Padded to ID_LEN. */
static int sourced_ids;
enum { SOURCES = 8 };
static const char *const source_names[SOURCES] = {"crm", "distributor", "event", "form", "partner", "phone", "show", "web"};
static uint64_t source_next[SOURCES];

static void make_uuid(char *out)
{
    if (sourced_ids) {
        int source = (int)(rnd() % SOURCES);
        int prefix = (int)strlen(source_names[source]) + 6; /* "web-2026-" */
        snprintf(out, ID_LEN + 1, "%s-2026-%0*" PRIu64, source_names[source], ID_LEN - prefix, ++source_next[source]);
        return;
    }
    uint64_t a = rnd(), b = rnd();
    snprintf(out, ID_LEN + 1, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
        a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 48, b & (uint64_t)0xffffffffffff);
}

static void reset_workload(void)
{
    rng_state = 19;
    memset(next_seq, 0, sizeof next_seq);
    memset(source_next, 0, sizeof source_next);
    clock_ms = 1795000000000;
    ids_stored = 0;
}

static void make_batch(Lead *batch, int n)
{
    char header[256];
    for (int i = 0; i < n; i++) {
        Lead *l = &batch[i];
        make_uuid(l->id);
        snprintf(l->assignment, sizeof l->assignment, "a-%016" PRIx64, rnd());
        l->topic = (int)(rnd() % TOPICS);
        snprintf(l->partner, sizeof l->partner, "p%d", l->topic);
        l->seq = ++next_seq[l->topic];
        l->received_at = clock_ms++;
        snprintf(header, sizeof header, "{\"lead_id\":\"%s\",\"source\":\"partner-feed\",\"received_at\":%" PRId64 ",\"fields\":{",
            l->id, l->received_at);
        make_json(l->lead, LEAD_BYTES, header, "\"x\":0}}");
        snprintf(header, sizeof header, "{\"topic\":\"%s\",\"seq\":%" PRId64 ",\"lead_id\":\"%s\",\"assignment_id\":\"%s\",\"partner_id\":\"%s\",\"reasons\":\"",
            topic_name[l->topic], l->seq, l->id, l->assignment, l->partner);
        make_json(l->envelope, ENVELOPE_BYTES, header, "\",\"lead\":}");
        snprintf(header, sizeof header, "{\"assignment_id\":\"%s\",\"partner_id\":\"%s\",\"candidates\":\"",
            l->assignment, l->partner);
        make_json(l->decision, DECISION_BYTES, header, "\"}");
        memcpy(all_ids[ids_stored++], l->id, ID_LEN + 1);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Records of the log designs (3, 5, 6)                                                       */
/*
 * A record is [u32 payload length][u32 CRC32C of the payload, or 0][payload], little-endian.
 * Per lead, two records:
 *   lead:     'L', lead_id (36 bytes), u64 received_at, u16 decision length, decision,
 *             u32 lead length, lead bytes
 *   envelope: 'E', u8 topic length, topic, u64 seq, u32 lead_at, u32 envelope length, envelope
 *             (the lead's bytes are spliced in at lead_at from the lead record before it)
 */

static uint8_t *put(uint8_t *p, const void *data, size_t n)
{
    memcpy(p, data, n);
    return p + n;
}
static uint8_t *put_u8(uint8_t *p, uint8_t v) { *p = v; return p + 1; }
static uint8_t *put_u16(uint8_t *p, uint16_t v) { return put(p, &v, 2); }
static uint8_t *put_u32(uint8_t *p, uint32_t v) { return put(p, &v, 4); }
static uint8_t *put_u64(uint8_t *p, uint64_t v) { return put(p, &v, 8); }

static uint8_t *put_lead_payload(uint8_t *p, const Lead *l)
{
    p = put_u8(p, 'L');
    p = put(p, l->id, ID_LEN);
    p = put_u64(p, (uint64_t)l->received_at);
    p = put_u16(p, DECISION_BYTES);
    p = put(p, l->decision, DECISION_BYTES);
    p = put_u32(p, LEAD_BYTES);
    return put(p, l->lead, LEAD_BYTES);
}

static uint8_t *put_envelope_payload(uint8_t *p, const Lead *l)
{
    p = put_u8(p, 'E');
    p = put_u8(p, topic_len[l->topic]);
    p = put(p, topic_name[l->topic], topic_len[l->topic]);
    p = put_u64(p, (uint64_t)l->seq);
    p = put_u32(p, ENVELOPE_BYTES - 2); /* lead_at: before the envelope's closing "}" */
    p = put_u32(p, ENVELOPE_BYTES);
    return put(p, l->envelope, ENVELOPE_BYTES);
}

/* Frames the payload written at `start + 8` .. `end` as a record; returns `end`. */
static uint8_t *close_record(uint8_t *start, uint8_t *end, int with_crc)
{
    uint32_t length = (uint32_t)(end - start - 8);
    uint32_t crc = with_crc ? crc32c(start + 8, length) : 0;
    memcpy(start, &length, 4);
    memcpy(start + 4, &crc, 4);
    return end;
}

/* ---------------------------------------------------------------------------------------- */
/* Meters                                                                                    */

typedef struct {
    double cpu_us, sys_us, wall_s;
} Meter;

typedef struct {
    struct rusage usage;
    double wall;
} Mark;

static Mark mark(void)
{
    Mark m;
    getrusage(RUSAGE_SELF, &m.usage);
    m.wall = now();
    return m;
}

static double tv_us(struct timeval tv) { return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec; }

static void add_since(Meter *meter, Mark from)
{
    Mark to = mark();
    double user = tv_us(to.usage.ru_utime) - tv_us(from.usage.ru_utime);
    double sys = tv_us(to.usage.ru_stime) - tv_us(from.usage.ru_stime);
    meter->cpu_us += user + sys;
    meter->sys_us += sys;
    meter->wall_s += to.wall - from.wall;
}

/* ---------------------------------------------------------------------------------------- */
/* SQLite helpers                                                                            */

static void sq(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) die("%s: %s", what, sqlite3_errmsg(db));
}

static void exec(sqlite3 *db, const char *sql)
{
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) die("%s: %s", sql, error);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    sq(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL), sql);
    return stmt;
}

/* Runs a bound statement that returns no row, and resets it. */
static void step_done(sqlite3 *db, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) die("%s: %s", sqlite3_sql(stmt), sqlite3_errmsg(db));
    sqlite3_reset(stmt);
}

/* Opens `dir/name` in WAL mode with the store's settings: a 16 MB cache, no automatic
 * checkpoint (the benchmark checkpoints every CHECKPOINT_EVERY commits, as the daemon's
 * checkpoint thread does about once a second), `synchronous` as given. */
static sqlite3 *open_sqlite(const char *dir, const char *name, const char *synchronous)
{
    char path[PATH_BYTES], sql[128];
    sqlite3 *db;
    path_join(path, dir, name);
    if (sqlite3_open(path, &db) != SQLITE_OK) die("opening %s", path);
    exec(db, "PRAGMA journal_mode = WAL");
    snprintf(sql, sizeof sql, "PRAGMA synchronous = %s", synchronous);
    exec(db, sql);
    exec(db, "PRAGMA cache_size = -16384");
    exec(db, "PRAGMA wal_autocheckpoint = 0");
    return db;
}

static void checkpoint(sqlite3 *db, const char *mode)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA wal_checkpoint(%s)", mode);
    exec(db, sql);
}

/* ---------------------------------------------------------------------------------------- */
/* Index entries waiting for the sweep, in hash buckets (designs 1's envelope index, 3, 6)   */

typedef struct {
    char id[ID_LEN];
    int64_t batch, off;       /* where the lead record is */
} LeadEntry;

typedef struct {
    int topic;
    int64_t seq, batch, off;  /* where the envelope record is (design 1: off = envelope row) */
} EnvEntry;

typedef struct { LeadEntry *at; size_t n, cap; } LeadVec;
typedef struct { EnvEntry *at; size_t n, cap; } EnvVec;

static void lead_push(LeadVec *v, LeadEntry e)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->at = realloc(v->at, v->cap * sizeof *v->at);
        if (!v->at) die("out of memory");
    }
    v->at[v->n++] = e;
}

static void env_push(EnvVec *v, EnvEntry e)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->at = realloc(v->at, v->cap * sizeof *v->at);
        if (!v->at) die("out of memory");
    }
    v->at[v->n++] = e;
}

/* ---------------------------------------------------------------------------------------- */
/* Designs 1 and 2: SQLite as today, one row per lead and per envelope                        */
/*
 * The tables of today's schema that a routed lead writes (LeadStore+Schema.swift, v9):
 * `leads` (with or without UNIQUE lead_id), `envelopes` (stored without the lead, lead_at and
 * lead_row say where it goes back in) and `envelope_index`, written a topic at a time in the
 * commit that brings a topic to 64 pending entries or its oldest to 32,768 envelopes of age.
 * Not included (the same for every design): account owners, partner state, topics.
 */

static struct {
    sqlite3 *db;
    sqlite3_stmt *insert_lead, *insert_envelope, *insert_index, *probe;
    EnvVec pending[TOPICS];           /* per topic: seq and envelope row, not yet indexed */
    int64_t oldest[TOPICS];           /* envelope count when the oldest pending one came */
    int64_t envelopes, commits;
} rows;

static void rows_open(const char *dir, int unique)
{
    memset(&rows, 0, sizeof rows);
    rows.db = open_sqlite(dir, "store.sqlite", "FULL");
    char sql[2048];
    snprintf(sql, sizeof sql,
        "CREATE TABLE leads (id INTEGER PRIMARY KEY, lead_id TEXT NOT NULL %s, channel TEXT NOT NULL,"
        " received_at INTEGER NOT NULL, routed_at INTEGER NOT NULL, assignment_id TEXT NOT NULL,"
        " partner_id TEXT, decision TEXT NOT NULL, lead BLOB NOT NULL);"
        "CREATE TABLE envelopes (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, seq INTEGER NOT NULL,"
        " lead_id TEXT, created_at INTEGER NOT NULL, envelope BLOB NOT NULL, lead_at INTEGER, lead_row INTEGER);"
        "CREATE TABLE envelope_index (topic TEXT NOT NULL, seq INTEGER NOT NULL, envelope_id INTEGER NOT NULL,"
        " PRIMARY KEY (topic, seq)) WITHOUT ROWID;",
        unique ? "UNIQUE" : "");
    exec(rows.db, sql);
    rows.insert_lead = prepare(rows.db, "INSERT INTO leads (lead_id, channel, received_at, routed_at, assignment_id,"
        " partner_id, decision, lead) VALUES (?, 'ingest', ?, ?, ?, ?, ?, ?)");
    rows.insert_envelope = prepare(rows.db, "INSERT INTO envelopes (topic, seq, lead_id, created_at, envelope,"
        " lead_at, lead_row) VALUES (?, ?, ?, ?, ?, ?, ?)");
    rows.insert_index = prepare(rows.db, "INSERT INTO envelope_index (topic, seq, envelope_id) VALUES (?, ?, ?)");
    rows.probe = prepare(rows.db, "SELECT 1 FROM leads WHERE lead_id = ?");
}

/* Writes a topic's pending envelope-index entries (in seq order, one leaf page or two). */
static void rows_index_topic(int t)
{
    EnvVec *v = &rows.pending[t];
    for (size_t i = 0; i < v->n; i++) {
        sqlite3_bind_text(rows.insert_index, 1, topic_name[t], topic_len[t], SQLITE_STATIC);
        sqlite3_bind_int64(rows.insert_index, 2, v->at[i].seq);
        sqlite3_bind_int64(rows.insert_index, 3, v->at[i].off);
        step_done(rows.db, rows.insert_index);
    }
    v->n = 0;
}

static void rows_append(const Lead *batch, int n)
{
    exec(rows.db, "BEGIN");
    for (int i = 0; i < n; i++) {
        const Lead *l = &batch[i];
        sqlite3_stmt *s = rows.insert_lead;
        sqlite3_bind_text(s, 1, l->id, ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, l->received_at);
        sqlite3_bind_int64(s, 3, l->received_at + 1);
        sqlite3_bind_text(s, 4, l->assignment, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, l->partner, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, l->decision, DECISION_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(s, 7, l->lead, LEAD_BYTES, SQLITE_STATIC);
        step_done(rows.db, s);
        int64_t lead_row = sqlite3_last_insert_rowid(rows.db);
        s = rows.insert_envelope;
        sqlite3_bind_text(s, 1, topic_name[l->topic], topic_len[l->topic], SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, l->seq);
        sqlite3_bind_text(s, 3, l->id, ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, l->received_at + 1);
        sqlite3_bind_blob(s, 5, l->envelope, ENVELOPE_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, ENVELOPE_BYTES - 2);
        sqlite3_bind_int64(s, 7, lead_row);
        step_done(rows.db, s);
        if (rows.pending[l->topic].n == 0) rows.oldest[l->topic] = rows.envelopes;
        env_push(&rows.pending[l->topic], (EnvEntry){l->topic, l->seq, 0, sqlite3_last_insert_rowid(rows.db)});
        rows.envelopes++;
    }
    for (int t = 0; t < TOPICS; t++) {
        size_t pending = rows.pending[t].n;
        if (pending >= TOPIC_GROUP || (pending > 0 && rows.envelopes - rows.oldest[t] >= TOPIC_MAX_AGE))
            rows_index_topic(t);
    }
    exec(rows.db, "COMMIT"); /* synchronous = FULL: the WAL is synced before COMMIT returns */
    if (++rows.commits % CHECKPOINT_EVERY == 0) checkpoint(rows.db, "PASSIVE");
}

static void rows_finish(void)
{
    exec(rows.db, "BEGIN");
    for (int t = 0; t < TOPICS; t++) rows_index_topic(t);
    exec(rows.db, "COMMIT");
    checkpoint(rows.db, "TRUNCATE");
}

static void rows_probe_begin(void) { exec(rows.db, "BEGIN"); }
static void rows_probe_end(void) { exec(rows.db, "COMMIT"); }

static int rows_probe(const char *id)
{
    sqlite3_bind_text(rows.probe, 1, id, ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(rows.probe);
    sq(rows.db, rc, "probing leads");
    sqlite3_reset(rows.probe);
    return rc == SQLITE_ROW;
}

static void rows_close(void)
{
    sqlite3_finalize(rows.insert_lead);
    sqlite3_finalize(rows.insert_envelope);
    sqlite3_finalize(rows.insert_index);
    sqlite3_finalize(rows.probe);
    sqlite3_close(rows.db);
    for (int t = 0; t < TOPICS; t++) free(rows.pending[t].at);
}

/* ---------------------------------------------------------------------------------------- */
/* The SQLite index of the log designs (3 and 6), written by a sweep                          */
/*
 * Appending leaves each record's index entries pending in memory, in BUCKETS hash buckets:
 * a lead_id's bucket is its first three hex digits, an envelope's the place of its topic in
 * the text order of topics; so a range of buckets is a range of keys of the index, and the
 * rows a sweep writes share leaf pages. After each commit of the log, a sweep writes the next
 * buckets in turn, its share of a cycle of CYCLE_LEADS leads, in a transaction of its own,
 * sorted by key, as the account-owner sweep does (LeadStore+AccountOwners.swift). The index
 * can be rebuilt from the log, so it is committed at synchronous = NORMAL (not synced by
 * itself); `store_state` holds the bound from which a restart scans the log again.
 * Dedupe looks in the pending bucket (a few entries), then in `lead_index`.
 */

typedef struct {
    sqlite3 *db;
    int shares_log;           /* design 3: the log's commits, in the same file, run at FULL */
    sqlite3_stmt *put_lead, *put_envelope, *set_bound, *probe;
    LeadVec leads[BUCKETS];
    EnvVec envelopes[BUCKETS];
    double cursor;            /* the next bucket to sweep, with a fraction */
    int64_t newest_batch;
} Index;

static void index_open(Index *ix, sqlite3 *db, int shares_log)
{
    memset(ix, 0, sizeof *ix);
    ix->db = db;
    ix->shares_log = shares_log;
    exec(db, "CREATE TABLE lead_index (lead_id TEXT PRIMARY KEY, batch INTEGER NOT NULL, off INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE envelope_index (topic TEXT NOT NULL, seq INTEGER NOT NULL, batch INTEGER NOT NULL,"
        " off INTEGER NOT NULL, PRIMARY KEY (topic, seq)) WITHOUT ROWID;"
        "CREATE TABLE store_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO store_state VALUES ('indexed_from', 0);");
    ix->put_lead = prepare(db, "INSERT INTO lead_index (lead_id, batch, off) VALUES (?, ?, ?)");
    ix->put_envelope = prepare(db, "INSERT INTO envelope_index (topic, seq, batch, off) VALUES (?, ?, ?, ?)");
    ix->set_bound = prepare(db, "UPDATE store_state SET value = ? WHERE key = 'indexed_from'");
    ix->probe = prepare(db, "SELECT 1 FROM lead_index WHERE lead_id = ?");
}

static int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

static int lead_bucket(const char *id)
{
    /* Sourced ids: the first three characters, in text order, so a bucket range is still a
     * key range (a source's ids all fall in one bucket). */
    if (sourced_ids)
        return (int)((((unsigned)(unsigned char)id[0] << 16) | ((unsigned)(unsigned char)id[1] << 8) | (unsigned char)id[2]) * (uint64_t)BUCKETS >> 24);
    return (hex_digit(id[0]) << 8) | (hex_digit(id[1]) << 4) | hex_digit(id[2]);
}

static int envelope_bucket(int topic) { return topic_rank[topic] * BUCKETS / TOPICS; }

static void index_add_lead(Index *ix, const char *id, int64_t batch, int64_t off)
{
    LeadEntry e;
    memcpy(e.id, id, ID_LEN);
    e.batch = batch;
    e.off = off;
    lead_push(&ix->leads[lead_bucket(id)], e);
}

static void index_add_envelope(Index *ix, int topic, int64_t seq, int64_t batch, int64_t off)
{
    env_push(&ix->envelopes[envelope_bucket(topic)], (EnvEntry){topic, seq, batch, off});
}

static int compare_lead_entries(const void *a, const void *b)
{
    return memcmp(((const LeadEntry *)a)->id, ((const LeadEntry *)b)->id, ID_LEN);
}

static int compare_env_entries(const void *a, const void *b)
{
    const EnvEntry *x = a, *y = b;
    if (x->topic != y->topic) return topic_rank[x->topic] - topic_rank[y->topic];
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Writes bucket `b`'s pending entries, sorted by key (inside the caller's transaction). */
static void index_write_bucket(Index *ix, int b)
{
    LeadVec *lv = &ix->leads[b];
    qsort(lv->at, lv->n, sizeof *lv->at, compare_lead_entries);
    for (size_t i = 0; i < lv->n; i++) {
        sqlite3_bind_text(ix->put_lead, 1, lv->at[i].id, ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(ix->put_lead, 2, lv->at[i].batch);
        sqlite3_bind_int64(ix->put_lead, 3, lv->at[i].off);
        step_done(ix->db, ix->put_lead);
    }
    lv->n = 0;
    EnvVec *ev = &ix->envelopes[b];
    qsort(ev->at, ev->n, sizeof *ev->at, compare_env_entries); /* already in order: one topic, seq rising */
    for (size_t i = 0; i < ev->n; i++) {
        const EnvEntry *e = &ev->at[i];
        sqlite3_bind_text(ix->put_envelope, 1, topic_name[e->topic], topic_len[e->topic], SQLITE_STATIC);
        sqlite3_bind_int64(ix->put_envelope, 2, e->seq);
        sqlite3_bind_int64(ix->put_envelope, 3, e->batch);
        sqlite3_bind_int64(ix->put_envelope, 4, e->off);
        step_done(ix->db, ix->put_envelope);
    }
    ev->n = 0;
}

/* Writes `count` buckets from `from` on (wrapping), with the bound, in one transaction. */
static void index_write_buckets(Index *ix, int from, int count)
{
    if (ix->shares_log) exec(ix->db, "PRAGMA synchronous = NORMAL");
    exec(ix->db, "BEGIN");
    for (int i = 0; i < count; i++) index_write_bucket(ix, (from + i) % BUCKETS);
    /* The real bound is the first batch of the cycle before; its cost is one row either way. */
    sqlite3_bind_int64(ix->set_bound, 1, ix->newest_batch);
    step_done(ix->db, ix->set_bound);
    exec(ix->db, "COMMIT");
    if (ix->shares_log) exec(ix->db, "PRAGMA synchronous = FULL");
}

/* The sweep after a commit of `leads` leads: its share of the cycle. */
static void index_sweep(Index *ix, int leads)
{
    double to = ix->cursor + (double)BUCKETS * leads / CYCLE_LEADS;
    int from = (int)ix->cursor, count = (int)to - from;
    if (count > BUCKETS) count = BUCKETS;
    if (count > 0) index_write_buckets(ix, from, count);
    ix->cursor = to >= BUCKETS ? to - BUCKETS * (int)(to / BUCKETS) : to;
}

static int index_probe(Index *ix, const char *id)
{
    const LeadVec *v = &ix->leads[lead_bucket(id)];
    for (size_t i = 0; i < v->n; i++)
        if (memcmp(v->at[i].id, id, ID_LEN) == 0) return 1;
    sqlite3_bind_text(ix->probe, 1, id, ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(ix->probe);
    sq(ix->db, rc, "probing lead_index");
    sqlite3_reset(ix->probe);
    return rc == SQLITE_ROW;
}

static void index_close(Index *ix)
{
    sqlite3_finalize(ix->put_lead);
    sqlite3_finalize(ix->put_envelope);
    sqlite3_finalize(ix->set_bound);
    sqlite3_finalize(ix->probe);
    for (int b = 0; b < BUCKETS; b++) {
        free(ix->leads[b].at);
        free(ix->envelopes[b].at);
    }
}

/* Reads the records of one batch (from byte `base` of the log), checking lengths and, with
 * `check_crc`, each CRC, and leaves their index entries pending. Returns the leads found. */
static int index_scan_batch(Index *ix, const uint8_t *buf, size_t len, int64_t batch, int64_t base, int check_crc)
{
    size_t at = 0;
    int leads = 0;
    while (at < len) {
        uint32_t n, crc;
        if (len - at < 8) die("batch %" PRId64 ": a torn record header", batch);
        memcpy(&n, buf + at, 4);
        memcpy(&crc, buf + at + 4, 4);
        if (n == 0 || n > len - at - 8) die("batch %" PRId64 ": a torn record", batch);
        const uint8_t *p = buf + at + 8;
        if (check_crc && crc32c(p, n) != crc) die("batch %" PRId64 ": CRC mismatch at byte %zu", batch, at);
        if (p[0] == 'L') {
            index_add_lead(ix, (const char *)p + 1, batch, base + (int64_t)at);
            leads++;
        } else if (p[0] == 'E') {
            uint8_t tl = p[1];
            int topic = atoi((const char *)p + 2 + strlen("partner/p")); /* stops at the '/' */
            uint64_t seq;
            memcpy(&seq, p + 2 + tl, 8);
            index_add_envelope(ix, topic, (int64_t)seq, batch, base + (int64_t)at);
        } else {
            die("batch %" PRId64 ": unknown record type", batch);
        }
        at += 8 + n;
    }
    return leads;
}

/* Deletes the index rows of every pending entry, leaving none pending (untimed set-up of the
 * crash-recovery measurement: the tail's entries are made unindexed again). */
static void index_forget_pending(Index *ix)
{
    sqlite3_stmt *dl = prepare(ix->db, "DELETE FROM lead_index WHERE lead_id = ?");
    sqlite3_stmt *de = prepare(ix->db, "DELETE FROM envelope_index WHERE topic = ? AND seq = ?");
    exec(ix->db, "BEGIN");
    for (int b = 0; b < BUCKETS; b++) {
        for (size_t i = 0; i < ix->leads[b].n; i++) {
            sqlite3_bind_text(dl, 1, ix->leads[b].at[i].id, ID_LEN, SQLITE_STATIC);
            step_done(ix->db, dl);
        }
        for (size_t i = 0; i < ix->envelopes[b].n; i++) {
            const EnvEntry *e = &ix->envelopes[b].at[i];
            sqlite3_bind_text(de, 1, topic_name[e->topic], topic_len[e->topic], SQLITE_STATIC);
            sqlite3_bind_int64(de, 2, e->seq);
            step_done(ix->db, de);
        }
        ix->leads[b].n = ix->envelopes[b].n = 0;
    }
    exec(ix->db, "COMMIT");
    sqlite3_finalize(dl);
    sqlite3_finalize(de);
}

/* ---------------------------------------------------------------------------------------- */
/* Design 3: SQLite as a log, one row per committed batch, indexed by the sweep               */

static struct {
    sqlite3 *db;
    sqlite3_stmt *insert_batch, *read_tail;
    Index ix;
    uint8_t *buf;
    int64_t commits;
} slog;

static void slog_open(const char *dir)
{
    slog.db = open_sqlite(dir, "store.sqlite", "FULL");
    exec(slog.db, "CREATE TABLE batches (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    index_open(&slog.ix, slog.db, 1);
    slog.insert_batch = prepare(slog.db, "INSERT INTO batches (id, body) VALUES (?, ?)");
    slog.read_tail = prepare(slog.db, "SELECT id, body FROM batches WHERE id > ? ORDER BY id");
    slog.buf = xmalloc(MAX_RECORDS_BYTES);
    slog.commits = 0;
}

/* Encodes a batch's records into `buf` (with CRCs or not), leaving their index entries
 * pending in `ix` at (batch, offset from `base`). Returns the bytes written. */
static size_t encode_batch(const Lead *batch, int n, uint8_t *buf, int with_crc, Index *ix, int64_t batch_id, int64_t base)
{
    uint8_t *p = buf;
    for (int i = 0; i < n; i++) {
        const Lead *l = &batch[i];
        index_add_lead(ix, l->id, batch_id, base + (p - buf));
        p = close_record(p, put_lead_payload(p + 8, l), with_crc);
        index_add_envelope(ix, l->topic, l->seq, batch_id, base + (p - buf));
        p = close_record(p, put_envelope_payload(p + 8, l), with_crc);
    }
    ix->newest_batch = batch_id;
    return (size_t)(p - buf);
}

static void slog_append(const Lead *batch, int n)
{
    int64_t id = slog.commits + 1;
    /* No CRC: SQLite checks its WAL frames itself. */
    size_t len = encode_batch(batch, n, slog.buf, 0, &slog.ix, id, 0);
    exec(slog.db, "BEGIN");
    sqlite3_bind_int64(slog.insert_batch, 1, id);
    sqlite3_bind_blob(slog.insert_batch, 2, slog.buf, (int)len, SQLITE_STATIC);
    step_done(slog.db, slog.insert_batch);
    exec(slog.db, "COMMIT");
    if (++slog.commits % CHECKPOINT_EVERY == 0) checkpoint(slog.db, "PASSIVE");
}

static void slog_sweep(int n) { index_sweep(&slog.ix, n); }

static void slog_finish(int swept)
{
    if (swept) index_write_buckets(&slog.ix, 0, BUCKETS);
    checkpoint(slog.db, "TRUNCATE");
}

static void slog_probe_begin(void) { exec(slog.db, "BEGIN"); }
static void slog_probe_end(void) { exec(slog.db, "COMMIT"); }
static int slog_probe(const char *id) { return index_probe(&slog.ix, id); }

/* Scans the batches after `after` (the unindexed tail) into pending entries. */
static int slog_scan_tail(int64_t after)
{
    int leads = 0;
    sqlite3_bind_int64(slog.read_tail, 1, after);
    while (sqlite3_step(slog.read_tail) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(slog.read_tail, 0);
        const uint8_t *body = sqlite3_column_blob(slog.read_tail, 1);
        size_t len = (size_t)sqlite3_column_bytes(slog.read_tail, 1);
        leads += index_scan_batch(&slog.ix, body, len, id, 0, 0);
    }
    sqlite3_reset(slog.read_tail);
    return leads;
}

static void slog_close(void)
{
    index_close(&slog.ix);
    sqlite3_finalize(slog.insert_batch);
    sqlite3_finalize(slog.read_tail);
    sqlite3_close(slog.db);
    free(slog.buf);
}

/* ---------------------------------------------------------------------------------------- */
/* Design 6: an own append-only segment log, indexed in SQLite by the sweep                  */

static struct {
    int fd;
    sqlite3 *db;
    Index ix;
    uint8_t *buf;
    int64_t size, commits;
    int64_t *batch_start;     /* each batch's first byte in the log (an index would keep these) */
} seg;

static void seg_open(const char *dir, long batches)
{
    char path[PATH_BYTES];
    path_join(path, dir, "segment.log");
    seg.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg.fd < 0) die("opening %s: %s", path, strerror(errno));
    seg.db = open_sqlite(dir, "index.sqlite", "NORMAL");
    index_open(&seg.ix, seg.db, 0);
    seg.buf = xmalloc(MAX_RECORDS_BYTES);
    seg.size = seg.commits = 0;
    seg.batch_start = xmalloc((size_t)(batches + 1) * sizeof *seg.batch_start);
}

static void seg_append(const Lead *batch, int n)
{
    int64_t id = seg.commits + 1;
    size_t len = encode_batch(batch, n, seg.buf, 1, &seg.ix, id, seg.size);
    for (size_t done = 0; done < len;) { /* one write() of the whole batch, unless it is cut short */
        ssize_t w = write(seg.fd, seg.buf + done, len - done);
        if (w < 0 && errno != EINTR) die("writing the segment: %s", strerror(errno));
        if (w > 0) done += (size_t)w;
    }
    if (fdatasync(seg.fd) != 0) die("fdatasync of the segment: %s", strerror(errno));
    seg.batch_start[seg.commits] = seg.size;
    seg.size += (int64_t)len;
    seg.commits++;
}

static void seg_sweep(int n)
{
    index_sweep(&seg.ix, n);
    if (seg.commits % CHECKPOINT_EVERY == 0) checkpoint(seg.db, "PASSIVE");
}

static void seg_finish(int swept)
{
    if (swept) index_write_buckets(&seg.ix, 0, BUCKETS);
    checkpoint(seg.db, "TRUNCATE");
}

static void seg_probe_begin(void) { exec(seg.db, "BEGIN"); }
static void seg_probe_end(void) { exec(seg.db, "COMMIT"); }
static int seg_probe(const char *id) { return index_probe(&seg.ix, id); }

/* Reads the log from batch `after` + 1 on (a fresh descriptor, as a restart would) and scans
 * it into pending entries. */
static int seg_scan_tail(const char *dir, int64_t after)
{
    char path[PATH_BYTES];
    path_join(path, dir, "segment.log");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("opening %s: %s", path, strerror(errno));
    int64_t from = seg.batch_start[after], len = seg.size - from;
    uint8_t *buf = xmalloc((size_t)len);
    for (int64_t done = 0; done < len;) {
        ssize_t r = pread(fd, buf + done, (size_t)(len - done), from + done);
        if (r <= 0) die("reading the segment: %s", r < 0 ? strerror(errno) : "short file");
        done += r;
    }
    close(fd);
    int leads = 0;
    for (int64_t b = after; b < seg.commits; b++) {
        int64_t start = seg.batch_start[b], end = b + 1 < seg.commits ? seg.batch_start[b + 1] : seg.size;
        leads += index_scan_batch(&seg.ix, buf + (start - from), (size_t)(end - start), b + 1, start, 1);
    }
    free(buf);
    return leads;
}

static void seg_close(void)
{
    index_close(&seg.ix);
    sqlite3_close(seg.db);
    close(seg.fd);
    free(seg.buf);
    free(seg.batch_start);
}

/* ---------------------------------------------------------------------------------------- */
/* Designs 4 and 5: LMDB                                                                     */
/*
 * 4: `leads` keyed by lead_id (MDB_NOOVERWRITE: the put is the dedupe), value received_at,
 *    assignment, decision and lead; `envelopes` keyed by topic + big-endian seq.
 * 5: `log` keyed by a big-endian record number (MDB_APPEND), a value per record (the log
 *    designs' lead and envelope payloads); `lead_ids` (lead_id -> record number,
 *    MDB_NOOVERWRITE) and `topic_seq` (topic + seq -> record number), for dedupe and replay.
 * One write transaction per batch, committed with LMDB's default sync (data, then meta page).
 */

static void lm(int rc, const char *what)
{
    if (rc != MDB_SUCCESS) die("%s: %s", what, mdb_strerror(rc));
}

static struct {
    MDB_env *env;
    MDB_dbi leads, envelopes, log, lead_ids, topic_seq;
    MDB_txn *reader;
    int append;
    uint64_t next_record;
    uint8_t value[LEAD_BYTES + DECISION_BYTES + 256];
} lmdb;

static void lmdb_open(const char *dir, int append, long leads)
{
    MDB_txn *txn;
    lmdb.append = append;
    lmdb.next_record = 1;
    lm(mdb_env_create(&lmdb.env), "mdb_env_create");
    lm(mdb_env_set_maxdbs(lmdb.env, 4), "mdb_env_set_maxdbs");
    lm(mdb_env_set_mapsize(lmdb.env, (size_t)leads * 16384 + ((size_t)1 << 30)), "mdb_env_set_mapsize");
    lm(mdb_env_open(lmdb.env, dir, 0, 0644), "mdb_env_open");
    lm(mdb_txn_begin(lmdb.env, NULL, 0, &txn), "mdb_txn_begin");
    if (append) {
        lm(mdb_dbi_open(txn, "log", MDB_CREATE, &lmdb.log), "opening log");
        lm(mdb_dbi_open(txn, "lead_ids", MDB_CREATE, &lmdb.lead_ids), "opening lead_ids");
        lm(mdb_dbi_open(txn, "topic_seq", MDB_CREATE, &lmdb.topic_seq), "opening topic_seq");
    } else {
        lm(mdb_dbi_open(txn, "leads", MDB_CREATE, &lmdb.leads), "opening leads");
        lm(mdb_dbi_open(txn, "envelopes", MDB_CREATE, &lmdb.envelopes), "opening envelopes");
    }
    lm(mdb_txn_commit(txn), "creating the databases");
}

static uint64_t big_endian(uint64_t v) { return __builtin_bswap64(v); }

/* The key topic + big-endian seq (so a topic's envelopes are in seq order). */
static size_t topic_seq_key(uint8_t *out, const Lead *l)
{
    uint64_t be = big_endian((uint64_t)l->seq);
    memcpy(out, topic_name[l->topic], topic_len[l->topic]);
    memcpy(out + topic_len[l->topic], &be, 8);
    return topic_len[l->topic] + 8u;
}

static void lmdb_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *value, size_t vlen, unsigned flags)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)value};
    int rc = mdb_put(txn, dbi, &k, &v, flags);
    if (rc == MDB_KEYEXIST) die("a duplicate key in a batch of unique leads");
    lm(rc, "mdb_put");
}

static void lmdb_append(const Lead *batch, int n)
{
    MDB_txn *txn;
    uint8_t key[32];
    lm(mdb_txn_begin(lmdb.env, NULL, 0, &txn), "mdb_txn_begin");
    for (int i = 0; i < n; i++) {
        const Lead *l = &batch[i];
        size_t klen = topic_seq_key(key, l);
        if (!lmdb.append) {
            uint8_t *p = put_u64(lmdb.value, (uint64_t)l->received_at);
            p = put(p, l->assignment, sizeof l->assignment - 1);
            p = put_u16(p, DECISION_BYTES);
            p = put(p, l->decision, DECISION_BYTES);
            p = put(p, l->lead, LEAD_BYTES);
            lmdb_put(txn, lmdb.leads, l->id, ID_LEN, lmdb.value, (size_t)(p - lmdb.value), MDB_NOOVERWRITE);
            p = put_u32(lmdb.value, ENVELOPE_BYTES - 2);
            p = put(p, l->id, ID_LEN);
            p = put(p, l->envelope, ENVELOPE_BYTES);
            lmdb_put(txn, lmdb.envelopes, key, klen, lmdb.value, (size_t)(p - lmdb.value), 0);
        } else {
            uint64_t lead_record = big_endian(lmdb.next_record++);
            uint8_t *p = put_lead_payload(lmdb.value, l);
            lmdb_put(txn, lmdb.log, &lead_record, 8, lmdb.value, (size_t)(p - lmdb.value), MDB_APPEND);
            lmdb_put(txn, lmdb.lead_ids, l->id, ID_LEN, &lead_record, 8, MDB_NOOVERWRITE);
            uint64_t envelope_record = big_endian(lmdb.next_record++);
            p = put_envelope_payload(lmdb.value, l);
            lmdb_put(txn, lmdb.log, &envelope_record, 8, lmdb.value, (size_t)(p - lmdb.value), MDB_APPEND);
            lmdb_put(txn, lmdb.topic_seq, key, klen, &envelope_record, 8, 0);
        }
    }
    lm(mdb_txn_commit(txn), "mdb_txn_commit"); /* syncs: MDB_NOSYNC and MDB_NOMETASYNC are off */
}

static void lmdb_probe_begin(void) { lm(mdb_txn_begin(lmdb.env, NULL, MDB_RDONLY, &lmdb.reader), "a read transaction"); }
static void lmdb_probe_end(void) { mdb_txn_abort(lmdb.reader); }

static int lmdb_probe(const char *id)
{
    MDB_val k = {ID_LEN, (void *)id}, v;
    int rc = mdb_get(lmdb.reader, lmdb.append ? lmdb.lead_ids : lmdb.leads, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    lm(rc, "mdb_get");
    return 1;
}

static void lmdb_close(void) { mdb_env_close(lmdb.env); }

/* ---------------------------------------------------------------------------------------- */
/* Running the designs                                                                       */

enum Kind { ROWS, SQLITE_LOG, LMDB_ROWS, LMDB_APPEND, SEGMENT_LOG };

typedef struct {
    const char *key, *name;
    enum Kind kind;
    int option;               /* ROWS: UNIQUE lead_id; the logs: with the sweep */
} Design;

static const Design designs[] = {
    {"1", "SQLite rows, as today", ROWS, 1},
    {"2", "SQLite rows, no UNIQUE lead_id", ROWS, 0},
    {"3a", "SQLite log, append only", SQLITE_LOG, 0},
    {"3", "SQLite log + sweep", SQLITE_LOG, 1},
    {"4", "LMDB, keyed by lead_id", LMDB_ROWS, 0},
    {"5", "LMDB append + id/topic DBs", LMDB_APPEND, 0},
    {"6a", "segment log, append only", SEGMENT_LOG, 0},
    {"6", "segment log + SQLite sweep", SEGMENT_LOG, 1},
};

typedef struct {
    Meter append, sweep;
    double bytes_per_lead, probe_hit_us, probe_miss_us;
    int has_probes, has_tail, tail_leads;
    double tail_scan_ms, tail_index_ms;
} Result;

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[PATH_BYTES];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        path_join(path, dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Bytes the directory's files take on disk (allocated blocks). */
static double disk_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) die("opening %s: %s", dir, strerror(errno));
    struct dirent *e;
    struct stat st;
    char path[PATH_BYTES];
    double total = 0;
    while ((e = readdir(d))) {
        path_join(path, dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) total += (double)st.st_blocks * 512;
    }
    closedir(d);
    return total;
}

/* Writes out what is dirty on the file system of `root` (the last design's leftovers, its
 * deleted files) and waits a second, so that none of it is charged to the next design. */
static void settle(const char *root)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("opening %s: %s", root, strerror(errno));
    if (syncfs(fd) != 0) die("syncfs %s: %s", root, strerror(errno));
    close(fd);
    sleep(1);
}

static void probe_begin(const Design *d)
{
    switch (d->kind) {
    case ROWS: rows_probe_begin(); break;
    case SQLITE_LOG: slog_probe_begin(); break;
    case LMDB_ROWS: case LMDB_APPEND: lmdb_probe_begin(); break;
    case SEGMENT_LOG: seg_probe_begin(); break;
    }
}

static void probe_end(const Design *d)
{
    switch (d->kind) {
    case ROWS: rows_probe_end(); break;
    case SQLITE_LOG: slog_probe_end(); break;
    case LMDB_ROWS: case LMDB_APPEND: lmdb_probe_end(); break;
    case SEGMENT_LOG: seg_probe_end(); break;
    }
}

static int probe(const Design *d, const char *id)
{
    switch (d->kind) {
    case ROWS: return rows_probe(id);
    case SQLITE_LOG: return slog_probe(id);
    case LMDB_ROWS: case LMDB_APPEND: return lmdb_probe(id);
    case SEGMENT_LOG: return seg_probe(id);
    }
    return 0;
}

/* Microseconds per dedupe probe: of stored ids (`existing`) or of new random ones, in one read
 * transaction (the daemon asks once per batch); checks every answer. */
static double time_probes(const Design *d, int existing)
{
    char id[ID_LEN + 1];
    int n = 0;
    double start = now();
    probe_begin(d);
    while (n < PROBES) {
        if (existing) memcpy(id, all_ids[rnd() % (uint64_t)ids_stored], sizeof id);
        else make_uuid(id);
        if (probe(d, id) != existing) die("design %s: a probe of %s answered wrongly", d->key, id);
        n++;
        if (n >= 3 && now() - start > PROBE_SECONDS) break;
    }
    probe_end(d);
    return (now() - start) / n * 1e6;
}

/* Crash recovery of a log design: its last `batches` batches are made unindexed again
 * (untimed), then timed: scanning them from the log into pending entries (what a start-up
 * must do before it can answer dedupe), and writing those entries to the index at once
 * (unsynced, as every sweep: the index can be rebuilt from the log). */
static void measure_tail(const Design *d, const char *dir, int64_t batches, int64_t tail, Result *r)
{
    Index *ix = d->kind == SQLITE_LOG ? &slog.ix : &seg.ix;
    int64_t after = batches - tail;
    if (d->kind == SQLITE_LOG) slog_scan_tail(after); else seg_scan_tail(dir, after);
    index_forget_pending(ix);
    double t0 = now();
    r->tail_leads = d->kind == SQLITE_LOG ? slog_scan_tail(after) : seg_scan_tail(dir, after);
    double t1 = now();
    index_write_buckets(ix, 0, BUCKETS);
    double t2 = now();
    r->tail_scan_ms = (t1 - t0) * 1e3;
    r->tail_index_ms = (t2 - t1) * 1e3;
    r->has_tail = 1;
}

static void run_design(const Design *d, const char *root, long leads, Lead *batch, Result *r)
{
    char dir[PATH_BYTES], name[64];
    snprintf(name, sizeof name, "store-floors.%d.%s", (int)getpid(), d->key);
    path_join(dir, root, name);
    remove_tree(dir);
    settle(root);
    if (mkdir(dir, 0755) != 0) die("creating %s: %s", dir, strerror(errno));
    memset(r, 0, sizeof *r);
    reset_workload();
    long batches = (leads + BATCH - 1) / BATCH;
    switch (d->kind) {
    case ROWS: rows_open(dir, d->option); break;
    case SQLITE_LOG: slog_open(dir); break;
    case LMDB_ROWS: lmdb_open(dir, 0, leads); break;
    case LMDB_APPEND: lmdb_open(dir, 1, leads); break;
    case SEGMENT_LOG: seg_open(dir, batches); break;
    }
    int sweeps = (d->kind == SQLITE_LOG || d->kind == SEGMENT_LOG) && d->option;
    for (long done = 0; done < leads;) {
        int n = leads - done < BATCH ? (int)(leads - done) : BATCH;
        make_batch(batch, n);
        Mark m = mark();
        switch (d->kind) {
        case ROWS: rows_append(batch, n); break;
        case SQLITE_LOG: slog_append(batch, n); break;
        case LMDB_ROWS: case LMDB_APPEND: lmdb_append(batch, n); break;
        case SEGMENT_LOG: seg_append(batch, n); break;
        }
        add_since(&r->append, m);
        if (sweeps) {
            m = mark();
            if (d->kind == SQLITE_LOG) slog_sweep(n); else seg_sweep(n);
            add_since(&r->sweep, m);
        }
        done += n;
    }
    /* Finishing (the last index entries, a last checkpoint) counts with the sweep when there
     * is one, else with the appends. */
    Mark m = mark();
    switch (d->kind) {
    case ROWS: rows_finish(); break;
    case SQLITE_LOG: slog_finish(sweeps); break;
    case LMDB_ROWS: case LMDB_APPEND: lm(mdb_env_sync(lmdb.env, 1), "mdb_env_sync"); break;
    case SEGMENT_LOG: seg_finish(sweeps); break;
    }
    add_since(sweeps ? &r->sweep : &r->append, m);
    r->bytes_per_lead = disk_bytes(dir) / (double)leads;
    /* The append-only variants have no index to probe. */
    r->has_probes = !((d->kind == SQLITE_LOG || d->kind == SEGMENT_LOG) && !sweeps);
    if (r->has_probes) {
        r->probe_hit_us = time_probes(d, 1);
        r->probe_miss_us = time_probes(d, 0);
    }
    if (sweeps && batches > 1) {
        int64_t tail = (TAIL_LEADS + BATCH - 1) / BATCH;
        if (tail > batches - 1) tail = batches - 1;
        measure_tail(d, dir, batches, tail, r);
    }
    switch (d->kind) {
    case ROWS: rows_close(); break;
    case SQLITE_LOG: slog_close(); break;
    case LMDB_ROWS: case LMDB_APPEND: lmdb_close(); break;
    case SEGMENT_LOG: seg_close(); break;
    }
    remove_tree(dir);
}

static int selected(const char *list, const char *key)
{
    if (!list || strcmp(list, "all") == 0) return 1;
    size_t n = strlen(key);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, key, n) == 0) return 1;
        p += len + (end ? 1 : 0);
    }
    return 0;
}

enum { DESIGNS = sizeof designs / sizeof designs[0], MAX_PASSES = 15 };

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of a figure over the passes (`at` picks it out of a Result). */
static double median(const Result *runs, int passes, double (*at)(const Result *))
{
    double v[MAX_PASSES];
    for (int p = 0; p < passes; p++) v[p] = at(&runs[p]);
    qsort(v, (size_t)passes, sizeof v[0], compare_doubles);
    return passes % 2 ? v[passes / 2] : (v[passes / 2 - 1] + v[passes / 2]) / 2;
}

static long leads_run; /* leads per design, for the per-lead figures below */
static double cpu_per_lead(const Result *r) { return (r->append.cpu_us + r->sweep.cpu_us) / (double)leads_run; }
static double sys_per_lead(const Result *r) { return (r->append.sys_us + r->sweep.sys_us) / (double)leads_run; }
static double sweep_per_lead(const Result *r) { return r->sweep.cpu_us / (double)leads_run; }
static double leads_per_s(const Result *r) { return (double)leads_run / (r->append.wall_s + r->sweep.wall_s); }
static double disk_per_lead(const Result *r) { return r->bytes_per_lead; }
static double probe_hit(const Result *r) { return r->probe_hit_us; }
static double probe_miss(const Result *r) { return r->probe_miss_us; }
static double tail_scan(const Result *r) { return r->tail_scan_ms; }
static double tail_index(const Result *r) { return r->tail_index_ms; }

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "/tmp";
    long leads = argc > 2 ? atol(argv[2]) : 200000;
    const char *only = argc > 3 ? argv[3] : NULL;
    int passes = argc > 4 ? atoi(argv[4]) : 3;
    if (leads < 1) die("LEADS must be a positive number");
    if (passes < 1 || passes > MAX_PASSES) die("PASSES must be 1 to %d", MAX_PASSES);
    leads_run = leads;
    const char *ids = getenv("FLOORS_IDS");
    sourced_ids = ids && strcmp(ids, "sources") == 0;
    if (ids && !sourced_ids && strcmp(ids, "uuid") != 0) die("FLOORS_IDS must be uuid or sources");

    crc32c_init();
    if (crc32c("123456789", 9) != 0xe3069283u) die("CRC32C self-test failed");
    rng_state = 7;
    make_text_pool();
    make_topics();
    all_ids = xmalloc((size_t)leads * sizeof *all_ids);
    Lead *batch = xmalloc(BATCH * sizeof *batch);

    printf("store floors: %ld leads per design in batches of %d, %d topics, lead %d B + envelope %d B + decision %d B + id %d B\n",
        leads, BATCH, TOPICS, LEAD_BYTES, ENVELOPE_BYTES, DECISION_BYTES, ID_LEN);
    printf("SQLite %s, %s; in %s\n", sqlite3_libversion(), mdb_version(NULL, NULL, NULL), root);
    printf("lead ids: %s\n", sourced_ids ? "numbered per source, as in the contract (FLOORS_IDS=sources)" : "random UUIDs (FLOORS_IDS=uuid, the default)");
    /* What the table-driven CRC costs alone (design 6 checks every record with it). */
    volatile uint32_t sink = 0;
    double t0 = now();
    for (int i = 0; i < 256; i++) sink ^= crc32c(text_pool, TEXT_POOL);
    double gbps = 256.0 * TEXT_POOL / (now() - t0) / 1e9;
    (void)sink;
    printf("CRC32C, table-driven: %.2f GB/s, %.2f us per lead's records (~2,100 bytes)\n", gbps, 2100 / gbps / 1e3);
    fflush(stdout);

    /* The designs run in turn, `passes` times over (interleaved, so a slow spell of the
     * machine hits every design alike); the table shows medians, and the range of CPU. */
    static Result runs[DESIGNS][MAX_PASSES];
    for (int p = 0; p < passes; p++) {
        fprintf(stderr, "pass %d/%d:", p + 1, passes);
        for (size_t i = 0; i < DESIGNS; i++) {
            if (!selected(only, designs[i].key)) continue;
            fprintf(stderr, " %s", designs[i].key);
            run_design(&designs[i], root, leads, batch, &runs[i][p]);
        }
        fputc('\n', stderr);
    }

    printf("\nmedians of %d passes\n%-3s %-31s %9s %11s %6s %6s %8s %9s %9s %9s\n", passes, "", "design",
        "CPU us/ld", "(min-max)", "sys", "sweep", "leads/s", "disk B/ld", "probe hit", "miss us");
    for (size_t i = 0; i < DESIGNS; i++) {
        const Result *r = runs[i];
        if (!selected(only, designs[i].key)) continue;
        double lo = 1e300, hi = 0;
        for (int p = 0; p < passes; p++) {
            double c = cpu_per_lead(&r[p]);
            lo = c < lo ? c : lo;
            hi = c > hi ? c : hi;
        }
        char range[32], sweep[16] = "-", hit[16] = "-", miss[16] = "-";
        snprintf(range, sizeof range, "(%.1f-%.1f)", lo, hi);
        if (r[0].sweep.wall_s > 0) snprintf(sweep, sizeof sweep, "%.1f", median(r, passes, sweep_per_lead));
        if (r[0].has_probes) {
            snprintf(hit, sizeof hit, "%.2f", median(r, passes, probe_hit));
            snprintf(miss, sizeof miss, "%.2f", median(r, passes, probe_miss));
        }
        printf("%-3s %-31s %9.1f %11s %6.1f %6s %8.0f %9.0f %9s %9s\n", designs[i].key, designs[i].name,
            median(r, passes, cpu_per_lead), range, median(r, passes, sys_per_lead), sweep,
            median(r, passes, leads_per_s), median(r, passes, disk_per_lead), hit, miss);
    }
    int tails = 0;
    for (size_t i = 0; i < DESIGNS; i++) {
        const Result *r = runs[i];
        if (!selected(only, designs[i].key) || !r[0].has_tail) continue;
        if (!tails++) printf("\ncrash recovery: the unindexed tail, read from the log and indexed again (warm page cache)\n"
                             "%-3s %-31s %7s %9s %11s\n", "", "design", "leads", "scan ms", "re-index ms");
        printf("%-3s %-31s %7d %9.1f %11.1f\n", designs[i].key, designs[i].name, r[0].tail_leads,
            median(r, passes, tail_scan), median(r, passes, tail_index));
    }
    printf("\nCPU: getrusage user+sys per lead over the store's calls (sys and the sweep's part are shares of it);\n"
           "leads/s: over the wall time of those calls; disk: allocated bytes after a last checkpoint; probes:\n"
           "us per dedupe look-up of a stored lead_id (hit) and of a new one (miss), in one read transaction.\n");
    free(batch);
    free(all_ids);
    return 0;
}
