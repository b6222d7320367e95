/// RFC 3339 UTC timestamps with milliseconds (`2026-11-22T10:00:00.123Z`), formatted by
/// arithmetic alone so the hot path pays no formatter and no locale.
public enum Timestamp {
    /// Formats milliseconds since the Unix epoch.
    public static func rfc3339(millisecondsSince1970 ms: Int64) -> String {
        let days = floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        let h = msOfDay / 3_600_000
        let min = msOfDay / 60_000 % 60
        let s = msOfDay / 1000 % 60
        let milli = msOfDay % 1000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(min, 2)):\(pad(s, 2)).\(pad(milli, 3))Z"
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

/// Assignment identifiers: `a-` and a ULID (48-bit millisecond time, 80 random bits,
/// Crockford base 32), so they sort by creation time.
public enum AssignmentID {
    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(millisecondsSince1970 ms: Int64, using generator: inout some RandomNumberGenerator) -> String {
        var out: [UInt8] = Array("a-".utf8)
        out.reserveCapacity(28)
        let time = UInt64(max(0, ms)) & 0xFFFF_FFFF_FFFF
        for i in stride(from: 45, through: 0, by: -5) {
            out.append(alphabet[Int((time >> UInt64(i)) & 31)])
        }
        let high = generator.next() & 0xFF_FFFF_FFFF  // 40 bits
        let low = generator.next() & 0xFF_FFFF_FFFF  // 40 bits
        for part in [high, low] {
            for i in stride(from: 35, through: 0, by: -5) {
                out.append(alphabet[Int((part >> UInt64(i)) & 31)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Timestamp {
    /// Milliseconds since 1970 for `text`, or `nil` when it is not a strict RFC 3339
    /// date-time with a zone offset (`2026-12-01T00:00:00Z`, `2026-12-01T02:00:00.250+02:00`).
    public static func milliseconds(rfc3339 text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let year = digits(0, 4), b[4] == 0x2D, let month = digits(5, 2), b[7] == 0x2D, let day = digits(8, 2),
              b[10] == 0x54 || b[10] == 0x74, let hour = digits(11, 2), b[13] == 0x3A, let minute = digits(14, 2),
              b[16] == 0x3A, let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if i < b.count && b[i] == 0x2E {
            i += 1
            var scale: Int64 = 100
            let start = i
            while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 {
                millis += Int64(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetMinutes: Int64 = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = digits(i + 4, 2), oh <= 23, om <= 59 else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[i] == 0x2B ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60
        return seconds * 1000 + millis
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
