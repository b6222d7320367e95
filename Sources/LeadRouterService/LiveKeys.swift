import LeadRouting
import Synchronization

/// The CURVE keys in force, shared by the routing thread (which replaces them on a reload),
/// the ZAP handler (which admits new connections by them) and the replay thread (which checks
/// each request's connection against them).
///
/// A connection admitted before a reload keeps its `User-Id`, which names the key it was
/// admitted with (``ConnectionIdentity``). Once a reload has revoked any key, each message's
/// `User-Id` is checked against the keys then in force, so a removed key stops working at
/// once, not at its next handshake.
final class LiveKeys: Sendable {
    private let ring: Mutex<KeyRing>
    private let anyRevoked = Atomic(false)

    init(_ ring: KeyRing) {
        self.ring = Mutex(ring)
    }

    var current: KeyRing { ring.withLock { $0 } }

    /// Whether CURVE is on (it cannot change without a restart).
    var isCurve: Bool { ring.withLock { $0.isCurve } }

    /// Puts `newer` in force; returns the keys it revokes (removed, or given to another principal).
    @discardableResult
    func replace(with newer: KeyRing) -> [String] {
        let revoked = ring.withLock { current in
            defer { current = newer }
            return current.revoked(in: newer)
        }
        if !revoked.isEmpty { anyRevoked.store(true, ordering: .releasing) }
        return revoked
    }

    /// Whether a reload has revoked any key since start (messages are then checked one by one).
    var hasRevoked: Bool { anyRevoked.load(ordering: .acquiring) }

    /// Who holds `key` (Z85), if it is configured.
    func principal(for key: String) -> Principal? {
        ring.withLock { $0.principals[key] }
    }

    /// Whether a message with this `User-Id` may still act: always without CURVE or before
    /// any key was revoked; after, only when its key still belongs to its principal.
    func admits(userID: String?) -> Bool {
        guard anyRevoked.load(ordering: .acquiring) else { return true }
        return ring.withLock { ring in
            guard ring.isCurve else { return true }
            guard let identity = userID.flatMap(ConnectionIdentity.init(userID:)) else { return false }
            return ring.admits(identity)
        }
    }
}
