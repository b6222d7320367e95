import Foundation
import Testing

/// The verbs that compare examples with what the session's daemon published or answered:
/// `envelope`, `fragment-of` and `replies`.
extension DocRunner {
    /// `envelope [reformatted]`: each JSON line is an envelope the daemon published on its
    /// topic, fetched by replay (the one it matches; else, to show the difference, the one
    /// with its `lead_id` and the most fields in common). A line before it that is not JSON is its topic frame; a topic starting
    /// `heartbeat/` is received live. `reformatted`: the block is one envelope, pretty-printed.
    func checkEnvelopes(_ block: DocBlock, _ marker: DocMarker) throws {
        if marker.arguments.contains("reformatted") { return try checkReformatted(block) }
        var actual: [String] = []
        var frame: String?
        for line in block.lines {
            if line.isEmpty {
                actual.append("")
            } else if !line.hasPrefix("{") {
                frame = line
                actual.append(line)
            } else if let topic = frame ?? DocRunner.field("topic", in: line) {
                actual.append(try envelope(on: topic, like: line) ?? "(nothing on \(topic) like this)")
                frame = nil
            } else {
                actual.append("(no topic)")
            }
        }
        report.compare(block.lines, actual, line: block.line, what: "what the daemon published", vary: marker.vary)
    }

    /// The published message on `topic` that the documented line describes.
    func envelope(on topic: String, like documented: String) throws -> String? {
        guard let daemon = session.daemon else { throw HarnessError("no daemon runs in this session") }
        if topic.hasPrefix("heartbeat/") {
            guard let publish = daemon.endpoint("publish") else { return nil }
            let subscriber = try TestSubscriber(endpoint: publish, topics: [topic])
            return try subscriber.next(timeout: 10_000, heartbeats: true).map { String(decoding: $0.raw, as: UTF8.self) }
        }
        guard let replay = daemon.endpoint("replay") else { return nil }
        let stored = try TestRequester(endpoint: replay).replayAll(topic).map { String(decoding: $0, as: UTF8.self) }
        let expected = DocCompare.normalised(documented)
        if let same = stored.first(where: { DocCompare.matches(expected, DocCompare.normalised($0)) }) { return same }
        // None matches: the likeliest one (with its lead_id, then the most fields in common),
        // to show how it differs.
        let leadID = DocRunner.field("lead_id", in: documented)
        let sameLead = stored.filter { leadID != nil && DocRunner.field("lead_id", in: $0) == leadID }
        let fields = Set(expected.split(separator: ","))
        return (sameLead.isEmpty ? stored : sameLead).max { a, b in
            fields.intersection(DocCompare.normalised(a).split(separator: ",")).count
                < fields.intersection(DocCompare.normalised(b).split(separator: ",")).count
        }
    }

    /// A pretty-printed envelope: compared key by key (both printed the same way).
    private func checkReformatted(_ block: DocBlock) throws {
        let documented = try JSONSerialization.jsonObject(with: Data(block.text.utf8))
        guard let object = documented as? [String: Any], let topic = object["topic"] as? String else {
            throw HarnessError("a reformatted envelope must be one JSON object with a topic")
        }
        let line = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        guard let actual = try envelope(on: topic, like: line) else {
            return report.fail(block.line, "nothing on \(topic) like this")
        }
        let real = try JSONSerialization.jsonObject(with: Data(actual.utf8))
        func printed(_ value: Any) throws -> [String] {
            lines(String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        }
        report.compare(try printed(documented), try printed(real), line: block.line, what: "the envelope published (both pretty-printed, keys sorted)")
    }

    /// `fragment-of LEAD_ID in=TOPIC`: the block occurs in that lead's envelope on TOPIC.
    func checkFragment(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let leadID = marker.arguments.first, let topic = marker.options["in"] else {
            throw HarnessError("fragment-of needs a lead_id and in=TOPIC")
        }
        let envelope = try self.envelope(on: topic, like: #"{"lead_id":"\#(leadID)"}"#) ?? ""
        let fragment = DocCompare.normalised(block.lines.joined(), vary: marker.vary)
        if !DocCompare.contains(DocCompare.normalised(envelope, vary: marker.vary), fragment: fragment) {
            report.fail(block.line, "this is not part of the envelope of \(leadID) on \(topic):\n\(envelope.isEmpty ? "(none)" : envelope)")
        }
    }

    /// `replies ROLE` (intake, control or replay): the marker's body holds the requests, one
    /// per line, sent in turn; the block shows the reply frames, one per line.
    /// `request ROLE`: each line of the block is a request, answered without an error.
    func checkReplies(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let role = marker.arguments.first, let endpoint = session.daemon?.endpoint(role) else {
            throw HarnessError("\(marker.verb) needs a running daemon with a \(marker.arguments.first ?? "?") endpoint")
        }
        let requester = try TestRequester(endpoint: endpoint)
        let requests = marker.verb == "request" ? block.lines : marker.body
        var actual: [String] = []
        for request in requests where !request.trimmingCharacters(in: .whitespaces).isEmpty {
            actual += try requester.request(json: session.toReal(request)).map { session.toDoc(String(decoding: $0, as: UTF8.self)) }
        }
        if marker.verb == "request" {
            let errors = actual.filter { $0.hasPrefix(#"{"error""#) || $0.contains(#""status":"error""#) || $0.contains(#""status":"rejected""#) }
            if !errors.isEmpty { report.fail(block.line, "the daemon refused this request:\n\(errors.joined(separator: "\n"))") }
            return
        }
        report.compare(block.lines, actual, line: block.line, what: "the daemon's replies", vary: marker.vary)
    }

    /// The first `"NAME":"value"` string field of a JSON line (not one inside an escaped string).
    static func field(_ name: String, in line: String) -> String? {
        guard let range = line.range(of: #""\#(name)":\s*"([^"\\]*)""#, options: .regularExpression) else { return nil }
        let text = line[range]
        return text.split(separator: "\"", omittingEmptySubsequences: false).dropFirst(3).first.map(String.init)
    }

    static func number(_ name: String, in line: String) -> Int? {
        guard let range = line.range(of: #""\#(name)":\s*[0-9]+"#, options: .regularExpression) else { return nil }
        return Int(line[range].split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "")
    }
}
