import Foundation
import LeadRouting

/// Rejections in `leadctl explain`, and what its text and JSON share.
extension Explanation {
    /// One line of JSON, keys sorted, slashes as they are; `nil` if it cannot be written.
    static func jsonText(_ object: [String: Any]) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A qualification's signals in the order envelopes list them (need, budget, authority,
    /// timeline, company_size, estimated_value), any others after them by name.
    static func inEnvelopeOrder(_ signals: [String: Any]) -> [(key: String, value: Any)] {
        let order = Qualification.signalNames
        return signals.sorted { a, b in
            switch (order.firstIndex(of: a.key), order.firstIndex(of: b.key)) {
            case let (i?, j?): i < j
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a.key < b.key
            }
        }
    }

    /// A `rejected/` envelope as `--json` shows it: where it was published, the error, when
    /// and on which channel the input came.
    static func rejectionRecord(_ envelope: OutgoingMessage) -> [String: Any] {
        let object = (try? JSONSerialization.jsonObject(with: Data(envelope.envelope))) as? [String: Any] ?? [:]
        var record: [String: Any] = ["topic": envelope.topic, "seq": envelope.seq]
        for key in ["error", "received_at", "channel"] { record[key] = object[key] }
        return record
    }

    /// Each rejection of the lead's id in words: when and where it came, why it was rejected,
    /// and where that was published. For a lead never routed, a first line says so; for a
    /// routed one, the lines follow its explanation under a heading.
    static func rejectionLines(_ rejections: [OutgoingMessage], leadID: String, routed: Bool) -> [String] {
        guard !rejections.isEmpty else { return [] }
        var out: [String] = []
        for envelope in rejections {
            let record = rejectionRecord(envelope)
            let error = record["error"] as? [String: Any] ?? [:]
            let field = (error["field"] as? String).map { " \($0)" } ?? ""
            out.append("received \(record["received_at"] as? String ?? "?") on \(record["channel"] as? String ?? "?")")
            out.append("rejected: \(error["code"] as? String ?? "?")\(field): \(error["message"] as? String ?? "?"), published on \(envelope.topic) seq \(envelope.seq)")
        }
        guard routed else {
            let times = rejections.count == 1 ? "" : " \(rejections.count) times"
            return ["lead \(leadID) was never routed: its input was rejected\(times)"] + out
        }
        return ["rejections of this lead_id:"] + out.map { "  " + $0 }
    }
}
