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
