/// Finds a lead's top-level `"lead_id"` in the first bytes of a frame that cannot be parsed
/// whole (a `too_large` message, of which only a prefix is kept), so that the reply and the
/// log can name the lead.
///
/// Exact about structure: it walks the JSON token by token and only reads a key of the
/// outermost object, skipping nested objects, arrays and strings whole, so a `"lead_id"` inside
/// `company` or inside a string value is never taken. Escapes in keys and values are decoded
/// (`"lead\u005fid"` is `lead_id`). The first occurrence counts, as for a lead parsed whole. It
/// gives up (`nil`) at the first byte that is not JSON, at a `lead_id` that is not a string or
/// not a valid id, and at the end of the prefix or after ``limit`` bytes, whichever comes first:
/// at most one pass over ``limit`` bytes.
public struct LeadIDScan {
    /// Bytes looked at, at most: 64 KiB, ample for any lead whose `lead_id` comes early.
    public static let limit = 65_536

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    /// The top-level `lead_id` in the first ``limit`` bytes of `frame`, when they hold a valid one.
    public static func leadID(in frame: [UInt8]) -> String? {
        var scan = LeadIDScan(bytes: frame[..<min(frame.count, limit)])
        return scan.topLevelLeadID()
    }

    private init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index += 3 }
    }

    private mutating func topLevelLeadID() -> String? {
        guard take(UInt8(ascii: "{")) else { return nil }
        if take(UInt8(ascii: "}")) { return nil }
        while true {
            guard peek() == UInt8(ascii: "\""), let key = string(), take(UInt8(ascii: ":")) else { return nil }
            if key == "lead_id" {
                guard peek() == UInt8(ascii: "\""), let id = string(), LeadParser.isValidLeadID(id) else { return nil }
                return id
            }
            guard skipValue(), take(UInt8(ascii: ",")) else { return nil }
        }
    }

    /// The next byte after whitespace, not taken.
    private mutating func peek() -> UInt8? {
        while index < bytes.endIndex, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        return index < bytes.endIndex ? bytes[index] : nil
    }

    /// Takes `byte` (after whitespace) when it is next.
    private mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// A string at the cursor, escapes decoded; `nil` when it is not one or not complete.
    private mutating func string() -> String? {
        index += 1  // the opening quote
        var out: [UInt8] = []
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return String(validating: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let decoded = escape() else { return nil }
                out.append(contentsOf: decoded)
            case 0..<0x20: return nil
            default: out.append(byte)
            }
        }
        return nil
    }

    /// The bytes an escape (after its backslash) stands for. A `\u` escape outside ASCII is
    /// kept as a replacement character: it can be part of neither the key nor a valid id.
    private mutating func escape() -> [UInt8]? {
        guard index < bytes.endIndex else { return nil }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return [byte]
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "u"):
            guard index + 4 <= bytes.endIndex, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
            else { return nil }
            index += 4
            return code < 0x80 ? [UInt8(code)] : [0xEF, 0xBF, 0xBD]
        default: return nil
        }
    }

    /// Skips one value of any kind; false when it is not JSON or not complete.
    private mutating func skipValue() -> Bool {
        guard let first = peek() else { return false }
        if first == UInt8(ascii: "\"") { return string() != nil }
        guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else {
            // A number or a literal: up to the next delimiter, and then complete.
            let start = index
            while index < bytes.endIndex, !",}] \n\r\t".utf8.contains(bytes[index]) { index += 1 }
            guard index < bytes.endIndex else { return false }
            let token = bytes[start..<index]
            if ["true", "false", "null"].contains(where: { token.elementsEqual($0.utf8) }) { return true }
            return !token.isEmpty && (first == UInt8(ascii: "-") || (0x30...0x39).contains(first))
                && token.allSatisfy { "0123456789+-.eE".utf8.contains($0) }
        }
        var depth = 0
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "\""):
                guard string() != nil else { return false }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            index += 1
            if depth == 0 { return true }
        }
        return false
    }
}

extension LeadParser {
    /// The `lead_id` of a rejected input, when it can be read: the lead frame (the second of
    /// an ingest message, the only one on intake) parsed whole, or, for a `too_large` message,
    /// its first bytes scanned (``LeadIDScan``). `nil` when the frames are not laid out as
    /// expected or no valid id is found.
    public static func rejectedLeadID(_ message: InboundMessage, from channel: InboundChannel, code: LeadRejection.Code) -> String? {
        let expected = channel == .ingest ? 2 : 1
        if code == .tooLarge {
            // As the rejected/ envelope quotes it: the lead frame, when it can be told.
            let frame = message.frameCount >= 2 && channel == .ingest ? message.frame(1) : message.frameCount > 0 ? message.frame(0) : nil
            return frame.flatMap { LeadIDScan.leadID(in: $0) }
        }
        guard message.frameCount == expected else { return nil }
        let frame = message.frame(expected - 1)
        if let id = readableLeadID(frame) { return id }
        // The JSON is valid (the problem is a field's type or value), but the problem came
        // before `lead_id` in the frame, or a byte order mark did: the top-level `lead_id` is
        // still read, as docs/protocol.md promises ("even if another field is wrong").
        guard code == .missingField || code == .invalidField else { return nil }
        return LeadIDScan.leadID(in: frame)
    }
}
