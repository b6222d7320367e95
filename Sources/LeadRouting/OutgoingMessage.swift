/// One message for the assignment feed: `[topic][envelope]`, with its `seq` on that topic.
public struct OutgoingMessage: Sendable, Equatable {
    public var topic: String
    public var seq: Int
    /// The bytes published: for a routed lead's envelope, a run of the routing thread's
    /// blocks (``ByteArena``), not an array of its own.
    public var envelope: SharedBytes
    /// Where the lead's bytes, as received, sit in ``envelope``: the store keeps the envelope
    /// without them and splices them back in from the stored lead.
    public var leadRange: Range<Int>?
    /// How many of ``envelope``'s first bytes are an assignment envelope's start as
    /// ``AssignmentEnvelope`` writes it (0 for none), and which start (``assignmentCode``): the
    /// store keeps the envelope without them and writes them again when it reads it.
    public var assignmentStart = 0
    /// ``AssignmentEnvelope/code(role:engagement:)`` of the start, 0 for none.
    public var assignmentCode = 0
    /// Where an assignment envelope's end begins (its `qualification` and `routed_at`, as
    /// ``AssignmentEnvelope`` writes them; 0 for none), and the end's ``AssignmentEnvelope/endCode(_:)``:
    /// the store keeps the envelope without the end, and writes it again from the code and the
    /// lead's `routed_at` when it reads it.
    public var assignmentEnd = 0
    public var assignmentEndCode = 0

    public init(topic: String, seq: Int, envelope: SharedBytes, leadRange: Range<Int>? = nil,
                assignmentStart: Int = 0, assignmentCode: Int = 0, assignmentEnd: Int = 0, assignmentEndCode: Int = 0) {
        self.topic = topic
        self.seq = seq
        self.envelope = envelope
        self.leadRange = leadRange
        self.assignmentStart = assignmentStart
        self.assignmentCode = assignmentCode
        self.assignmentEnd = assignmentEnd
        self.assignmentEndCode = assignmentEndCode
    }

    /// The same, the envelope copied from `envelope`.
    public init(topic: String, seq: Int, envelope: [UInt8], leadRange: Range<Int>? = nil,
                assignmentStart: Int = 0, assignmentCode: Int = 0, assignmentEnd: Int = 0, assignmentEndCode: Int = 0) {
        self.init(topic: topic, seq: seq, envelope: SharedBytes(envelope), leadRange: leadRange,
                  assignmentStart: assignmentStart, assignmentCode: assignmentCode,
                  assignmentEnd: assignmentEnd, assignmentEndCode: assignmentEndCode)
    }

    /// Equal when they publish the same bytes under the same topic and `seq`.
    public static func == (a: OutgoingMessage, b: OutgoingMessage) -> Bool {
        a.topic == b.topic && a.seq == b.seq && a.envelope == b.envelope
    }
}
