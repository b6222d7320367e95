import GRDB

// Schema rewinds for the migration tests: each takes a store back to what an older
// leadrouterd left, so that opening it runs the migrations since.

/// Takes a store back to schema v4, as leadrouterd left it before v5: every envelope indexed
/// by `(topic, seq)` in its own table, and `topics.last_seq` current.
func rewindToV4(_ db: Database) throws {
    try rewindToV5(db)
    try db.execute(sql: """
        UPDATE topics SET last_seq = max(last_seq, coalesce((SELECT max(seq) FROM envelopes e WHERE e.topic = topics.topic), 0));
        CREATE TABLE envelopes_v4 (
            id INTEGER PRIMARY KEY, topic TEXT NOT NULL, seq INTEGER NOT NULL, lead_id TEXT,
            created_at INTEGER NOT NULL, envelope BLOB NOT NULL, lead_at INTEGER, lead_row INTEGER,
            UNIQUE (topic, seq)
        );
        INSERT INTO envelopes_v4 SELECT id, topic, seq, lead_id, created_at, envelope, lead_at, lead_row FROM envelopes;
        DROP TABLE envelopes;
        ALTER TABLE envelopes_v4 RENAME TO envelopes;
        DROP TABLE envelope_index;
        DROP TABLE store_state;
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v5%';
        """)
}

/// Takes a store back to schema v5, as leadrouterd left it before v6: account owners keyed by
/// their key alone, each written as it was routed.
func rewindToV5(_ db: Database) throws {
    try rewindToV7(db)
    try db.execute(sql: """
        CREATE TABLE account_owners_v5 (
            account_key TEXT PRIMARY KEY, partner_id TEXT NOT NULL, routed_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO account_owners_v5 SELECT account_key, partner_id, routed_at FROM account_owners;
        DROP TABLE account_owners;
        ALTER TABLE account_owners_v5 RENAME TO account_owners;
        CREATE INDEX account_owners_routed_at ON account_owners (routed_at);
        DELETE FROM store_state WHERE key = 'owners_pending_from';
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v6%';
        """)
}

/// Takes a store back to schema v14: every envelope stored to its end (this drops what an
/// envelope stored without its end needs to be read: only for stores without any).
func rewindToV14(_ db: Database) throws {
    let cut = try Int.fetchOne(db, sql: "SELECT count(*) FROM envelopes WHERE cut_end IS NOT NULL") ?? 0
    precondition(cut == 0, "rewinding a store with envelopes stored without their end")
    try db.execute(sql: """
        ALTER TABLE envelopes DROP COLUMN cut_end;
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v15:%';
        """)
}

/// Takes a store back to schema v13: every envelope stored from its start (this drops what
/// an envelope stored without its start needs to be read: only for stores without any).
func rewindToV13(_ db: Database) throws {
    try rewindToV14(db)
    let cut = try Int.fetchOne(db, sql: "SELECT count(*) FROM envelopes WHERE cut_start IS NOT NULL") ?? 0
    precondition(cut == 0, "rewinding a store with envelopes stored without their start")
    try db.execute(sql: """
        ALTER TABLE envelopes DROP COLUMN cut_start;
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v14:%';
        """)
}

/// Takes a store back to schema v12: open cases indexed by their deadline alone.
func rewindToV12(_ db: Database) throws {
    try rewindToV13(db)
    try db.execute(sql: """
        DROP INDEX lead_cases_open;
        CREATE INDEX lead_cases_deadline ON lead_cases (deadline) WHERE deadline IS NOT NULL;
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v13:%';
        """)
}

/// Takes a store back to schema v11: account owners indexed by the millisecond.
func rewindToV11(_ db: Database) throws {
    try rewindToV12(db)
    try db.execute(sql: """
        DROP INDEX account_owners_routed_day;
        CREATE INDEX account_owners_routed_at ON account_owners (routed_at);
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v12:%';
        """)
}

/// Takes a store back to schema v7, before partner lists were retired and rejections indexed by lead_id.
func rewindToV7(_ db: Database) throws {
    try rewindToV11(db)
    try db.execute(sql: """
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v11:%';
        ALTER TABLE partner_lists DROP COLUMN candidate_lists;
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v10:%';
        DROP INDEX envelopes_rejected_lead_id;
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v9%';
        ALTER TABLE partner_lists DROP COLUMN retired_at;
        ALTER TABLE partner_lists DROP COLUMN retired_row;
        DELETE FROM grdb_migrations WHERE identifier LIKE 'v8%';
        """)
}
