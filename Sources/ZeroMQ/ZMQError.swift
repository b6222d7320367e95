internal import CZeroMQ
#if canImport(Glibc)
internal import Glibc
#endif

/// A failed libzmq call: which operation, the errno it set, and libzmq's text for it.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errno value libzmq reported (`EAGAIN`, `EADDRINUSE`, `ETERM`, ...).
    public let code: Int32
    /// What was being done, such as `bind tcp://127.0.0.1:5550`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// libzmq's description of ``code``.
    public var message: String { String(cString: zmq_strerror(code)) }

    public var description: String { "\(operation): \(message) (errno \(code))" }

    /// The context was terminated: the socket must be closed.
    public var isContextTerminated: Bool { code == ETERM }
    /// A non-blocking call would have blocked, or a timeout passed.
    public var isWouldBlock: Bool { code == EAGAIN }
    /// The address is already in use (bind).
    public var isAddressInUse: Bool { code == EADDRINUSE }
}

/// Calls `body` (a libzmq or POSIX call returning -1 on failure), retrying while it fails
/// with `EINTR`, and maps any other failure to a ``ZMQError``. The one place errno is read.
@inline(__always)
func zmqCall(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = zmq_errno()
        if code == EINTR { continue }
        throw ZMQError(code: code, operation: operation())
    }
}
