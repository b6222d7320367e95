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
        bytes.reserveCapacity(count)
        zeroPage.withUnsafeBufferPointer { zeros in
            var left = count
            while left > 0 {
                let n = min(left, zeros.count)
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: zeros[..<n]))
                left -= n
            }
        }
        return bytes
    }

    /// `count` zero words.
    @inline(__always)
    static func zeroWords(_ count: Int) -> [UInt64] {
        var words: [UInt64] = []
        words.reserveCapacity(count)
        for _ in 0..<count { words.append(0) }
        return words
    }

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)
}
