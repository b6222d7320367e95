/// Deadlines keyed by what they are for, in a binary min-heap: the earliest is found in
/// O(1), scheduling and taking due ones cost O(log n), so a million open deadlines cost no
/// scan. The loop sets its poll timeout from ``next`` and fires what ``takeDue(now:)``
/// returns, the way swift-nio's event loop bounds its wait by its scheduled tasks.
///
/// A key has at most one deadline: scheduling it again moves it, ``cancel(_:)`` removes it.
/// Moved and cancelled entries stay in the heap until they reach the top, where they are
/// dropped (lazy deletion), so no operation searches the heap.
public struct Deadlines<Key: Hashable, Time: Comparable> {
    struct Entry {
        var at: Time
        var key: Key
        var version: UInt64
    }

    private var heap: [Entry] = []
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
        heap.append(Entry(at: time, key: key, version: versions))
        siftUp(heap.count - 1)
        // Bound the stale entries that moved keys leave behind.
        if heap.count > 64 && heap.count > 2 * live.count { rebuild() }
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
            removeTop()
            due.append(top.key)
        }
        return due
    }

    // MARK: - Heap

    private func isLive(_ entry: Entry) -> Bool { live[entry.key]?.version == entry.version }

    private mutating func dropStaleTop() {
        while let top = heap.first, !isLive(top) { removeTop() }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func rebuild() {
        let live = self.live
        heap.removeAll { live[$0.key]?.version != $0.version }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].at < heap[smallest].at { smallest = left }
            if right < heap.count && heap[right].at < heap[smallest].at { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

extension Deadlines: Sendable where Key: Sendable, Time: Sendable {}
extension Deadlines.Entry: Sendable where Key: Sendable, Time: Sendable {}
