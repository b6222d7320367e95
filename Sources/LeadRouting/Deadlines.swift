/// Deadlines keyed by what they are for, in a binary min-heap: the earliest is found in
/// O(1), scheduling and taking due ones cost O(log n), so a million open deadlines cost no
/// scan. The loop sets its poll timeout from ``next`` and fires what ``takeDue(now:)``
/// returns, the way swift-nio's event loop bounds its wait by its scheduled tasks.
///
/// A key has at most one deadline: scheduling it again moves it, ``cancel(_:)`` removes it.
/// Moved and cancelled entries stay in the heap until they reach the top, where they are
/// dropped (lazy deletion), so no operation searches the heap.
public struct Deadlines<Key: Hashable, Time: Comparable> {
    struct Entry: Comparable {
        var at: Time
        var key: Key
        var version: UInt64
        static func < (a: Entry, b: Entry) -> Bool { a.at < b.at }
        static func == (a: Entry, b: Entry) -> Bool { a.at == b.at && a.version == b.version }
    }

    private var heap = BinaryHeap<Entry>()
    /// Each key's live deadline and the version of its heap entry.
    private var live: [Key: (at: Time, version: UInt64)] = [:]
    private var versions: UInt64 = 0

    public init() {}

    /// How many keys have a deadline.
    public var count: Int { live.count }
    public var isEmpty: Bool { live.isEmpty }

    /// The deadline of `key`, if it has one.
    public func deadline(of key: Key) -> Time? { live[key]?.at }

    /// Sets (or moves) the deadline of `key`.
    public mutating func schedule(_ key: Key, at time: Time) {
        versions += 1
        live[key] = (time, versions)
        heap.push(Entry(at: time, key: key, version: versions))
        // Bound the stale entries that moved keys leave behind.
        if heap.count > 64 && heap.count > 2 * live.count {
            let live = self.live
            heap.filter { live[$0.key]?.version == $0.version }
        }
    }

    /// Removes the deadline of `key`, if any.
    public mutating func cancel(_ key: Key) {
        live[key] = nil
    }

    /// The earliest deadline.
    public var next: Time? {
        mutating get {
            dropStaleTop()
            return heap.first?.at
        }
    }

    /// Removes and returns the keys whose deadline is at or before `now`, earliest first, at
    /// most `limit` of them (the rest stay due for the next call).
    public mutating func takeDue(now: Time, limit: Int = .max) -> [Key] {
        var due: [Key] = []
        while due.count < limit {
            dropStaleTop()
            guard let top = heap.first, top.at <= now else { return due }
            live[top.key] = nil
            heap.popFirst()
            due.append(top.key)
        }
        return due
    }

    private mutating func dropStaleTop() {
        while let top = heap.first, live[top.key]?.version != top.version { heap.popFirst() }
    }
}

extension Deadlines: Sendable where Key: Sendable, Time: Sendable {}
extension Deadlines.Entry: Sendable where Key: Sendable, Time: Sendable {}
