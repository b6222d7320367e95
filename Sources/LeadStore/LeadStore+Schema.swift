import GRDB

/// The store's schema: each migration in order, from the first release on.
extension LeadStore {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: leads, envelopes, topics") { db in
            try db.execute(sql: """
                CREATE TABLE leads (
                    id INTEGER PRIMARY KEY,
                    lead_id TEXT NOT NULL UNIQUE,
                    channel TEXT NOT NULL,
                    received_at INTEGER NOT NULL,
                    routed_at INTEGER NOT NULL,
                    assignment_id TEXT NOT NULL,
                    partner_id TEXT,
                    decision TEXT NOT NULL,
                    lead BLOB NOT NULL
                );
                CREATE TABLE envelopes (
                    id INTEGER PRIMARY KEY,
                    topic TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    lead_id TEXT,
                    created_at INTEGER NOT NULL,
                    envelope BLOB NOT NULL,
                    UNIQUE (topic, seq)
                );
                CREATE TABLE topics (
                    topic TEXT PRIMARY KEY,
                    last_seq INTEGER NOT NULL,
                    published_seq INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: account owners, partner state, registrations") { db in
            try db.execute(sql: """
                CREATE TABLE account_owners (
                    account_key TEXT PRIMARY KEY,
                    partner_id TEXT NOT NULL,
                    routed_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE partner_state (
                    partner_id TEXT PRIMARY KEY,
                    current_weight INTEGER NOT NULL,
                    recent TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE registrations (
                    id INTEGER PRIMARY KEY,
                    partner_id TEXT NOT NULL,
                    domain TEXT NOT NULL,
                    expires INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3: index account owners by time, for pruning") { db in
            try db.execute(sql: "CREATE INDEX account_owners_routed_at ON account_owners (routed_at)")
        }
        migrator.registerMigration("v4: envelopes without their lead; partner lists") { db in
            // An envelope with `lead_at` is stored without the lead's bytes, which are spliced
            // back in at that offset from the `leads` row `lead_row` (its row id, never reused:
            // not its lead_id, which a lead sent again after pruning gets anew); one without
            // (rejections, older rows) is whole. Decision records name candidates by their index
            // in a stored partner list.
            try db.execute(sql: """
                ALTER TABLE envelopes ADD COLUMN lead_at INTEGER;
                ALTER TABLE envelopes ADD COLUMN lead_row INTEGER;
                CREATE TABLE partner_lists (
                    id INTEGER PRIMARY KEY,
                    digest INTEGER NOT NULL,
                    partners TEXT NOT NULL
                );
                CREATE INDEX partner_lists_digest ON partner_lists (digest);
                """)
        }
        migrator.registerMigration("v5: envelopes indexed a topic at a time") { db in
            // `envelopes` loses its UNIQUE (topic, seq) index, which SQLite keeps only by
            // rebuilding the table; `envelope_index` takes over, written in groups per topic
            // (see LeadStore+EnvelopeIndex.swift).
            try db.execute(sql: """
                CREATE TABLE envelopes_v5 (
                    id INTEGER PRIMARY KEY,
                    topic TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    lead_id TEXT,
                    created_at INTEGER NOT NULL,
                    envelope BLOB NOT NULL,
                    lead_at INTEGER,
                    lead_row INTEGER
                );
                INSERT INTO envelopes_v5 (id, topic, seq, lead_id, created_at, envelope, lead_at, lead_row)
                    SELECT id, topic, seq, lead_id, created_at, envelope, lead_at, lead_row FROM envelopes;
                DROP TABLE envelopes;
                ALTER TABLE envelopes_v5 RENAME TO envelopes;
                CREATE TABLE envelope_index (
                    topic TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    envelope_id INTEGER NOT NULL,
                    PRIMARY KEY (topic, seq)
                ) WITHOUT ROWID;
                INSERT INTO envelope_index (topic, seq, envelope_id) SELECT topic, seq, id FROM envelopes ORDER BY topic, seq;
                CREATE TABLE store_state (
                    key TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO store_state (key, value) VALUES ('\(LeadStore.pendingFromKey)', coalesce((SELECT max(id) FROM envelopes), 0) + 1);
                """)
        }
        migrator.registerMigration("v6: account owners bucketed for their sweep") { db in
            // Keyed by bucket first, so the owners a commit writes (a range of buckets, see
            // LeadStore+AccountOwners.swift) share leaf pages.
            try db.execute(sql: """
                CREATE TABLE account_owners_v6 (
                    bucket INTEGER NOT NULL,
                    account_key TEXT NOT NULL,
                    partner_id TEXT NOT NULL,
                    routed_at INTEGER NOT NULL,
                    PRIMARY KEY (bucket, account_key)
                ) WITHOUT ROWID
                """)
            let insert = try db.makeStatement(sql: "INSERT INTO account_owners_v6 (bucket, account_key, partner_id, routed_at) VALUES (?, ?, ?, ?)")
            let rows = try Row.fetchCursor(db, sql: "SELECT account_key, partner_id, routed_at FROM account_owners")
            while let row = try rows.next() {
                let key: String = row[0]
                try insert.execute(arguments: [LeadStore.ownerBucket(key), key, row[1], row[2]])
            }
            try db.execute(sql: """
                DROP TABLE account_owners;
                ALTER TABLE account_owners_v6 RENAME TO account_owners;
                CREATE INDEX account_owners_routed_at ON account_owners (routed_at);
                INSERT INTO store_state (key, value) VALUES ('\(LeadStore.ownersPendingFromKey)', coalesce((SELECT max(id) FROM leads), 0) + 1);
                """)
        }
        migrator.registerMigration("v7: lead cases (offers and partner actions)") { db in
            // One row per lead that was offered or acted on: its state, its stored form
            // (`record`, see LeadCase.encoded) and its history as JSON lines. Open cases (with
            // a deadline) are read back at start-up through the partial index.
            try db.execute(sql: """
                CREATE TABLE lead_cases (
                    lead_id TEXT PRIMARY KEY,
                    state TEXT NOT NULL,
                    partner_id TEXT,
                    deadline INTEGER,
                    record TEXT NOT NULL,
                    history TEXT NOT NULL DEFAULT '',
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX lead_cases_deadline ON lead_cases (deadline) WHERE deadline IS NOT NULL;
                """)
        }
        migrator.registerMigration("v8: partner lists retired, for pruning") { db in
            // The list a daemon starts with is current (both NULL); the others record when
            // they were retired and the last lead row stored then (LeadStore+PartnerLists.swift).
            try db.execute(sql: """
                ALTER TABLE partner_lists ADD COLUMN retired_at INTEGER;
                ALTER TABLE partner_lists ADD COLUMN retired_row INTEGER;
                """)
        }
        migrator.registerMigration("v9: rejections found by lead_id") { db in
            // Rejections whose lead_id could be read carry it in `lead_id`; the index holds only
            // those rows, so the commits of routed leads do not pay for it.
            try db.execute(sql: """
                CREATE INDEX envelopes_rejected_lead_id ON envelopes (lead_id) WHERE topic = 'rejected/' AND lead_id IS NOT NULL
                """)
        }
        migrator.registerMigration("v10: candidate lists beside the partner list") { db in
            // The router's candidate lists (Router.candidateLists), for records that give
            // their candidates as bit sets over a list's positions (`candidate_list`):
            // each list's partner positions packed (PackedPositions), comma-separated.
            try db.execute(sql: "ALTER TABLE partner_lists ADD COLUMN candidate_lists TEXT")
        }
        migrator.registerMigration("v11: decision records in binary") { _ in
            // No table changes: from v11 the daemon stores its usual decision record as a blob
            // (BinaryRecord), read back as the JSON it stands for. Recorded so that an older
            // leadrouterd or leadctl, which reads every record as JSON text, refuses the store
            // ("written by a newer leadrouterd") instead of misreading it.
        }
        migrator.registerMigration("v12: account owners indexed by day, for pruning") { db in
            // By the day of `routed_at`, not its millisecond: within a day the entries then sort
            // by bucket, as the table does, so the owners a commit writes (a range of buckets)
            // share the index's pages too. By the millisecond, each changed owner moved its
            // entry from wherever its last lead had put it: at a commit a lead, the index took
            // more of the log's pages than the table. Pruning reads the days up to its cutoff's.
            try db.execute(sql: """
                DROP INDEX account_owners_routed_at;
                CREATE INDEX account_owners_routed_day ON account_owners (\(LeadStore.ownerDayExpression));
                """)
        }
        migrator.registerMigration("v13: open cases read back from their index alone") { db in
            // The partial index of open cases holds their records too, so start-up reads them
            // from it in one pass, not each with a look-up of its row by lead_id: with a
            // million open offers that look-up was most of reading them back. A case's record
            // changes with its deadline, so keeping it in the index adds no index write.
            try db.execute(sql: """
                DROP INDEX lead_cases_deadline;
                CREATE INDEX lead_cases_open ON lead_cases (deadline, record) WHERE deadline IS NOT NULL;
                """)
        }
        migrator.registerMigration("v14: assignment envelopes without their start") { db in
            // `cut_start` set: the envelope is stored without its first fields (`seq`, `topic`,
            // `type`, `assignment_id`, `lead_id`, `partner_id`, `engagement`, `role`), which are
            // written again when it is read (AssignmentEnvelope), from this row, its lead's and
            // this number, which gives the role and engagement. `NULL`: stored from its start.
            // From v14 on, binary decision records are version 2 too (BinaryRecord), without the
            // row's `assignment_id` and `partner_id`: an older leadctl would misread them, and
            // refuses the store instead ("written by a newer leadrouterd").
            try db.execute(sql: "ALTER TABLE envelopes ADD COLUMN cut_start INTEGER")
        }
        migrator.registerMigration("v15: assignment envelopes without their end") { db in
            // `cut_end` set: the envelope is stored without its end (`qualification`, when it
            // has one, `routed_at` and the closing brace), written again when it is read
            // (AssignmentEnvelope.end), from this number and its lead's `routed_at`. `NULL`:
            // stored to its end.
            try db.execute(sql: "ALTER TABLE envelopes ADD COLUMN cut_end INTEGER")
        }
        return migrator
    }

    /// The day of an account owner's `routed_at` (days since 1970), as its index has it: a
    /// query uses the index only when it names this expression as it is written here.
    static let ownerDayExpression = "routed_at / \(ownerDayMilliseconds)"
    static let ownerDayMilliseconds: Int64 = 86_400_000
}
