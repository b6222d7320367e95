import Foundation

/// Byte-level edits of a JSON object that LeadRouter has validated, so that what is kept
/// stays exactly as the source sent it.
enum RawJSON {
    /// `object` without its top-level members named in `names` (an offer withholds them).
    /// Input that is not an object comes back as it was.
    static func removingTopLevelFields(_ names: [String], from object: [UInt8]) -> [UInt8] {
        guard !names.isEmpty else { return object }
        let drop = Set(names.map { Array($0.utf8) })
        var i = skipSpace(object, 0)
        guard i < object.count, object[i] == UInt8(ascii: "{") else { return object }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(object.count)
        i += 1
        var first = true
        while true {
            // A member with the whitespace before it, kept as sent.
            let memberStart = i
            i = skipSpace(object, i)
            guard i < object.count, object[i] == UInt8(ascii: "\"") else { break }
            let keyStart = i
            i = skipString(object, i)
            let key = keyText(object[keyStart..<i])
            i = skipSpace(object, i)
            guard i < object.count, object[i] == UInt8(ascii: ":") else { return object }
            i = skipValue(object, skipSpace(object, i + 1))
            if !drop.contains(key) {
                if !first { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: object[memberStart..<i])
                first = false
            }
            let valueEnd = i
            i = skipSpace(object, i)
            guard i < object.count, object[i] == UInt8(ascii: ",") else {
                out.append(contentsOf: object[valueEnd..<i])
                break
            }
            i += 1
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The key a quoted member name stands for: its bytes, or, when written with escapes
    /// (`"\u0063ontact"`), what they decode to, as every JSON reader sees it.
    private static func keyText(_ quoted: ArraySlice<UInt8>) -> [UInt8] {
        let inner = Array(quoted.dropFirst().dropLast())
        guard inner.contains(UInt8(ascii: "\\")),
              let text = (try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed)) as? String else {
            return inner
        }
        return Array(text.utf8)
    }

    private static func skipSpace(_ b: [UInt8], _ start: Int) -> Int {
        var i = start
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        return i
    }

    /// Past the string starting at `start` (its opening quote).
    private static func skipString(_ b: [UInt8], _ start: Int) -> Int {
        var i = start + 1
        while i < b.count {
            if b[i] == UInt8(ascii: "\\") { i += 2; continue }
            if b[i] == UInt8(ascii: "\"") { return i + 1 }
            i += 1
        }
        return i
    }

    /// Past the value starting at `start`.
    private static func skipValue(_ b: [UInt8], _ start: Int) -> Int {
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
            var i = start
            while i < b.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09].contains(b[i]) { i += 1 }
            return i
        }
    }
}
