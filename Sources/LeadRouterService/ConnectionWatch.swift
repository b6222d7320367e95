import LeadRouting
import Logging
import ZeroMQ

/// Watches the connections of the inbound sockets (ingest, intake, control) and logs each one
/// that ends, with the endpoint and the peer's address, at most ``logsPerWindow`` a minute per
/// socket (then one line for the rest). libzmq ends a connection that sends a message above
/// the socket's hard cap (`ZMQ_MAXMSGSIZE`) without a word, and its queued messages with it;
/// libzmq 4.3.4 reports that as a plain disconnect, so each disconnect is logged as one that
/// may have been that.
final class ConnectionWatch {
    struct Watched {
        let channel: InboundChannel
        let monitor: SocketMonitor
        /// The hard cap on a message, for the log line.
        let maxMessageBytes: Int
        var disconnects = 0
        var windowStart: ContinuousClock.Instant?
        var loggedInWindow = 0
        var quietInWindow = 0
    }

    static let logsPerWindow = 5
    static let window = Duration.seconds(60)
    private var watched: [Watched] = []
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The monitors' sockets, polled with the rest.
    var polled: [Socket] { watched.map(\.monitor.socket) }

    /// Disconnects seen so far on `channel`.
    func disconnects(_ channel: InboundChannel) -> Int {
        watched.first { $0.channel == channel }?.disconnects ?? 0
    }

    func watch(_ socket: Socket, _ channel: InboundChannel, maxMessageBytes: Int, context: Context) throws {
        let name = "\(channel.rawValue)-\(UInt(bitPattern: ObjectIdentifier(socket).hashValue))"
        watched.append(Watched(channel: channel, monitor: try SocketMonitor(socket, context: context, name: name),
                               maxMessageBytes: maxMessageBytes))
    }

    /// Reads every event waiting and logs the disconnects (rate-limited).
    func report(now: ContinuousClock.Instant) {
        for i in watched.indices {
            while let event = nextEvent(i) {
                guard event.kind == .disconnected else { continue }
                watched[i].disconnects += 1
                log(event, &watched[i], now: now)
            }
        }
    }

    private func nextEvent(_ i: Int) -> ConnectionEvent? {
        do { return try watched[i].monitor.next() } catch {
            logger.error("\(watched[i].channel.rawValue) connection monitor failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func log(_ event: ConnectionEvent, _ entry: inout Watched, now: ContinuousClock.Instant) {
        if let start = entry.windowStart, now - start < ConnectionWatch.window {
            if entry.loggedInWindow >= ConnectionWatch.logsPerWindow {
                entry.quietInWindow += 1
                return
            }
        } else {
            if entry.quietInWindow > 0 {
                logger.notice("\(entry.channel.rawValue) connections ended unlogged in the last minute", metadata: [
                    "count": "\(entry.quietInWindow)", "disconnects": "\(entry.disconnects)",
                ])
            }
            entry.windowStart = now
            entry.loggedInWindow = 0
            entry.quietInWindow = 0
        }
        entry.loggedInWindow += 1
        logger.notice("\(entry.channel.rawValue) peer disconnected (or was dropped by libzmq for a message above \(entry.maxMessageBytes) bytes)", metadata: [
            "endpoint": "\(event.endpoint)", "peer": "\(event.peer ?? "-")", "disconnects": "\(entry.disconnects)",
        ])
    }

    func close() {
        for entry in watched { entry.monitor.close() }
    }
}
