/// Keeps leadctl's ZeroMQ clients alive until the process exits, so their contexts are never
/// terminated: a one-shot command has nothing to clean up that exiting does not. libzmq 4.3
/// can hang in `zmq_ctx_term` after a handshake the server refused (a CURVE key it does not
/// know; libzmq issue #2733, "test_security_curve/zap hang on slow machines"), and did here:
/// under load, `leadctl publish --reliable` with a stranger's key now and then printed its
/// error and then hung on the way out instead of exiting 1. Every leadctl client that has
/// nothing left to deliver is kept so; not `LeadPublisher`, whose context's termination is
/// what waits (its linger) for the leads still queued.
enum ClientLifetime {
    /// Only appended to, from the command's one thread, and never read.
    nonisolated(unsafe) private static var kept: [AnyObject] = []

    /// Keeps `client` (and its context) until the process exits.
    static func keep<Client: AnyObject>(_ client: Client) -> Client {
        kept.append(client)
        return client
    }
}
