@testable import LeadRouting
import Testing

/// ``StringTable`` replaces `Dictionary<String, _>` on the routing path: these tests hold it
/// to a dictionary under random operations, and pin its hash's edge cases.
@Suite("String table")
struct StringTableTests {
    /// Keys of every length from 0 to 40 bytes (the hash reads 1-3, 4-7, 8 and more bytes
    /// differently), some with multi-byte characters, drawn from a small pool so that the
    /// operations hit existing keys often.
    static func keys(_ random: inout SplitMix64, count: Int) -> [String] {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-.:éü€")
        var keys: Set<String> = [""]
        while keys.count < count {
            let length = Int(random.next() % 41)
            keys.insert(String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }))
        }
        return keys.sorted()
    }

    @Test("random inserts, updates, removals, look-ups, filters and clears agree with a dictionary", arguments: [1, 2, 3, 4])
    func agreesWithDictionary(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let pool = Self.keys(&random, count: 300)
        // A small pool of slots first (16), so that removals shift long runs of probes.
        var table = StringTable<Int>(seed: random.next())
        var model: [String: Int] = [:]
        for step in 0..<20_000 {
            let key = pool[Int(random.next() % UInt64(pool.count))]
            switch random.next() % 100 {
            case 0..<40:
                #expect(table.updateValue(step, forKey: key) == model.updateValue(step, forKey: key))
            case 40..<50:
                table.set(step, forKey: key)
                model[key] = step
            case 50..<55:
                let at = table.position(of: key, default: 0)
                table[position: at] += 1
                let added = table[position: at]
                model[key, default: 0] += 1
                #expect(added == model[key])
            case 55..<70:
                #expect(table.removeValue(forKey: key) == model.removeValue(forKey: key))
            case 70..<97:
                #expect(table[key] == model[key])
                #expect(table.value(key, hash: table.hash(key)) == model[key])
            case 97..<99:
                let cut = step - 500
                table.filter { $0.value > cut }
                model = model.filter { $0.value > cut }
            default:
                let keep = random.next() % 2 == 0
                table.removeAll(keepingCapacity: keep)
                model.removeAll(keepingCapacity: keep)
            }
            #expect(table.count == model.count)
        }
        for key in pool { #expect(table[key] == model[key]) }
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value) }) == model)
    }

    @Test("removing keys in any order leaves every other key found, down to an empty table", arguments: [5, 6])
    func removals(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var table = StringTable<Int>(seed: random.next())
        var keys = (0..<2_000).map { "n:account \($0)" }
        for (i, key) in keys.enumerated() { table.set(i, forKey: key) }
        var expected = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
        while !keys.isEmpty {
            let key = keys.remove(at: Int(random.next() % UInt64(keys.count)))
            #expect(table.removeValue(forKey: key) == expected.removeValue(forKey: key))
            #expect(table[key] == nil)
            if keys.count % 97 == 0 {
                for other in keys { #expect(table[other] == expected[other]) }
            }
        }
        #expect(table.isEmpty && table.entries.isEmpty)
    }

    @Test("a table grows past many times its first size and finds every key")
    func grows() {
        var table = StringTable<Int>(seed: 7)
        let keys = (0..<5_000).map { "web-2026-\($0)" }
        for (i, key) in keys.enumerated() { table.set(i, forKey: key) }
        #expect(table.count == keys.count)
        for (i, key) in keys.enumerated() { #expect(table[key] == i) }
        #expect(table["web-2026-5000"] == nil && table[""] == nil)
        let built = StringTable(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) }))
        for (i, key) in keys.enumerated() { #expect(built[key] == i) }
    }

    @Test("a table built from distinct keys in one pass keeps their order, finds each, and changes as any other", arguments: [8, 9])
    func builtFromDistinctKeys(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let pool = Self.keys(&random, count: 3_000)
        let pairs = pool.enumerated().map { ($1, $0) }
        var table = StringTable(distinctKeysWithValues: pairs)
        #expect(table.entries.map(\.key) == pool)
        for (key, value) in pairs { #expect(table[key] == value) }
        #expect(table["not in the pool: too long for any key it holds, past forty bytes"] == nil)
        // Removals and inserts afterwards find the slots where a table built key by key would.
        var model = Dictionary(uniqueKeysWithValues: pairs)
        for key in pool where random.next() % 3 == 0 { #expect(table.removeValue(forKey: key) == model.removeValue(forKey: key)) }
        for i in 0..<500 { table.set(-i, forKey: "added \(i)"); model["added \(i)"] = -i }
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value) }) == model)
        for key in model.keys { #expect(table[key] == model[key]) }
        #expect(StringTable<Int>(distinctKeysWithValues: [(String, Int)]()).isEmpty)
    }

    @Test("the hash reads every byte: keys differing in any one byte, at any length, hash apart")
    func hashReadsEveryByte() {
        let seed: UInt64 = 0x1234_5678
        for length in 1...40 {
            let base = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            let hashed = base.withUnsafeBufferPointer { StringTable<Int>.hash($0, seed: seed) }
            for i in 0..<length {
                var changed = base
                changed[i] = UInt8(ascii: "b")
                let other = changed.withUnsafeBufferPointer { StringTable<Int>.hash($0, seed: seed) }
                #expect(other != hashed, "length \(length), byte \(i)")
            }
            // The length counts too: a key and the same key with a zero byte more.
            let longer = (base + [0]).withUnsafeBufferPointer { StringTable<Int>.hash($0, seed: seed) }
            #expect(longer != hashed)
        }
        // Never zero, the mark of a free slot; and a different seed, a different hash.
        #expect([UInt8]().withUnsafeBufferPointer { StringTable<Int>.hash($0, seed: 0) } != 0)
        let key = Array("d:acme.example".utf8)
        #expect(key.withUnsafeBufferPointer { StringTable<Int>.hash($0, seed: 1) } != key.withUnsafeBufferPointer { StringTable<Int>.hash($0, seed: 2) })
    }

    @Test("keys are told apart by their bytes: the same text in two Unicode forms is two keys")
    func bytesNotCanonicalEquivalence() {
        var table = StringTable<Int>(seed: 3)
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // Swift's String equality
        table.set(1, forKey: composed)
        #expect(table[composed] == 1)
        #expect(table[decomposed] == nil)
    }
}
