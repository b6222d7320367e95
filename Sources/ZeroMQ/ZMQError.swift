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
    /// A signal interrupted the call. Only calls that choose not to retry (``Poller``) ever
    /// see this internally; it never reaches a caller.
    var isInterrupted: Bool { code == EINTR }

    /// `EAGAIN` for `operation`, for a call that must fail as libzmq would have (a frame
    /// after the first that could not be queued, a blocking receive whose timeout passed).
    static func wouldBlock(_ operation: String) -> ZMQError { ZMQError(code: EAGAIN, operation: operation) }
}

// MARK: - The one error path

/// Calls `body` (a libzmq or POSIX call returning -1 on failure), retrying while it fails
/// with `EINTR`, and maps any other failure to a ``ZMQError``. The one place errno is read
/// and `EINTR` is retried: every libzmq call in this module goes through it or through
/// ``zmqPointerCall(_:_:)``. Only calls that cannot fail are made directly: `zmq_msg_init`,
/// `zmq_msg_size`, `zmq_msg_data`, `zmq_msg_more`, `zmq_version`, `zmq_has`; and
/// `zmq_msg_gets`, whose `NULL` only means the connection has no such property.
///
/// - Parameter retryingInterrupts: `false` for a call that must return to its caller when a
///   signal arrives (`zmq_poll`, whose timeout would start over); it then throws a
///   ``ZMQError`` whose `isInterrupted` is true.
@inline(__always)
func zmqCall<Result: FixedWidthInteger & SignedInteger>(
    _ operation: @autoclosure () -> String,
    retryingInterrupts: Bool = true,
    _ body: () -> Result
) throws(ZMQError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = zmq_errno()
        if code == EINTR && retryingInterrupts { continue }
        throw ZMQError(code: code, operation: operation())
    }
}

/// ``zmqCall(_:retryingInterrupts:_:)`` for a call that may simply have nothing to do: `nil`
/// when it failed with `EAGAIN` (nothing waiting, no room, or a timeout passed).
@inline(__always)
func zmqCallUnlessWouldBlock<Result: FixedWidthInteger & SignedInteger>(
    _ operation: @autoclosure () -> String,
    _ body: () -> Result
) throws(ZMQError) -> Result? {
    do {
        return try zmqCall(operation(), body)
    } catch where error.isWouldBlock {
        return nil
    }
}

/// The error path for libzmq calls that return a pointer, `NULL` on failure
/// (`zmq_ctx_new`, `zmq_socket`, `zmq_msg_gets`, `zmq_z85_encode`, `zmq_z85_decode`).
@inline(__always)
func zmqPointerCall<Pointer>(
    _ operation: @autoclosure () -> String,
    _ body: () -> Pointer?
) throws(ZMQError) -> Pointer {
    while true {
        if let pointer = body() { return pointer }
        let code = zmq_errno()
        if code == EINTR { continue }
        throw ZMQError(code: code, operation: operation())
    }
}
