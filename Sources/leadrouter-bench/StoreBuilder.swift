import Dispatch
import Foundation
import LeadRouting
import LeadStore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Fills a store directly through the LeadStore API, as if `count` leads had been routed
/// over the last 30 days by a daemon with these partners.
///
/// The first `templates` leads are routed by the real ``LeadPipeline``, so decision records,
/// envelopes, account owners and partner states have exactly the shape and size the daemon
/// gives them. Routing a million leads that way would take minutes, so every further lead
/// reuses a template's bytes with its own lead id, assignment id, per-topic `seq` and time
/// patched in. Batches of `batchSize` are committed with the published watermarks (nothing
/// is left to republish at start-up), and checkpointed, on a second thread while the next
/// batch is built.
enum StoreBuilder {
    struct Summary {
        var leads: Int
        var envelopes: Int
        var seconds: Double
        var bytesOnDisk: Int64
        var averageDecisionBytes: Double
        var averageEnvelopeBytes: Double
    }

    private struct Template {
        var lead: [UInt8]
        var leadIDOffsets: [Int]
        var decision: [UInt8]
        var decisionIDOffsets: [Int]
        var decisionAssignmentOffsets: [Int]
        var partnerID: String?
        var accountKeys: [String]
        /// Each envelope after its `{"seq":N` prefix, with the offsets of the ids in that rest,
        /// the end of its assignment start in it with the start's code (0 for none), and where
        /// its end begins with the end's code (0 for none), which the store keeps it without,
        /// as the daemon's store does.
        var envelopes: [(topic: String, rest: [UInt8], idOffsets: [Int], assignmentOffsets: [Int], leadInRest: Range<Int>?,
                         startInRest: Int, startCode: Int, endInRest: Int, endCode: Int)]
    }

    static func build(directory: String, count: Int, partners: [Partner], templates templateCount: Int = 2_000,
                      batchSize: Int = 10_000, progress: (Int) -> Void) throws -> Summary {
        let started = Clock.now
        let box = StoreBox(try LeadStore(directory: directory, durability: .off))
        var pipeline = LeadPipeline(config: RouterConfig(partners: partners), seed: 0x5EED)
        // As the daemon does: decision records index the partner list the store keeps.
        let router = pipeline.router
        let partnerList = try box.store.map { try $0.partnerListID(for: router) }
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        // Spread over the last 30 days, well inside the default 180-day retention.
        let spanMs: Int64 = 30 * 86_400_000
        func at(_ i: Int) -> Int64 { nowMs - spanMs + spanMs * Int64(i) / Int64(max(count, 1)) }

        // 1. Templates, routed for real.
        let k = min(count, templateCount)
        let routed = try routeTemplates(k, &pipeline, partnerList: partnerList, at: at)
        let templates = routed.templates
        let partnerStates = pipeline.takeChangedPartnerStates()

        // 2. Batches, committed on another thread (at most two waiting).
        let commits = CommitQueue()
        let committer = Worker<Bool>(name: "store-builder") { commitAll(box, commits) }

        var seqs: [String: Int] = [:]
        var envelopes = 0
        var done = 0
        var lastProgress = 0
        while done < count {
            if let error = commits.failure.withLock({ $0 }) { throw BenchError("building the store: \(error)") }
            let n = min(batchSize, count - done)
            var batch = StoreBatch()
            batch.leads.reserveCapacity(n)
            batch.envelopes.reserveCapacity(n)
            for i in done..<(done + n) { add(i, from: templates[i % k], to: &batch, seqs: &seqs, at: at(i)) }
            if done == 0 { batch.partnerStates = partnerStates }
            envelopes += batch.envelopes.count
            commits.slots.wait()
            commits.queue.withLock { $0.append((batch, seqs)) }
            commits.available.signal()
            done += n
            let stored = commits.committed.load(ordering: .relaxed)
            if stored != lastProgress {
                lastProgress = stored
                progress(stored)
            }
        }
        commits.queue.withLock { $0.append((StoreBatch(), [:])) }
        commits.available.signal()
        _ = committer.join(timeout: 3600)
        // Closing the store (its last connection) checkpoints what is left in the log, as a
        // daemon's clean stop would.
        box.store = nil
        if let error = commits.failure.withLock({ $0 }) { throw BenchError("building the store: \(error)") }
        progress(count)
        let seconds = Double(Clock.now - started) / 1e9
        return Summary(
            leads: done, envelopes: envelopes, seconds: seconds,
            bytesOnDisk: bytesOnDisk(directory),
            averageDecisionBytes: Double(routed.decisionBytes) / Double(max(k, 1)),
            averageEnvelopeBytes: Double(routed.envelopeBytes) / Double(max(routed.envelopeCount, 1)))
    }

    /// Routes the first `k` leads through `pipeline` (at their place in time, `at`), and
    /// keeps each one's records with the offsets of its ids; with the decision records' and
    /// stored envelopes' sizes, summed.
    private static func routeTemplates(_ k: Int, _ pipeline: inout LeadPipeline, partnerList: Int64?, at: (Int) -> Int64) throws
        -> (templates: [Template], decisionBytes: Int, envelopeBytes: Int, envelopeCount: Int) {
        let topicFrame = Array("lead".utf8)
        var templates: [Template] = []
        templates.reserveCapacity(k)
        var decisionBytes = 0, envelopeBytes = 0, envelopeCount = 0
        for j in 0..<k {
            let (bytes, _) = LeadFactory.lead(j, prefix: "stored")
            guard case .routed(let leadID, let decision, let messages) = pipeline.process(
                InboundMessage(frames: [topicFrame, bytes]), from: .ingest, now: at(j)) else {
                throw BenchError("stored lead \(j) was not routed")
            }
            let id = Array(leadID.utf8)
            let assignment = Array(decision.assignmentID.utf8)
            let record = decision.record(messages: messages, partnerList: partnerList, reasonsInEnvelope: true)
            decisionBytes += record.count
            var envelopes: [(String, [UInt8], [Int], [Int], Range<Int>?, Int, Int, Int, Int)] = []
            for m in messages {
                // What the store keeps: the envelope without the lead, which it stores once, and
                // without its assignment start and end.
                envelopeBytes += m.envelope.count - (m.leadRange?.count ?? 0) - (m.assignmentCode > 0 ? m.assignmentStart : 0)
                    - (m.assignmentEndCode != 0 ? m.envelope.count - m.assignmentEnd : 0)
                envelopeCount += 1
                guard let comma = m.envelope.firstIndex(of: UInt8(ascii: ",")) else { throw BenchError("unexpected envelope") }
                let rest = Array(m.envelope[comma...])
                let leadInRest = m.leadRange.map { ($0.lowerBound - comma)..<($0.upperBound - comma) }
                let startInRest = m.assignmentCode > 0 ? m.assignmentStart - comma : 0
                let endInRest = m.assignmentEndCode != 0 ? m.assignmentEnd - comma : 0
                envelopes.append((m.topic, rest, occurrences(id, in: rest), occurrences(assignment, in: rest), leadInRest,
                                  startInRest, m.assignmentCode, endInRest, m.assignmentEndCode))
            }
            templates.append(Template(
                lead: bytes, leadIDOffsets: occurrences(id, in: bytes), decision: record,
                decisionIDOffsets: occurrences(id, in: record), decisionAssignmentOffsets: occurrences(assignment, in: record),
                partnerID: decision.partnerID, accountKeys: decision.accountKeys, envelopes: envelopes))
        }
        return (templates, decisionBytes, envelopeBytes, envelopeCount)
    }

    /// Adds lead `i` to `batch` as template `t` with its own lead id, assignment id, time
    /// and per-topic `seq`s (the next in `seqs`).
    private static func add(_ i: Int, from t: Template, to batch: inout StoreBatch, seqs: inout [String: Int], at time: Int64) {
        let assignmentPrefixLength = 12  // "a-" and the ULID's 10 time characters
        let leadID = "stored-" + LeadFactory.pad(i, 9)
        let id = Array(leadID.utf8)
        // Unique assignment id of the template's length: keep its time part, then i.
        let templateAssignment = t.decisionAssignmentOffsets.first.map { Array(t.decision[$0..<($0 + 28)]) } ?? []
        var assignment = templateAssignment
        if assignment.count == 28 {
            let suffix = Array(crockford(i, width: 28 - assignmentPrefixLength).utf8)
            assignment.replaceSubrange(assignmentPrefixLength..<28, with: suffix)
        }
        var lead = t.lead
        patch(&lead, id, at: t.leadIDOffsets)
        var decision = t.decision
        patch(&decision, id, at: t.decisionIDOffsets)
        patch(&decision, assignment, at: t.decisionAssignmentOffsets)
        batch.leads.append(StoredLead(
            leadID: leadID, channel: "ingest", receivedAt: time, routedAt: time,
            assignmentID: String(decoding: assignment, as: UTF8.self), partnerID: t.partnerID,
            decision: decision, lead: lead))
        for e in t.envelopes {
            let seq = (seqs[e.topic] ?? 0) + 1
            seqs[e.topic] = seq
            var rest = e.rest
            patch(&rest, id, at: e.idOffsets)
            patch(&rest, assignment, at: e.assignmentOffsets)
            let prefix = Array("{\"seq\":\(seq)".utf8)
            let leadRange = e.leadInRest.map { ($0.lowerBound + prefix.count)..<($0.upperBound + prefix.count) }
            batch.envelopes.append(OutgoingMessage(
                topic: e.topic, seq: seq, envelope: prefix + rest, leadRange: leadRange,
                assignmentStart: e.startCode > 0 ? prefix.count + e.startInRest : 0, assignmentCode: e.startCode,
                assignmentEnd: e.endCode != 0 ? prefix.count + e.endInRest : 0, assignmentEndCode: e.endCode))
            batch.envelopeLeadIDs.append(leadID)
        }
        if let partnerID = t.partnerID {
            // About three leads per account.
            for key in t.accountKeys { batch.accountOwners.append(OwnerChange("\(key)#\(i / 3)", partnerID)) }
        }
        batch.createdAt = time
    }

    /// The committer thread: commits each batch `commits` hands it with its published
    /// watermarks, and checkpoints, until an empty batch; after a failure it only counts.
    private static func commitAll(_ box: StoreBox, _ commits: CommitQueue) -> Bool {
        guard let store = box.store else { return false }
        while true {
            commits.available.wait()
            guard let (batch, published) = commits.queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }), !batch.isEmpty else { return true }
            if commits.failure.withLock({ $0 }) == nil {
                do {
                    try store.commit(batch, published: published)
                    // As the daemon does once a second: keep the write-ahead log short.
                    _ = try? store.checkpoint()
                } catch {
                    commits.failure.withLock { $0 = "\(error)" }
                }
            }
            commits.committed.add(batch.leads.count, ordering: .relaxed)
            commits.slots.signal()
        }
    }

    /// The database and whatever is left of its write-ahead log, in bytes.
    private static func bytesOnDisk(_ directory: String) -> Int64 {
        var bytesOnDisk: Int64 = 0
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasPrefix(LeadStore.fileName) {
            var info = stat()
            if stat(directory + "/" + file, &info) == 0 { bytesOnDisk += Int64(info.st_size) }
        }
        return bytesOnDisk
    }

    /// Offsets of every occurrence of `pattern` in `bytes`.
    private static func occurrences(_ pattern: [UInt8], in bytes: [UInt8]) -> [Int] {
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return [] }
        var out: [Int] = []
        var i = 0
        while i <= bytes.count - pattern.count {
            if bytes[i] == pattern[0] && bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                out.append(i)
                i += pattern.count
            } else {
                i += 1
            }
        }
        return out
    }

    private static func patch(_ bytes: inout [UInt8], _ value: [UInt8], at offsets: [Int]) {
        for offset in offsets where offset + value.count <= bytes.count {
            bytes.replaceSubrange(offset..<(offset + value.count), with: value)
        }
    }

    /// `value` in Crockford base 32, left-padded with zeros to `width`.
    private static func crockford(_ value: Int, width: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var v = value
        var out: [Character] = []
        repeat {
            out.append(alphabet[v % 32])
            v /= 32
        } while v > 0
        while out.count < width { out.append("0") }
        return String(out.reversed())
    }
}

/// Holds the store so that the builder can close it (by letting it go) once the committer is done.
private final class StoreBox: @unchecked Sendable {
    var store: LeadStore?
    init(_ store: LeadStore) { self.store = store }
}

/// What the builder and its committer thread share: the batches waiting (with their
/// published watermarks), a semaphore for each one, two slots, the leads committed and the
/// first failure.
private final class CommitQueue: Sendable {
    let queue = Mutex<[(StoreBatch, [String: Int])]>([])
    let available = DispatchSemaphore(value: 0)
    let slots = DispatchSemaphore(value: 2)
    let committed = Atomic<Int>(0)
    let failure = Mutex<String?>(nil)
}
