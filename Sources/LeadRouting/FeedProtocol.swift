import Foundation

/// Replies on the intake endpoint: `{"status": "accepted" | "duplicate" | "rejected", "lead_id": …, "error": …}`.
public enum IntakeReply {
    /// The lead is durably stored and routed (sent only after the commit).
    public static func accepted(_ leadID: String, decision: RoutingDecision) -> [UInt8] {
        var json = JSONWriter(capacity: 160)
        json.beginObject()
        json.field("status", "accepted")
        json.field("lead_id", leadID)
        json.field("assignment_id", decision.assignment)
        json.field("partner_id", decision.partnerID)
        json.endObject()
        return json.bytes
    }

    /// A lead with this id was accepted before; nothing new was routed.
    public static func duplicate(_ leadID: String) -> [UInt8] {
        var json = JSONWriter(capacity: 96)
        json.beginObject()
        json.field("status", "duplicate")
        json.field("lead_id", leadID)
        json.endObject()
        return json.bytes
    }

    /// Not accepted, with the reason; `lead_id` when it could be read.
    public static func rejected(_ rejection: LeadRejection, leadID: String?) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("status", "rejected")
        json.field("lead_id", leadID)
        json.objectField("error")
        json.field("code", rejection.code.rawValue)
        json.field("field", rejection.field)
        json.field("message", rejection.message)
        json.endObject()
        json.endObject()
        return json.bytes
    }
}

/// Heartbeats of idle feed topics: `{"type":"heartbeat","topic":…,"last_seq":N,"sent_at":…}` on
/// the topic `heartbeat/<topic>` (such as `heartbeat/partner/acme/`), so only subscribers
/// that ask for them receive them. They travel on the same PUB socket, so a subscriber to
/// both `partner/acme/` and `heartbeat/partner/acme/` sees them in order with the envelopes.
/// `last_seq` is the last envelope published on the topic (0: none yet).
public enum Heartbeat {
    public static let topicPrefix = "heartbeat/"

    /// The heartbeat topic of a feed topic: `heartbeat/partner/acme/`.
    public static func topic(for feedTopic: String) -> String { topicPrefix + feedTopic }

    public static func envelope(topic: String, lastSeq: Int, sentAt: String) -> [UInt8] {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.field("type", "heartbeat")
        json.field("topic", topic)
        json.field("last_seq", lastSeq)
        json.field("sent_at", sentAt)
        json.endObject()
        return json.bytes
    }
}

/// An error answer on the replay endpoint: one frame `{"error": {"code": …, "message": …}}`.
public struct ReplayError: Error, Sendable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var json: [UInt8] {
        var json = JSONWriter(capacity: 160)
        json.beginObject()
        json.objectField("error")
        json.field("code", code)
        json.field("message", message)
        json.endObject()
        json.endObject()
        return json.bytes
    }
}

/// A request on the replay endpoint: `{"topic": "partner/P/", "from_seq": 12, "limit": 1000}`.
public struct ReplayRequest: Sendable, Equatable {
    public var topic: String
    public var fromSeq: Int
    public var limit: Int

    /// Envelopes per reply when the request names no `limit`.
    public static let defaultLimit = 1000

    public init(topic: String, fromSeq: Int, limit: Int) {
        self.topic = topic
        self.fromSeq = fromSeq
        self.limit = limit
    }

    /// Reads a request; a `limit` above `maxLimit` is lowered to it.
    public static func parse(_ frames: [[UInt8]], maxLimit: Int) -> Result<ReplayRequest, ReplayError> {
        guard frames.count == 1 else {
            return .failure(ReplayError(code: "bad_request", message: "a replay request is one frame of JSON, got \(frames.count) frames"))
        }
        struct Wire: Decodable {
            var topic: String
            var from_seq: Int
            var limit: Int?
        }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(frames[0]))
        } catch {
            return .failure(ReplayError(
                code: "bad_request",
                message: "expected {\"topic\": \"partner/P/\", \"from_seq\": 1, \"limit\": 1000} with topic a string and from_seq, limit whole numbers"))
        }
        guard !wire.topic.isEmpty else {
            return .failure(ReplayError(code: "bad_request", message: "topic must name a feed topic such as partner/P/"))
        }
        guard wire.from_seq >= 1 else {
            return .failure(ReplayError(code: "bad_request", message: "from_seq must be 1 or more, got \(wire.from_seq)"))
        }
        let limit = wire.limit ?? defaultLimit
        guard limit >= 1 else {
            return .failure(ReplayError(code: "bad_request", message: "limit must be 1 or more, got \(limit)"))
        }
        return .success(ReplayRequest(topic: wire.topic, fromSeq: wire.from_seq, limit: min(limit, maxLimit)))
    }

    /// The first frame of a reply: `{"topic","from_seq","last_seq","count","topic_last_seq","limit"}`.
    /// `last_seq` is the last envelope in this reply (`from_seq - 1` when none);
    /// `topic_last_seq` the last published on the topic, so a client knows whether to ask again.
    public static func header(_ request: ReplayRequest, envelopes: [OutgoingMessage], topicLastSeq: Int) -> [UInt8] {
        var json = JSONWriter(capacity: 160)
        json.beginObject()
        json.field("topic", request.topic)
        json.field("from_seq", request.fromSeq)
        json.field("last_seq", envelopes.last?.seq ?? request.fromSeq - 1)
        json.field("count", envelopes.count)
        json.field("topic_last_seq", max(topicLastSeq, envelopes.last?.seq ?? 0))
        json.field("limit", request.limit)
        json.endObject()
        return json.bytes
    }
}

