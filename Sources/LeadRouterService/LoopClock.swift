import Foundation

/// The time as the routing loop sees it: a monotonic instant for intervals and deadlines,
/// and the wall clock for what is stored and published. Injected, so tests drive deadlines
/// (heartbeats, hung syncs, saves) by advancing a manual clock instead of waiting.
public protocol LoopClock: Sendable {
    /// Monotonic time, for intervals and deadlines.
    var now: ContinuousClock.Instant { get }
    /// Milliseconds since 1970, for timestamps that are stored or published.
    var wallMilliseconds: Int64 { get }
}

/// The real clocks.
public struct SystemLoopClock: LoopClock {
    public init() {}
    public var now: ContinuousClock.Instant { ContinuousClock.now }
    public var wallMilliseconds: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
