public import ZeroMQ

/// What a client presents to a daemon running `security.mode: curve`: the server's public
/// key (the client talks to no other server) and the client's own key pair, whose public
/// key the daemon looks up in its config to learn who is connecting.
public struct CurveClientKeys: Sendable, Hashable {
    public let serverKey: CurveKey
    public let keyPair: CurveKeyPair

    public init(serverKey: CurveKey, keyPair: CurveKeyPair) {
        self.serverKey = serverKey
        self.keyPair = keyPair
    }
}

extension Socket {
    /// Connects to `endpoint`, as a CURVE client first when `curve` is given: the one
    /// place the clients of this module apply their keys (security options must be set
    /// before `connect`).
    func connect(_ endpoint: String, curve: CurveClientKeys?, describing what: String) throws(ClientError) {
        do {
            if let curve { try makeCurveClient(serverKey: curve.serverKey, keyPair: curve.keyPair) }
        } catch {
            throw ClientError("cannot set the CURVE keys for \(what): \(error.message)")
        }
        do { try connect(endpoint) } catch {
            throw ClientError("cannot connect to \(what): \(error.message)")
        }
    }
}
