/// Builds envelope JSON by appending bytes: LeadRouter never re-encodes a lead, it splices
/// the lead's validated bytes in, and writes only its own small fields.
///
/// Each piece (a key with its quotes, comma and colon; a string; a number) is written as one
/// block straight into the buffer, after one capacity check: appending byte by byte to an
/// array checks its capacity and uniqueness for every byte, which was about a third of what
/// writing an envelope cost (docs/benchmarks.md). The buffer is an array filled to its
/// capacity, `count` bytes of it written; ``bytes`` trims it, without copying.
///
/// Not copyable, so it alone holds its buffer until ``bytes`` hands it over: it writes
/// through a pointer to the buffer kept from when the buffer was made or grown. Writing
/// through the array instead checked that it was not shared for every piece written, about
/// 135 checks a lead.
struct JSONWriter: ~Copyable {
    private var storage: [UInt8]
    /// Where `storage`'s bytes are, while it is this writer's alone.
    private var base: UnsafeMutablePointer<UInt8>
    /// How many bytes `base` may take: `storage.count`, or 0 once ``bytes`` has shared it, so
    /// the next write makes the buffer this writer's again first.
    private var capacity: Int
    /// How many bytes are written.
    private(set) var count = 0
    /// Whether the next piece follows another (a comma first). Internal, not private, as
    /// the block writers below: the string pieces of JSONWriter+Text.swift write with them.
    var needsComma = false
    /// The arena block written in place (``init(in:capacity:)``), and where in it this writer
    /// starts; `nil` once writing into ``storage``.
    private var block: ByteBlock?
    private var blockStart = 0

    init(capacity: Int = 512) {
        storage = Buffers.zeroBytes(max(capacity, 16))
        base = storage.withUnsafeMutableBufferPointer { $0.baseAddress! }
        self.capacity = storage.count
    }

    /// A writer into `buffer`'s storage (taken from it, which is left empty), grown to
    /// `capacity` when smaller: a buffer that is not shared is written again with no
    /// allocation. The bytes it holds are written over, not zeroed again: only the room
    /// missing up to `capacity` is zeroed (zeroing all of it each time cost about 150
    /// instructions a lead); growing past it stays in that storage.
    init(reusing buffer: inout [UInt8], capacity: Int) {
        storage = Buffers.taken(&buffer)
        let room = max(capacity, 16)
        if storage.count < room { Buffers.appendZeros(&storage, count: room - storage.count) }
        base = storage.withUnsafeMutableBufferPointer { $0.baseAddress! }
        self.capacity = storage.count
    }

    /// A writer straight into `arena`'s free room (at least `capacity` bytes of it), for
    /// ``shared(in:)`` to keep there: no buffer to zero and no copy. Writing past the room
    /// goes on in a buffer of its own.
    init(in arena: inout ByteArena, capacity: Int) {
        let (block, start) = arena.reserve(capacity)
        storage = []
        base = block.base + start
        self.capacity = block.capacity - start
        self.block = block
        blockStart = start
    }

    /// What was written by a writer made with ``init(in:capacity:)``, kept in `arena` (in
    /// place, unless it outgrew its room).
    consuming func shared(in arena: inout ByteArena) -> SharedBytes {
        // Tested, then unwrapped: bound with `guard let`, the optional (a field of this
        // non-copyable writer) was copied through the runtime's generic witness.
        if block == nil { return storage.withUnsafeBufferPointer { arena.copy(UnsafeBufferPointer(rebasing: $0[..<count])) } }
        return arena.commit(block.unsafelyUnwrapped, from: blockStart, count: count)
    }

    /// Ends the text with a newline (a JSON line), inside the buffer.
    mutating func endLine() { byte(0x0A) }

    /// What was written. The buffer is trimmed to it and handed over whole; writing more
    /// afterwards works, but copies it.
    var bytes: [UInt8] {
        mutating get {
            if block != nil { leaveBlock(needing: count) }
            if storage.count > count { storage.removeLast(storage.count - count) }
            capacity = 0
            return storage
        }
    }

    // MARK: - Writing blocks

    /// Makes room for `n` more bytes, then lets `body` write them at the end.
    @inline(__always)
    private mutating func write(_ n: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Void) {
        let at = count
        if at + n > capacity { grow(to: at + n) }
        body(base + at)
        count = at + n
    }

    /// Makes room for `needed` bytes in a buffer of this writer's own (copied, if ``bytes``
    /// shared it), and points `base` at it.
    @inline(never)
    private mutating func grow(to needed: Int) {
        if block != nil { return leaveBlock(needing: needed) }
        Buffers.appendZeros(&storage, count: max(needed, storage.count * 2) - storage.count)
        base = storage.withUnsafeMutableBufferPointer { $0.baseAddress! }
        capacity = storage.count
    }

    /// Goes on in a buffer of its own, with what was written in the arena's block copied.
    private mutating func leaveBlock(needing needed: Int) {
        storage = Buffers.zeroBytes(max(needed, 2 * count, 16))
        let written = base
        base = storage.withUnsafeMutableBufferPointer { $0.baseAddress! }
        if count > 0 { base.update(from: written, count: count) }
        capacity = storage.count
        block = nil
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        write(1) { $0[0] = b }
    }

    @inline(__always)
    mutating func raw(_ source: UnsafeBufferPointer<UInt8>) {
        guard let base = source.baseAddress, !source.isEmpty else { return }
        write(source.count) { JSONWriter.copy(base, to: $0, count: source.count) }
    }

    /// `source` between quotes, as is (the caller knows it needs no escaping), in one block.
    @inline(__always)
    private mutating func quoted(_ source: UnsafeBufferPointer<UInt8>) {
        let n = source.count
        write(n + 2) { p in
            p[0] = UInt8(ascii: "\"")
            if let base = source.baseAddress { JSONWriter.copy(base, to: p + 1, count: n) }
            p[n + 1] = UInt8(ascii: "\"")
        }
    }

    /// Copies `count` bytes: a short run (a key, an id, a code, a name: most of what is
    /// written) by overlapping loads and stores, with no call; a longer one by `memcpy`.
    @inline(__always)
    static func copy(_ source: UnsafePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, count n: Int) {
        if n > 16 && n <= 32 {
            let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(target)
            let a = from.loadUnaligned(as: UInt64.self), b = from.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let c = from.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self), d = from.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            to.storeBytes(of: a, as: UInt64.self)
            to.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
            to.storeBytes(of: c, toByteOffset: n - 16, as: UInt64.self)
            to.storeBytes(of: d, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 8 && n <= 16 {
            let head = UnsafeRawPointer(source).loadUnaligned(as: UInt64.self)
            let tail = UnsafeRawPointer(source + n - 8).loadUnaligned(as: UInt64.self)
            UnsafeMutableRawPointer(target).storeBytes(of: head, as: UInt64.self)
            UnsafeMutableRawPointer(target + n - 8).storeBytes(of: tail, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let head = UnsafeRawPointer(source).loadUnaligned(as: UInt32.self)
            let tail = UnsafeRawPointer(source + n - 4).loadUnaligned(as: UInt32.self)
            UnsafeMutableRawPointer(target).storeBytes(of: head, as: UInt32.self)
            UnsafeMutableRawPointer(target + n - 4).storeBytes(of: tail, as: UInt32.self)
        } else if n < 4 {
            for i in 0..<n { target[i] = source[i] }
        } else {
            target.update(from: source, count: n)
        }
    }

    // MARK: - Structure

    mutating func beginObject() {
        byte(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        byte(UInt8(ascii: "}"))
        needsComma = true
    }

    /// `,"name":`, the comma only after a value, in one block (inlined: as a call, with its
    /// block's closure, about 75 instructions a key).
    @inline(__always)
    mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount, comma = needsComma ? 1 : 0
        let start = name.utf8Start
        write(length + 3 + comma) { p in
            if comma == 1 { p[0] = UInt8(ascii: ",") }
            p[comma] = UInt8(ascii: "\"")
            JSONWriter.copy(start, to: p + comma + 1, count: length)
            p[comma + 1 + length] = UInt8(ascii: "\"")
            p[comma + 2 + length] = UInt8(ascii: ":")
        }
        needsComma = true
    }

    private mutating func key(dynamic name: String) {
        if needsComma { byte(UInt8(ascii: ",")) }
        string(name)
        byte(UInt8(ascii: ":"))
        needsComma = true
    }

    /// Opens an array-valued field; add elements with ``beginElement()``, close with ``endArray()``.
    mutating func arrayField(_ name: StaticString) {
        key(name)
        byte(UInt8(ascii: "["))
        needsComma = false
    }

    /// Opens an array-valued field with a computed name; add values with ``element(_:)``.
    mutating func arrayField(dynamic name: String) {
        key(dynamic: name)
        byte(UInt8(ascii: "["))
        needsComma = false
    }

    /// Starts an array element (writes the comma between elements).
    mutating func beginElement() {
        if needsComma { byte(UInt8(ascii: ",")) }
        needsComma = false
    }

    mutating func endArray() {
        byte(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Opens an object-valued field; close it with ``endObject()``.
    mutating func objectField(_ name: StaticString) {
        key(name)
        beginObject()
    }

    // MARK: - Fields

    mutating func field(_ name: StaticString, _ value: Int) {
        key(name)
        appendInt(value)
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { string(value) } else { appendNull() }
    }

    /// An assignment id, from its bytes kept inline.
    mutating func field(_ name: StaticString, _ value: AssignmentID) {
        key(name)
        value.withUTF8 { bytes in
            if JSONWriter.needsNoEscaping(bytes) { quoted(bytes) } else { string(String(decoding: bytes, as: UTF8.self)) }
        }
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        literal(value ? "true" : "false")
    }

    /// A time as RFC 3339 in UTC with milliseconds (``Timestamp/rfc3339(millisecondsSince1970:)``),
    /// written in place: no string is made.
    mutating func field(_ name: StaticString, rfc3339 ms: Int64) {
        key(name)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            guard let count = Timestamp.write(ms, to: buffer) else {
                return string(Timestamp.rfc3339(millisecondsSince1970: ms))
            }
            quoted(UnsafeBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The same, through `cache` (the last time formatted, kept).
    mutating func field(_ name: StaticString, rfc3339 ms: Int64, cache: inout RFC3339Cache) {
        let written: Void? = cache.withText(ms) { text in
            key(name)
            quoted(text)
        }
        if written == nil { field(name, rfc3339: ms) }
    }

    /// A number: whole values without a fraction (`50000`), others as Swift prints them.
    mutating func field(_ name: StaticString, _ value: Double?) {
        key(name)
        guard let value, value.isFinite else { return appendNull() }
        if value == value.rounded(), abs(value) < 1e15 {
            appendInt(Int(value))
        } else {
            var text = "\(value)"
            text.withUTF8 { raw($0) }
        }
    }

    mutating func field(_ name: StaticString, _ values: [String]) {
        key(name)
        byte(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            string(value)
        }
        byte(UInt8(ascii: "]"))
    }

    /// A string field whose value is a literal (plain text: nothing to escape).
    mutating func field(_ name: StaticString, literal value: StaticString) {
        key(name)
        quoted(UnsafeBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    /// A field whose value is JSON already (a validated lead); returns where it sits in ``bytes``.
    @discardableResult
    mutating func field(_ name: StaticString, rawJSON: [UInt8]) -> Range<Int> {
        rawJSON.withUnsafeBufferPointer { field(name, rawJSON: $0) }
    }

    /// The same, of a run read in place.
    mutating func field(_ name: StaticString, rawJSON: SharedBytes) -> Range<Int> {
        rawJSON.withUnsafeBufferPointer { field(name, rawJSON: $0) }
    }

    mutating func field(_ name: StaticString, rawJSON: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        key(name)
        let start = count
        raw(rawJSON)
        return start..<count
    }

    /// A string field whose value is ASCII that needs no escaping (``PackedPositions``), lent.
    mutating func field(dynamic name: String, ascii value: UnsafeBufferPointer<UInt8>) {
        key(dynamic: name)
        quoted(value)
    }

    /// A string field whose value `body` writes, as ASCII that needs no escaping, at the
    /// pointer it is given: at most `limit` bytes, returning how many it wrote.
    mutating func field(_ name: StaticString, asciiUpTo limit: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        key(name)
        let at = count
        if at + limit + 2 > capacity { grow(to: at + limit + 2) }
        let start = base + at
        start[0] = UInt8(ascii: "\"")
        let written = body(start + 1)
        precondition(written <= limit, "wrote past its limit")
        start[written + 1] = UInt8(ascii: "\"")
        count = at + written + 2
    }

    /// A string field whose value is ASCII that needs no escaping, from an array.
    mutating func field(dynamic name: String, ascii value: [UInt8]) {
        value.withUnsafeBufferPointer { field(dynamic: name, ascii: $0) }
    }

    mutating func field(dynamic name: String, _ value: Int) {
        key(dynamic: name)
        appendInt(value)
    }

    mutating func element(_ value: String) {
        if needsComma { byte(UInt8(ascii: ",")) }
        string(value)
        needsComma = true
    }

    // MARK: - Values

    private mutating func appendNull() { literal("null") }

    private mutating func literal(_ text: StaticString) {
        raw(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `value` in decimal, without building a String: the digits are written
    /// straight into the buffer, last first, after one capacity check (most numbers written
    /// are below 100: a score, a signal's points, a `seq` early on).
    mutating func appendInt(_ value: Int) {
        if value < 0 {
            guard value != .min else {
                var text = String(value)
                return text.withUTF8 { raw($0) }
            }
            byte(UInt8(ascii: "-"))
            appendInt(-value)
            return
        }
        if value < 10 {
            byte(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        if value < 100 {
            let tens = value / 10
            write(2) { p in
                p[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: tens)
                p[1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value &- tens &* 10)
            }
            return
        }
        var n = 1, rest = value / 10
        while rest > 0 {
            n += 1
            rest /= 10
        }
        write(n) { p in
            var rest = value, i = n
            while i > 0 {
                i -= 1
                let next = rest / 10
                p[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest &- next &* 10)
                rest = next
            }
        }
    }

    /// Appends `value` as a JSON string literal, escaping what RFC 8259 requires.
    mutating func string(_ value: String) {
        // Most strings need no escaping: copied in one block with their quotes. (`withUTF8`,
        // unlike the UTF-8 view's `withContiguousStorageIfAvailable`, also reaches small
        // strings' bytes: ids, topics and codes, most of what is written, are small.)
        if !plain(value, quoted: true) { escaped(value) }
    }

    /// Writes `value` in one block (between quotes when `quoted`) when it needs no escaping;
    /// `false`, writing nothing, when it does.
    @inline(__always)
    mutating func plain(_ value: String, quoted: Bool) -> Bool {
        var value = value
        return value.withUTF8 { buffer -> Bool in
            guard JSONWriter.needsNoEscaping(buffer) else { return false }
            if quoted { self.quoted(buffer) } else { raw(buffer) }
            return true
        }
    }

    /// Whether no byte of `buffer` is a control character, `"` or `\`: eight bytes at a time,
    /// the last eight overlapping the word before (and four to seven bytes as two overlapping
    /// halves of a word), so that only strings under four bytes are read a byte at a time: a
    /// loop over the last bytes cost about 6 instructions a byte, on about ten strings a lead.
    @inline(__always)
    static func needsNoEscaping(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        let n = buffer.count
        let raw = UnsafeRawPointer(base)
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if flagged(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return false }
                i += 8
            }
            return !flagged(raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
        }
        if n >= 4 {
            let low = UInt64(raw.loadUnaligned(as: UInt32.self)), high = UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            return !flagged(high << 32 | low)
        }
        for i in 0..<n {
            let b = base[i]
            if b < 0x20 || b == 0x22 || b == 0x5C { return false }
        }
        return true
    }

    /// Whether a byte of `w` is below 0x20, or is 0x22 or 0x5C (the classic "has a zero
    /// byte" test on w - 0x20.., w ^ 0x22.., w ^ 0x5C..); bytes of 0x80 and more (UTF-8) never are.
    @inline(__always)
    static func flagged(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let below = (w &- ones &* 0x20) & ~w
        let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote, hasBackslash = (backslash &- ones) & ~backslash
        return (below | hasQuote | hasBackslash) & highs != 0
    }

    private mutating func escaped(_ value: String) {
        byte(UInt8(ascii: "\""))
        escapedText(value)
        byte(UInt8(ascii: "\""))
    }

    /// `value`'s bytes as they go inside a JSON string, escaped.
    mutating func escapedText(_ value: String) {
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\""): byte(0x5C); byte(0x22)
            case UInt8(ascii: "\\"): byte(0x5C); byte(0x5C)
            case 0x0A: byte(0x5C); byte(UInt8(ascii: "n"))
            case 0x0D: byte(0x5C); byte(UInt8(ascii: "r"))
            case 0x09: byte(0x5C); byte(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                let digits = hex.utf8Start
                write(6) { p in
                    p[0] = 0x5C
                    p[1] = UInt8(ascii: "u")
                    p[2] = 0x30
                    p[3] = 0x30
                    p[4] = digits[Int(b >> 4)]
                    p[5] = digits[Int(b & 0xF)]
                }
            default: byte(b)
            }
        }
    }
}
