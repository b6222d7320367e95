public import LeadRouting
import Synchronization

/// A ``RoutingStore`` that keeps everything in memory: leads by id, envelopes by topic and
/// `seq`, topic and partner state, account owners and registrations. For tests of the service
/// layer that need no disk; it keeps the promises the loop relies on (a commit is all or
/// nothing, `seq`s grow per topic, replay returns envelopes exactly as committed) and nothing
/// more: nothing survives the process, and ``syncLog()`` only counts.
public final class MemoryRoutingStore: RoutingStore {
    private struct State {
        var leads: [String: StoredLead] = [:]
        var envelopes: [String: [OutgoingMessage]] = [:]
        var topics: [String: TopicState] = [:]
        var partners: [String: PartnerState] = [:]
        var owners: [String: AccountOwner] = [:]
        var registrations: [Registration] = []
        var registrationsVersion: Int64 = 0
        var partnerLists: [(ids: [String], lists: [[Int]])] = []
        var cases: [String: (lead: LeadCase, history: [UInt8])] = [:]
        var commits = 0
        var syncs = 0
    }

    private let state = Mutex(State())
    public let path: String
    public let durability: Durability
    public let syncsLogOnRequest: Bool

    /// - Parameter syncsLogOnRequest: true to make the loop sync after commits, as it does
    ///   with the real store at `durability: full`.
    public init(path: String = ":memory:", durability: Durability = .full, syncsLogOnRequest: Bool = true) {
        self.path = path
        self.durability = durability
        self.syncsLogOnRequest = syncsLogOnRequest
    }

    // MARK: What tests look at

    /// Commits that succeeded.
    public var commits: Int { state.withLock { $0.commits } }
    /// Syncs that succeeded.
    public var logSyncs: Int { state.withLock { $0.syncs } }
    /// Whether a lead with this id is stored.
    public func contains(leadID: String) -> Bool { state.withLock { $0.leads[leadID] != nil } }
    /// Every stored lead id.
    public var leadIDs: Set<String> { state.withLock { Set($0.leads.keys) } }
    /// Adds a run-time registration, as `leadctl register` does.
    public func addRegistration(_ registration: Registration) {
        state.withLock {
            $0.registrations.append(registration)
            $0.registrationsVersion += 1
        }
    }

    // MARK: Recovery

    public func partnerListID(_ partnerIDs: [String], candidateLists: [[Int]]) throws(StoreError) -> Int64 {
        state.withLock { s in
            if let index = s.partnerLists.firstIndex(where: { $0.ids == partnerIDs && $0.lists == candidateLists }) { return Int64(index + 1) }
            s.partnerLists.append((partnerIDs, candidateLists))
            return Int64(s.partnerLists.count)
        }
    }

    public func topicStates() throws(StoreError) -> [String: TopicState] { state.withLock { $0.topics } }
    public func partnerStates() throws(StoreError) -> [String: PartnerState] { state.withLock { $0.partners } }
    public func registrations() throws(StoreError) -> [Registration] { state.withLock { $0.registrations } }
    public func registrationsVersion() throws(StoreError) -> Int64 { state.withLock { $0.registrationsVersion } }

    public func openCases() throws(StoreError) -> [LeadCase] {
        state.withLock { $0.cases.values.map(\.lead).filter(\.isOpen) }
    }

    /// A lead's case and its history lines.
    public func caseHistory(leadID: String) -> (lead: LeadCase, history: String)? {
        state.withLock { s in s.cases[leadID].map { ($0.lead, String(decoding: $0.history, as: UTF8.self)) } }
    }

    // MARK: Routing

    public func caseRecords(leadIDs: [String]) throws(StoreError) -> [String: CaseRecord] {
        state.withLock { s in
            var records: [String: CaseRecord] = [:]
            for leadID in leadIDs {
                guard let lead = s.leads[leadID] else { continue }
                records[leadID] = CaseRecord(
                    lead: lead.lead, partnerID: lead.partnerID, assignmentID: lead.assignmentID, stored: s.cases[leadID]?.lead,
                    engagement: CaseRecord.engagement(decision: lead.decision, assignmentID: lead.assignmentID, partnerID: lead.partnerID))
            }
            return records
        }
    }

    public func lookUp(leadIDs: [String], accountKeys: [String], besideCommit: Bool) throws(StoreError)
        -> (known: Set<String>, owners: StringTable<AccountOwner>) {
        state.withLock { s in
            let known = Set(leadIDs.filter { s.leads[$0] != nil })
            var owners = StringTable<AccountOwner>(minimumCapacity: accountKeys.count)
            for key in accountKeys { if let owner = s.owners[key] { owners.set(owner, forKey: key) } }
            return (known, owners)
        }
    }

    public func commit(_ batch: StoreBatch, published: [String: Int]) throws(StoreError) {
        try state.withLock { (s: inout State) throws(StoreError) in
            // Checked first, so a refused batch writes nothing.
            var next = s.topics.mapValues(\.lastSeq)
            for message in batch.envelopes {
                guard message.seq > next[message.topic, default: 0] else {
                    throw StoreError(.other, "envelope seq \(message.seq) on \(message.topic) does not follow \(next[message.topic, default: 0])")
                }
                next[message.topic] = message.seq
            }
            for i in batch.leads.indices { s.leads[batch.leads[i].leadID] = batch.storedLead(i) }
            for message in batch.envelopes {
                s.envelopes[message.topic, default: []].append(message)
                s.topics[message.topic, default: TopicState(lastSeq: 0, publishedSeq: 0)].lastSeq = message.seq
            }
            for change in batch.accountOwners { s.owners[change.key] = AccountOwner(partnerID: change.partnerID, routedAt: batch.createdAt) }
            s.partners.merge(batch.partnerStates) { _, new in new }
            for write in batch.cases {
                s.cases[write.lead.leadID] = (write.lead, (s.cases[write.lead.leadID]?.history ?? []) + write.history)
            }
            MemoryRoutingStore.mark(published, in: &s)
            s.commits += 1
        }
    }

    public func syncLog() throws(StoreError) { state.withLock { $0.syncs += 1 } }

    public func markPublished(_ published: [String: Int]) throws(StoreError) {
        state.withLock { MemoryRoutingStore.mark(published, in: &$0) }
    }

    private static func mark(_ published: [String: Int], in s: inout State) {
        for (topic, seq) in published {
            s.topics[topic, default: TopicState(lastSeq: 0, publishedSeq: 0)].publishedSeq = seq
        }
    }

    public func flushAccountOwners() throws(StoreError) {}

    public func envelopes(topic: String, fromSeq: Int, limit: Int, throughSeq: Int) throws(StoreError) -> [OutgoingMessage] {
        state.withLock { s in
            Array((s.envelopes[topic] ?? []).lazy.filter { $0.seq >= fromSeq && $0.seq <= throughSeq }.prefix(limit))
        }
    }

    // MARK: Upkeep: nothing to do in memory

    public var completedCheckpoints: Int { 0 }
    public var lastKnownWALPages: Int { 0 }
    public var lastKnownWALBacklog: Int { 0 }
    public func checkpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int) { (0, 0) }
    public func finishCheckpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int)? { nil }
    public func startWriteback(duringCheckpointsLongerThan threshold: Duration?) -> Bool { true }
    public func prune(olderThan cutoff: Int64, limit: Int, expiredBefore: Int64?) throws(StoreError) -> Int { 0 }
}
