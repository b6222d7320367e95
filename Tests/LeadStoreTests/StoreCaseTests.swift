import Foundation
import GRDB
import LeadRouting
import LeadStore
import Testing

/// Open cases (those waiting on a deadline) are read back at start-up from their partial
/// index alone, which holds their records (schema v13).
@Suite("Open cases read back from their index")
struct StoreCaseTests {
    static let now: Int64 = 1_780_000_000_000

    func write(_ store: LeadStore, _ cases: [LeadCase]) throws {
        var batch = StoreBatch()
        batch.createdAt = StoreCaseTests.now
        batch.cases = cases.map { CaseWrite(lead: $0, history: Array(#"{"event":"test"}"#.utf8) + [10], updatedAt: StoreCaseTests.now) }
        try store.commit(batch, published: [:])
    }

    func offered(_ id: String, due: Int64?, partner: String = "acme") -> LeadCase {
        LeadCase(leadID: id, assignmentID: "a-\(id)", state: due == nil ? .accepted : .offered, partnerID: partner,
                 engagement: .leadsOnly, deadline: due, offers: 1)
    }

    func open(_ store: LeadStore) throws -> [LeadCase] { try store.openCases().sorted { $0.leadID < $1.leadID } }

    /// How SQLite reads the open cases: the index it uses, and whether it needs the table's rows.
    func plan(_ directory: String) throws -> String {
        try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT lead_id, record FROM lead_cases WHERE deadline IS NOT NULL")
                .map { $0["detail"] as String }.joined(separator: "; ")
        }
    }

    @Test("only the cases with a deadline come back, whole, and SQLite reads them from the index alone")
    func openCasesFromTheIndex() throws {
        try withStateDirectory { directory in
            let cases = [offered("c-1", due: StoreCaseTests.now + 3_000), offered("c-2", due: nil), offered("c-3", due: StoreCaseTests.now + 1_000),
                         offered("c-4", due: nil, partner: "beta"), offered("c-5", due: StoreCaseTests.now + 2_000, partner: "beta")]
            try withStore(directory) { store in
                try write(store, cases)
                #expect(try open(store) == [cases[0], cases[2], cases[4]])
                // A case that closes (no deadline left) leaves the index; one that moves, moves.
                try write(store, [offered("c-1", due: nil), offered("c-3", due: StoreCaseTests.now + 9_000, partner: "beta")])
                #expect(try open(store) == [offered("c-3", due: StoreCaseTests.now + 9_000, partner: "beta"), cases[4]])
            }
            #expect(try plan(directory).contains("COVERING INDEX lead_cases_open"))
        }
    }

    @Test("a store from before schema v13 gets the index at its first open, with the cases it already held")
    func openCasesAfterTheMigration() throws {
        try withStateDirectory { directory in
            let cases = [offered("c-1", due: StoreCaseTests.now + 3_000), offered("c-2", due: nil), offered("c-3", due: StoreCaseTests.now + 1_000)]
            try withStore(directory) { store in try write(store, cases) }
            try DatabaseQueue(path: storeFile(directory)).write { try rewindToV12($0) }
            #expect(!(try plan(directory).contains("lead_cases_open")))
            try withStore(directory) { store in
                let found = try open(store)
                #expect(found == [cases[0], cases[2]])
            }
            #expect(try plan(directory).contains("COVERING INDEX lead_cases_open"))
        }
    }
}
