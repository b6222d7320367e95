import Foundation
import LeadRouting
import LeadStore
import Logging
import Synchronization
import ZeroMQ

/// The ZAP handler: with `security.mode: curve`, libzmq asks it about every handshake on
/// every endpoint, and it accepts a client only if its key is configured and its role may
/// use that endpoint (``Grants/allows(_:on:)``). The ``ConnectionIdentity`` (principal and
/// key) then rides on every message of the connection as its `User-Id`, where the loop,
/// replay and control read it.
///
/// libzmq 4.3.4 accepts any key when no handler answers, so this one is bound at
/// `inproc://zeromq.zap.01` before any server socket binds, on a thread of its own (a
/// handshake never waits for a batch). Refusals are logged, at most ``logsPerSecond`` a
/// second, with the key (a public key: safe to log), the endpoint and the peer's address.
final class ZAPServer: Sendable {
    private let worker: WorkerThread
    private let stopping = Atomic(false)
    private let keys: LiveKeys
    private let logger: Logger
    private let limiter = Mutex(LogLimiter())
    /// Counts each refusal (`leadrouter_auth_failures_total`); refusals are rare, so directly.
    private let metrics: RouterMetrics?

    static let logsPerSecond = 10

    /// - Parameter keys: the keys in force, which a reload replaces: later handshakes are
    ///   judged by the new ones.
    init(keys: LiveKeys, logger: Logger, metrics: RouterMetrics? = nil) {
        self.keys = keys
        self.logger = logger
        self.metrics = metrics
        worker = WorkerThread(label: "lr-zap")
    }

    /// Binds the handler in `context` (on its thread, which alone uses the socket) and
    /// serves until ``stop()``.
    func start(context: Context) throws {
        let holder = SocketHolder()
        worker.start {
            do throws(ZMQError) {
                let socket = try Socket(context, type: .rep)
                try socket.set(.linger, 0)
                try socket.bind(ZAP.endpoint)
                holder.socket = socket
                return .success(())
            } catch {
                return .failure(StoreError(.other, error.message))
            }
        }
        if case .failure(let error) = worker.waitForResult() {
            worker.stop()
            throw StartupError("cannot start the ZAP handler (CURVE authentication) at \(ZAP.endpoint): \(error)")
        }
        worker.start { [self] in
            if let socket = holder.socket { serve(socket) }
            return .success(())
        }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        _ = worker.waitForResult()
        worker.stop()
    }

    private func serve(_ socket: Socket) {
        defer { socket.close() }
        while !stopping.load(ordering: .acquiring) {
            guard let frames = try? socket.receive(timeoutMilliseconds: 100) else { continue }
            guard let request = ZAPRequest(frames: frames) else {
                // Not ZAP 1.0: answer nothing valid, and libzmq refuses the connection.
                _ = try? socket.send([Array(ZAP.version.utf8), [], Array("400".utf8), Array("bad request".utf8), [], []])
                continue
            }
            _ = try? socket.send(judge(request).frames)
        }
    }

    /// Accepts a configured key whose role may use the request's endpoint.
    func judge(_ request: ZAPRequest) -> ZAPReply {
        let endpoint = Grants.Endpoint(rawValue: request.domain)
        guard let key = request.curveClientKey else {
            return refuse(request, "not CURVE", key: nil)
        }
        guard let principal = keys.principal(for: key.z85) else {
            return refuse(request, "unknown key", key: key)
        }
        guard let endpoint, Grants.allows(principal, on: endpoint) else {
            return refuse(request, "\(principal.userID) may not use \(request.domain)", key: key)
        }
        return ZAPReply.accept(request, userID: ConnectionIdentity(principal: principal, key: key.z85).userID)
    }

    private func refuse(_ request: ZAPRequest, _ why: String, key: CurveKey?) -> ZAPReply {
        metrics?.recordAuthFailure(endpoint: request.domain)
        let suppressed = limiter.withLock { $0.take(now: ContinuousClock.now, perSecond: ZAPServer.logsPerSecond) }
        if let suppressed {
            logger.warning("connection refused at the handshake", metadata: [
                "reason": "\(why)", "endpoint": "\(request.domain)", "peer_address": "\(request.address.isEmpty ? "-" : request.address)",
                "public_key": "\(key?.z85 ?? "-")", "mechanism": "\(request.mechanism)",
                "suppressed_before": "\(suppressed)",
            ])
        }
        return ZAPReply.refuse(request, statusText: why)
    }
}

/// A socket handed from one job of a worker thread to the next (both on that thread).
private final class SocketHolder: @unchecked Sendable {
    var socket: Socket?
}

/// At most N log lines a second; counts what it held back.
struct LogLimiter {
    private var windowStart: ContinuousClock.Instant?
    private var inWindow = 0
    private var suppressed = 0

    /// `nil` when this line must be held back; else how many were held back before it.
    mutating func take(now: ContinuousClock.Instant, perSecond: Int) -> Int? {
        if windowStart.map({ now - $0 >= .seconds(1) }) ?? true {
            windowStart = now
            inWindow = 0
        }
        inWindow += 1
        guard inWindow <= perSecond else {
            suppressed += 1
            return nil
        }
        defer { suppressed = 0 }
        return suppressed
    }
}
