/// A string written in pieces, and elements written already: reasons go straight into the
/// buffer this way, never built as a `String`.
extension JSONWriter {
    /// Opens a string element whose text comes in pieces (``text(_:)-swift.method``), closed
    /// by ``endString()``: a reason is written straight into the buffer, never built as a `String`.
    mutating func beginString() {
        if needsComma { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: "\""))
    }

    /// A piece of the open string, escaped as needed.
    mutating func text(_ value: String) {
        if !plain(value, quoted: false) { escapedText(value) }
    }

    /// A piece of the open string from UTF-8 bytes, escaped as needed.
    mutating func text(_ bytes: UnsafeBufferPointer<UInt8>) {
        if JSONWriter.needsNoEscaping(bytes) { raw(bytes) } else { escapedText(String(decoding: bytes, as: UTF8.self)) }
    }

    /// A piece of the open string from a literal (plain text: nothing to escape), copied as
    /// it is. Labelled: unlabelled, a literal argument picks ``text(_:)-swift.method``'s
    /// `String` overload (the default literal type), which checks it for escapes each time.
    mutating func text(literal: StaticString) {
        raw(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// A number in the open string.
    mutating func text(_ value: Int) { appendInt(value) }

    mutating func endString() {
        byte(UInt8(ascii: "\""))
        needsComma = true
    }

    /// An array-valued field whose elements are written already (`"a","b"`), spliced in.
    mutating func field(_ name: StaticString, elements: [UInt8]) {
        key(name)
        byte(UInt8(ascii: "["))
        elements.withUnsafeBufferPointer { raw($0) }
        byte(UInt8(ascii: "]"))
    }
}
