internal import CZeroMQ
import Glibc

/// What a monitored socket reports about its connections (`zmq_socket_monitor`): one
/// connection accepted, refused at its handshake, or ended, with the socket's endpoint and,
/// when it could be read, the peer's address.
public struct ConnectionEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case accepted
        /// The ZMTP handshake failed on a protocol error (`ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`,
        /// with libzmq's code) or without detail (`nil`); libzmq then ends the connection. A
        /// ZAP refusal (an unknown CURVE key) is not one: the ZAP handler sees those.
        case handshakeFailed(HandshakeFailure)
        case disconnected
    }

    /// Why a handshake failed, as far as libzmq says.
    public enum HandshakeFailure: Sendable, Equatable {
        /// The peer offered another security mechanism: a plaintext client on a CURVE
        /// endpoint, or a CURVE client on a plaintext one.
        case mechanismMismatch
        /// A CURVE handshake that could not be decrypted: the client holds another server key.
        case cryptographic
        /// Another ZMTP protocol error (libzmq's `ZMQ_PROTOCOL_ERROR_*` code), or none given.
        case other(code: Int32?)
    }

    public var kind: Kind
    /// The monitored socket's endpoint the connection came in on (`tcp://127.0.0.1:5560`).
    public var endpoint: String
    /// The peer's address (`127.0.0.1:41822`), read when the connection was accepted.
    public var peer: String?
}

/// Watches the connections of one socket: libzmq publishes the socket's events on an inproc
/// PAIR, which this reads. Poll ``socket`` with the monitored socket, on the same thread.
///
/// libzmq 4.3.4 ends a connection that sends a message above `ZMQ_MAXMSGSIZE` with a plain
/// `ZMQ_EVENT_DISCONNECTED` (the decoder's error is a protocol error, signalled by no event of
/// its own), so a disconnect cannot be told apart by cause.
public final class SocketMonitor {
    /// The PAIR the events arrive on.
    public let socket: Socket
    /// Peer addresses by the connection's file descriptor, kept from accept to disconnect.
    private var peers: [Int32: String] = [:]
    /// The socket watched, whose events stop before the reader closes.
    private let monitored: Socket

    /// - Parameter name: unique among the context's monitors: the inproc endpoint's name.
    public init(_ monitored: Socket, context: Context, name: String) throws(ZMQError) {
        let endpoint = "inproc://monitor-\(name)"
        let events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
        self.monitored = monitored
        socket = try Socket(context, type: .pair)
        try socket.set(.linger, 0)
        // No limit on events waiting: libzmq's I/O thread sends them without a timeout, so at
        // a limit it would wait for the reader (a burst of connections while the reader's
        // thread is busy) and every connection of the context with it. Events are small, and
        // the reader takes them all each time it looks.
        try socket.set(.receiveHighWaterMark, 0)
        _ = try zmqCall("zmq_socket_monitor \(endpoint)") { zmq_socket_monitor(monitored.handle, endpoint, events) }
        monitored.monitored = true
        do { try socket.connect(endpoint) } catch {
            monitored.stopMonitor()
            throw error
        }
    }

    /// The next event waiting, without blocking; `nil` when none waits.
    public func next() throws(ZMQError) -> ConnectionEvent? {
        while let frames = try socket.receive(wait: false) {
            guard frames.count == 2, frames[0].count >= 6 else { continue }
            let event = UInt16(frames[0][0]) | UInt16(frames[0][1]) << 8
            let value = frames[0][2...5].reversed().reduce(Int32(0)) { $0 << 8 | Int32($1) }
            let endpoint = String(decoding: frames[1], as: UTF8.self)
            switch Int32(event) {
            case ZMQ_EVENT_ACCEPTED:
                let peer = SocketMonitor.peerAddress(value)
                if let peer { peers[value] = peer }
                return ConnectionEvent(kind: .accepted, endpoint: endpoint, peer: peer)
            case ZMQ_EVENT_DISCONNECTED:
                return ConnectionEvent(kind: .disconnected, endpoint: endpoint, peer: peers.removeValue(forKey: value))
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
                let failure: ConnectionEvent.HandshakeFailure = switch value {
                case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: .mechanismMismatch
                case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: .cryptographic
                default: .other(code: value)
                }
                return ConnectionEvent(kind: .handshakeFailed(failure), endpoint: endpoint, peer: nil)
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
                return ConnectionEvent(kind: .handshakeFailed(.other(code: nil)), endpoint: endpoint, peer: nil)
            default:
                continue
            }
        }
        return nil
    }

    /// The address at the other end of a connected socket, `host:port` (`[host]:port` for IPv6);
    /// `nil` for a socket without one (ipc, or already closed).
    static func peerAddress(_ fd: Int32) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let found = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &port, socklen_t(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard found == 0 else { return nil }
        let hostText = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let portText = String(decoding: port.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return hostText.contains(":") ? "[\(hostText)]:\(portText)" : "\(hostText):\(portText)"
    }

    /// Stops the watched socket's events (unless it is closed, which stopped them), then
    /// closes the reader: in that order, no event is ever sent to a reader that is gone.
    public func close() {
        monitored.stopMonitor()
        socket.close()
    }

    deinit { close() }
}
