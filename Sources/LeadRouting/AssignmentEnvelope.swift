/// The start of a routed lead's assignment envelope, written in one place for routing and for
/// the store. The store keeps an envelope without it (``OutgoingMessage/assignmentStart``) and
/// writes it again when it reads the envelope, from the envelope's row, its lead's and the
/// start's ``code(role:engagement:)``: the same code from the same values, so what replay
/// sends is byte for byte what was published.
///
/// The start is `{"seq":…,"topic":…,"type":"assignment","assignment_id":…,"lead_id":…,`
/// `"partner_id":…,"engagement":…,"role":…`: about 185 of an envelope's 550 bytes beside the
/// lead's own in the benchmark, and nothing in it the store does not have already.
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
}
