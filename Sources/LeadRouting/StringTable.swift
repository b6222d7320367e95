/// A hash table from strings to values, for the look-ups the routing path makes for every
/// lead: lead ids routed recently, account keys and their owners, product names.
///
/// `Dictionary<String, _>` spent about 450 instructions a look-up on such keys (SipHash over
/// the bytes, its finalisation, the generic probe and a string comparison; about eleven
/// look-ups a lead, docs/benchmarks.md). This table hashes the key's bytes eight at a time
/// with a multiply-fold hash, seeded per table from the system's random generator (so
/// keys chosen by a lead source cannot be made to collide on purpose), and probes linearly
/// over a slot array that holds 32 bits of each hash beside the entry's position: a key is
/// compared only when those bits match.
///
/// Entries are kept densely, in insertion order; the slots point into them. There is no
/// removal of single keys, only ``removeAll(keepingCapacity:)`` and ``filter(_:)``, which is
/// what the routing path needs (it forgets whole batches at a time).
struct StringTable<Value> {
    struct Entry {
        var hash: UInt64
        var key: String
        var value: Value
    }

    private(set) var entries: ContiguousArray<Entry> = []
    /// `0` for a free slot; else the hash's upper 32 bits, then the entry's position plus one.
    private var slots: [UInt64]
    private var mask: Int
    private let seed: UInt64

    init(minimumCapacity: Int = 0) {
        var generator = SystemRandomNumberGenerator()
        self.init(minimumCapacity: minimumCapacity, seed: generator.next())
    }

    /// A table with a fixed `seed`, for tests that need its hashes to repeat.
    init(minimumCapacity: Int = 0, seed: UInt64) {
        self.seed = seed
        let size = StringTable.slotCount(for: minimumCapacity)
        slots = Buffers.zeroWords(size)
        mask = size - 1
        entries.reserveCapacity(minimumCapacity)
    }

    /// A table holding `dictionary`'s entries.
    init(_ dictionary: [String: Value]) {
        self.init(minimumCapacity: dictionary.count)
        for (key, value) in dictionary { updateValue(value, forKey: key) }
    }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// Slots for `count` entries at most half full, a power of two.
    private static func slotCount(for count: Int) -> Int {
        var size = 16
        while size < count * 2 { size *= 2 }
        return size
    }

    // MARK: - Hashing

    /// The seeded hash of `key`'s UTF-8 bytes; never `0`.
    @inline(__always)
    func hash(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { StringTable.hash($0, seed: seed) }
    }

    @inline(__always)
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
    private static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    // MARK: - Looking up

    /// The position in ``entries`` of `key`, whose hash is `hash`.
    @inline(__always)
    func index(of key: String, hash: UInt64) -> Int? {
        let tag = hash >> 32
        var i = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let slot = slots[i]
                if slot == 0 { return nil }
                if slot >> 32 == tag {
                    let at = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                    if entries[at].hash == hash && entries[at].key == key { return at }
                }
                i = (i + 1) & mask
            }
        }
    }

    func index(of key: String) -> Int? { index(of: key, hash: hash(key)) }

    subscript(key: String) -> Value? {
        guard let at = index(of: key) else { return nil }
        return entries[at].value
    }

    func value(_ key: String, hash: UInt64) -> Value? {
        guard let at = index(of: key, hash: hash) else { return nil }
        return entries[at].value
    }

    // MARK: - Changing

    /// Sets `key`'s value; returns the value it replaced, if any.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: String) -> Value? {
        updateValue(value, forKey: key, hash: hash(key))
    }

    /// Sets `key`'s value (``updateValue(_:forKey:)`` without handing back the old one).
    mutating func set(_ value: Value, forKey key: String) {
        let h = hash(key)
        if let at = index(of: key, hash: h) {
            entries[at].value = value
        } else {
            append(Entry(hash: h, key: key, value: value))
        }
    }

    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: String, hash: UInt64) -> Value? {
        if let at = index(of: key, hash: hash) {
            let old = entries[at].value
            entries[at].value = value
            return old
        }
        append(Entry(hash: hash, key: key, value: value))
        return nil
    }

    /// Changes `key`'s value in place, inserting `defaultValue` first when it is absent.
    mutating func modify<R>(_ key: String, default defaultValue: @autoclosure () -> Value, _ body: (inout Value) -> R) -> R {
        let h = hash(key)
        let at: Int
        if let found = index(of: key, hash: h) {
            at = found
        } else {
            append(Entry(hash: h, key: key, value: defaultValue()))
            at = entries.count - 1
        }
        return body(&entries[at].value)
    }

    private mutating func append(_ entry: Entry) {
        if (entries.count + 1) * 2 > mask + 1 { rehash(slotCount: (mask + 1) * 2) }
        entries.append(entry)
        place(entry.hash, at: entries.count - 1)
    }

    @inline(__always)
    private mutating func place(_ hash: UInt64, at position: Int) {
        let slot = (hash >> 32) << 32 | UInt64(position + 1)
        var i = Int(truncatingIfNeeded: hash) & mask
        slots.withUnsafeMutableBufferPointer { slots in
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }

    private mutating func rehash(slotCount size: Int) {
        slots = Buffers.zeroWords(size)
        mask = size - 1
        for position in entries.indices { place(entries[position].hash, at: position) }
    }

    mutating func removeAll(keepingCapacity: Bool = false) {
        entries.removeAll(keepingCapacity: keepingCapacity)
        if keepingCapacity {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            slots = Buffers.zeroWords(16)
            mask = 15
        }
    }

    /// Keeps only the entries for which `isIncluded` holds, in their order.
    mutating func filter(_ isIncluded: (Entry) -> Bool) {
        entries.removeAll { !isIncluded($0) }
        // The slots keep their number: the table fills up again with the next batches.
        rehash(slotCount: mask + 1)
    }
}

extension StringTable: Sendable where Value: Sendable {}
extension StringTable.Entry: Sendable where Value: Sendable {}
