import LeadRouting
import Logging
import ZeroMQ

/// Watches the connections of the daemon's server sockets (ingest, intake, control and the
/// feed on the routing thread; replay on its own) and logs what a client cannot see for itself:
///
/// - **A connection refused at its handshake** on a protocol error: a plaintext client on a
///   CURVE endpoint (or the reverse), a CURVE client holding another server key, or something
///   that does not speak ZeroMQ at all. libzmq refuses those before any key reaches the ZAP
///   handler (which logs and counts the unknown keys itself), so without this they would pass
///   unseen. Each is logged as `connection refused at the handshake`, the line the ZAP handler
///   writes, with the peer's address, and with CURVE counted in `leadrouter_auth_failures_total`.
/// - **A connection that ends** on the inbound sockets: libzmq ends one that sends a message
///   above the socket's hard cap (`ZMQ_MAXMSGSIZE`) without a word, and its queued messages
///   with it; libzmq 4.3.4 reports that as a plain disconnect, so each disconnect is logged as
///   one that may have been that. (Subscribers leaving the feed are not logged.)
///
/// At most ``logsPerWindow`` lines a minute per socket, then one line for the rest.
final class ConnectionWatch {
    struct Watched {
        let endpoint: Grants.Endpoint
        let monitor: SocketMonitor
        /// The hard cap on a message, for the log line; `nil`: disconnects are not logged.
        let maxMessageBytes: Int?
        var disconnects = 0
        var refusals = 0
        /// A handshake refused whose connection's end (which names the peer) has not come yet.
        var refusedPending: ConnectionEvent.HandshakeFailure?
        var windowStart: ContinuousClock.Instant?
        var loggedInWindow = 0
        var quietInWindow = 0
    }

    static let logsPerWindow = 5
    static let window = Duration.seconds(60)
    private var watched: [Watched] = []
    private var monitors = 0
    private let logger: Logger
    /// With CURVE: handshake refusals are counted as authentication failures.
    private let curve: Bool
    private let metrics: RouterMetrics?

    init(logger: Logger, curve: Bool = false, metrics: RouterMetrics? = nil) {
        self.logger = logger
        self.curve = curve
        self.metrics = metrics
    }

    /// The monitors' sockets, polled with the rest.
    var polled: [Socket] { watched.map(\.monitor.socket) }

    /// Disconnects and handshake refusals seen so far on `endpoint`'s socket.
    func counts(_ endpoint: Grants.Endpoint) -> (disconnects: Int, refusals: Int) {
        watched.first { $0.endpoint == endpoint }.map { ($0.disconnects, $0.refusals) } ?? (0, 0)
    }

    /// Watches `socket`, the one serving `endpoint`, in place of any watched before for it (the
    /// feed's socket is made anew when it is rebuilt). `maxMessageBytes`: the socket's hard cap,
    /// for the disconnect lines; `nil` logs no disconnects.
    func watch(_ socket: Socket, _ endpoint: Grants.Endpoint, maxMessageBytes: Int?, context: Context) throws(ZMQError) {
        monitors += 1
        let monitor = try SocketMonitor(socket, context: context, name: "\(endpoint.rawValue)-\(monitors)")
        let entry = Watched(endpoint: endpoint, monitor: monitor, maxMessageBytes: maxMessageBytes)
        if let i = watched.firstIndex(where: { $0.endpoint == endpoint }) {
            watched[i].monitor.close()
            watched[i] = entry
        } else {
            watched.append(entry)
        }
    }

    /// Reads every event waiting and logs the refusals and disconnects (rate-limited).
    func report(now: ContinuousClock.Instant) {
        for i in watched.indices {
            while let event = nextEvent(i) {
                switch event.kind {
                case .accepted:
                    continue
                case .handshakeFailed(let failure):
                    watched[i].refusals += 1
                    if curve { metrics?.recordAuthFailure(endpoint: watched[i].endpoint.rawValue) }
                    // Logged with the connection's end, which libzmq reports next with the peer.
                    if let earlier = watched[i].refusedPending { log(refusal: earlier, event, &watched[i], now: now) }
                    watched[i].refusedPending = failure
                case .disconnected:
                    if let failure = watched[i].refusedPending {
                        watched[i].refusedPending = nil
                        log(refusal: failure, event, &watched[i], now: now)
                    } else if let cap = watched[i].maxMessageBytes {
                        watched[i].disconnects += 1
                        if take(&watched[i], now: now) {
                            logger.notice("\(watched[i].endpoint.rawValue) peer disconnected (or was dropped by libzmq for a message above \(cap) bytes)", metadata: [
                                "endpoint": "\(event.endpoint)", "peer": "\(event.peer ?? "-")", "disconnects": "\(watched[i].disconnects)",
                            ])
                        }
                    }
                }
            }
        }
    }

    private func nextEvent(_ i: Int) -> ConnectionEvent? {
        do { return try watched[i].monitor.next() } catch {
            logger.error("\(watched[i].endpoint.rawValue) connection monitor failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func log(refusal: ConnectionEvent.HandshakeFailure, _ event: ConnectionEvent, _ entry: inout Watched, now: ContinuousClock.Instant) {
        guard take(&entry, now: now) else { return }
        logger.warning("connection refused at the handshake", metadata: [
            "reason": "\(ConnectionWatch.describe(refusal, curve: curve))", "endpoint": "\(entry.endpoint.rawValue)",
            "bound": "\(event.endpoint)", "peer_address": "\(event.peer ?? "-")", "refusals": "\(entry.refusals)",
        ])
    }

    static func describe(_ failure: ConnectionEvent.HandshakeFailure, curve: Bool) -> String {
        switch failure {
        case .mechanismMismatch where curve:
            "the client did not offer CURVE (a plaintext client, or one without the server's key set): every endpoint needs CURVE"
        case .mechanismMismatch:
            "the client offered a security mechanism (CURVE?) this endpoint does not use: security.mode is none"
        case .cryptographic:
            "the client's CURVE handshake could not be decrypted: it holds another server public key than this daemon's"
        case .other(let code?):
            "a ZMTP protocol error (libzmq code 0x\(String(UInt32(bitPattern: code), radix: 16))): not a ZeroMQ client, or an incompatible one"
        case .other(nil):
            "the handshake failed (libzmq gave no detail)"
        }
    }

    /// Whether a line may be logged now; when not, it is counted for the window's summary.
    private func take(_ entry: inout Watched, now: ContinuousClock.Instant) -> Bool {
        if let start = entry.windowStart, now - start < ConnectionWatch.window {
            if entry.loggedInWindow >= ConnectionWatch.logsPerWindow {
                entry.quietInWindow += 1
                return false
            }
        } else {
            if entry.quietInWindow > 0 {
                logger.notice("\(entry.endpoint.rawValue) connections refused or ended unlogged in the last minute", metadata: [
                    "count": "\(entry.quietInWindow)", "disconnects": "\(entry.disconnects)", "refusals": "\(entry.refusals)",
                ])
            }
            entry.windowStart = now
            entry.loggedInWindow = 0
            entry.quietInWindow = 0
        }
        entry.loggedInWindow += 1
        return true
    }

    func close() {
        for entry in watched { entry.monitor.close() }
    }
}
