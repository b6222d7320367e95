import Foundation
import LeadRouting
import LeadStore
import Logging
import Synchronization
import ZeroMQ

/// Run-time registrations, heartbeats on idle topics, and replay.
extension RoutingLoop {
    // MARK: - Registrations

    /// Picks up deal registrations added at run time (`leadctl register`), once a second.
    func reloadRegistrationsIfChanged(state: inout LoopState) {
        let now = ContinuousClock.now
        guard now - state.lastRegistrationsCheck >= .seconds(1) else { return }
        state.lastRegistrationsCheck = now
        do {
            let version = try store.registrationsVersion()
            guard version != state.registrationsVersion else { return }
            let added = try store.registrations()
            state.pipeline.setRegistrations(added, config: config)
            state.registrationsVersion = version
            logger.notice("deal registrations reloaded", metadata: ["run_time_registrations": "\(added.count)"])
        } catch {
            logger.warning("could not reload registrations; keeping the current ones", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Heartbeats

    /// Every idle topic's heartbeat topic (`heartbeat/<topic>`) gets
    /// `{"type":"heartbeat","topic":…,"last_seq":…}` about once per `publish.heartbeat_ms`,
    /// so a subscriber that asks for heartbeats learns of a missed last message.
    ///
    /// The topics are looked at a slice per pass of the loop, in turn, each about four times
    /// per `heartbeat_ms`: with thousands of partner topics, checking (and sending to) them all
    /// at once would hold up routing for milliseconds.
    func sendHeartbeats(_ publish: Socket, state: inout LoopState) {
        let now = ContinuousClock.now
        let every = Duration.milliseconds(config.publish.heartbeatMilliseconds)
        let count = state.topicOrder.count
        guard count > 0 else { return }
        let elapsed = now - state.lastHeartbeatPass
        let due = Int((Double(count) * 4 * (elapsed / every)).rounded(.up))
        guard due > 0 else { return }
        state.lastHeartbeatPass = now
        let sentAt = Timestamp.rfc3339(millisecondsSince1970: RoutingLoop.nowMilliseconds())
        for _ in 0..<min(count, due) {
            let topic = state.topicOrder[state.heartbeatCursor]
            state.heartbeatCursor = (state.heartbeatCursor + 1) % count
            if let last = state.lastActivity[topic], now - last < every { continue }
            let body = Heartbeat.envelope(topic: topic, lastSeq: state.published[topic] ?? 0, sentAt: sentAt)
            do {
                try publish.send([Array(Heartbeat.topic(for: topic).utf8), body], wait: false)
            } catch {
                logger.warning("heartbeat failed", metadata: ["topic": "\(topic)", "error": "\(error)"])
            }
            state.lastActivity[topic] = now
        }
    }

    // MARK: - Replay

    func answerReplays(_ socket: Socket, state: inout LoopState) {
        for _ in 0..<64 {
            guard let message = receive(socket, copyLimit: 4096, name: "replay") else { return }
            let (route, payload) = RoutingLoop.splitRoute(message.frames)
            guard !route.isEmpty else { continue }
            let reply: [[UInt8]]
            switch ReplayRequest.parse(payload.map(\.bytes), maxLimit: config.replay.maxLimit) {
            case .failure(let error):
                reply = [error.json]
            case .success(let request):
                if !state.feedTopics.contains(request.topic) {
                    reply = [ReplayError(code: "unknown_topic", message: "no feed topic \(request.topic); topics look like partner/<id>/, vendor-sales/, nurture/, rejected/").json]
                } else {
                    do {
                        // Only what was published: later envelopes may not be on disk yet.
                        let envelopes = try store.envelopes(
                            topic: request.topic, fromSeq: request.fromSeq, limit: request.limit,
                            throughSeq: state.published[request.topic] ?? 0)
                        let header = ReplayRequest.header(request, envelopes: envelopes, topicLastSeq: state.published[request.topic] ?? 0)
                        reply = [header] + envelopes.map(\.envelope)
                    } catch {
                        reply = [ReplayError(code: "storage_unavailable", message: error.description).json]
                    }
                }
            }
            sendReply(route, reply, on: socket)
        }
    }
}
