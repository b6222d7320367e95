/// A binary min-heap: the smallest element in O(1), push and pop in O(log n), and a heap
/// built from n elements in O(n). ``Deadlines`` and ``OfferBook`` keep their deadlines in one.
struct BinaryHeap<Element: Comparable> {
    private(set) var items: [Element] = []

    init() {}

    /// A heap of `elements`, in O(n).
    init(_ elements: [Element]) {
        items = elements
        heapify()
    }

    var first: Element? { items.first }
    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ element: Element) {
        items.append(element)
        siftUp(items.count - 1)
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return top
    }

    /// Keeps only the elements `keep` accepts, in O(n).
    mutating func filter(_ keep: (Element) -> Bool) {
        items.removeAll { !keep($0) }
        heapify()
    }

    private mutating func heapify() {
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { return }
            items.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && items[left] < items[smallest] { smallest = left }
            if right < items.count && items[right] < items[smallest] { smallest = right }
            if smallest == parent { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

extension BinaryHeap: Sendable where Element: Sendable {}
