/// A deal registration's `expires` (config `registrations[].expires`, `leadctl register
/// --expires`): an RFC 3339 date-time with an offset, or a date alone.
///
/// A date alone, `2027-03-31`, means **through the end of that day, UTC**: the registration
/// ends at the next midnight UTC, `2027-04-01T00:00:00Z`, the first instant it no longer
/// covers (a lead at 2027-03-31T23:59:59.999Z is still covered). That instant is what is
/// stored, printed and written in reasons.
public enum RegistrationExpiry {
    /// What an `expires` value may be, for messages.
    public static let expected =
        "a date such as 2027-03-31 (through the end of that day, UTC) or an RFC 3339 time with an offset, such as 2027-03-31T17:00:00Z"

    /// Milliseconds since 1970 at which a registration with this `expires` ends, or what is
    /// wrong with `text`.
    public static func parse(_ text: String) -> RFC3339.Parsed {
        guard isDateAlone(text) else { return RFC3339.parse(text) }
        switch RFC3339.parse(text + "T00:00:00Z") {
        case .instant(let startOfDay): return .instant(startOfDay + 86_400_000)
        case .invalid(let reason): return .invalid(reason)
        }
    }

    /// Whether `text` has the form `YYYY-MM-DD` and nothing else.
    public static func isDateAlone(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10 else { return false }
        for (i, byte) in bytes.enumerated() {
            let isDigit = (0x30...0x39).contains(byte)
            if i == 4 || i == 7 { if byte != UInt8(ascii: "-") { return false } } else if !isDigit { return false }
        }
        return true
    }
}
