/// The start of a routed lead's assignment envelope, written in one place for routing and for
/// the store. The store keeps an envelope without it (``OutgoingMessage/assignmentStart``) and
/// writes it again when it reads the envelope, from the envelope's row, its lead's and the
/// start's ``code(role:engagement:)``: the same code from the same values, so what replay
/// sends is byte for byte what was published.
///
/// The start is `{"seq":…,"topic":…,"type":"assignment","assignment_id":…,"lead_id":…,`
/// `"partner_id":…,"engagement":…,"role":…`: about 185 of an envelope's 550 bytes beside the
/// lead's own in the benchmark, and nothing in it the store does not have already.
///
/// Its end, `,"qualification":{…},"routed_at":…}`, goes the same way (``writeEnd(_:qualification:routedAt:)``):
/// about 165 bytes, which the store keeps as one number (``endCode(_:)``) beside the lead's
/// `routed_at`.
public enum AssignmentEnvelope {
    static func writeStart(_ json: inout JSONWriter, seq: Int, topic: String, assignmentID: AssignmentID, leadID: String,
                           partnerID: String?, engagement: EngagementModel?, role: Assignment.Role) {
        json.beginObject()
        json.field("seq", seq)
        json.field("topic", topic)
        json.field("type", literal: "assignment")
        json.field("assignment_id", assignmentID)
        json.field("lead_id", leadID)
        json.field("partner_id", partnerID)
        json.field("engagement", engagement)
        json.field("role", literal: role.literal)
    }

    /// The role and engagement of a start as one number, 1-24 (0 is none): the role's number
    /// in a binary record (``Assignment/Role/code``), then the engagement's (0 for none).
    /// Worked out for every assignment envelope routed, so by switches, not by searching
    /// `allCases`.
    public static func code(role: Assignment.Role, engagement: EngagementModel?) -> Int {
        let engagementNumber = switch engagement {
        case nil: 0
        case .leadsOnly: 1
        case .coSell: 2
        case .vendorCloses: 3
        }
        return 1 + Int(role.code) * 4 + engagementNumber
    }

    /// The role and engagement a ``code(role:engagement:)`` stands for; `nil` for a number
    /// that is not one.
    static func decode(_ code: Int) -> (role: Assignment.Role, engagement: EngagementModel?)? {
        guard code >= 1 else { return nil }
        let roleIndex = (code - 1) / 4, engagementIndex = (code - 1) % 4
        guard roleIndex < Assignment.Role.allCases.count, engagementIndex <= EngagementModel.allCases.count else { return nil }
        return (Assignment.Role.allCases[roleIndex], engagementIndex == 0 ? nil : EngagementModel.allCases[engagementIndex - 1])
    }

    /// The start of code `code` as bytes, for a stored envelope; `nil` when `code` is not one.
    public static func start(code: Int, seq: Int, topic: String, assignmentID: String, leadID: String, partnerID: String?) -> [UInt8]? {
        guard let (role, engagement) = decode(code) else { return nil }
        var json = JSONWriter(capacity: 160 + topic.utf8.count + assignmentID.utf8.count + leadID.utf8.count + (partnerID?.utf8.count ?? 0))
        writeStart(&json, seq: seq, topic: topic, assignmentID: AssignmentID(assignmentID), leadID: leadID,
                   partnerID: partnerID, engagement: engagement, role: role)
        return json.bytes
    }

    // MARK: - The end

    /// Writes an envelope's end, after its `reasons`: the `qualification` object (when the
    /// decision has one), `routed_at`, and the closing brace.
    static func writeEnd(_ json: inout JSONWriter, qualification: Qualification?, routedAt: Int64) {
        if let qualification { json.qualification(qualification) }
        json.field("routed_at", rfc3339: routedAt)
        json.endObject()
    }

    /// Where the code's fields sit: the score (0-127) in bits 0-6, the grade's rank in bits
    /// 7-8, each of the six signals' points (0-255) in 8 bits from bit 9, and bit 57 set.
    private static let codeMark = 1 << 57
    private static let pointsShift = 9

    /// The end as one number, from which ``end(code:routedAt:)`` writes it again byte for
    /// byte: 1 for an end without a `qualification`; a qualification of the qualifier's six
    /// signals, a score of at most 127 and points of at most 255 each, packed; 0 when the end
    /// cannot be written from a number (signals set by hand, or larger values): the store then
    /// keeps it as it is.
    public static func endCode(_ qualification: Qualification?) -> Int {
        guard let q = qualification else { return 1 }
        guard q.custom == nil, (0...127).contains(q.score) else { return 0 }
        var code = codeMark | q.score | q.grade.rank << 7
        for position in 0..<Qualification.signalNames.count {
            let points = Int(q.points[position])
            guard (0...255).contains(points) else { return 0 }
            code |= points << (pointsShift + 8 * position)
        }
        return code
    }

    /// The qualification a code stands for (`.some(nil)`: none); `nil` for a number that is
    /// not a code.
    static func qualification(code: Int) -> Qualification?? {
        if code == 1 { return .some(nil) }
        guard code >> 57 == 1 else { return nil }
        let rank = (code >> 7) & 3
        var points = SIMD8<Int32>.zero
        for position in 0..<Qualification.signalNames.count {
            points[position] = Int32((code >> (pointsShift + 8 * position)) & 0xFF)
        }
        let grade: Grade = switch rank {
        case 0: .A
        case 1: .B
        case 2: .C
        default: .D
        }
        return .some(Qualification(score: code & 0x7F, grade: grade, points: points, possible: .zero))
    }

    /// The end of code `code` with `routed_at` at `routedAt`, for a stored envelope; `nil`
    /// when `code` is not one.
    public static func end(code: Int, routedAt: Int64) -> [UInt8]? {
        guard let qualification = qualification(code: code) else { return nil }
        var json = JSONWriter(capacity: 192)
        json.needsComma = true
        writeEnd(&json, qualification: qualification, routedAt: routedAt)
        return json.bytes
    }
}
