import Synchronization
import Testing
import ZeroMQ

@Suite("Socket monitors")
struct SocketMonitorTests {
    /// A ROUTER bound on loopback, monitored, and a DEALER's round trip to it.
    /// Unchecked: each test uses its own on one thread; only a stuck one is handed on, never used again.
    final class Server: @unchecked Sendable {
        let context: Context
        let router: Socket
        let monitor: SocketMonitor
        let endpoint: String

        init(curve: CurveKeyPair? = nil) throws {
            context = try Context()
            router = try Socket(context, type: .router)
            try router.set(.linger, 0)
            if let curve { try router.makeCurveServer(secretKey: curve.secretKey, zapDomain: "test") }
            monitor = try SocketMonitor(router, context: context, name: "test-\(UInt.random(in: 0...UInt.max))")
            try router.bind("tcp://127.0.0.1:*")
            endpoint = try router.lastEndpoint
        }

        /// One request from a new DEALER answered, within `timeout` ms; the DEALER then closed.
        func roundTrip(timeout: Int = 5000) throws -> Bool {
            let client = try Socket(context, type: .dealer)
            defer { client.close() }
            try client.set(.linger, 0)
            try client.connect(endpoint)
            guard try client.send(Array("ping".utf8), wait: false), let request = try router.receive(timeoutMilliseconds: timeout), let identity = request.first else { return false }
            try router.send([identity, Array("pong".utf8)])
            return try client.receive(timeoutMilliseconds: timeout) != nil
        }

        func events() throws -> [ConnectionEvent] {
            var all: [ConnectionEvent] = []
            while let event = try monitor.next() { all.append(event) }
            return all
        }

        deinit {
            monitor.close()
            router.close()
        }
    }

    @Test("connections accepted and ended are reported, with the peer's address read while it is connected")
    func acceptedAndEnded() throws {
        let server = try Server()
        let client = try Socket(server.context, type: .dealer)
        try client.set(.linger, 0)
        try client.connect(server.endpoint)
        try client.send(Array("ping".utf8))
        #expect(try server.router.receive(timeoutMilliseconds: 5000) != nil)
        var seen = try server.events()
        #expect(seen.map(\.kind) == [.accepted], "\(seen)")
        #expect(seen.first?.peer?.hasPrefix("127.0.0.1:") == true && seen.first?.endpoint == server.endpoint, "\(seen)")
        client.close()
        for _ in 0..<500 where !seen.contains(where: { $0.kind == .disconnected }) {
            seen += try server.events()
            _ = try server.router.receive(timeoutMilliseconds: 10)
        }
        #expect(seen.map(\.kind) == [.accepted, .disconnected], "\(seen)")
        #expect(seen.last?.peer == seen.first?.peer, "\(seen)")
    }

    @Test("a plaintext client on a CURVE socket is reported as a handshake refused: the mechanisms differ")
    func plaintextOnCurve() throws {
        let server = try Server(curve: try CurveKeyPair.generate())
        let client = try Socket(server.context, type: .dealer)
        defer { client.close() }
        try client.set(.linger, 0)
        try client.connect(server.endpoint)
        var seen: [ConnectionEvent] = []
        for _ in 0..<500 where !seen.contains(where: { $0.kind == .disconnected }) {
            seen += try server.events()
            _ = try server.router.receive(timeoutMilliseconds: 10)
        }
        // Refused, then ended: what the daemon logs as one refusal.
        #expect(seen.map(\.kind).suffix(2) == [.handshakeFailed(.mechanismMismatch), .disconnected], "\(seen)")
    }

    @Test("a monitor closed while its socket still has connections: their ends hold up nothing", arguments: 0..<3)
    func closedWhileConnected(round: Int) throws {
        let server = try Server()
        var clients: [Socket] = []
        for _ in 0..<20 {
            let client = try Socket(server.context, type: .dealer)
            try client.set(.linger, 0)
            try client.connect(server.endpoint)
            try client.send(Array("ping".utf8))
            clients.append(client)
        }
        for _ in clients { #expect(try server.router.receive(timeoutMilliseconds: 5000) != nil) }
        server.monitor.close()
        // Each connection's end is an event libzmq's I/O thread would send to the reader that
        // is gone, waiting for good (and every socket of the context with it).
        for client in clients { client.close() }
        let answered = try (0..<5).filter { _ in try server.roundTrip(timeout: 2000) }.count
        #expect(answered == 5)
        // A context whose I/O thread waits for good could not be ended either (ending it
        // waits for that thread): on failure it is left, so the test fails rather than hangs.
        if answered < 5 { SocketMonitorTests.stuck.withLock { $0.append(server) } }
    }

    static let stuck = Mutex<[Server]>([])

    @Test("events left unread never hold up libzmq's I/O thread: thousands of connections later, the socket still answers")
    func unreadEventsDoNotBlock() throws {
        let server = try Server()
        // Each connection is two events; libzmq's I/O thread sends them without a timeout,
        // so with the default limits (1,000 each side) it would wait for the reader after
        // 2,000 and serve nothing more.
        var answered = 0
        for _ in 0..<1_500 {
            guard try server.roundTrip() else { break }
            answered += 1
        }
        #expect(answered == 1_500)
        #expect(try server.events().count >= 2_000)
    }
}
