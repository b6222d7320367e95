/// A message as it arrived on a socket: its frames (each possibly only a prefix, when the
/// frame was larger than the receiver copies) and the size of all frames together.
///
/// The first two frames are kept inline (a lead comes in one or two), the rest in an array:
/// no array of frames is made for each message. A receiver copies frames into its blocks
/// (``ByteArena``): ``sharedFrame(_:)`` reads them in place, ``frame(_:)`` as arrays.
public struct InboundMessage: Sendable, Equatable {
    private var first = SharedBytes.empty
    private var second = SharedBytes.empty
    private var rest: [SharedBytes] = []
    /// How many frames the message has.
    public private(set) var frameCount = 0
    public var totalSize: Int

    public init(frames: [[UInt8]], totalSize: Int? = nil) {
        self.totalSize = totalSize ?? frames.reduce(0) { $0 + $1.count }
        for frame in frames { append(frame) }
    }

    /// An empty message, for a receiver to ``append(_:)`` frames to.
    public init() { totalSize = 0 }

    /// Adds a frame (its size is not added to ``totalSize``, which the receiver knows).
    public mutating func append(_ frame: SharedBytes) {
        switch frameCount {
        case 0: first = frame
        case 1: second = frame
        default: rest.append(frame)
        }
        frameCount += 1
    }

    /// The same, copied from an array.
    public mutating func append(_ frame: [UInt8]) { append(frame.isEmpty ? SharedBytes.empty : SharedBytes(frame)) }

    /// Frame `index` (0 ..< ``frameCount``), read in place.
    public func sharedFrame(_ index: Int) -> SharedBytes {
        precondition(index >= 0 && index < frameCount, "frame \(index) of \(frameCount)")
        switch index {
        case 0: return first
        case 1: return second
        default: return rest[index - 2]
        }
    }

    /// Frame `index`, as an array (a copy).
    public func frame(_ index: Int) -> [UInt8] { sharedFrame(index).array }

    /// Every frame, as arrays.
    public var frames: [[UInt8]] {
        get { (0..<frameCount).map(frame) }
        set { self = InboundMessage(frames: newValue, totalSize: totalSize) }
    }

    public static func == (a: InboundMessage, b: InboundMessage) -> Bool {
        a.totalSize == b.totalSize && a.frameCount == b.frameCount && (0..<a.frameCount).allSatisfy { a.sharedFrame($0) == b.sharedFrame($0) }
    }
}

/// Where an inbound message came from; it decides the expected frame layout.
public enum InboundChannel: String, Sendable, Equatable {
    /// The SUB socket: `[topic][lead JSON]`.
    case ingest
    /// The intake ROUTER: `[lead JSON]`.
    case intake
    /// The control ROUTER: `[request JSON]` (partners' actions, not leads).
    case control
}

/// What became of one inbound message.
public enum LeadOutcome: Sendable, Equatable {
    /// Routed: the envelopes to publish, in order.
    case routed(leadID: String, decision: RoutingDecision, messages: [OutgoingMessage])
    /// A `lead_id` routed before: nothing is published.
    case duplicate(leadID: String)
    /// Not accepted: the `rejected/` envelope to publish.
    case rejected(LeadRejection, message: OutgoingMessage)
}

/// What the pipeline has seen, for logs and metrics.
public struct PipelineCounters: Sendable, Equatable {
    public var received = 0
    public var routed = 0
    public var routedToPartner = 0
    public var unmatched = 0
    public var duplicates = 0
    public var rejected: [LeadRejection.Code: Int] = [:]
    public var published = 0
    /// Steps of offered leads' lives, by name (`offered`, `accepted`, `expired`, …).
    public var offerEvents: [String: Int] = [:]
    /// Requests taken off the control endpoint (not leads, so not in ``received``).
    public var controlRequests = 0
    public var rejectedTotal: Int { rejected.values.reduce(0, +) }
    public init() {}
}

/// Validation, de-duplication, routing and envelope building for every inbound message,
/// with no I/O: the caller receives messages, passes them in with the current time, and
/// publishes what comes out. Bad input of any kind yields a `rejected/` envelope, never a
/// trap or a thrown error, so one bad message cannot stop or delay the others.
public struct LeadPipeline: Sendable {
    public internal(set) var router: Router
    public let maxMessageBytes: Int
    public private(set) var counters = PipelineCounters()
    /// The last `seq` published on each topic.
    public var lastSeq: [String: Int] {
        var out: [String: Int] = [:]
        for (position, entry) in seqTopics.entries.enumerated() { out[entry.key] = seqs[position] }
        return out
    }
    /// The same, as ``nextSeq(_:partner:assignment:)`` advances it: each topic's last
    /// `seq` at its position in `seqTopics` (never removed from, so positions stay). The
    /// numbers are kept apart from the names so that the copy taken before each batch
    /// (``savedForUndo()``) costs a copy of plain integers at the batch's first envelope, not
    /// of every topic's entry with its name.
    private var seqTopics = StringTable<Void>()
    private var seqs: [Int] = []
    /// Where each partner's assignment topics are in `seqTopics`, two slots a partner by its
    /// index in the router (-1 until found), so a routed lead's envelopes hash no topic: emptied
    /// when the partners change (``reload(rules:)``), restored with the counters (``restore(_:)``).
    private var partnerSeqPositions: [Int32] = []
    /// Lead ids routed and not yet forgotten (see ``forgetRecent(through:)``), with the batch
    /// (``generation``) that routed each; older ones are the store's to remember.
    private var recentLeadIDs = StringTable<Int>()
    /// Account keys routed and not yet forgotten, to whom and in which batch: later leads of
    /// the same account see them before the store does.
    private var recentOwners = StringTable<RecentOwner>()
    /// The batch being routed: recent ids and owners are tagged with it, so a caller that
    /// commits batches in order, one still committing while the next is routed, forgets
    /// exactly those that are stored. See ``beginBatch()``.
    public private(set) var generation = 0
    private var random: SplitMix64
    /// Where routed leads' envelopes are written and kept (one allocation for dozens).
    private var envelopeBlocks = ByteArena()
    /// Where accepted leads' text fields are kept (``SpareText``).
    private var textBlocks = ByteArena()
    /// The last `routed_at` written, and the `qualification` objects written.
    private var routedAtText = RFC3339Cache()
    private var qualificationText = QualificationText()
    /// The offer policy of each partner that takes offers (`accept_within` > 0), and the
    /// `offers:` section's for the rest.
    public private(set) var offerPolicies: [String: OfferPolicy]
    /// The policy of each partner that takes no offers but has `follow_up_within` (its leads
    /// are assigned outright and followed up); empty mostly.
    public private(set) var followUpPolicies: [String: OfferPolicy]
    /// With offers off for the partner a lead was just routed to but `follow_up_within` set:
    /// the case of the lead assigned to it outright (accepted from the start), which that
    /// deadline pulls back, for the caller to store (``takeHeldCase()``). Kept here, not in
    /// the decision, whose every copy would carry it.
    public internal(set) var heldCase: LeadCase?
    public private(set) var defaultOfferPolicy: OfferPolicy
    /// Deal registrations added at run time (`leadctl register`), beyond the config's.
    public private(set) var extraRegistrations: [Registration] = []

    /// Bytes of the input quoted in a `rejected/` envelope.
    public static let quotedInputBytes = 1024

    /// - Parameters:
    ///   - rules: who receives which lead (the part of the config a reload may change).
    ///   - maxMessageBytes: messages larger than this are rejected (`ingest.max_message_bytes`).
    ///   - lastSeq: the last `seq` already used on each topic, so numbering continues.
    ///   - seed: seeds the random part of assignment ids (fixed in tests, random in the daemon).
    ///   - partnerStates: rotation and capacity state to continue from.
    ///   - registrations: deal registrations beyond the config's.
    public init(rules: RoutingRules, maxMessageBytes: Int, lastSeq: [String: Int] = [:], seed: UInt64,
                partnerStates: [String: PartnerState] = [:], registrations: [Registration] = []) {
        self.router = Router(rules: rules, states: partnerStates, registrations: registrations)
        self.extraRegistrations = registrations
        self.offerPolicies = LeadPipeline.offerPolicies(rules)
        self.followUpPolicies = LeadPipeline.followUpPolicies(rules)
        self.defaultOfferPolicy = rules.offers
        self.maxMessageBytes = maxMessageBytes
        for (topic, seq) in lastSeq {
            _ = seqTopics.position(of: topic, default: ())
            seqs.append(seq)
        }
        self.random = SplitMix64(seed: seed)
    }

    /// A pipeline for `config`'s rules and its `ingest.max_message_bytes`.
    public init(config: RouterConfig, lastSeq: [String: Int] = [:], seed: UInt64,
                partnerStates: [String: PartnerState] = [:], registrations: [Registration] = []) {
        self.init(rules: config.rules, maxMessageBytes: config.ingest.maxMessageBytes, lastSeq: lastSeq, seed: seed,
                  partnerStates: partnerStates, registrations: registrations)
    }

    /// Whether a lead with this id was routed and not forgotten since.
    public func hasRecentlyRouted(leadID: String) -> Bool { recentLeadIDs[leadID] != nil }

    /// The partner an account key was last routed to by a lead not yet forgotten (see
    /// ``forgetRecent(through:)``), when there is one.
    public func recentOwner(_ key: String) -> String? { recentOwners[key]?.partnerID }

    /// Calls `body` with each of `account`'s keys (its UTF-8, read in place) that no lead not
    /// yet forgotten routed: until the next ``forgetRecent(through:)`` routing takes the
    /// others' owners from here, and never reads what the store holds for them. (Asked from
    /// a closure of the caller's instead, the pipeline was copied for each key.)
    @inline(__always)
    public func forEachKeyToLookUp(of account: LeadAccount, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        account.forEachKey { _, key in
            if recentOwners.index(ofUTF8: key) == nil { body(key) }
        }
    }

    /// Starts a new batch: what is routed from now on is tagged with the returned generation.
    public mutating func beginBatch() -> Int {
        generation += 1
        return generation
    }

    /// The pipeline to go back to if the batch about to be routed is not stored
    /// (``restore(_:)``). It leaves out the recent lead ids and account owners, which it would
    /// otherwise copy at the batch's first lead; ``restore(_:)`` keeps those of the batches
    /// before instead, by generation.
    public func savedForUndo() -> LeadPipeline {
        var saved = self
        saved.recentLeadIDs = StringTable()
        saved.recentOwners = StringTable()
        return saved
    }

    /// Goes back to `saved` (``savedForUndo()``), taken before a batch that was not stored,
    /// undoing it and every batch routed on top of it. Of the recent ids and owners, those the
    /// batches before it routed stay; one a later batch routed again goes, since every batch
    /// before the failed one is stored and the store answers for it.
    public mutating func restore(_ saved: LeadPipeline) {
        var ids = StringTable<Int>(), owners = StringTable<RecentOwner>()
        swap(&ids, &recentLeadIDs)
        swap(&owners, &recentOwners)
        let kept = saved.generation
        ids.filter { $0.value <= kept }
        owners.filter { $0.value.generation <= kept }
        self = saved
        recentLeadIDs = ids
        recentOwners = owners
    }

    /// Forgets the ids and account owners routed in batches up to `generation`, once the
    /// store has them; later batches' stay until theirs are stored too.
    public mutating func forgetRecent(through generation: Int) {
        if generation >= self.generation {
            recentLeadIDs.removeAll(keepingCapacity: true)
            recentOwners.removeAll(keepingCapacity: true)
        } else {
            recentLeadIDs.filter { $0.value > generation }
            recentOwners.filter { $0.value.generation > generation }
        }
    }

    /// Replaces the run-time deal registrations (the config's stay).
    public mutating func setRegistrations(_ extra: [Registration], config: RouterConfig) {
        extraRegistrations = extra
        router.setRegistrations(config.registrations + extra)
    }

    /// Routes by `rules` from now on (a reload): rotation and capacity state carry over for
    /// the partners that remain, and so do the run-time deal registrations, the ids and
    /// account owners routed recently and the `seq` numbering.
    public mutating func reload(rules: RoutingRules) {
        router = router.reloaded(rules: rules, registrations: extraRegistrations)
        partnerSeqPositions = []
        offerPolicies = LeadPipeline.offerPolicies(rules)
        followUpPolicies = LeadPipeline.followUpPolicies(rules)
        defaultOfferPolicy = rules.offers
    }

    /// Partner states changed since the last call, to save: capacity windows always, and
    /// up to `rotationLimit` changed rotation counters, those that changed first.
    public mutating func takeChangedPartnerStates(rotationLimit: Int = .max) -> [String: PartnerState] {
        router.takeChangedStates(rotationLimit: rotationLimit)
    }

    /// How many changed rotation counters wait to be saved.
    public var pendingRotationStates: Int { router.pendingRotationStates }

    /// Handles one inbound message received at `now` (milliseconds since 1970).
    public mutating func process(_ message: InboundMessage, from channel: InboundChannel, now: Int64) -> LeadOutcome {
        counters.received += 1
        switch accept(message, from: channel) {
        case .failure(let rejection):
            return .rejected(rejection, message: reject(rejection, message, from: channel, now: now))
        case .success(let lead):
            return route(lead, now: now)
        }
    }

    /// Counts messages taken off a socket by a caller that uses ``accept(_:from:)`` directly.
    public mutating func countReceived(_ count: Int) { counters.received += count }

    /// Checks size, frame layout and the lead itself.
    public mutating func accept(_ message: InboundMessage, from channel: InboundChannel) -> Result<ParsedLead, LeadRejection> {
        if message.totalSize > maxMessageBytes {
            return .failure(LeadRejection(
                .tooLarge,
                "message of \(message.totalSize) bytes exceeds max_message_bytes (\(maxMessageBytes))"))
        }
        let expected = channel == .ingest ? 2 : 1
        guard message.frameCount == expected else {
            let layout = channel == .ingest ? "[topic][lead JSON]" : "[lead JSON]"
            return .failure(LeadRejection(
                .badFrames,
                "expected \(expected) frame\(expected == 1 ? "" : "s") \(layout) on \(channel.rawValue), got \(message.frameCount)"))
        }
        return LeadParser.parse(message.sharedFrame(expected - 1), text: &textBlocks)
    }

    /// Routes a lead that passed validation (or reports it a duplicate).
    ///
    /// - Parameter previousOwner: the partner the lead's account was routed to before, as
    ///   the store knows it; leads routed and not yet forgotten (``forgetRecent(through:)``) take precedence.
    public mutating func route(_ lead: ParsedLead, now: Int64, previousOwner: String? = nil) -> LeadOutcome {
        var messages: [OutgoingMessage] = []
        var decision = RoutingDecision()
        switch route(lead, now: now, previousOwner: previousOwner, appendingTo: &messages, decision: &decision) {
        case .routed(let leadID, _): return .routed(leadID: leadID, decision: decision, messages: messages)
        case .duplicate(let leadID): return .duplicate(leadID: leadID)
        }
    }

    /// What became of a lead routed by ``route(_:now:previousOwner:appendingTo:decision:)``.
    public enum AppendedOutcome {
        /// Routed: its decision is in the `decision` given, its envelopes, in order, are
        /// `envelopes` of the array given.
        case routed(leadID: String, envelopes: Range<Int>)
        /// A `lead_id` routed before: nothing is published.
        case duplicate(leadID: String)
    }

    /// ``route(_:now:previousOwner:)``, its envelopes appended to `envelopes` (a batch's list,
    /// say) instead of returned in a list of their own, and its decision made in `decision`
    /// whatever it held (left as it was for a duplicate), so one value serves a batch's leads
    /// in turn: returned, a decision was copied on its way out, a retain and a release of
    /// each of its dozen references, and a new one cost as much again.
    public mutating func route(_ lead: ParsedLead, now: Int64, previousOwner: String? = nil,
                               appendingTo envelopes: inout [OutgoingMessage], decision: inout RoutingDecision) -> AppendedOutcome {
        let leadID = lead.facts.leadID
        guard recentLeadIDs.updateValue(generation, forKey: leadID) == nil else {
            counters.duplicates += 1
            return .duplicate(leadID: leadID)
        }
        // Each key (at most two) hashed and found once, for the owner and then its update,
        // as bytes: a `String` is made of a key only when it is new here.
        var owner = previousOwner, ownerFound = false
        var hashes: (UInt64, UInt64) = (0, 0), positions = (-1, -1)
        lead.facts.account.forEachKey { k, key in
            let h = recentOwners.hash(utf8: key), at = recentOwners.index(ofUTF8: key, hash: h) ?? -1
            if k == 0 { (hashes.0, positions.0) = (h, at) } else { (hashes.1, positions.1) = (h, at) }
            if at >= 0 && !ownerFound {
                owner = recentOwners[position: at].partnerID
                ownerFound = true
            }
        }
        router.route(lead.facts, context: RoutingContext(now: now, previousOwner: owner), into: &decision)
        if let partnerID = decision.partnerID {
            lead.facts.account.forEachKey { k, key in
                let at = k == 0 ? positions.0 : positions.1
                guard at >= 0 else {
                    recentOwners.append(.init(hash: k == 0 ? hashes.0 : hashes.1, key: String(decoding: key, as: UTF8.self),
                                              value: RecentOwner(partnerID: partnerID, generation: generation)))
                    decision.recentOwners.positions[k] = Int32(recentOwners.entries.count)
                    return
                }
                decision.recentOwners.positions[k] = Int32(at + 1)
                let old = recentOwners[position: at].partnerID
                recentOwners[position: at] = RecentOwner(partnerID: partnerID, generation: generation)
                decision.recentOwners.known |= 1 << k
                if old == partnerID { decision.recentOwners.same |= 1 << k }
            }
        }
        let assignmentID = AssignmentID.make(millisecondsSince1970: now, using: &random)
        decision.assignment = assignmentID
        let first = envelopes.count
        if let partnerID = decision.partnerID, let policy = offerPolicies[partnerID],
           let engagement = decision.assignments.first?.engagement {
            let (offered, event) = OfferMachine.offer(
                leadID: leadID, assignmentID: assignmentID.description, partner: partnerID, engagement: engagement,
                registered: decision.rule == .registration, now: now, policy: policy)
            decision.offered = offered
            envelopes.append(contentsOf: caseEnvelopes(for: event, of: offered, lead: lead.raw.array, now: now, decision: decision))
        } else if !followUpPolicies.isEmpty, let partnerID = decision.partnerID, let policy = followUpPolicies[partnerID],
                  let engagement = decision.assignments.first?.engagement {
            // Assigned outright, as in v1, and followed up as when it moves on to such a partner.
            heldCase = OfferMachine.assignOutright(
                leadID: leadID, assignmentID: assignmentID.description, partner: partnerID, engagement: engagement,
                registered: decision.rule == .registration, now: now, policy: policy)
        }
        // The envelopes' end, kept by the store as this number (AssignmentEnvelope).
        let endCode = decision.isOffered ? 0 : AssignmentEnvelope.endCode(decision.hasQualification ? decision.qualificationValue : nil)
        for (k, assignment) in decision.assignments.enumerated() where !decision.isOffered {
            let seq = nextSeq(assignment.topic, partner: decision.chosenIndex, assignment: k)
            // The fields around the lead: about 600 bytes.
            var json = JSONWriter(in: &envelopeBlocks, capacity: lead.raw.count + 1024)
            AssignmentEnvelope.writeStart(&json, seq: seq, topic: assignment.topic, assignmentID: assignmentID, leadID: leadID,
                                          partnerID: assignment.partnerID, engagement: assignment.engagement, role: assignment.role)
            // The store writes the start again with the lead's partner: only the same one is cut.
            let (start, code) = assignment.partnerID == decision.partnerID
                ? (json.count, AssignmentEnvelope.code(role: assignment.role, engagement: assignment.engagement)) : (0, 0)
            let leadRange = json.field("lead", rawJSON: lead.raw)
            json.field("rule", literal: decision.rule.literal)
            json.field("reasons", elements: decision.reasonList.elements)
            // From here on, as AssignmentEnvelope.writeEnd writes it (through the caches).
            let end = json.count
            if decision.hasQualification { qualificationText.write(decision.qualificationValue, to: &json) }
            json.field("routed_at", rfc3339: now, cache: &routedAtText)
            json.endObject()
            let envelope = json.shared(in: &envelopeBlocks)
            envelopes.append(OutgoingMessage(topic: assignment.topic, seq: seq, envelope: envelope, leadRange: leadRange,
                                             assignmentStart: start, assignmentCode: code,
                                             assignmentEnd: endCode == 0 ? 0 : end, assignmentEndCode: endCode))
        }
        counters.routed += 1
        if decision.partnerID == nil { counters.unmatched += 1 } else { counters.routedToPartner += 1 }
        // An offer's envelopes were counted as they were built (caseEnvelopes).
        if !decision.isOffered { counters.published += envelopes.count - first }
        return .routed(leadID: leadID, envelopes: first..<envelopes.count)
    }

    /// Calls `body` with each of the account's keys (0 and 1, in ``LeadAccount/keys``' order)
    /// as a `String`: the one the recent owners keep, where `recent` (the ``RoutingDecision/recentOwners``
    /// of the lead's decision, just routed to a partner by ``route(_:now:previousOwner:appendingTo:decision:)``)
    /// says, so a batch's owner changes make none of their own and look none up. (Given the
    /// decision whole, a caller whose closure reads it too had it copied.)
    public func forEachOwnerKey(of account: LeadAccount, as recent: RecentOwners, _ body: (Int, String) throws -> Void) rethrows {
        try account.forEachKey { k, key in
            let at = k < 2 ? Int(recent.positions[k]) - 1 : -1
            if at >= 0 && at < recentOwners.entries.count {
                var kept = recentOwners.entries[at].key
                if kept.withUTF8({ $0.sameBytes(as: key) }) { return try body(k, kept) }
            }
            guard let found = recentOwners.index(ofUTF8: key) else { return try body(k, String(decoding: key, as: UTF8.self)) }
            try body(k, recentOwners.entries[found].key)
        }
    }

    /// Builds the `rejected/` envelope for an input that was not accepted.
    public mutating func reject(_ rejection: LeadRejection, _ message: InboundMessage, from channel: InboundChannel, now: Int64) -> OutgoingMessage {
        counters.rejected[rejection.code, default: 0] += 1
        let quotedFrame = message.frameCount >= 2 && channel == .ingest ? message.frame(1) : message.frameCount > 0 ? message.frame(0) : []
        let input = String(decoding: quotedFrame.prefix(LeadPipeline.quotedInputBytes), as: UTF8.self)
        let seq = nextSeq(FeedTopic.rejected)
        var json = JSONWriter(capacity: 1536)
        json.beginObject()
        json.field("seq", seq)
        json.field("topic", FeedTopic.rejected)
        json.field("type", "rejected")
        json.objectField("error")
        json.field("code", rejection.code.rawValue)
        json.field("field", rejection.field)
        json.field("message", rejection.message)
        json.endObject()
        json.field("input", input)
        json.field("received_at", Timestamp.rfc3339(millisecondsSince1970: now))
        json.field("channel", channel.rawValue)
        json.field("frames", message.frameCount)
        json.field("size", message.totalSize)
        json.endObject()
        counters.published += 1
        return OutgoingMessage(topic: FeedTopic.rejected, seq: seq, envelope: json.bytes)
    }

    /// Reports a lead already known elsewhere (the store) as a duplicate.
    public mutating func duplicate(_ leadID: String) -> LeadOutcome {
        counters.duplicates += 1
        return .duplicate(leadID: leadID)
    }

    mutating func countPublished(_ count: Int) { counters.published += count }

    /// The next `seq` on `topic`; for assignment `k` of the router's partner `partner` (a
    /// decision's ``RoutingDecision/chosenIndex``), found once and then by `partnerSeqPositions`.
    mutating func nextSeq(_ topic: String, partner: Int? = nil, assignment k: Int = 0) -> Int {
        // One look-up: the counter is advanced in place and read there.
        func advance(_ seq: inout Int) -> Int {
            seq += 1
            return seq
        }
        let slot = k < 2 ? partner.map { $0 &* 2 &+ k } ?? -1 : -1
        if slot >= 0 && slot < partnerSeqPositions.count && partnerSeqPositions[slot] >= 0 {
            let at = Int(partnerSeqPositions[slot])
            assert(seqTopics.entries[at].key == topic, "\(topic) cached at the position of \(seqTopics.entries[at].key)")
            return advance(&seqs[at])
        }
        let at = seqTopics.position(of: topic, default: ())
        if at == seqs.count { seqs.append(0) }
        if slot >= 0 {
            let size = max(slot + 1, 2 * router.partners.count)
            if partnerSeqPositions.count < size { partnerSeqPositions += repeatElement(-1, count: size - partnerSeqPositions.count) }
            partnerSeqPositions[slot] = Int32(at)
        }
        return advance(&seqs[at])
    }
}

/// Who a recent lead routed an account key to, and in which batch (``LeadPipeline/generation``).
/// (A struct, not a tuple: a table's entries of tuples were copied through the runtime's
/// generic tuple witness.)
struct RecentOwner {
    var partnerID: String
    var generation: Int
}
