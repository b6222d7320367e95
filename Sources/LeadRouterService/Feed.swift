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
    /// What the feed keeps of one topic. One look-up per envelope published finds all of
    /// it: four dictionaries and a set, looked up for every envelope, had cost about 1,500
    /// instructions an envelope.
    struct TopicState {
        /// The last `seq` handed to the publish socket.
        var published = 0
        /// A published `seq` not yet recorded in the store.
        var unsaved: Int?
        var lastActivity: ContinuousClock.Instant?
        /// Whether the feed serves the topic (it is in ``topics``).
        var served = false
    }

    private var states = StringTable<TopicState>()
    /// Every topic the feed serves, in the order they became known; and where each one's
    /// state is in ``states`` (entries are never removed, so positions stay).
    private(set) var topics: [String] = []
    private var positions: [Int] = []
    /// The positions of topics published since the store last recorded them (some may have
    /// been recorded since: ``TopicState/unsaved`` says).
    private var unsavedPositions: [Int] = []
    private var heartbeatCursor = 0
    private var lastHeartbeatPass: ContinuousClock.Instant?
    let heartbeatEvery: Duration

    /// Most topics looked at in one pass; more due go in the next pass, a moment later.
    static let heartbeatSlice = 512

    init(published: [String: Int], topics: [String], heartbeatEvery: Duration) {
        self.heartbeatEvery = heartbeatEvery
        for (topic, seq) in published { states.set(TopicState(published: seq), forKey: topic) }
        for topic in topics { add(topic) }
    }

    func serves(_ topic: String) -> Bool { states[topic]?.served ?? false }

    mutating func add(_ topic: String) {
        serve(topic, at: states.position(of: topic, default: TopicState()))
    }

    private mutating func serve(_ topic: String, at position: Int) {
        guard !states[position: position].served else { return }
        states[position: position].served = true
        topics.append(topic)
        positions.append(position)
    }

    /// The published `seq`s the store has not recorded yet, per topic.
    var unsaved: [String: Int] {
        var out: [String: Int] = [:]
        for position in unsavedPositions {
            if let seq = states[position: position].unsaved { out[states.entries[position].key] = seq }
        }
        return out
    }

    /// How many topics have a published `seq` the store has not recorded yet.
    var unsavedCount: Int { unsavedPositions.count }

    /// At most `limit` of ``unsaved``: those unsaved longest first.
    func unsaved(limit: Int) -> [String: Int] {
        var out: [String: Int] = [:]
        for position in unsavedPositions.prefix(limit) {
            if let seq = states[position: position].unsaved { out[states.entries[position].key] = seq }
        }
        return out
    }

    /// Records that `message` went out at `now`.
    mutating func didPublish(_ message: OutgoingMessage, at now: ContinuousClock.Instant) {
        let at = states.position(of: message.topic, default: TopicState())
        states[position: at].published = max(states[position: at].published, message.seq)
        if states[position: at].unsaved == nil { unsavedPositions.append(at) }
        states[position: at].unsaved = message.seq
        states[position: at].lastActivity = now
        serve(message.topic, at: at)
    }

    /// The store recorded these watermarks: those published since stay to be saved.
    mutating func saved(_ watermarks: [String: Int]) {
        for (topic, seq) in watermarks {
            if let at = states.index(of: topic), states[position: at].unsaved == seq { states[position: at].unsaved = nil }
        }
        unsavedPositions.removeAll { states[position: $0].unsaved == nil }
    }

    mutating func savedAll() {
        for position in unsavedPositions { states[position: position].unsaved = nil }
        unsavedPositions.removeAll(keepingCapacity: true)
    }

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
            let topic = topics[heartbeatCursor], at = positions[heartbeatCursor]
            heartbeatCursor = (heartbeatCursor + 1) % count
            if let last = states[position: at].lastActivity, now - last < heartbeatEvery { continue }
            out.append((Heartbeat.topic(for: topic), Heartbeat.envelope(topic: topic, lastSeq: states[position: at].published, sentAt: sentAt)))
            states[position: at].lastActivity = now
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
