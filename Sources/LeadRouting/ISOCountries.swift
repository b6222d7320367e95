/// ISO 3166-1 alpha-2 country codes.
///
/// The 249 officially assigned codes (user-assigned codes such as `XK` are not included).
public enum ISOCountry {
    /// Every officially assigned ISO 3166-1 alpha-2 code, upper-case.
    public static let alpha2: Set<String> = [
        "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT",
        "AU", "AW", "AX", "AZ",
        "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN",
        "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ",
        "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO",
        "CR", "CU", "CV", "CW", "CX", "CY", "CZ",
        "DE", "DJ", "DK", "DM", "DO", "DZ",
        "EC", "EE", "EG", "EH", "ER", "ES", "ET",
        "FI", "FJ", "FK", "FM", "FO", "FR",
        "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP",
        "GQ", "GR", "GS", "GT", "GU", "GW", "GY",
        "HK", "HM", "HN", "HR", "HT", "HU",
        "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT",
        "JE", "JM", "JO", "JP",
        "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ",
        "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
        "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO",
        "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ",
        "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
        "OM",
        "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT",
        "PW", "PY",
        "QA",
        "RE", "RO", "RS", "RU", "RW",
        "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
        "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ",
        "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR",
        "TT", "TV", "TW", "TZ",
        "UA", "UG", "UM", "US", "UY", "UZ",
        "VA", "VC", "VE", "VG", "VI", "VN", "VU",
        "WF", "WS",
        "YE", "YT",
        "ZA", "ZM", "ZW",
    ]

    /// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code.
    ///
    /// The match is exact: `"US"` is valid, `"us"` is not. Upper-case the input first to
    /// accept any case.
    public static func isValid(_ code: String) -> Bool {
        var code = code
        return code.withUTF8 { bytes in
            guard bytes.count == 2, let index = index(bytes[0], bytes[1]) else { return false }
            return assigned[index / 64] & (1 << UInt64(index % 64)) != 0
        }
    }

    /// Two capital letters as a string made once (a lead's country, read: making the string
    /// from its bytes cost about 200 instructions), or `nil` for other bytes.
    @inline(__always)
    static func twoLetters(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count == 2, let index = index(bytes[0], bytes[1]) else { return nil }
        return twoLetterStrings[index]
    }

    private static let twoLetterStrings: [String] = (0..<26 * 26).map { (index: Int) -> String in
        let first = UInt8(0x41 + index / 26), second = UInt8(0x41 + index % 26)
        return String(decoding: [first, second], as: UTF8.self)
    }

    /// `A`-`Z` twice as a number below 676, or `nil`.
    @inline(__always)
    private static func index(_ first: UInt8, _ second: UInt8) -> Int? {
        guard (0x41...0x5A).contains(first), (0x41...0x5A).contains(second) else { return nil }
        return Int(first - 0x41) * 26 + Int(second - 0x41)
    }

    /// ``alpha2`` as one bit per two-letter code: a lead's country is checked with a load
    /// and a mask, not hashed (about 300 instructions a lead).
    private static let assigned: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: (26 * 26 + 63) / 64)
        for code in alpha2 {
            let bytes = Array(code.utf8)
            if bytes.count == 2, let index = index(bytes[0], bytes[1]) { bits[index / 64] |= 1 << UInt64(index % 64) }
        }
        return bits
    }()
}
