internal import CZeroMQ

/// A libzmq context: owns the I/O threads. Safe to share between threads (libzmq
/// contexts are thread-safe); sockets made from it are not.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// - Parameter ioThreads: libzmq background I/O threads.
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError(code: zmq_errno(), operation: "zmq_ctx_new")
        }
        self.handle = handle
        _ = zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
        // LeadRouter handles SIGINT/SIGTERM itself; libzmq must not block them.
        _ = zmq_ctx_set(handle, ZMQ_BLOCKY, 0)
        // Copy each received message out of libzmq's read buffer. With zero-copy receive (the
        // default) a queued message pins its whole ~8 KB read buffer: leads arriving one by
        // one at 10,000/s then cost ~10 KB each while they wait in a queue, not ~1 KB.
        _ = zmq_ctx_set(handle, Context.zeroCopyReceive, 0)
    }

    /// `ZMQ_ZERO_COPY_RECV`, a draft context option (so not in the stable header) that
    /// libzmq 4.3 honours.
    static let zeroCopyReceive: Int32 = 10

    /// Makes every blocking call on this context's sockets fail with `ETERM`, so the
    /// threads that own them can close them. Safe from any thread.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    deinit {
        // Every socket holds a strong reference to its context, so by now they are all closed.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR_VALUE {}
    }

    /// The linked libzmq version, such as (4, 3, 4).
    public static var libraryVersion: (major: Int32, minor: Int32, patch: Int32) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (major, minor, patch)
    }

    /// Whether libzmq was built with CURVE security.
    public static var hasCurve: Bool { zmq_has("curve") != 0 }
}

#if canImport(Glibc)
internal import Glibc
let EINTR_VALUE = EINTR
#else
internal import Darwin
let EINTR_VALUE = EINTR
#endif
