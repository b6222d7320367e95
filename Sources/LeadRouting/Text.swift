#if canImport(Glibc)
import Glibc
#endif
/// Text of a few parts made in one allocation: string interpolation sizes its buffer from a
/// guess and often grows it once more, which the routing of every lead paid for its reasons.
enum Text {
    static func join(_ a: String, _ b: String, _ c: String = "", _ d: String = "", _ e: String = "",
                     _ f: String = "", _ g: String = "") -> String {
        // Appending to a string sized first: the parts are valid UTF-8 already, and building
        // from raw bytes (`String(unsafeUninitializedCapacity:)`) checked them all again.
        var text = String()
        text.reserveCapacity(a.utf8.count + b.utf8.count + c.utf8.count + d.utf8.count + e.utf8.count + f.utf8.count + g.utf8.count)
        text.append(a)
        text.append(b)
        if !c.isEmpty { text.append(c) }
        if !d.isEmpty { text.append(d) }
        if !e.isEmpty { text.append(e) }
        if !f.isEmpty { text.append(f) }
        if !g.isEmpty { text.append(g) }
        return text
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// Whether `other` holds the same bytes, compared with `memcmp` (`elementsEqual`
    /// compared them one at a time through generic code).
    @inline(__always) @usableFromInline
    func sameBytes(as other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else { return false }
        guard let a = baseAddress, let b = other.baseAddress else { return true }
        return memcmp(a, b, count) == 0
    }
}

extension StaticString {
    /// Whether `bytes` are this literal's bytes.
    @inline(__always)
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == utf8CodeUnitCount else { return false }
        guard let base = bytes.baseAddress else { return true }
        return memcmp(base, utf8Start, bytes.count) == 0
    }
}

/// Arrays made through this module's own specialisation of their storage. `Array(repeating:
/// count:)` and `Array(unsafeUninitializedCapacity:)` allocate through the standard library's
/// unspecialised code, which looks the storage's generic metadata up on every call (about 360
/// instructions, several times a lead); `reserveCapacity` in specialised code finds it cached.
enum Buffers {
    /// `count` zero bytes.
    @inline(__always)
    static func zeroBytes(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        appendZeros(&bytes, count: count)
        return bytes
    }

    /// Appends `count` zero bytes, a page at a time from a page of zeros (`repeatElement`
    /// cost hundreds of allocations a lead in a debug build).
    @inline(__always)
    static func appendZeros(_ bytes: inout [UInt8], count: Int) {
        append(count, of: zeroPage, to: &bytes)
    }

    /// `count` zero words.
    @inline(__always)
    static func zeroWords(_ count: Int) -> [UInt64] {
        var words: [UInt64] = []
        zero(&words, count: count)
        return words
    }

    /// `words` made `count` zero words, in its own storage when that is not shared and large
    /// enough (a buffer handed back by the lead before, say): no allocation then. Appended
    /// one by one, each word cost a capacity and a uniqueness check.
    @inline(__always)
    static func zero(_ words: inout [UInt64], count: Int) {
        words.removeAll(keepingCapacity: true)
        append(count, of: zeroWordPage, to: &words)
    }

    /// Appends the first `count` elements of `page` repeated (`page`'s are all alike).
    @inline(__always)
    private static func append<T>(_ count: Int, of page: [T], to array: inout [T]) {
        array.reserveCapacity(array.count + count)
        page.withUnsafeBufferPointer { page in
            var left = count
            while left > 0 {
                let n = min(left, page.count)
                array.append(contentsOf: UnsafeBufferPointer(rebasing: page[..<n]))
                left -= n
            }
        }
    }

    /// `bytes` as they are, taken (`bytes` is left empty): the one reference to them, when
    /// `bytes` was.
    @inline(__always)
    static func taken(_ bytes: inout [UInt8]) -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)
    private static let zeroWordPage = [UInt64](repeating: 0, count: 512)
}
