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
    /// The assignment's id (``AssignmentID``), kept inline.
    public var assignment = AssignmentID.none
    /// ``assignment`` as a `String`.
    public var assignmentID: String { assignment.description }
    /// With offers on for the chosen partner: the case of the offer made instead of an assignment.
    public var offered: LeadCase?
    /// Whether ``offered`` is set, read from its tag: `offered == nil` compared two optionals
    /// (`LeadCase` is `Equatable`), each copied through the runtime's generic witnesses, about
    /// 180 instructions a comparison.
    var isOffered: Bool {
        if case .some = offered { return true }
        return false
    }
    public var qualification: Qualification? {
        get { hasQualification ? qualificationValue : nil }
        set {
            switch newValue {
            case .some(let q): (qualificationValue, hasQualification) = (q, true)
            case .none: (qualificationValue, hasQualification) = (Qualification.absent, false)
            }
        }
    }
    /// ``qualification`` as a value and a flag (``Qualification/absent`` when absent): an
    /// optional was set, read and cleared through the runtime's generic witnesses, about 270
    /// instructions a lead.
    var qualificationValue = Qualification.absent
    var hasQualification = false
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
    public var account = LeadAccount()
    /// ``account``'s keys, as a list.
    public var accountKeys: [String] { account.all }
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
        assignment = .none
        // Set rarely: cleared only when set (assigning `nil` destroyed the old value through
        // the runtime's generic witness, about 50 instructions, set or not).
        if isOffered { offered = nil }
        if hasQualification {
            hasQualification = false
            qualificationValue = Qualification.absent
        }
        rule = .unmatched
        candidateRecord = .codes([])
        partnerIDs = []
        chosenIndex = nil
        candidatesOmitted = 0
        omittedCounts = .zero
        outsideTerritory = 0
        account = LeadAccount()
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
        var json = JSONWriter(capacity: recordCapacity(messages: messages.count, partnerList: partnerList, reasonsInEnvelope: reasonsInEnvelope))
        writeRecord(to: &json, messages: messages, partnerList: partnerList, reasonsInEnvelope: reasonsInEnvelope)
        return json.bytes
    }

    /// The same, written straight into `arena` (a batch's records, side by side in its
    /// blocks): no buffer to zero or grow, no allocation a record. The daemon's usual record
    /// is written in its binary form (``BinaryRecord``), which reads back as this JSON.
    public func record(in arena: inout ByteArena, messages: ArraySlice<OutgoingMessage>, partnerList: Int64? = nil,
                       reasonsInEnvelope: Bool = false) -> SharedBytes {
        if let partnerList, BinaryRecord.fits(self, messages: messages, partnerList: partnerList, reasonsInEnvelope: reasonsInEnvelope) {
            return arena.write(maximum: BinaryRecord.capacity(self, messages: messages)) {
                BinaryRecord.write(self, messages: messages, partnerList: partnerList, to: $0)
            }
        }
        var json = JSONWriter(
            in: &arena, capacity: recordCapacity(messages: messages.count, partnerList: partnerList, reasonsInEnvelope: reasonsInEnvelope))
        writeRecord(to: &json, messages: messages, partnerList: partnerList, reasonsInEnvelope: reasonsInEnvelope)
        return json.shared(in: &arena)
    }

    /// Room for a record, so its buffer neither grows nor holds kilobytes unused until the
    /// batch is stored: packed, each candidate takes at most the bytes of the largest partner
    /// position (``PackedPositions``); by id, about seven.
    private func recordCapacity(messages: Int, partnerList: Int64?, reasonsInEnvelope: Bool) -> Int {
        let perCandidate = partnerList == nil ? 7 : PackedPositions.gapBytes(partnerIDs.count)
        let inline = !reasonsInEnvelope || messages == 0 ? reasonList.elements.count + 256 : 0
        return 384 + inline + 96 * messages + candidateRecord.count * perCandidate
    }

    private func writeRecord(to json: inout JSONWriter, messages: ArraySlice<OutgoingMessage>, partnerList: Int64?, reasonsInEnvelope: Bool) {
        json.beginObject()
        json.field("assignment_id", assignment)
        json.field("partner_id", partnerID)
        if !reasonsInEnvelope || messages.isEmpty {
            json.field("rule", literal: rule.literal)
            json.field("reasons", elements: reasonList.elements)
            if hasQualification { json.qualification(qualificationValue) }
        }
        if let partnerList { json.field("partner_list", Int(partnerList)) }
        writeCandidates(to: &json, partnerList: partnerList)
        json.field("candidates_omitted", candidatesOmitted)
        RoutingDecision.writeOmitted(omittedCounts, to: &json)
        json.field("outside_territory", outsideTerritory)
        writeAssignments(to: &json, messages: messages)
        json.endObject()
    }
}

extension RoutingDecision {
    /// `"omitted_by_reason"`: how many candidates past the recording cap each verdict had,
    /// by name; left out when none.
    static func writeOmitted(_ counts: SIMD8<Int32>, to json: inout JSONWriter) {
        guard counts != .zero else { return }
        json.objectField("omitted_by_reason")
        // By name: capacity, eligible, grade, inactive, paused, product, registration, territory.
        let byName: StaticString = "\u{5}\u{0}\u{6}\u{1}\u{2}\u{4}\u{7}\u{3}"
        for k in 0..<CandidateVerdicts.sets {
            let verdict = Int(byName.utf8Start[k])
            guard counts[verdict] > 0 else { continue }
            json.field(RoutingDecision.bucketName(1 + verdict), Int(counts[verdict]))
        }
        json.endObject()
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
    /// Where the pipeline keeps the first two keys, plus one (0: not known): so a batch's
    /// owner changes take the key's `String` from there with no look-up
    /// (``LeadPipeline/forEachOwnerKey(of:as:_:)``). Not part of equality: it says
    /// where, not what.
    var positions = SIMD2<Int32>.zero

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

    public static func == (a: RecentOwners, b: RecentOwners) -> Bool { a.known == b.known && a.same == b.same }
}
