import Foundation

/// One published role in a routing decision: which topic gets the lead, and as what.
public struct Assignment: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable, CaseIterable {
        /// The partner works the lead (`leads_only`, `co_sell`).
        case owner
        /// Vendor sales co-sells with the owning partner.
        case coSeller = "co_seller"
        /// The partner keeps the customer relationship; vendor sales closes (`vendor_closes`).
        case relationshipOwner = "relationship_owner"
        /// Vendor sales closes a `vendor_closes` partner's lead.
        case closer
        /// No partner was eligible; vendor sales works the lead directly.
        case direct
        /// Held back from partners; marketing nurtures the lead.
        case nurture
    }

    public var topic: String
    public var role: Role
    /// The chosen partner, `nil` when none was eligible.
    public var partnerID: String?
    public var engagement: EngagementModel?

    public init(topic: String, role: Role, partnerID: String?, engagement: EngagementModel?) {
        self.topic = topic
        self.role = role
        self.partnerID = partnerID
        self.engagement = engagement
    }
}

/// Why a partner did not receive a lead.
public enum Exclusion: String, Error, Sendable, Equatable, CaseIterable {
    case inactive
    case paused
    case territory
    case product
    case capacity
    case grade
    /// The lead's account is registered to another partner.
    case registration
}

/// Which rule picked the destination.
public enum ChoiceRule: String, Sendable, Equatable, CaseIterable {
    /// A valid deal registration for the lead's domain.
    case registration
    /// The lead's account is registered to a partner that cannot take it now: held in nurture.
    case registrationHeld = "registration_held"
    /// The partner owns the account (its `accounts`).
    case account
    /// The account was routed to this partner before.
    case affinity
    /// Smooth weighted rotation among the eligible partners.
    case rotation
    /// The only eligible partner.
    case onlyEligible = "only_eligible"
    /// Every otherwise-eligible partner refused the lead's grade: nurture.
    case belowGrade = "below_grade"
    /// No eligible partner: `routing.unmatched`.
    case unmatched
}

/// A partner considered for a lead, and why it was passed over (`nil`: eligible).
public struct Candidate: Sendable, Equatable {
    public var partnerID: String
    public var exclusion: Exclusion?

    public init(partnerID: String, exclusion: Exclusion?) {
        self.partnerID = partnerID
        self.exclusion = exclusion
    }
}

/// The outcome of routing one lead: what is published, and why.
public struct RoutingDecision: Sendable, Equatable {
    /// The chosen partner, or `nil` when none was.
    public var partnerID: String?
    public var assignments: [Assignment]
    /// Human-readable reasons, carried in every envelope of the decision.
    public var reasons: [String] {
        get { reasonList.strings }
        set { reasonList = Reasons(newValue) }
    }
    /// ``reasons`` as its envelopes carry them, written once.
    var reasonList: Reasons
    /// `a-` and a ULID, shared by every envelope of the decision; set when the lead is routed.
    public var assignmentID: String = ""
    /// With offers on for the chosen partner: the case of the offer made instead of an assignment.
    public var offered: LeadCase?
    public var qualification: Qualification?
    public var rule: ChoiceRule = .unmatched
    /// The partners whose territory covers the lead (its country, its region, or anywhere),
    /// in config order (at most ``Router/recordedCandidates``), each with why it was passed over.
    public var candidates: [Candidate] {
        candidateCodes.map { code in
            Candidate(partnerID: partnerIDs[Int(code >> 3)], exclusion: CandidateCode.exclusion(code))
        }
    }
    /// ``candidates`` packed: the partner's index in ``partnerIDs`` shifted left by 3, and in
    /// the low 3 bits 0 (eligible) or 1 + the exclusion's position in `Exclusion.allCases`.
    public var candidateCodes: [UInt32] {
        switch candidateRecord {
        case .codes(let codes): codes
        case .verdicts(let verdicts): verdicts.codes
        }
    }
    /// The recorded candidates, as the router left them.
    var candidateRecord = CandidateRecord.codes([])
    /// Every configured partner's id, in config order (shared with the router, not copied).
    public var partnerIDs: [String] = []
    /// The chosen partner's index in ``partnerIDs``.
    public var chosenIndex: Int?
    /// Considered partners left out of ``candidates`` past the cap.
    public var candidatesOmitted = 0
    /// Why the omitted candidates were passed over, counted (`eligible` for those that were not).
    public var omittedByReason: [String: Int] {
        get {
            var counts: [String: Int] = [:]
            for verdict in 0..<CandidateVerdicts.sets where omittedCounts[verdict] > 0 {
                counts[RoutingDecision.bucketNames[1 + verdict]] = Int(omittedCounts[verdict])
            }
            return counts
        }
        set {
            omittedCounts = .zero
            for (reason, count) in newValue {
                guard let bucket = RoutingDecision.bucketNames.firstIndex(of: reason), bucket > 0 else { continue }
                omittedCounts[bucket - 1] = Int32(clamping: count)
            }
        }
    }
    /// ``omittedByReason`` as the router counts it: per verdict code (``CandidateCode``), inline.
    var omittedCounts = SIMD8<Int32>.zero
    /// Partners never considered: their territories do not cover the lead's country and region.
    public var outsideTerritory = 0
    /// The lead's account keys (`d:domain`, `n:name`), for remembering who owns the account.
    public var accountKeys: [String] = []
    /// Which of ``accountKeys`` a lead routed before and not yet forgotten had given to
    /// someone, and to the same partner as this decision (set by ``LeadPipeline``).
    public var recentOwners = RecentOwners()

    public init(partnerID: String?, assignments: [Assignment], reasons: [String]) {
        self.init(partnerID: partnerID, assignments: assignments, reasonList: Reasons(reasons))
    }

    /// No partner, no assignment, no reasons: what ``Router`` and ``LeadPipeline`` fill in.
    public init() {
        partnerID = nil
        assignments = []
        reasonList = Reasons(elements: [])
    }

    /// The buffers this decision's verdicts and reasons were written in, for the next lead's
    /// (``Router/route(_:context:into:)``): reused when nothing else holds them, as once the
    /// lead's envelopes and record are written nothing does.
    mutating func takeBuffers() -> (verdicts: [UInt64], reasons: [UInt8]) {
        var verdicts: [UInt64] = []
        if case .verdicts(let record) = candidateRecord {
            verdicts = record.bits
            candidateRecord = .codes([])
        }
        var reasons: [UInt8] = []
        swap(&reasons, &reasonList.elements)
        return (verdicts, reasons)
    }

    /// Back to ``init()``, field by field, so one value serves a batch's leads in turn: a new
    /// one made per lead was built and then copied out of its initialiser, a retain and a
    /// release of each of its references.
    mutating func clear() {
        partnerID = nil
        assignments = []
        reasonList = Reasons(elements: [])
        assignmentID = ""
        offered = nil
        qualification = nil
        rule = .unmatched
        candidateRecord = .codes([])
        partnerIDs = []
        chosenIndex = nil
        candidatesOmitted = 0
        omittedCounts = .zero
        outsideTerritory = 0
        accountKeys = []
        recentOwners = RecentOwners()
    }

    init(partnerID: String?, assignments: [Assignment], reasonList: Reasons) {
        self.partnerID = partnerID
        self.assignments = assignments
        self.reasonList = reasonList
    }

    /// The decision as one JSON object, for the store and `leadctl explain`: the choice, the
    /// rule, the qualification, every candidate with its exclusion, and each assignment
    /// with the topic and `seq` it was published under.
    ///
    /// - Parameter reasonsInEnvelope: leave out `rule`, `reasons` and `qualification`, which
    ///   every envelope of the decision carries too and the store keeps (the daemon's
    ///   records): `leadctl explain` reads them from the first assignment's envelope. Kept
    ///   when there is no envelope.
    /// - Parameter partnerList: when given, the id under which the store keeps this
    ///   router's partner list: each group of candidates is then one string of their
    ///   positions in that list, packed (``PackedPositions``, `"partner_list": id`): about a
    ///   byte per candidate instead of its id.
    public func record(messages: [OutgoingMessage], partnerList: Int64? = nil, reasonsInEnvelope: Bool = false) -> [UInt8] {
        record(messages: messages[...], partnerList: partnerList, reasonsInEnvelope: reasonsInEnvelope)
    }

    /// The same, of envelopes in a slice of a longer list (a batch's).
    public func record(messages: ArraySlice<OutgoingMessage>, partnerList: Int64? = nil, reasonsInEnvelope: Bool = false) -> [UInt8] {
        // Sized for what it holds, so the buffer neither grows nor holds kilobytes unused
        // until the batch is stored: packed, each candidate takes at most the bytes of the
        // largest partner position (``PackedPositions``); by id, about seven.
        let perCandidate = partnerList == nil ? 7 : PackedPositions.gapBytes(partnerIDs.count)
        let inline = !reasonsInEnvelope || messages.isEmpty ? reasonList.elements.count + 256 : 0
        var json = JSONWriter(capacity: 384 + inline + 96 * messages.count + candidateRecord.count * perCandidate)
        json.beginObject()
        json.field("assignment_id", assignmentID)
        json.field("partner_id", partnerID)
        if !reasonsInEnvelope || messages.isEmpty {
            json.field("rule", literal: rule.literal)
            json.field("reasons", elements: reasonList.elements)
            if let qualification { json.qualification(qualification) }
        }
        if let partnerList { json.field("partner_list", Int(partnerList)) }
        writeCandidates(to: &json, partnerList: partnerList)
        json.field("candidates_omitted", candidatesOmitted)
        if omittedCounts != .zero {
            json.objectField("omitted_by_reason")
            // By name: capacity, eligible, grade, inactive, paused, product, registration, territory.
            let byName: StaticString = "\u{5}\u{0}\u{6}\u{1}\u{2}\u{4}\u{7}\u{3}"
            for k in 0..<CandidateVerdicts.sets {
                let verdict = Int(byName.utf8Start[k])
                guard omittedCounts[verdict] > 0 else { continue }
                json.field(RoutingDecision.bucketName(1 + verdict), Int(omittedCounts[verdict]))
            }
            json.endObject()
        }
        json.field("outside_territory", outsideTerritory)
        writeAssignments(to: &json, messages: messages)
        json.endObject()
        return json.bytes
    }
}

extension RoutingDecision {
    /// Writes `"candidates"`: the candidates grouped by verdict (`{"eligible":[…],"territory":[…],…}`),
    /// the chosen partner under `"chosen"`, the groups in the order their first member is
    /// recorded; packed positions (``PackedPositions``) when `partnerList` is given, else ids.
    @inline(__always)
    func writeCandidates(to json: inout JSONWriter, partnerList: Int64?) {
        if partnerList != nil, case .verdicts(let verdicts) = candidateRecord, verdicts.list >= 0 {
            json.field("candidate_list", verdicts.list)
            json.objectField("candidates")
            writeBitGroups(verdicts, to: &json)
            json.endObject()
            return
        }
        json.objectField("candidates")
        switch candidateRecord {
        case .verdicts(let verdicts): writeGroups(verdicts, to: &json, packed: partnerList != nil)
        case .codes(let codes): writeGroups(codes, to: &json, partnerList: partnerList)
        }
        json.endObject()
    }

    /// The groups of candidates as the bit sets the router found them in, over the positions
    /// of candidate list ``CandidateVerdicts/list`` (which the store keeps with the partner
    /// list): each verdict's recorded positions (``BitGroups``), the chosen partner left out of
    /// `eligible` and written as its packed index in the partner list under `chosen`. A
    /// verdict with no recorded position is left out. No position is read one by one: a
    /// group costs a few instructions a word, not a few a candidate.
    @inline(__always)
    private func writeBitGroups(_ verdicts: CandidateVerdicts, to json: inout JSONWriter) {
        if let chosen = verdicts.chosen {
            let index = verdicts.partners[chosen]
            json.field("chosen", asciiUpTo: PackedPositions.gapBytes(index)) { PackedPositions.writeGap(index, to: $0) }
        }
        let recordedWords = (verdicts.recorded + 63) / 64
        verdicts.bits.withUnsafeBufferPointer { bits in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(recordedWords, 1)) { words in
                for verdict in 0..<CandidateVerdicts.sets {
                    var used = 0
                    for w in 0..<recordedWords {
                        let word = verdicts.recordedWord(bits, verdict, w)
                        words[w] = word.littleEndian
                        if word != 0 { used = w * 8 + 8 - word.leadingZeroBitCount / 8 }
                    }
                    guard used > 0 else { continue }
                    let bytes = UnsafeRawBufferPointer(start: words.baseAddress, count: used)
                    json.field(RoutingDecision.bucketName(1 + verdict), asciiUpTo: BitGroups.encodedCount(used)) {
                        BitGroups.encode(bytes, to: $0)
                    }
                }
            }
        }
    }

    /// The groups of candidates kept as bit sets: each group's positions read from its bit
    /// set in ascending order (the list is in config order), so each group is written in one
    /// pass straight into `json`.
    @inline(__always)
    private func writeGroups(_ verdicts: CandidateVerdicts, to json: inout JSONWriter, packed: Bool) {
        // Each partner's gap takes at most the bytes of the largest partner index.
        let gapLimit = PackedPositions.gapBytes(partnerIDs.count)
        let recordedWords = (verdicts.recorded + 63) / 64
        verdicts.bits.withUnsafeBufferPointer { bits in
            verdicts.partners.withUnsafeBufferPointer { partners in
                // Per group, its first position shifted left by 4 and the bucket (0 chosen, 1 +
                // verdict): sorted, that is the order the groups are written in. Then each
                // verdict's count of recorded members.
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * CandidateVerdicts.sets + 1) { scratch in
                    let order = scratch.baseAddress!, counts = scratch.baseAddress! + CandidateVerdicts.sets + 1
                    var groups = 0
                    if let chosen = verdicts.chosen {
                        order[0] = chosen << 4
                        groups = 1
                    }
                    for verdict in 0..<CandidateVerdicts.sets {
                        var first = -1, count = 0
                        for w in 0..<recordedWords {
                            let word = verdicts.recordedWord(bits, verdict, w)
                            if word != 0 && first < 0 { first = w * 64 + word.trailingZeroBitCount }
                            count += word.nonzeroBitCount
                        }
                        counts[verdict] = count
                        if first >= 0 {
                            // Insertion into the sorted groups.
                            var k = groups
                            let entry = first << 4 | (1 + verdict)
                            while k > 0 && order[k - 1] > entry {
                                order[k] = order[k - 1]
                                k -= 1
                            }
                            order[k] = entry
                            groups += 1
                        }
                    }
                    for k in 0..<groups {
                        let bucket = order[k] & 15
                        if bucket == 0 {
                            let index = partners[verdicts.chosen!]
                            if packed {
                                json.field("chosen", asciiUpTo: gapLimit) { PackedPositions.writeGap(index, to: $0) }
                            } else {
                                json.arrayField("chosen")
                                json.element(partnerIDs[index])
                                json.endArray()
                            }
                            continue
                        }
                        let verdict = bucket - 1
                        if packed {
                            json.field(RoutingDecision.bucketName(bucket), asciiUpTo: counts[verdict] * gapLimit) { out in
                                var written = 0, previous = -1
                                for w in 0..<recordedWords {
                                    var word = verdicts.recordedWord(bits, verdict, w)
                                    while word != 0 {
                                        let index = partners[w * 64 + word.trailingZeroBitCount]
                                        written += PackedPositions.writeGap(index - previous - 1, to: out + written)
                                        previous = index
                                        word &= word - 1
                                    }
                                }
                                return written
                            }
                        } else {
                            json.arrayField(RoutingDecision.bucketName(bucket))
                            for w in 0..<recordedWords {
                                var word = verdicts.recordedWord(bits, verdict, w)
                                while word != 0 {
                                    json.element(partnerIDs[partners[w * 64 + word.trailingZeroBitCount]])
                                    word &= word - 1
                                }
                            }
                            json.endArray()
                        }
                    }
                }
            }
        }
    }

    /// The groups of candidates kept as codes (a lead with a deal registration).
    private func writeGroups(_ candidateCodes: [UInt32], to json: inout JSONWriter, partnerList: Int64?) {
        // Buckets: 0 chosen, 1 eligible, 2... one per exclusion; written in first-seen order.
        // One pass finds where each bucket starts and whether its positions ascend; the
        // bookkeeping lives on the stack, and packed groups are written straight into `json`.
        let bucketCount = RoutingDecision.bucketNames.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * bucketCount) { scratch in
            let firstSeen = UnsafeMutableBufferPointer(rebasing: scratch[0..<bucketCount])
            let previous = UnsafeMutableBufferPointer(rebasing: scratch[bucketCount..<2 * bucketCount])
            let starts = UnsafeMutableBufferPointer(rebasing: scratch[2 * bucketCount..<3 * bucketCount])
            let ends = UnsafeMutableBufferPointer(rebasing: scratch[(3 * bucketCount)...])
            firstSeen.initialize(repeating: Int.max)
            previous.initialize(repeating: -1)
            ends.initialize(repeating: 0)
            var ascending = true
            let chosen = chosenIndex ?? -1
            for (position, code) in candidateCodes.enumerated() {
                let index = Int(code >> 3), bucket = Int(code >> 3) == chosen ? 0 : 1 + Int(code & 7)
                if firstSeen[bucket] == Int.max { firstSeen[bucket] = position }
                let gap = index - previous[bucket] - 1
                if gap < 0 { ascending = false }
                previous[bucket] = index
                ends[bucket] += PackedPositions.gapBytes(gap)
            }
            guard partnerList != nil && ascending else {
                while let bucket = firstSeen.indices.min(by: { firstSeen[$0] < firstSeen[$1] }), firstSeen[bucket] != Int.max {
                    writeGroupSorted(candidateCodes, bucket, from: firstSeen[bucket], to: &json, packed: partnerList != nil)
                    firstSeen[bucket] = Int.max
                }
                return
            }
            // Each bucket's packed positions in a region of one stack buffer, in one pass;
            // then the regions in first-seen order.
            var offset = 0
            for bucket in 0..<bucketCount {
                starts[bucket] = offset
                offset += ends[bucket]
                ends[bucket] = starts[bucket]
            }
            previous.update(repeating: -1)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(offset, 1)) { bytes in
                for code in candidateCodes {
                    let index = Int(code >> 3), bucket = Int(code >> 3) == chosen ? 0 : 1 + Int(code & 7)
                    ends[bucket] += PackedPositions.writeGap(index - previous[bucket] - 1, to: bytes.baseAddress! + ends[bucket])
                    previous[bucket] = index
                }
                while let bucket = firstSeen.indices.min(by: { firstSeen[$0] < firstSeen[$1] }), firstSeen[bucket] != Int.max {
                    json.field(dynamic: RoutingDecision.bucketNames[bucket],
                               ascii: UnsafeBufferPointer(rebasing: bytes[starts[bucket]..<ends[bucket]]))
                    firstSeen[bucket] = Int.max
                }
            }
        }
    }

    /// The bucket of a candidate's code: 0 chosen, 1 eligible, 2... its exclusion.
    @inline(__always)
    private func bucket(_ code: UInt32) -> Int {
        Int(code >> 3) == chosenIndex ? 0 : 1 + Int(code & 7)
    }

    /// One group written the slow way: names (no partner list), or positions out of order
    /// (a registering partner from outside the territory, recorded last), sorted.
    private func writeGroupSorted(_ candidateCodes: [UInt32], _ bucket: Int, from start: Int, to json: inout JSONWriter, packed: Bool) {
        let members = candidateCodes[start...].filter { self.bucket($0) == bucket }.map { Int($0 >> 3) }
        if packed {
            var bytes: [UInt8] = []
            PackedPositions.encode(members, into: &bytes)
            json.field(dynamic: RoutingDecision.bucketNames[bucket], ascii: bytes)
        } else {
            json.arrayField(dynamic: RoutingDecision.bucketNames[bucket])
            for index in members { json.element(partnerIDs[index]) }
            json.endArray()
        }
    }

    /// Writes `"assignments"`: each assignment's topic, the `seq` it was published under, and its role.
    @inline(__always)
    func writeAssignments(to json: inout JSONWriter, messages: ArraySlice<OutgoingMessage>) {
        json.arrayField("assignments")
        for (assignment, message) in zip(assignments, messages) {
            json.beginElement()
            json.beginObject()
            json.field("topic", assignment.topic)
            json.field("seq", message.seq)
            json.field("role", literal: assignment.role.literal)
            json.endObject()
        }
        json.endArray()
    }

    /// Each bucket's name in a record: `chosen`, `eligible`, then one per exclusion.
    static let bucketNames = ["chosen", "eligible"] + Exclusion.allCases.map(\.rawValue)

    /// ``bucketNames``' entry `bucket` as a literal, for writing as a key.
    static func bucketName(_ bucket: Int) -> StaticString {
        switch bucket {
        case 0: "chosen"
        case 1: "eligible"
        case 2: "inactive"
        case 3: "paused"
        case 4: "territory"
        case 5: "product"
        case 6: "capacity"
        case 7: "grade"
        default: "registration"
        }
    }
}

public enum FeedTopic {
    public static let vendorSales = "vendor-sales/"
    public static let nurture = "nurture/"
    public static let rejected = "rejected/"
    /// Every outcome partners report, for the vendor's channel managers.
    public static let outcomes = "outcomes/"
    public static func partner(_ id: String) -> String { "partner/\(id)/" }
}

/// Which of a decision's account keys the pipeline had seen routed recently (by a lead not yet
/// forgotten), and whether to the partner chosen now: bit `k` for the key at `k`, the first
/// eight keys. A key whose bit is clear in ``known`` is for the store to answer. Found while
/// the pipeline records the new owners, so it costs no look-up of its own.
public struct RecentOwners: Sendable, Equatable {
    public var known: UInt8 = 0
    public var same: UInt8 = 0

    public init(known: UInt8 = 0, same: UInt8 = 0) {
        self.known = known
        self.same = same
    }

    /// The recent owner's verdict on the key at `k`: `nil` when no recent lead routed it,
    /// else whether it went to the partner chosen now.
    public func isSame(at k: Int) -> Bool? {
        guard k < 8, known & (1 << k) != 0 else { return nil }
        return same & (1 << k) != 0
    }
}
