/// A hash table from strings to values, for the look-ups the routing path makes for every
/// lead: lead ids routed recently, account keys and their owners, product names.
///
/// `Dictionary<String, _>` spent about 450 instructions a look-up on such keys (SipHash over
/// the bytes, its finalisation, the generic probe and a string comparison; about eleven
/// look-ups a lead, docs/benchmarks.md). This table hashes the key's bytes eight at a time
/// with a multiply-fold hash, seeded once per process from the system's random generator (so
/// keys chosen by a lead source cannot be made to collide on purpose), and probes linearly
/// over a slot array that holds 32 bits of each hash beside the entry's position: a key is
/// compared only when those bits match.
///
/// Entries are kept densely, in insertion order, except that a removed entry's place is taken
/// by the last one; the slots point into them, so an entry's position stays until a removal
/// (``subscript(position:)``). The store's bookkeeping and the routing loop's feed use it too.
public struct StringTable<Value> {
    public struct Entry {
        public let hash: UInt64
        public let key: String
        public var value: Value

        @inlinable init(hash: UInt64, key: String, value: Value) {
            self.hash = hash
            self.key = key
            self.value = value
        }
    }

    /// The entries: in insertion order until a removal moves the last into the removed one's place.
    @inlinable public var entries: ContiguousArray<Entry> { storage }
    @usableFromInline var storage: ContiguousArray<Entry> = []
    /// `0` for a free slot; else the hash's upper 32 bits, then the entry's position plus one.
    @usableFromInline var slots: [UInt64]
    @usableFromInline var mask: Int
    @usableFromInline let seed: UInt64

    /// A table seeded with the process's seed, drawn once from the system's generator: tables
    /// made for every commit cost no system call, and a hash taken with one table (``hash(_:)``)
    /// serves every other table made this way.
    @inlinable public init(minimumCapacity: Int = 0) {
        self.init(minimumCapacity: minimumCapacity, seed: stringTableSeed)
    }

    /// A table with a fixed `seed`, for tests that need its hashes to repeat.
    @inlinable public init(minimumCapacity: Int = 0, seed: UInt64) {
        self.seed = seed
        let size = StringTable.slotCount(for: minimumCapacity)
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        storage.reserveCapacity(minimumCapacity)
    }

    /// A table of `pairs`, whose keys must all differ (a store's primary key), in their
    /// order: the entries are laid down first and the slots filled in one pass after, with no
    /// probe for an existing key. A million keys so took a fifth of the time of inserting
    /// them one by one, each insert's probe a cache miss that the next could not overlap.
    public init<Pairs: Sequence>(distinctKeysWithValues pairs: Pairs, minimumCapacity: Int = 0) where Pairs.Element == (String, Value) {
        var iterator = pairs.makeIterator()
        self.init(minimumCapacity: max(minimumCapacity, pairs.underestimatedCount), distinctKeysFrom: { iterator.next() })
    }

    /// ``init(distinctKeysWithValues:minimumCapacity:)`` with the pairs from `next` until it
    /// returns `nil`: a caller can hand over values it owns (popped from an array of its own)
    /// with no copy of them.
    public init(minimumCapacity: Int, distinctKeysFrom next: () throws -> (String, Value)?) rethrows {
        self.init(minimumCapacity: minimumCapacity)
        while let (key, value) = try next() { storage.append(Entry(hash: hash(key), key: key, value: value)) }
        rehash(slotCount: StringTable.slotCount(for: storage.count))
        assert(storage.indices.allSatisfy { index(of: storage[$0].key, hash: storage[$0].hash) == $0 }, "a key twice")
    }

    /// A table holding `dictionary`'s entries.
    @inlinable public init(_ dictionary: [String: Value]) {
        self.init(minimumCapacity: dictionary.count)
        for (key, value) in dictionary { updateValue(value, forKey: key) }
    }

    /// The entries as a dictionary, each value transformed.
    @inlinable public func mapValues<T>(_ transform: (Value) throws -> T) rethrows -> [String: T] {
        var result = [String: T](minimumCapacity: count)
        for entry in storage { result[entry.key] = try transform(entry.value) }
        return result
    }

    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.isEmpty }

    /// Slots for `count` entries at most half full, a power of two.
    @inlinable static func slotCount(for count: Int) -> Int {
        var size = 16
        while size < count * 2 { size *= 2 }
        return size
    }

    // MARK: - Hashing

    /// The seeded hash of `key`'s UTF-8 bytes; never `0`.
    @inline(__always)
    @inlinable public func hash(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { StringTable.hash($0, seed: seed) }
    }

    /// The hash every table seeded with the process's seed gives `key` (``hash(_:)``), for
    /// structures beside the tables that must agree with them (the store's key filters).
    @inlinable public static func processHash(of key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { hash($0, seed: stringTableSeed) }
    }

    /// ``processHash(of:)`` of a key's UTF-8 bytes, read in place.
    @inlinable public static func processHash(of bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        hash(bytes, seed: stringTableSeed)
    }

    @inline(__always) @inlinable
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        let n = bytes.count
        var h = seed ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
        guard let base = bytes.baseAddress, n > 0 else { return fold(h, 0xA076_1D64_78BD_642F) | 1 }
        let raw = UnsafeRawPointer(base)
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                h = fold(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0xE703_7ED1_A0B4_28DB)
                i += 8
            }
            // The last eight bytes, overlapping the word before when `n` is not a multiple of 8.
            h = fold(h ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), 0x8EBC_6AF0_9C88_C6E3)
        } else if n >= 4 {
            let a = UInt64(raw.loadUnaligned(as: UInt32.self)), b = UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            h = fold(h ^ (a << 32 | b), 0x8EBC_6AF0_9C88_C6E3)
        } else {
            let word = UInt64(base[0]) << 16 | UInt64(base[n >> 1]) << 8 | UInt64(base[n - 1])
            h = fold(h ^ word, 0x8EBC_6AF0_9C88_C6E3)
        }
        // Zero marks a free slot: a hash is never zero.
        return fold(h, 0xA076_1D64_78BD_642F) | 1
    }

    /// The two halves of the 128-bit product, folded together (wyhash's mixing step).
    @inline(__always)
    @inlinable static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    // MARK: - Looking up

    /// The position in ``entries`` of `key`, whose hash is `hash`.
    @inline(__always)
    @inlinable public func index(of key: String, hash: UInt64) -> Int? {
        let tag = hash >> 32
        var i = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let slot = slots[i]
                if slot == 0 { return nil }
                if slot >> 32 == tag {
                    let at = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                    if storage[at].hash == hash && storage[at].key == key { return at }
                }
                i = (i + 1) & mask
            }
        }
    }

    @inlinable public func index(of key: String) -> Int? { index(of: key, hash: hash(key)) }

    /// The position in ``entries`` of the key whose UTF-8 is `bytes`, with no `String` made.
    @inline(__always) @inlinable
    public func index(ofUTF8 bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        index(ofUTF8: bytes, hash: StringTable.hash(bytes, seed: seed))
    }

    /// The seeded hash of a key's UTF-8 (``hash(_:)`` of the key it spells).
    @inline(__always) @inlinable
    public func hash(utf8 bytes: UnsafeBufferPointer<UInt8>) -> UInt64 { StringTable.hash(bytes, seed: seed) }

    /// ``index(ofUTF8:)`` with the hash worked out already (``hash(utf8:)``).
    /// (The probe is ``index(of:hash:)``'s written out again: shared through a closure or a
    /// helper, the routing path's look-ups were no longer inlined, about 100 instructions a
    /// lead more.)
    @inline(__always) @inlinable
    public func index(ofUTF8 bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        let tag = hash >> 32
        var i = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let slot = slots[i]
                if slot == 0 { return nil }
                if slot >> 32 == tag {
                    let at = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                    if storage[at].hash == hash {
                        var key = storage[at].key
                        if key.withUTF8({ $0.sameBytes(as: bytes) }) { return at }
                    }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// The position of the entry of the key whose UTF-8 is `bytes`, inserting one with
    /// `defaultValue` first when it is absent (the only time a `String` is made of them).
    @inlinable
    public mutating func position(ofUTF8 bytes: UnsafeBufferPointer<UInt8>, default defaultValue: @autoclosure () -> Value) -> Int {
        let h = hash(utf8: bytes)
        if let found = index(ofUTF8: bytes, hash: h) { return found }
        append(Entry(hash: h, key: String(decoding: bytes, as: UTF8.self), value: defaultValue()))
        return storage.count - 1
    }

    /// The value of the key whose UTF-8 is `bytes`.
    @inlinable public subscript(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let at = index(ofUTF8: bytes) else { return nil }
        return storage[at].value
    }

    @inlinable public subscript(key: String) -> Value? {
        guard let at = index(of: key) else { return nil }
        return storage[at].value
    }

    @inlinable public func value(_ key: String, hash: UInt64) -> Value? {
        guard let at = index(of: key, hash: hash) else { return nil }
        return storage[at].value
    }

    /// The value of the entry at `position` in ``entries`` (found with ``index(of:hash:)``),
    /// read or changed in place.
    @inlinable public subscript(position position: Int) -> Value {
        get { storage[position].value }
        _modify { yield &storage[position].value }
    }

    // MARK: - Changing

    /// Sets `key`'s value; returns the value it replaced, if any.
    @discardableResult
    @inlinable public mutating func updateValue(_ value: Value, forKey key: String) -> Value? {
        updateValue(value, forKey: key, hash: hash(key))
    }

    /// Sets `key`'s value (``updateValue(_:forKey:)`` without handing back the old one).
    @inlinable public mutating func set(_ value: Value, forKey key: String) {
        let at = position(of: key, default: value)
        storage[at].value = value
    }

    @discardableResult
    @inlinable public mutating func updateValue(_ value: Value, forKey key: String, hash: UInt64) -> Value? {
        if let at = index(of: key, hash: hash) {
            let old = storage[at].value
            storage[at].value = value
            return old
        }
        append(Entry(hash: hash, key: key, value: value))
        return nil
    }

    /// The position of `key`'s entry, inserting one with `defaultValue` first when it is absent.
    @inlinable public mutating func position(of key: String, default defaultValue: @autoclosure () -> Value) -> Int {
        let h = hash(key)
        if let found = index(of: key, hash: h) { return found }
        append(Entry(hash: h, key: key, value: defaultValue()))
        return storage.count - 1
    }

    /// Taken, not copied: a borrowed entry was copied into the storage (a retain of its key
    /// and its value's references) and then released by the caller.
    @inlinable mutating func append(_ entry: consuming Entry) {
        if (storage.count + 1) * 2 > mask + 1 { rehash(slotCount: (mask + 1) * 2) }
        let hash = entry.hash
        storage.append(entry)
        place(hash, at: storage.count - 1)
    }

    @inline(__always)
    @inlinable mutating func place(_ hash: UInt64, at position: Int) {
        let slot = (hash >> 32) << 32 | UInt64(position + 1)
        var i = Int(truncatingIfNeeded: hash) & mask
        slots.withUnsafeMutableBufferPointer { slots in
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }

    @inlinable mutating func rehash(slotCount size: Int) {
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for position in storage.indices { place(storage[position].hash, at: position) }
    }

    /// Removes `key`; returns its value, if it had one.
    @discardableResult
    @inlinable public mutating func removeValue(forKey key: String) -> Value? {
        removeValue(forKey: key, hash: hash(key))
    }

    /// ``removeValue(forKey:)`` with the key's hash worked out already (``hash(_:)``).
    @discardableResult
    @inlinable public mutating func removeValue(forKey key: String, hash h: UInt64) -> Value? {
        guard let at = index(of: key, hash: h) else { return nil }
        let removed = storage[at].value
        // Its slot goes, and the slots after it in its run move back where their probe
        // would reach them sooner (backward-shift deletion: no tombstones).
        var hole = slotIndex(ofPosition: at, hash: h)
        slots.withUnsafeMutableBufferPointer { slots in
            var j = hole
            while true {
                j = (j + 1) & mask
                let slot = slots[j]
                if slot == 0 { break }
                let home = Int(truncatingIfNeeded: storage[Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1].hash) & mask
                if (j - home) & mask >= (j - hole) & mask {
                    slots[hole] = slot
                    hole = j
                }
            }
            slots[hole] = 0
        }
        // The last entry takes the removed one's place, and its slot follows it.
        let last = storage.count - 1
        if at != last {
            let moved = slotIndex(ofPosition: last, hash: storage[last].hash)
            slots[moved] = (slots[moved] >> 32) << 32 | UInt64(at + 1)
            storage.swapAt(at, last)
        }
        storage.removeLast()
        return removed
    }

    /// The slot that points at the entry at `position`, whose hash is `hash`.
    @inlinable func slotIndex(ofPosition position: Int, hash: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] & 0xFFFF_FFFF != UInt64(position + 1) { i = (i + 1) & mask }
        return i
    }

    @inlinable public mutating func removeAll(keepingCapacity: Bool = false) {
        storage.removeAll(keepingCapacity: keepingCapacity)
        if keepingCapacity {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            slots = [UInt64](repeating: 0, count: 16)
            mask = 15
        }
    }

    /// Keeps only the entries for which `isIncluded` holds, in their order.
    @inlinable public mutating func filter(_ isIncluded: (Entry) -> Bool) {
        storage.removeAll { !isIncluded($0) }
        // The slots keep their number: the table fills up again with the next batches.
        rehash(slotCount: mask + 1)
    }
}

extension StringTable: Sendable where Value: Sendable {}

/// The seed of tables made without one.
@usableFromInline let stringTableSeed: UInt64 = {
    var generator = SystemRandomNumberGenerator()
    return generator.next()
}()
extension StringTable.Entry: Sendable where Value: Sendable {}
