/// RFC 3339 UTC timestamps with milliseconds (`2026-11-22T10:00:00.123Z`), formatted by
/// arithmetic alone so the hot path pays no formatter and no locale.
public enum Timestamp {
    /// Formats milliseconds since the Unix epoch.
    public static func rfc3339(millisecondsSince1970 ms: Int64) -> String {
        // The common case, digit by digit into 24 bytes: no interpolation, no padding strings.
        if let text = String(unsafeUninitializedCapacity: 24, initializingUTF8With: { write(ms, to: $0) ?? 0 }).nilIfEmpty {
            return text
        }
        let days = floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(msOfDay / 3_600_000, 2)):\(pad(msOfDay / 60_000 % 60, 2))"
            + ":\(pad(msOfDay / 1000 % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    /// Writes ``rfc3339(millisecondsSince1970:)`` of `ms` into `out` (24 bytes at least) and
    /// returns 24, for years 0-9999; `nil` (nothing written) for others.
    static func write(_ ms: Int64, to out: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        let days = floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        guard (0...9999).contains(y), out.count >= 24 else { return nil }
        var at = 0
        func put(_ value: Int64, _ width: Int, then separator: UInt8) {
            var v = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                out[at + i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            out[at + width] = separator
            at += width + 1
        }
        put(y, 4, then: UInt8(ascii: "-"))
        put(m, 2, then: UInt8(ascii: "-"))
        put(d, 2, then: UInt8(ascii: "T"))
        put(msOfDay / 3_600_000, 2, then: UInt8(ascii: ":"))
        put(msOfDay / 60_000 % 60, 2, then: UInt8(ascii: ":"))
        put(msOfDay / 1000 % 60, 2, then: UInt8(ascii: "."))
        put(msOfDay % 1000, 3, then: UInt8(ascii: "Z"))
        return at
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Howard Hinnant's days-from-civil inverse.
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

/// An assignment identifier: `a-` and a ULID (48-bit millisecond time, 80 random bits,
/// Crockford base 32), so they sort by creation time.
///
/// Kept inline, up to 32 bytes (a `String` of the 28 an id has was an allocation a lead);
/// a longer text, which this daemon never makes but a store could hold, is kept as it is.
public struct AssignmentID: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The text's bytes, then zeros.
    @usableFromInline var bytes: SIMD32<UInt8>
    @usableFromInline var count: UInt8
    /// A text past 32 bytes.
    @usableFromInline var long: String?

    public init(_ text: String) {
        bytes = .zero
        count = 0
        long = nil
        var text = text
        text.withUTF8 { utf8 in
            guard utf8.count <= 32 else {
                long = String(decoding: utf8, as: UTF8.self)
                return
            }
            for (i, b) in utf8.enumerated() { bytes[i] = b }
            count = UInt8(utf8.count)
        }
    }

    public init(stringLiteral text: String) { self.init(text) }

    /// No id (a decision not yet routed).
    public static let none = AssignmentID("")

    public var isEmpty: Bool { count == 0 && long == nil }

    /// The id as a `String` (made when asked for).
    public var description: String { long ?? withUTF8 { String(decoding: $0, as: UTF8.self) } }

    /// Calls `body` with the id's UTF-8.
    @inlinable
    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if var long { return try long.withUTF8(body) }
        var copy = bytes
        let count = Int(count)
        return try withUnsafeBytes(of: &copy) { raw in
            try body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }

    /// Crockford's base 32, as a literal: a global array would cost a lazy-initialisation
    /// check and a retain for every character written.
    @inline(__always)
    private static func digit(_ value: Int) -> UInt8 {
        let alphabet: StaticString = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        return alphabet.utf8Start[value & 31]
    }

    /// A new id for `ms`, its random part from `generator`.
    public static func make(millisecondsSince1970 ms: Int64, using generator: inout some RandomNumberGenerator) -> AssignmentID {
        let time = UInt64(max(0, ms)) & 0xFFFF_FFFF_FFFF
        let high = generator.next() & 0xFF_FFFF_FFFF  // 40 bits
        let low = generator.next() & 0xFF_FFFF_FFFF  // 40 bits
        // `a-`, then 10 characters of time and 2 x 8 of randomness, written in place (a
        // vector's lanes set one at a time cost several instructions each).
        var id = AssignmentID.none
        id.count = withUnsafeMutableBytes(of: &id.bytes) { out in
            out[0] = UInt8(ascii: "a")
            out[1] = UInt8(ascii: "-")
            var at = 2
            // A counted loop: `stride(from:through:by:)`'s iterator cost about ten instructions a character.
            func put(_ value: UInt64, from top: Int) {
                var shift = UInt64(top)
                let base = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                while true {
                    base[at] = digit(Int(truncatingIfNeeded: value &>> shift))
                    at += 1
                    if shift < 5 { break }
                    shift -= 5
                }
            }
            put(time, from: 45)
            put(high, from: 35)
            put(low, from: 35)
            return UInt8(at)
        }
        return id
    }
}

/// A small, fast, seedable generator (SplitMix64) for the random part of assignment ids.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Timestamp {
    /// Milliseconds since 1970 for `text`, or `nil` when it is not a strict RFC 3339
    /// date-time with a zone offset (`2026-12-01T00:00:00Z`, `2026-12-01T02:00:00.250+02:00`).
    public static func milliseconds(rfc3339 text: String) -> Int64? {
        if case .instant(let ms) = RFC3339.parse(text) { return ms }
        return nil
    }
}

/// Strict RFC 3339 date-times: `2026-12-01T00:00:00Z`, `2026-12-01T09:30:00.250+02:00`.
///
/// The offset is required (`Z` or `±hh:mm`); `T` and `Z` may be lower case; fractional
/// seconds may have any number of digits, of which the first three count. A leap second
/// (`:60`) is taken as `:59`, as milliseconds since 1970 have none. Accepts exactly what
/// ``Timestamp/milliseconds(rfc3339:)`` accepts, and says what is wrong with the rest.
public enum RFC3339 {
    public enum Parsed: Equatable, Sendable {
        /// Milliseconds since 1970-01-01T00:00:00Z.
        case instant(Int64)
        /// What is wrong, such as `the month must be 01-12, got 13`.
        case invalid(String)
    }

    public static func parse(_ text: String) -> Parsed {
        var fields = Fields()
        if let problem = read(text, into: &fields) { return .invalid(problem) }
        return instant(fields, text)
    }

    /// A date-time's numbers as written, before their ranges are checked.
    private struct Fields {
        var year: Int64 = 0
        var month: Int64 = 0
        var day: Int64 = 0
        var hour: Int64 = 0
        var minute: Int64 = 0
        var second: Int64 = 0
        var milliseconds: Int64 = 0
        var offsetMinutes: Int64 = 0
    }

    /// Where reading is in the text's bytes.
    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        /// `count` decimal digits as a number, or `nil` (and nothing taken) when they are not there.
        mutating func digits(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += count
            return value
        }

        /// The next byte when it is one of `characters`, taken; else `nil`.
        mutating func take(_ characters: String) -> UInt8? {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return nil }
            index += 1
            return bytes[index - 1]
        }
    }

    /// Reads the form of `text` into `fields`: what is wrong with it, or `nil`.
    private static func read(_ text: String, into fields: inout Fields) -> String? {
        var cursor = Cursor(bytes: Array(text.utf8))
        let shape = "expected the form YYYY-MM-DDThh:mm:ss[.fraction] followed by Z or an offset such as +02:00"

        guard let year = cursor.digits(4), cursor.take("-") != nil, let month = cursor.digits(2), cursor.take("-") != nil,
              let day = cursor.digits(2) else { return shape }
        if cursor.atEnd {
            return "a date alone is not enough; add a time and an offset, such as \(text)T00:00:00Z"
        }
        guard cursor.take("Tt") != nil else {
            if cursor.bytes[cursor.index] == 0x20 { return "separate the date and the time with T, not a space" }
            return shape
        }
        guard let hour = cursor.digits(2), cursor.take(":") != nil, let minute = cursor.digits(2), cursor.take(":") != nil,
              let second = cursor.digits(2) else { return shape }
        fields = Fields(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        if cursor.take(".") != nil {
            var count = 0
            while cursor.index < cursor.bytes.count, (0x30...0x39).contains(cursor.bytes[cursor.index]) {
                if count < 3 { fields.milliseconds = fields.milliseconds * 10 + Int64(cursor.bytes[cursor.index] - 0x30) }
                count += 1
                cursor.index += 1
            }
            guard count > 0 else { return "the fractional seconds after the dot are missing" }
            for _ in count..<max(count, 3) { fields.milliseconds *= 10 }
        }
        if cursor.atEnd {
            return "the offset is missing; add Z for UTC or an offset such as +02:00"
        }
        if cursor.take("Zz") == nil {
            guard let sign = cursor.take("+-"), let offsetHour = cursor.digits(2), cursor.take(":") != nil,
                  let offsetMinute = cursor.digits(2) else {
                return "the offset must be Z or ±hh:mm, such as +02:00"
            }
            guard offsetHour <= 23, offsetMinute <= 59 else {
                return "the offset must be at most ±23:59"
            }
            fields.offsetMinutes = (offsetHour * 60 + offsetMinute) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        guard cursor.atEnd else { return "unexpected text after the offset" }
        return nil
    }

    /// The instant `fields` (read from `text`) name, once each is in its range.
    private static func instant(_ fields: Fields, _ text: String) -> Parsed {
        let (year, month, day, hour, minute, second) = (fields.year, fields.month, fields.day, fields.hour, fields.minute, fields.second)
        guard (1...12).contains(month) else { return .invalid("the month must be 01-12, got \(month)") }
        let monthDays = daysIn(month: month, year: year)
        guard (1...monthDays).contains(day) else {
            return .invalid("the day must be 01-\(monthDays) in \(text.prefix(7)), got \(day)")
        }
        guard hour <= 23 else { return .invalid("the hour must be 00-23, got \(hour)") }
        guard minute <= 59 else { return .invalid("the minute must be 00-59, got \(minute)") }
        guard second <= 60 else { return .invalid("the second must be 00-59 (60 for a leap second), got \(second)") }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - fields.offsetMinutes * 60
        return .instant(seconds * 1000 + fields.milliseconds)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension String {
    /// `nil` for the empty string.
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// The last time formatted (``Timestamp/write(_:to:)``), kept: a batch's leads are routed at
/// one `now`, so each envelope's `routed_at` after the first is a copy of 24 bytes instead of
/// the date's arithmetic (about 550 instructions a lead).
struct RFC3339Cache {
    private var ms = Int64.min
    private var text = SIMD32<UInt8>()
    private var count = 0

    /// Calls `body` with `ms` formatted; `nil` (and `body` not called) for a year
    /// ``Timestamp/write(_:to:)`` does not format.
    @inline(__always)
    mutating func withText<R>(_ ms: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        if ms != self.ms {
            let written = withUnsafeMutableBytes(of: &text) { raw in
                Timestamp.write(ms, to: UnsafeMutableBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 32))
            }
            guard let written else { return nil }
            self.ms = ms
            count = written
        }
        return withUnsafeBytes(of: &text) { raw in
            body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }
}
