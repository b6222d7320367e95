/// The text fields of a lead that routing reads once or never (the company's name, domain
/// and contact e-mail, read once for the account keys; `source`; `received_at`;
/// qualification's `need`, whose presence is all that counts, and `currency`) and its
/// products (read as bytes), kept as UTF-8 in one buffer: the reader copies them there in
/// one allocation instead of making a `String` of each, and a field becomes a `String` only
/// when asked for.
///
/// The products slot holds each product as its length (4 bytes, little-endian) and then its
/// UTF-8 (``forEachProduct(_:)``).
///
/// A lead's facts and its qualification share the buffer (copying it only retains it), each
/// owning its own slots: equality compares the owned slots' text.
struct SpareText: Sendable, Equatable {
    static let companyName = 0, companyDomain = 1, contactEmail = 2, source = 3, receivedAt = 4
    static let need = 5, currency = 6, products = 7
    /// The slots a lead's facts own, and those its qualification owns.
    static let factSlots: UInt8 = 0b1001_1111, qualificationSlots: UInt8 = 0b0110_0000

    /// The slots' UTF-8, one after another.
    /// A run of the reader's blocks (``ByteArena``), or of a block of its own.
    private(set) var bytes: SharedBytes
    /// Each slot's start in ``bytes`` and its length (-1: absent).
    private var starts: SIMD8<Int32>
    private var lengths: SIMD8<Int32>
    /// The slots this value owns, one bit each: the others may hold text, but not its own.
    let owned: UInt8

    /// From the reader: `bytes` and each slot's span in it.
    init(bytes: SharedBytes, starts: SIMD8<Int32>, lengths: SIMD8<Int32>, owned: UInt8) {
        self.bytes = bytes
        self.starts = starts
        self.lengths = lengths
        self.owned = owned
    }

    /// `texts` in the slots from `first` on.
    init(_ texts: [String?], from first: Int, owned: UInt8) {
        var bytes: [UInt8] = []
        // Not for no text: reserving even nothing gives the empty array storage of its own.
        let total = texts.reduce(0) { $0 + ($1?.utf8.count ?? 0) }
        if total > 0 { bytes.reserveCapacity(total) }
        var starts = SIMD8<Int32>.zero, lengths = SIMD8<Int32>(repeating: -1)
        for (i, text) in texts.enumerated() {
            guard let text else { continue }
            starts[first + i] = Int32(bytes.count)
            lengths[first + i] = Int32(text.utf8.count)
            bytes.append(contentsOf: text.utf8)
        }
        self.init(bytes: bytes.isEmpty ? .empty : SharedBytes(bytes), starts: starts, lengths: lengths, owned: owned)
    }

    /// The same text, owning `slots`.
    func owning(_ slots: UInt8) -> SpareText {
        SpareText(bytes: bytes, starts: starts, lengths: lengths, owned: slots)
    }

    /// Slot `slot`'s text, `nil` when absent. Setting it copies the buffer, without the old text.
    subscript(slot: Int) -> String? {
        get { withBytes(slot) { $0.map { String(decoding: $0, as: UTF8.self) } } }
        set {
            if var text = newValue {
                text.withUTF8 { replace(slot, with: $0) }
            } else {
                replace(slot, with: nil)
            }
        }
    }

    /// Slot `slot`'s bytes replaced by `bytes` (`nil`: absent), the other slots' copied as they
    /// are, into a buffer of their own.
    mutating func replace(_ slot: Int, with bytes: UnsafeBufferPointer<UInt8>?) {
        var total = bytes?.count ?? 0
        for other in 0..<8 where other != slot && lengths[other] > 0 { total += Int(lengths[other]) }
        var newStarts = SIMD8<Int32>.zero, newLengths = SIMD8<Int32>(repeating: -1)
        var copy: [UInt8] = []
        if total > 0 { copy.reserveCapacity(total) }
        self.bytes.withUnsafeBufferPointer { all in
            for other in 0..<8 {
                let text = other == slot ? bytes
                    : lengths[other] < 0 ? nil : UnsafeBufferPointer(rebasing: all[Int(starts[other])..<Int(starts[other] + lengths[other])])
                guard let text else { continue }
                newStarts[other] = Int32(copy.count)
                newLengths[other] = Int32(text.count)
                copy.append(contentsOf: text)
            }
        }
        self = SpareText(bytes: copy.isEmpty ? .empty : SharedBytes(copy), starts: newStarts, lengths: newLengths, owned: owned)
    }

    /// `products` as the products slot holds them: each one's length, then its UTF-8.
    static func productBytes(_ products: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for product in products {
            withUnsafeBytes(of: UInt32(product.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: product.utf8)
        }
        return bytes
    }

    /// Calls `body` with each product's UTF-8, in order, with no `String` made.
    @inline(__always)
    func forEachProduct(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        try withBytes(SpareText.products) { slot in
            guard let slot, let base = slot.baseAddress else { return }
            var at = 0
            while at + 4 <= slot.count {
                let length = Int(UInt32(littleEndian: UnsafeRawPointer(base + at).loadUnaligned(as: UInt32.self)))
                try body(UnsafeBufferPointer(start: base + at + 4, count: length))
                at += 4 + length
            }
        }
    }

    /// The products, as `String`s.
    var productList: [String] {
        var list: [String] = []
        forEachProduct { list.append(String(decoding: $0, as: UTF8.self)) }
        return list
    }

    /// Calls `body` with slot `slot`'s bytes, `nil` when absent.
    @inline(__always)
    func withBytes<R>(_ slot: Int, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        let length = Int(lengths[slot])
        guard length >= 0 else { return try body(nil) }
        return try bytes.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[Int(starts[slot])..<(Int(starts[slot]) + length)]))
        }
    }

    /// Whether slot `slot` holds text.
    func has(_ slot: Int) -> Bool { lengths[slot] >= 0 }

    /// The same text in every slot either side owns.
    static func == (lhs: SpareText, rhs: SpareText) -> Bool {
        let slots = lhs.owned | rhs.owned
        for slot in 0..<8 where slots & (1 << slot) != 0 {
            let same = lhs.withBytes(slot) { a in rhs.withBytes(slot) { b in
                switch (a, b) {
                case (nil, nil): true
                case let (a?, b?): a.elementsEqual(b)
                default: false
                }
            } }
            if !same { return false }
        }
        return true
    }
}
