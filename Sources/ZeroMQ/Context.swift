internal import CZeroMQ

/// A libzmq context: owns the I/O threads. Safe to share between threads (libzmq
/// contexts are thread-safe); sockets made from it are not.
///
/// ### In-process endpoints
/// Sockets of one context reach each other over `inproc://name` with no I/O thread and
/// no kernel in between: tests and in-process parts (a ZAP handler, a wake-up pair) use
/// it. The name is visible only inside this context; a socket of another context cannot
/// connect to it. Since libzmq 4.0 either side may come first: a connect to a name not
/// yet bound waits for the bind.
///
/// ### Security
/// A CURVE server asks this context's ZAP handler, the socket bound at ``ZAP/endpoint``,
/// whether to accept each client; with none bound, libzmq 4.3 accepts any client key.
/// Bind the handler before any server socket binds (see `ZAP.swift`).
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// - Parameter ioThreads: libzmq background I/O threads.
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        let handle = try zmqPointerCall("zmq_ctx_new") { zmq_ctx_new() }
        do {
            try Context.set(handle, ZMQ_IO_THREADS, ioThreads, "ZMQ_IO_THREADS")
            // LeadRouter handles SIGINT/SIGTERM itself; libzmq must not block them.
            try Context.set(handle, ZMQ_BLOCKY, 0, "ZMQ_BLOCKY")
            // Copy each received message out of libzmq's read buffer. With zero-copy receive
            // (the default) a queued message pins its whole ~8 KB read buffer: leads arriving
            // one by one at 10,000/s then cost ~10 KB each while they wait in a queue, not ~1 KB.
            try Context.set(handle, Context.zeroCopyReceive, 0, "ZMQ_ZERO_COPY_RECV")
        } catch {
            _ = try? zmqCall("zmq_ctx_term") { zmq_ctx_term(handle) }
            throw error
        }
        self.handle = handle
    }

    /// `ZMQ_ZERO_COPY_RECV`, a draft context option (so not in the stable header) that
    /// libzmq 4.3 honours.
    static let zeroCopyReceive: Int32 = 10

    private static func set(_ handle: UnsafeMutableRawPointer, _ option: Int32, _ value: Int32, _ name: String) throws(ZMQError) {
        _ = try zmqCall("zmq_ctx_set \(name)") { zmq_ctx_set(handle, option, value) }
    }

    /// Makes every blocking call on this context's sockets fail with `ETERM`, so the
    /// threads that own them can close them. Safe from any thread.
    public func shutdown() {
        _ = try? zmqCall("zmq_ctx_shutdown") { zmq_ctx_shutdown(handle) }
    }

    deinit {
        // Every socket holds a strong reference to its context, so by now they are all
        // closed. zmqCall retries the EINTR a signal may cause.
        _ = try? zmqCall("zmq_ctx_term") { zmq_ctx_term(handle) }
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
