/// A lead's qualification, as envelopes and records write it.
extension JSONWriter {
    /// `"qualification":{"score":85,"grade":"A","signals":{"need":20,…}}`.
    mutating func qualification(_ q: Qualification) {
        objectField("qualification")
        field("score", q.score)
        field("grade", q.grade.rawValue)
        objectField("signals")
        guard let custom = q.custom else {
            // The qualifier's six, inline, keys from literals.
            for position in 0..<Qualification.signalNames.count {
                field(JSONWriter.signalKey(position)!, Int(q.points[position]))
            }
            endObject()
            endObject()
            return
        }
        for (position, signal) in custom.enumerated() {
            // The signals come in ``Qualification/signalNames``' order: their keys are
            // written from literals, unless a signal is not where that order puts it.
            if let name = JSONWriter.signalKey(position), JSONWriter.equals(signal.name, name) {
                field(name, signal.points)
            } else {
                field(dynamic: signal.name, signal.points)
            }
        }
        endObject()
        endObject()
    }

    /// The key of the signal at `position` in ``Qualification/signalNames``' order.
    static func signalKey(_ position: Int) -> StaticString? {
        switch position {
        case 0: "need"
        case 1: "budget"
        case 2: "authority"
        case 3: "timeline"
        case 4: "company_size"
        case 5: "estimated_value"
        default: nil
        }
    }

    @inline(__always)
    static func equals(_ text: String, _ literal: StaticString) -> Bool {
        var text = text
        return text.withUTF8 { literal.matches($0) }
    }
}
