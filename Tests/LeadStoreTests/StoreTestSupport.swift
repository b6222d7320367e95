import Foundation
import GRDB
import Synchronization
import LeadRouting
import LeadStore
import Testing

// MARK: - Helpers

/// Runs `body` with a fresh, empty directory of its own under /tmp, removed afterwards.
func withStateDirectory(_ body: (String) throws -> Void) throws {
    let directory = "/tmp/leadstore-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(directory)
}

/// The store file's path inside `directory`.
func storeFile(_ directory: String) -> String {
    (directory as NSString).appendingPathComponent(LeadStore.fileName)
}

/// Opens the store in `directory`, runs `body` with it, and lets it go (closing it), as a
/// restart of leadrouterd would.
func withStore(
    _ directory: String, durability: Durability = .full, _ body: (LeadStore) throws -> Void
) throws {
    let store = try LeadStore(directory: directory, durability: durability)
    try body(store)
}

func storedLead(
    _ id: String, partner: String? = "acme", routedAt: Int64 = 1_700_000_000_000, bytes: [UInt8]? = nil
) -> StoredLead {
    StoredLead(
        leadID: id, channel: "webform", receivedAt: routedAt - 5, routedAt: routedAt,
        assignmentID: "as-\(id)", partnerID: partner,
        decision: Array(#"{"reasons":["territory"],"assignments":[{"topic":"partner/acme"}]}"#.utf8),
        lead: bytes ?? Array(#"{"lead_id":"\#(id)"}"#.utf8))
}

/// An envelope whose bytes say which topic and seq it is, plus a NUL and a byte that is not UTF-8.
func message(_ topic: String, _ seq: Int) -> OutgoingMessage {
    OutgoingMessage(topic: topic, seq: seq, envelope: Array(#"{"seq":\#(seq),"topic":"\#(topic)"}"#.utf8) + [0x00, 0xFF])
}

func batch(
    leads: [StoredLead] = [], envelopes: [OutgoingMessage] = [], leadIDs: [String?] = [], createdAt: Int64 = 1_700_000_000_000
) -> StoreBatch {
    var batch = StoreBatch()
    batch.leads = leads
    batch.envelopes = envelopes
    batch.envelopeLeadIDs = leadIDs
    batch.createdAt = createdAt
    return batch
}

/// A topic's numbering, comparable in tests (`TopicState` has no public initializer).
struct Numbering: Equatable, CustomStringConvertible {
    var lastSeq: Int
    var publishedSeq: Int
    var description: String { "last \(lastSeq), published \(publishedSeq)" }
}

func state(_ lastSeq: Int, _ publishedSeq: Int = 0) -> Numbering {
    Numbering(lastSeq: lastSeq, publishedSeq: publishedSeq)
}

/// `store.topicStates()`, as `Numbering`s.
func numbering(_ store: LeadStore) throws -> [String: Numbering] {
    try store.topicStates().mapValues { Numbering(lastSeq: $0.lastSeq, publishedSeq: $0.publishedSeq) }
}

/// Copies the store's files as a crash would leave them (the log, not its shared-memory
/// index), while the store is still open, into a new directory.
func crashCopy(_ directory: String) throws -> String {
    let copy = directory + "-crashed"
    try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: false)
    for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: storeFile(directory) + suffix) {
        try FileManager.default.copyItem(atPath: storeFile(directory) + suffix, toPath: storeFile(copy) + suffix)
    }
    return copy
}

/// A lower bound the store keeps in `store_state` (`index_pending_from`, `owners_pending_from`).
func storedBound(_ directory: String, _ key: String) throws -> Int64? {
    try DatabaseQueue(path: storeFile(directory)).read { db in
        try Int64.fetchOne(db, sql: "SELECT value FROM store_state WHERE key = ?", arguments: [key])
    }
}
