/// Builds envelope JSON by appending bytes: LeadRouter never re-encodes a lead, it splices
/// the lead's validated bytes in, and writes only its own small fields.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    private mutating func key(_ name: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { JSONWriter.appendBytes($0, to: &bytes) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = true
    }

    /// Appends `source`: byte by byte when short (keys, ids, codes), where the generic
    /// `append(contentsOf:)` costs about a hundred instructions a call whatever the length.
    @inline(__always)
    static func appendBytes(_ source: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        if source.count <= 16 {
            for b in source { bytes.append(b) }
        } else {
            bytes.append(contentsOf: source)
        }
    }

    mutating func field(_ name: StaticString, _ value: Int) {
        key(name)
        appendInt(value)
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { JSONWriter.appendString(value, to: &bytes) } else { appendNull() }
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: Array((value ? "true" : "false").utf8))
    }

    /// A time as RFC 3339 in UTC with milliseconds (``Timestamp/rfc3339(millisecondsSince1970:)``),
    /// written in place: no string is made.
    mutating func field(_ name: StaticString, rfc3339 ms: Int64) {
        key(name)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            guard let count = Timestamp.write(ms, to: buffer) else {
                return JSONWriter.appendString(Timestamp.rfc3339(millisecondsSince1970: ms), to: &bytes)
            }
            bytes.append(UInt8(ascii: "\""))
            JSONWriter.appendBytes(UnsafeBufferPointer(rebasing: buffer[0..<count]), to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// A number: whole values without a fraction (`50000`), others as Swift prints them.
    mutating func field(_ name: StaticString, _ value: Double?) {
        key(name)
        guard let value, value.isFinite else { return appendNull() }
        if value == value.rounded(), abs(value) < 1e15 {
            appendInt(Int(value))
        } else {
            bytes.append(contentsOf: Array("\(value)".utf8))
        }
    }

    mutating func field(_ name: StaticString, _ values: [String]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A field whose value is JSON already (a validated lead); returns where it sits in ``bytes``.
    @discardableResult
    mutating func field(_ name: StaticString, rawJSON: [UInt8]) -> Range<Int> {
        key(name)
        let start = bytes.count
        bytes.append(contentsOf: rawJSON)
        return start..<bytes.count
    }

    /// Opens an array-valued field; add elements with ``beginElement()``, close with ``endArray()``.
    mutating func arrayField(_ name: StaticString) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Starts an array element (writes the comma between elements).
    mutating func beginElement() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Opens an object-valued field; close it with ``endObject()``.
    mutating func objectField(_ name: StaticString) {
        key(name)
        beginObject()
    }

    private mutating func appendNull() {
        for b: UInt8 in [0x6E, 0x75, 0x6C, 0x6C] { bytes.append(b) }
    }

    /// `"qualification":{"score":85,"grade":"A","signals":{"need":20,…}}`.
    mutating func qualification(_ q: Qualification) {
        objectField("qualification")
        field("score", q.score)
        field("grade", q.grade.rawValue)
        objectField("signals")
        for signal in q.signals { field(dynamic: signal.name, signal.points) }
        endObject()
        endObject()
    }

    private mutating func key(dynamic name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        JSONWriter.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = true
    }

    /// Appends `value` in decimal, without building a String.
    mutating func appendInt(_ value: Int) {
        if value < 0 {
            guard value != .min else { bytes.append(contentsOf: String(value).utf8); return }
            bytes.append(UInt8(ascii: "-"))
            appendInt(-value)
            return
        }
        if value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 digits
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            for b in buffer[(24 - count)...] { bytes.append(b) }
        }
    }

    /// Opens an array-valued field with a computed name; add values with ``element(_:)``.
    mutating func arrayField(dynamic name: String) {
        key(dynamic: name)
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// A string field whose value is ASCII that needs no escaping (``PackedPositions``), lent.
    mutating func field(dynamic name: String, ascii value: UnsafeBufferPointer<UInt8>) {
        key(dynamic: name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: value)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The same, from an array.
    mutating func field(dynamic name: String, ascii value: [UInt8]) {
        value.withUnsafeBufferPointer { field(dynamic: name, ascii: $0) }
    }

    mutating func element(_ value: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        JSONWriter.appendString(value, to: &bytes)
        needsComma = true
    }

    mutating func field(dynamic name: String, _ value: Int) {
        key(dynamic: name)
        appendInt(value)
    }

    /// Appends `value` as a JSON string literal, escaping what RFC 8259 requires.
    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escaping: copy them in one go. (`withUTF8`, unlike the UTF-8
        // view's `withContiguousStorageIfAvailable`, also reaches small strings' bytes: ids,
        // topics and codes, most of what is written, are small.)
        var value = value
        let plain = value.withUTF8 { buffer -> Bool in
            for b in buffer where b < 0x20 || b == 0x22 || b == 0x5C { return false }
            appendBytes(buffer, to: &bytes)
            return true
        }
        if plain {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
