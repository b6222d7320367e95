import Foundation
import LeadRouting
import ZeroMQ

/// What the daemon answered for one lead sent to intake.
public enum IntakeStatus: Sendable, Equatable {
    case accepted
    case duplicate
    case rejected(code: String, field: String?, message: String)
}

/// Sends leads to the daemon's intake endpoint and waits for each acknowledgement, with
/// the Lazy Pirate pattern: a window of requests in flight on a DEALER socket; when the
/// oldest goes unanswered for `timeout`, the socket is closed, a new one connects, and
/// every unanswered lead is sent again (safe: the daemon de-duplicates by `lead_id`, and
/// answers `duplicate` for one it had already accepted). After `retries` fruitless tries
/// in a row it gives up.
///
/// Replies are matched to leads by the `lead_id` they name, not by their order: the DEALER
/// reconnects by itself to a restarted daemon, and the new process answers the leads sent
/// after the crash while those the old one lost go unanswered (and are sent again).
public final class ReliablePublisher {
    public let endpoint: String
    public let window: Int
    public let timeout: Duration
    public let retries: Int
    private let curve: CurveClientKeys?
    private let context: Context
    private var socket: Socket
    /// A send on this socket could not queue its lead within `timeout`: the rest wait for the
    /// next socket (``startOver(_:_:)``) instead of each waiting as long.
    private var stalled = false

    /// - Parameter curve: the keys to present when the daemon runs `security.mode: curve`.
    public init(endpoint: String, window: Int = 64, timeout: Duration = .milliseconds(2500), retries: Int = 5,
                curve: CurveClientKeys? = nil) throws {
        self.endpoint = endpoint
        self.curve = curve
        self.window = max(1, window)
        self.timeout = timeout
        self.retries = max(1, retries)
        context = try Context()
        socket = try dealer(context, connectedTo: endpoint, describing: endpoint, curve: curve, sendTimeout: timeout)
    }

    /// Where one ``publish(_:onReply:)`` stands.
    private struct Progress {
        /// The next lead never sent.
        var next = 0
        /// Indexes awaiting a reply, in send order.
        var inFlight: [Int] = []
        /// Refused for storage reasons: sent again after a pause.
        var retryLater: [Int] = []
        /// Timeouts in a row.
        var tries = 0
        var storageRounds = 0
        var deadline: ContinuousClock.Instant
        var done: Bool { next >= total && inFlight.isEmpty && retryLater.isEmpty }
        let total: Int
    }

    /// Sends every lead, calling `onReply(index, status)` once per lead as its final answer
    /// arrives (`storage_unavailable` rejections are retried, not final).
    public func publish(_ leads: [[UInt8]], onReply: (Int, IntakeStatus) -> Void) throws {
        var progress = Progress(deadline: ContinuousClock.now + timeout, total: leads.count)
        // Replies are matched by the lead_id they name: after the daemon restarts, the same
        // connection can carry replies to leads sent after the ones the old process lost.
        let leadIDs = leads.map { LeadParser.readableLeadID($0) }
        while !progress.done {
            if progress.inFlight.isEmpty && !progress.retryLater.isEmpty { try resendRefused(leads, &progress) }
            while progress.inFlight.count < window && progress.next < leads.count {
                try send(leads[progress.next])
                if progress.inFlight.isEmpty { progress.deadline = ContinuousClock.now + timeout }
                progress.inFlight.append(progress.next)
                progress.next += 1
            }
            guard !progress.inFlight.isEmpty else { continue }
            let waitMs = max(1, Int((progress.deadline - ContinuousClock.now) / .milliseconds(1)))
            let reply: [[UInt8]]?
            do { reply = try socket.receive(timeoutMilliseconds: waitMs) } catch {
                throw ClientError("intake at \(endpoint): \(error)")
            }
            if let frames = reply {
                take(frames.last ?? [], leadIDs: leadIDs, &progress, onReply: onReply)
            } else {
                try startOver(leads, &progress)
            }
        }
    }

    /// Sends the leads refused for storage reasons again, after a pause that grows to 2 s;
    /// gives up after as long as `retries` timeouts would take.
    private func resendRefused(_ leads: [[UInt8]], _ progress: inout Progress) throws {
        progress.storageRounds += 1
        if Double(progress.storageRounds) * 0.5 > Double(retries) * Double(timeout / .milliseconds(1)) / 1000 {
            throw ClientError("\(endpoint) keeps answering storage_unavailable: the daemon cannot store leads (disk full or read-only?); \(progress.retryLater.count) leads were not accepted")
        }
        Thread.sleep(forTimeInterval: min(2.0, 0.1 * Double(progress.storageRounds)))
        progress.inFlight = progress.retryLater
        progress.retryLater.removeAll()
        for index in progress.inFlight { try send(leads[index]) }
        progress.deadline = ContinuousClock.now + timeout
    }

    /// Lazy Pirate: the oldest request went unanswered. Start over on a new socket.
    private func startOver(_ leads: [[UInt8]], _ progress: inout Progress) throws {
        progress.tries += 1
        if progress.tries >= retries {
            throw ClientError("no reply from \(endpoint) after \(progress.tries) tries of \(timeout) each: is leadrouterd running with intake.bind \(endpoint)? \(progress.next - progress.inFlight.count) of \(leads.count) leads were acknowledged")
        }
        socket.close()
        socket = try dealer(context, connectedTo: endpoint, describing: endpoint, curve: curve, sendTimeout: timeout)
        stalled = false
        for index in progress.inFlight { try send(leads[index]) }
        progress.deadline = ContinuousClock.now + timeout
    }

    /// Takes one reply: final answers go to `onReply`, storage refusals wait for a retry.
    private func take(_ body: [UInt8], leadIDs: [String?], _ progress: inout Progress, onReply: (Int, IntakeStatus) -> Void) {
        let (status, repliedID) = ReliablePublisher.reply(body)
        // A reply naming no lead (its JSON was unreadable) answers the oldest; one naming a
        // lead no longer in flight (answered already, sent again) is stale.
        let inFlight = progress.inFlight
        guard let position = repliedID.map({ id in inFlight.firstIndex { leadIDs[$0] == id } }) ?? 0 else { return }
        progress.tries = 0
        let index = progress.inFlight.remove(at: position)
        progress.deadline = ContinuousClock.now + timeout
        if case .rejected(let code, _, _) = status, code == "storage_unavailable" {
            progress.retryLater.append(index)
        } else {
            onReply(index, status)
        }
    }

    /// Sends `lead`, unless this socket could not queue one within `timeout`: it then counts
    /// as sent and unanswered, and the next socket sends it again.
    private func send(_ lead: [UInt8]) throws {
        guard !stalled else { return }
        // An empty delimiter first, as a REQ socket would send: the daemon answers the same way.
        do { stalled = !(try socket.send([[], lead])) } catch {
            throw ClientError("sending to \(endpoint): \(error)")
        }
    }

    /// The status a reply gives, and the lead it names (`lead_id`, absent when the daemon
    /// could not read one).
    static func reply(_ reply: [UInt8]) -> (status: IntakeStatus, leadID: String?) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
              let status = object["status"] as? String
        else {
            return (.rejected(code: "bad_reply", field: nil, message: "unreadable reply: \(String(decoding: reply.prefix(200), as: UTF8.self))"), nil)
        }
        let leadID = object["lead_id"] as? String
        switch status {
        case "accepted": return (.accepted, leadID)
        case "duplicate": return (.duplicate, leadID)
        default:
            let error = object["error"] as? [String: Any]
            return (.rejected(code: error?["code"] as? String ?? "unknown", field: error?["field"] as? String, message: error?["message"] as? String ?? ""), leadID)
        }
    }

    public func close() { socket.close() }
}

/// A subscriber that never misses an envelope: it follows `seq` on each topic, fills any
/// gap (or a missed last message, revealed by a heartbeat) from the replay endpoint, and
/// remembers the last `seq` it delivered in a state file, so that after its own restart it
/// resumes exactly where it stopped.
public final class RecoveringSubscriber {
    public let topics: [String]
    private let subscriber: FeedSubscriber
    private let replayEndpoint: String
    private let curve: CurveClientKeys?
    private let statePath: String
    private let context: Context
    private var replay: Socket
    private let timeout: Duration
    private let retries: Int
    /// The last `seq` delivered on each topic.
    public private(set) var lastSeq: [String: Int]

    public init(feedEndpoint: String, replayEndpoint: String, topics: [String], statePath: String,
                timeout: Duration = .milliseconds(2500), retries: Int = 5, curve: CurveClientKeys? = nil) throws {
        guard !topics.isEmpty else { throw ClientError("--recover needs at least one --topic, such as partner/acme/") }
        for topic in topics where !topic.hasSuffix("/") {
            throw ClientError("--recover follows whole topics: \"\(topic)\" must end in /, such as partner/acme/")
        }
        self.topics = topics
        self.replayEndpoint = replayEndpoint
        self.curve = curve
        self.statePath = statePath
        self.timeout = timeout
        self.retries = retries
        lastSeq = try RecoveringSubscriber.loadState(statePath)
        for topic in topics where lastSeq[topic] == nil { lastSeq[topic] = 0 }
        subscriber = try FeedSubscriber(endpoint: feedEndpoint, topics: topics + topics.map(Heartbeat.topic(for:)), curve: curve)
        context = try Context()
        replay = try dealer(context, connectedTo: replayEndpoint, describing: "replay endpoint \(replayEndpoint)", curve: curve, sendTimeout: timeout)
    }

    /// Delivers every envelope after the saved position, in `seq` order per topic, calling
    /// `deliver(topic, envelope)` exactly once for each; the state file is updated after each.
    /// Returns when `shouldStop()` says so (checked at least every `idle`).
    public func run(idle: Duration = .milliseconds(500), shouldStop: () -> Bool, deliver: (String, [UInt8]) throws -> Void) throws {
        for topic in topics {
            try catchUp(topic, through: nil, shouldStop: shouldStop, deliver: deliver)
            if shouldStop() { return }
        }
        while !shouldStop() {
            guard let message = try subscriber.next(timeout: idle) else { continue }
            let isHeartbeat = message.topic.hasPrefix(Heartbeat.topicPrefix)
            let topic = isHeartbeat ? String(message.topic.dropFirst(Heartbeat.topicPrefix.count)) : message.topic
            guard topics.contains(topic) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(message.envelope)) as? [String: Any] else { continue }
            let last = lastSeq[topic] ?? 0
            if isHeartbeat {
                if let published = object["last_seq"] as? Int, published > last {
                    try catchUp(topic, through: published, shouldStop: shouldStop, deliver: deliver)
                }
                continue
            }
            guard let seq = object["seq"] as? Int, seq > last else { continue }
            if seq > last + 1 { try catchUp(topic, through: seq - 1, shouldStop: shouldStop, deliver: deliver) }
            if seq == (lastSeq[topic] ?? 0) + 1 {
                try deliver(topic, message.envelope)
                try record(topic, seq)
            }
        }
    }

    /// Replays `topic` from the last delivered `seq` up to `through` (nil: as far as the daemon has).
    private func catchUp(_ topic: String, through: Int?, shouldStop: () -> Bool, deliver: (String, [UInt8]) throws -> Void) throws {
        while !shouldStop() {
            let from = (lastSeq[topic] ?? 0) + 1
            if let through, from > through { return }
            let limit = through.map { min(1000, $0 - from + 1) } ?? 1000
            let (header, envelopes) = try request(topic: topic, fromSeq: from, limit: limit)
            var expected = from
            for envelope in envelopes {
                if shouldStop() { return }
                guard let object = try? JSONSerialization.jsonObject(with: Data(envelope)) as? [String: Any],
                      let seq = object["seq"] as? Int
                else { throw ClientError("replay of \(topic) returned an unreadable envelope") }
                if seq != expected {
                    // Pruned past retention: say so, and go on from what the daemon still has.
                    FileHandle.standardError.write(Data("leadctl: \(topic) envelopes \(expected)...\(seq - 1) are no longer stored (past retention)\n".utf8))
                }
                try deliver(topic, envelope)
                try record(topic, seq)
                expected = seq + 1
            }
            let topicLast = header["topic_last_seq"] as? Int ?? 0
            if envelopes.isEmpty {
                if let through, through > (lastSeq[topic] ?? 0), topicLast >= through {
                    // Nothing stored in the range any more (pruned): skip over it.
                    try record(topic, through)
                }
                return
            }
            if through == nil && (lastSeq[topic] ?? 0) >= topicLast { return }
        }
    }

    private func request(topic: String, fromSeq: Int, limit: Int) throws -> ([String: Any], [[UInt8]]) {
        let body = try JSONSerialization.data(withJSONObject: ["topic": topic, "from_seq": fromSeq, "limit": limit])
        for attempt in 1...retries {
            // Not queued within the timeout: as good as unanswered.
            let frames: [[UInt8]]?
            if try replay.send([[], [UInt8](body)]) {
                do { frames = try replay.receive(timeoutMilliseconds: Int(timeout / .milliseconds(1))) } catch {
                    throw ClientError("replay at \(replayEndpoint): \(error)")
                }
            } else {
                frames = nil
            }
            if let frames, frames.count >= 2 {
                let header = (try? JSONSerialization.jsonObject(with: Data(frames[1])) as? [String: Any]) ?? [:]
                if let error = header["error"] as? [String: Any] {
                    throw ClientError("replay of \(topic) refused: \(error["code"] ?? "?"): \(error["message"] ?? "")")
                }
                return (header, Array(frames.dropFirst(2)))
            }
            if attempt < retries {
                replay.close()
                replay = try dealer(context, connectedTo: replayEndpoint, describing: "replay endpoint \(replayEndpoint)", curve: curve, sendTimeout: timeout)
            }
        }
        throw ClientError("no reply from the replay endpoint \(replayEndpoint) after \(retries) tries: is leadrouterd running with replay.bind there?")
    }

    private func record(_ topic: String, _ seq: Int) throws {
        lastSeq[topic] = seq
        let data = try JSONSerialization.data(withJSONObject: ["topics": lastSeq], options: [.sortedKeys])
        do {
            try data.write(to: URL(fileURLWithPath: statePath), options: .atomic)
        } catch {
            throw ClientError("cannot write the state file \(statePath): \(error.localizedDescription)")
        }
    }

    static func loadState(_ path: String) throws -> [String: Int] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let topics = object["topics"] as? [String: Int]
        else {
            throw ClientError("the state file \(path) is not one leadctl wrote ({\"topics\": {\"partner/P/\": 17}}); fix or remove it")
        }
        return topics
    }
}

/// A DEALER socket connected to a ROUTER endpoint, closed at once on close (linger 0): the
/// request/reply clients make a new one for every Lazy Pirate retry. Its sends give up after
/// `sendTimeout` (the send then returns `false`): a DEALER with no connection to send on (one
/// refused at every handshake, say: a plaintext client of a CURVE endpoint) blocks a send
/// until it has one, and `leadctl publish --reliable` hung so instead of giving up after its
/// tries.
func dealer(_ context: Context, connectedTo endpoint: String, describing what: String, curve: CurveClientKeys?,
            sendTimeout: Duration) throws -> Socket {
    let socket = try Socket(context, type: .dealer)
    try socket.set(.linger, 0)
    try socket.set(.sendTimeout, Int(max(1, sendTimeout / .milliseconds(1))))
    try socket.connect(endpoint, curve: curve, describing: what)
    return socket
}
