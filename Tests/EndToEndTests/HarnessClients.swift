import Foundation
import Testing
import ZeroMQ

/// A lead source: an XPUB connected to the daemon's ingest, which waits for the daemon's
/// subscription before sending (so nothing is lost to the slow-joiner effect) and never drops.
final class TestSource {
    let context: Context
    let socket: Socket

    init(endpoint: String) throws {
        context = try Context()
        socket = try Socket(context, type: .xpub)
        try socket.set(.xpubNoDrop, 1)
        try socket.set(.sendHighWaterMark, 1_000_000)
        try socket.set(.linger, 5000)
        try socket.connect(endpoint)
        try socket.set(.receiveTimeout, 10_000)
        guard let subscription = try socket.receive(), subscription.first?.first == 1 else {
            throw HarnessError("the daemon never subscribed at \(endpoint)")
        }
    }

    /// Sends as soon as the socket takes it: at its high-water mark an XPUB with `XPUB_NODROP`
    /// refuses a send instead of blocking, until the daemon has read some.
    func send(_ frames: [[UInt8]]) throws {
        guard try poll(timeout: 60, every: 0.001, until: { try socket.send(frames, wait: false) }) else {
            throw HarnessError("the daemon took no lead for 60 s at the high-water mark")
        }
    }

    func sendLead(_ json: String, topic: String = "lead") throws {
        try send([Array(topic.utf8), Array(json.utf8)])
    }
}

/// A feed subscriber, as a partner or vendor sales runs one.
final class TestSubscriber {
    let context: Context
    let socket: Socket

    init(endpoint: String, topics: [String]) throws {
        context = try Context()
        socket = try Socket(context, type: .sub)
        try socket.set(.receiveHighWaterMark, 1_000_000)
        for topic in topics { try socket.subscribe(topic) }
        try socket.connect(endpoint)
    }

    /// The next envelope (heartbeats skipped unless asked for), or nil after `timeout` ms.
    func next(timeout: Int = 10_000, heartbeats: Bool = false) throws -> FeedMessage? {
        let deadline = Date().addingTimeInterval(Double(timeout) / 1000)
        while true {
            let remaining = Int(deadline.timeIntervalSinceNow * 1000)
            guard remaining > 0, let message = try nextMessage(timeout: remaining) else { return nil }
            if heartbeats || !message.isHeartbeat { return message }
        }
    }

    private func nextMessage(timeout: Int) throws -> FeedMessage? {
        try socket.receive(timeoutMilliseconds: timeout).map(FeedMessage.init)
    }

    /// Receives until `count` messages arrived or `timeout` ms pass without one.
    func collect(_ count: Int, timeout: Int = 10_000) throws -> [FeedMessage] {
        var out: [FeedMessage] = []
        while out.count < count, let message = try next(timeout: timeout) { out.append(message) }
        return out
    }
}

/// A REQ-like client of the intake or replay ROUTER (a DEALER sending the empty delimiter).
final class TestRequester {
    let context: Context
    let socket: Socket

    init(endpoint: String) throws {
        context = try Context()
        socket = try Socket(context, type: .dealer)
        try socket.set(.linger, 0)
        try socket.connect(endpoint)
    }

    /// Sends one request frame and returns the reply frames (delimiter removed); an error
    /// when no reply comes within `timeout` ms.
    func request(_ body: [UInt8], timeout: Int = 10_000) throws -> [[UInt8]] {
        try socket.send([[], body])
        guard let frames = try socket.receive(timeoutMilliseconds: timeout) else { throw HarnessError("no reply within \(timeout) ms") }
        return Array(frames.dropFirst())
    }

    func request(json: String, timeout: Int = 10_000) throws -> [[UInt8]] {
        try request(Array(json.utf8), timeout: timeout)
    }

    /// The reply to `json` as an object: an error unless it is exactly one frame of JSON.
    func reply(_ json: String, timeout: Int = 10_000) throws -> [String: Any] {
        let frames = try request(json: json, timeout: timeout)
        guard frames.count == 1, let object = try? JSONSerialization.jsonObject(with: Data(frames[0])) as? [String: Any] else {
            throw HarnessError("expected one frame of JSON, got \(frames.map { String(decoding: $0, as: UTF8.self) })")
        }
        return object
    }

    /// Every envelope of `topic` from replay, in order. An error reply, or a header whose
    /// count disagrees with the frames, is an error (never an empty topic).
    func replayAll(_ topic: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var from = 1
        while true {
            let frames = try request(json: #"{"topic": "\#(topic)", "from_seq": \#(from), "limit": 500}"#)
            guard let first = frames.first else { throw HarnessError("replay of \(topic) answered no frame") }
            let header = jsonObject(first)
            guard let count = header["count"] as? Int, frames.count == count + 1 else {
                throw HarnessError("replay of \(topic) from \(from): \(String(decoding: first, as: UTF8.self)) with \(frames.count - 1) envelopes")
            }
            if count == 0 { return out }
            out += frames.dropFirst()
            guard let last = header["last_seq"] as? Int, last >= from else { throw HarnessError("replay header without last_seq: \(header)") }
            from = last + 1
        }
    }
}

func jsonObject(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:]
}

struct FeedMessage {
    let frames: [[UInt8]]
    var topic: String { String(decoding: frames[0], as: UTF8.self) }
    var raw: [UInt8] { frames.last ?? [] }
    var isHeartbeat: Bool { topic.hasPrefix("heartbeat/") }
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any]) ?? [:]
    }
}

/// Makes sure every subscriber's subscription reached the daemon before the test starts:
/// publishes invalid probes (answered on `rejected/`) until each subscriber has seen one,
/// then one last probe, and drains each subscriber up to that one (the feed keeps order, so
/// nothing of the warm-up arrives after it). Returns the last probe's `rejected/` seq.
func warmUp(source: TestSource, subscribers: [TestSubscriber], sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    var ready = Array(repeating: false, count: subscribers.count)
    var probes = 0
    while !ready.allSatisfy({ $0 }) {
        guard probes < 200 else { throw HarnessError("subscribers never saw a probe") }
        try source.sendLead("probe \(probes)")
        probes += 1
        for (i, subscriber) in subscribers.enumerated() where !ready[i] {
            while let message = try subscriber.next(timeout: 50) {
                if message.topic == "rejected/" { ready[i] = true }
            }
        }
    }
    try source.sendLead("last probe")
    var lastSeq: Int?
    for subscriber in subscribers {
        while true {
            let message = try #require(try subscriber.next(), "the last probe never arrived", sourceLocation: sourceLocation)
            if message.topic == "rejected/", message.json["input"] as? String == "last probe" {
                let seq = try #require(message.json["seq"] as? Int, sourceLocation: sourceLocation)
                #expect(lastSeq == nil || lastSeq == seq, sourceLocation: sourceLocation)
                lastSeq = seq
                break
            }
        }
    }
    return try #require(lastSeq, sourceLocation: sourceLocation)
}
