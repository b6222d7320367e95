import Foundation

/// Byte-level edits of a JSON object that LeadRouter has validated, so that what is kept
/// stays exactly as the source sent it.
enum RawJSON {
    /// The bytes being edited, read in place.
    typealias Bytes = UnsafeBufferPointer<UInt8>

    /// `object` without its top-level members named in `names` (an offer withholds them).
    /// Input that is not an object comes back as it was.
    ///
    /// Every offer envelope calls this, so it reads the bytes in place and compares each
    /// member's name where it stands: a set of the names and an array for each member's
    /// name, made on every call, were about a sixth of the routing thread's time for an
    /// offered lead.
    static func removingTopLevelFields(_ names: [String], from object: [UInt8]) -> [UInt8] {
        guard !names.isEmpty else { return object }
        return object.withUnsafeBufferPointer { b -> [UInt8] in
            var i = skipSpace(b, 0)
            guard i < b.count, b[i] == UInt8(ascii: "{") else { return object }
            var out: [UInt8] = []
            out.reserveCapacity(b.count)
            out.append(UInt8(ascii: "{"))
            i += 1
            var first = true
            while true {
                // A member with the whitespace before it, kept as sent.
                let memberStart = i
                i = skipSpace(b, i)
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { break }
                let keyStart = i
                i = skipString(b, i)
                let keyEnd = i
                i = skipSpace(b, i)
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return object }
                i = skipValue(b, skipSpace(b, i + 1))
                if !isNamed(Bytes(rebasing: b[keyStart..<keyEnd]), in: names) {
                    if !first { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: Bytes(rebasing: b[memberStart..<i]))
                    first = false
                }
                let valueEnd = i
                i = skipSpace(b, i)
                guard i < b.count, b[i] == UInt8(ascii: ",") else {
                    out.append(contentsOf: Bytes(rebasing: b[valueEnd..<i]))
                    break
                }
                i += 1
            }
            out.append(UInt8(ascii: "}"))
            return out
        }
    }

    /// Whether the quoted member name `quoted` is one of `names`: its bytes compared where
    /// they stand, or, when written with escapes (`"\u0063ontact"`), what they decode to, as
    /// every JSON reader sees it.
    private static func isNamed(_ quoted: Bytes, in names: [String]) -> Bool {
        guard quoted.count >= 2 else { return false }
        let inner = Bytes(rebasing: quoted[1..<(quoted.count - 1)])
        if inner.contains(UInt8(ascii: "\\")) {
            guard let text = (try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed)) as? String else {
                return names.contains { $0.utf8.elementsEqual(inner) }
            }
            return names.contains { $0.utf8.elementsEqual(text.utf8) }
        }
        return names.contains { name in
            name.utf8.withContiguousStorageIfAvailable { $0.sameBytes(as: inner) } ?? name.utf8.elementsEqual(inner)
        }
    }

    private static func skipSpace(_ b: Bytes, _ start: Int) -> Int {
        var i = start
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        return i
    }

    /// Past the string starting at `start` (its opening quote).
    private static func skipString(_ b: Bytes, _ start: Int) -> Int {
        var i = start + 1
        while i < b.count {
            if b[i] == UInt8(ascii: "\\") { i += 2; continue }
            if b[i] == UInt8(ascii: "\"") { return i + 1 }
            i += 1
        }
        return min(i, b.count)
    }

    /// Past the value starting at `start`.
    private static func skipValue(_ b: Bytes, _ start: Int) -> Int {
        guard start < b.count else { return start }
        switch b[start] {
        case UInt8(ascii: "\""):
            return skipString(b, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: "\""): i = skipString(b, i); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return i
        default:
            // A number, `true`, `false` or `null`: up to the next delimiter or space.
            var i = start
            scan: while i < b.count {
                switch b[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: break scan
                default: i += 1
                }
            }
            return i
        }
    }
}
