import LeadRouting

/// The assignment feed's state, owned by the routing thread, with no I/O: the last `seq`
/// published per topic, which of those the store has not recorded yet, every topic the feed
/// serves, and which are idle and owe a heartbeat.
///
/// Heartbeats: every idle topic's heartbeat topic (`heartbeat/<topic>`) gets
/// `{"type":"heartbeat","topic":…,"last_seq":…}` about once per `publish.heartbeat_ms`, so a
/// subscriber that asks for heartbeats learns of a missed last message. Topics are looked at
/// a slice at a time, in turn, each about four times per `heartbeat_ms`: with thousands of
/// partner topics, checking them all at once would hold up routing for milliseconds.
struct Feed {
    /// The last `seq` handed to the publish socket, per topic.
    private(set) var published: [String: Int]
    /// Published `seq`s not yet recorded in the store.
    private(set) var unsaved: [String: Int] = [:]
    /// Every topic the feed serves, in the order they became known.
    private(set) var topics: [String] = []
    private var known: Set<String> = []
    private var lastActivity: [String: ContinuousClock.Instant] = [:]
    private var heartbeatCursor = 0
    private var lastHeartbeatPass: ContinuousClock.Instant?
    let heartbeatEvery: Duration

    /// Most topics looked at in one pass; more due go in the next pass, a moment later.
    static let heartbeatSlice = 512

    init(published: [String: Int], topics: [String], heartbeatEvery: Duration) {
        self.published = published
        self.heartbeatEvery = heartbeatEvery
        for topic in topics { add(topic) }
    }

    func serves(_ topic: String) -> Bool { known.contains(topic) }

    mutating func add(_ topic: String) {
        if known.insert(topic).inserted { topics.append(topic) }
    }

    /// Records that `message` went out at `now`.
    mutating func didPublish(_ message: OutgoingMessage, at now: ContinuousClock.Instant) {
        published[message.topic] = max(published[message.topic] ?? 0, message.seq)
        unsaved[message.topic] = message.seq
        lastActivity[message.topic] = now
        add(message.topic)
    }

    /// The store recorded these watermarks: those published since stay to be saved.
    mutating func saved(_ watermarks: [String: Int]) {
        for (topic, seq) in watermarks where unsaved[topic] == seq { unsaved[topic] = nil }
    }

    mutating func savedAll() { unsaved.removeAll(keepingCapacity: true) }

    /// The heartbeats due at `now`, as `[topic][body]` pairs, and marks those topics active.
    mutating func heartbeats(now: ContinuousClock.Instant, sentAt: String) -> [(topic: String, body: [UInt8])] {
        let count = topics.count
        guard count > 0 else { return [] }
        let elapsed = lastHeartbeatPass.map { now - $0 } ?? heartbeatEvery
        let due = min(count, Feed.heartbeatSlice, Int((Double(count) * 4 * (elapsed / heartbeatEvery)).rounded(.up)))
        guard due > 0 else { return [] }
        lastHeartbeatPass = now
        var out: [(topic: String, body: [UInt8])] = []
        for _ in 0..<due {
            let topic = topics[heartbeatCursor]
            heartbeatCursor = (heartbeatCursor + 1) % count
            if let last = lastActivity[topic], now - last < heartbeatEvery { continue }
            out.append((Heartbeat.topic(for: topic), Heartbeat.envelope(topic: topic, lastSeq: published[topic] ?? 0, sentAt: sentAt)))
            lastActivity[topic] = now
        }
        return out
    }

    /// When the next heartbeat pass is due: a quarter of `heartbeat_ms` after the last (at
    /// least 10 ms), or soon when the last pass was cut short by ``heartbeatSlice``.
    func nextHeartbeatPass(after now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        let quarter = max(.milliseconds(10), heartbeatEvery / 4)
        guard topics.count > Feed.heartbeatSlice else { return now + quarter }
        return now + max(.milliseconds(1), quarter * (Double(Feed.heartbeatSlice) / Double(topics.count)))
    }
}
