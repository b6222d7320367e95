/// A block of bytes that ``ByteArena`` writes runs into one after another, each run then only
/// read (``SharedBytes``).
///
/// Sendable: a run's bytes are written once, before any ``SharedBytes`` of them exists, and
/// never changed; the arena that writes later runs into the free end of the block is one
/// value on one thread, and the runs it hands to other threads go through the queues and
/// locks between them.
public final class ByteBlock: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    /// Bytes written so far: the next run starts here.
    var used = 0

    /// Bytes allocated past `capacity`, never written: a reader may read that far past the
    /// end of any run (simdjson reads a lead in place so, ``WireLead/read(_:padded:text:)``).
    static let padding = 64

    /// A block of `capacity` bytes, none used.
    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity + ByteBlock.padding)
    }

    deinit { base.deallocate() }
}

/// Bytes written once and then only read, in a block shared with the runs written beside
/// them (``ByteArena``): a routing thread writes a batch's envelopes and leads into a few
/// blocks instead of an array apiece. Equal when the bytes are.
///
/// A run keeps its whole block alive: what is kept long (an open offer's lead) is copied out
/// first (``array``), so it does not hold a block of other leads.
public struct SharedBytes: RandomAccessCollection, Sendable, Hashable, ExpressibleByArrayLiteral {
    @usableFromInline let block: ByteBlock
    @usableFromInline let start: Int
    public let count: Int

    init(block: ByteBlock, start: Int, count: Int) {
        self.block = block
        self.start = start
        self.count = count
    }

    /// A copy of `bytes` in a block of its own.
    public init(_ bytes: some Collection<UInt8>) {
        let count = bytes.count
        let block = ByteBlock(capacity: count)
        let written = bytes.withContiguousStorageIfAvailable { source in
            if let base = source.baseAddress { block.base.update(from: base, count: count) }
            return true
        }
        if written == nil {
            for (i, b) in bytes.enumerated() { block.base[i] = b }
        }
        block.used = count
        self.init(block: block, start: 0, count: count)
    }

    public init(arrayLiteral elements: UInt8...) { self.init(elements) }

    /// No bytes (one block for all).
    public static let empty = SharedBytes(block: ByteBlock(capacity: 0), start: 0, count: 0)

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "index \(position) of \(count) bytes")
        return block.base[start + position]
    }

    /// Calls `body` with the bytes, read in place. (Inlinable, as the other readers: the
    /// store's writer reads runs from another module, and an unspecialised call through its
    /// closure cost about a hundred instructions a lead.)
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withExtendedLifetime(block) { try body(UnsafeBufferPointer(start: block.base + start, count: count)) }
    }

    /// The same, as raw bytes.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try withUnsafeBufferPointer(body)
    }

    /// Bytes `range` of these, sharing their block (a `Slice` keeps the indices of the whole;
    /// these start at 0).
    public func sharing(_ range: Range<Int>) -> SharedBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "bytes \(range) of \(count)")
        return SharedBytes(block: block, start: start + range.lowerBound, count: range.count)
    }

    /// The bytes as an array (a copy).
    public var array: [UInt8] { withUnsafeBufferPointer { Array($0) } }

    public static func == (a: SharedBytes, b: SharedBytes) -> Bool {
        if a.block === b.block && a.start == b.start { return a.count == b.count }
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { x.sameBytes(as: $0) } }
    }

    public static func == (a: SharedBytes, b: [UInt8]) -> Bool {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { x.sameBytes(as: $0) } }
    }

    public static func == (a: [UInt8], b: SharedBytes) -> Bool { b == a }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBufferPointer { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Writes runs of bytes (``SharedBytes``) one after another into blocks of ``blockSize``
/// (a run larger than that gets a block of its own size): one allocation for many runs.
/// One value serves one thread.
public struct ByteArena: Sendable {
    /// Bytes a block holds: a few dozen envelopes or leads.
    public let blockSize: Int
    private var block: ByteBlock?

    public init(blockSize: Int = 64 * 1024) {
        self.blockSize = blockSize
    }

    /// Writes at most `maximum` bytes through `body`, which returns how many it wrote.
    @inline(__always)
    public mutating func write(maximum: Int, _ body: (UnsafeMutablePointer<UInt8>) throws -> Int) rethrows -> SharedBytes {
        let (block, start) = reserve(maximum)
        let written = try body(block.base + start)
        precondition(written >= 0 && written <= maximum, "wrote \(written) bytes of at most \(maximum)")
        return commit(block, from: start, count: written)
    }

    /// A copy of `bytes`.
    @inline(__always)
    public mutating func copy(_ bytes: UnsafeBufferPointer<UInt8>) -> SharedBytes {
        write(maximum: bytes.count) { target in
            if let base = bytes.baseAddress { target.update(from: base, count: bytes.count) }
            return bytes.count
        }
    }

    /// A block with at least `count` bytes free, and where they start: for a writer that
    /// does not know yet how much it writes (``JSONWriter/init(in:capacity:)``), which then
    /// keeps what it wrote with ``commit(_:from:count:)``. Nothing else may be written in
    /// between.
    @inline(__always)
    mutating func reserve(_ count: Int) -> (ByteBlock, Int) {
        let block = room(for: count)
        return (block, block.used)
    }

    /// Keeps `count` bytes written at `start` of `block`, as ``reserve(_:)`` gave them.
    @inline(__always)
    mutating func commit(_ block: ByteBlock, from start: Int, count: Int) -> SharedBytes {
        precondition(block.used == start && start + count <= block.capacity, "a run committed out of turn")
        block.used = start + count
        return SharedBytes(block: block, start: start, count: count)
    }

    /// The block with `count` bytes free: the current one, else a new one.
    @inline(__always)
    private mutating func room(for count: Int) -> ByteBlock {
        if let block, block.capacity - block.used >= count { return block }
        let fresh = ByteBlock(capacity: Swift.max(blockSize, count))
        // A run larger than a block has one of its own; the current block keeps its room.
        if count <= blockSize { block = fresh }
        return fresh
    }
}
