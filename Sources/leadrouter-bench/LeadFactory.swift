import LeadRouting

/// Deterministic, realistic test data: partners spread over ~30 countries and ~10
/// products, and leads of 600-1,000 bytes with varied countries, products, contacts,
/// qualification and free text. The same index always gives the same lead or partner.
enum LeadFactory {
    /// The unknown field that carries the send time, always the last field of a lead:
    /// `"bench_t":"` then 18 decimal digits of CLOCK_MONOTONIC nanoseconds.
    static let stampKey = Array(#""bench_t":""#.utf8)
    static let stampDigits = 18
    static let minimumLeadBytes = 600
    static let maximumLeadBytes = 1000

    struct Country {
        let code: String
        let weight: Int
        let regions: [String]
        let currency: String
        let tld: String
    }

    /// ~30 countries partners cover, weighted roughly like a global vendor's pipeline.
    static let countries: [Country] = [
        Country(code: "US", weight: 30, regions: ["CA", "NY", "TX", "FL", "IL", "WA", "MA", "CO", "GA", "NC", "VA", "AZ", "OH", "PA", "MI", "WY"], currency: "USD", tld: "com"),
        Country(code: "CA", weight: 5, regions: ["ON", "QC", "BC", "AB"], currency: "CAD", tld: "ca"),
        Country(code: "GB", weight: 7, regions: ["ENG", "SCT", "WLS", "NIR"], currency: "GBP", tld: "co.uk"),
        Country(code: "DE", weight: 7, regions: ["BY", "BE", "NW", "HE", "BW", "HH"], currency: "EUR", tld: "de"),
        Country(code: "FR", weight: 5, regions: ["IDF", "ARA", "PAC", "NAQ"], currency: "EUR", tld: "fr"),
        Country(code: "ES", weight: 3, regions: ["MD", "CT", "AN", "VC"], currency: "EUR", tld: "es"),
        Country(code: "IT", weight: 3, regions: [], currency: "EUR", tld: "it"),
        Country(code: "NL", weight: 3, regions: [], currency: "EUR", tld: "nl"),
        Country(code: "BE", weight: 2, regions: [], currency: "EUR", tld: "be"),
        Country(code: "CH", weight: 2, regions: ["ZH", "GE", "BE", "VD"], currency: "CHF", tld: "ch"),
        Country(code: "AT", weight: 2, regions: [], currency: "EUR", tld: "at"),
        Country(code: "SE", weight: 2, regions: [], currency: "SEK", tld: "se"),
        Country(code: "NO", weight: 1, regions: [], currency: "NOK", tld: "no"),
        Country(code: "DK", weight: 1, regions: [], currency: "DKK", tld: "dk"),
        Country(code: "FI", weight: 1, regions: [], currency: "EUR", tld: "fi"),
        Country(code: "IE", weight: 1, regions: [], currency: "EUR", tld: "ie"),
        Country(code: "PL", weight: 2, regions: [], currency: "PLN", tld: "pl"),
        Country(code: "PT", weight: 1, regions: [], currency: "EUR", tld: "pt"),
        Country(code: "CZ", weight: 1, regions: [], currency: "CZK", tld: "cz"),
        Country(code: "BR", weight: 3, regions: ["SP", "RJ", "MG", "RS"], currency: "BRL", tld: "com.br"),
        Country(code: "MX", weight: 2, regions: ["CMX", "JAL", "NLE"], currency: "MXN", tld: "mx"),
        Country(code: "JP", weight: 3, regions: ["13", "27", "23"], currency: "JPY", tld: "jp"),
        Country(code: "KR", weight: 1, regions: [], currency: "KRW", tld: "kr"),
        Country(code: "SG", weight: 1, regions: [], currency: "SGD", tld: "sg"),
        Country(code: "IN", weight: 3, regions: ["MH", "KA", "DL", "TN"], currency: "INR", tld: "in"),
        Country(code: "AU", weight: 3, regions: ["NSW", "VIC", "QLD", "WA"], currency: "AUD", tld: "com.au"),
        Country(code: "NZ", weight: 1, regions: [], currency: "NZD", tld: "nz"),
        Country(code: "ZA", weight: 1, regions: ["GP", "WC"], currency: "ZAR", tld: "co.za"),
        Country(code: "AE", weight: 1, regions: ["DU", "AZ"], currency: "AED", tld: "ae"),
        Country(code: "IL", weight: 1, regions: [], currency: "ILS", tld: "co.il"),
    ]
    /// Countries no partner covers: their leads are unmatched (vendor-sales/, role direct).
    static let uncoveredCountries: [Country] = [
        Country(code: "KE", weight: 1, regions: [], currency: "KES", tld: "co.ke"),
        Country(code: "AR", weight: 1, regions: ["B", "C"], currency: "ARS", tld: "com.ar"),
        Country(code: "EG", weight: 1, regions: [], currency: "EGP", tld: "eg"),
    ]
    static let countryWeightTotal = countries.reduce(0) { $0 + $1.weight }

    static let products = [
        "email-security", "endpoint-protection", "firewall", "siem", "cloud-backup",
        "identity-management", "network-monitoring", "vpn", "dlp", "mdm",
    ]

    static let firstNames = ["Dana", "Alex", "Maria", "Chen", "Priya", "Lukas", "Sofia", "Kenji", "Amara", "Jonas", "Elena", "Omar", "Grace", "Mateo", "Ingrid", "Ravi", "Chloe", "Noah", "Aisha", "Felix", "Yuki", "Liam", "Zara", "Hugo", "Nia", "Oscar", "Lena", "Tariq", "Mia", "Sven"]
    static let lastNames = ["Reyes", "Schmidt", "Okafor", "Tanaka", "Rossi", "Dubois", "Novak", "Kowalski", "Larsen", "Silva", "Nguyen", "Patel", "Murphy", "Fischer", "Haddad", "Johansson", "Moreau", "Costa", "Kim", "Walsh", "Bauer", "Ivanova", "Mendes", "Cohen", "Berg", "Sato", "Garcia", "Brown", "Meyer", "Ali"]
    static let companyRoots = ["Acme", "Summit", "Northwind", "Bluefin", "Cedar", "Granite", "Harbor", "Ironwood", "Juniper", "Keystone", "Lakeside", "Meridian", "Nimbus", "Orchard", "Pioneer", "Quartz", "Redwood", "Sierra", "Tidewater", "Unity", "Vertex", "Willow", "Zenith", "Atlas", "Beacon", "Crescent", "Delta", "Evergreen", "Falcon", "Horizon", "Aurora", "Cobalt", "Everest", "Lighthouse", "Monarch", "Polaris"]
    static let companyKinds = ["Dental", "Logistics", "Manufacturing", "Health", "Capital", "Foods", "Legal", "Energy", "Retail", "Labs", "Insurance", "Engineering", "Media", "Hospitality", "Pharma", "Freight", "Schools", "Bank"]
    static let companySuffixes = ["Inc", "LLC", "GmbH", "Ltd", "SA", "BV", "AG", "Pty Ltd", "KK", "Oy", "AB", "Corp"]
    static let titles = ["CIO", "CISO", "IT Director", "IT Manager", "Head of Security", "Network Engineer", "CTO", "Procurement Lead", "Office Manager", "Security Analyst", "VP Infrastructure", "Systems Administrator"]
    static let needs = [
        "phishing incidents after a merger", "ransomware scare last quarter", "audit findings on endpoint coverage",
        "cyber insurance renewal requires MFA", "replacing an end-of-life firewall", "remote staff on unmanaged laptops",
        "consolidating three backup tools", "SOC 2 preparation", "GDPR data mapping", "new branch offices opening",
        "too many alerts, no SIEM", "contractor access sprawl", "board asked for a security roadmap",
        "migrating mail to the cloud", "lost devices with customer data",
    ]
    static let sources = ["webform", "tradeshow", "campaign", "partner-referral", "inbound-call", "webinar"]
    static let words = [
        "customer", "asked", "for", "a", "demo", "next", "week", "budget", "approved", "pending", "review", "by",
        "finance", "currently", "uses", "competitor", "contract", "ends", "in", "spring", "wants", "pricing", "for",
        "users", "sites", "and", "remote", "workers", "met", "at", "booth", "downloaded", "whitepaper", "attended",
        "webinar", "on", "zero", "trust", "prefers", "local", "reseller", "with", "onsite", "support", "needs",
        "integration", "with", "existing", "directory", "timeline", "depends", "on", "board", "meeting", "call",
        "back", "after", "holidays", "evaluating", "two", "vendors", "security", "team", "of", "three", "small",
        "IT", "staff", "outsourced", "helpdesk", "multi", "year", "deal", "possible", "if", "discount", "pilot",
    ]

    // MARK: - Partners

    /// Partner `index` (`p00042`): leads_only, 1-3 countries (some with regions), some
    /// products or all, weight 1-3. About 2% have no territory (anywhere).
    static func partner(_ index: Int) -> Partner {
        var rng = SplitMix64(seed: 0xB0A7_0000 &+ UInt64(index) &* 0x9E37_79B9)
        let id = "p" + pad(index, 5)
        let name = "\(pick(companyRoots, &rng)) \(pick(["IT", "Secure", "Networks", "Systems", "Solutions", "Tech", "Cloud", "Cyber"], &rng)) \(index)"
        var territories: [Territory] = []
        if Int.random(in: 0..<100, using: &rng) >= 2 {
            let n = Int.random(in: 1...3, using: &rng)
            var used = Set<String>()
            for _ in 0..<n {
                let country = weightedCountry(&rng)
                guard used.insert(country.code).inserted else { continue }
                var regions: [String]?
                if !country.regions.isEmpty && Int.random(in: 0..<2, using: &rng) == 0 {
                    let k = Int.random(in: 1...min(4, country.regions.count), using: &rng)
                    regions = Array(country.regions.shuffled(using: &rng).prefix(k))
                }
                territories.append(Territory(country: country.code, regions: regions))
            }
        }
        var offered: [String] = []
        if Int.random(in: 0..<10, using: &rng) != 0 {
            offered = Array(products.shuffled(using: &rng).prefix(Int.random(in: 1...4, using: &rng)))
        }
        return Partner(id: id, name: name, engagement: .leadsOnly, territories: territories,
                       products: offered, weight: Int.random(in: 1...3, using: &rng))
    }

    static func partners(_ count: Int) -> [Partner] { (0..<count).map(partner) }

    /// The `partners:` section of a config, one flow mapping per partner.
    static func partnersYAML(_ partners: [Partner]) -> String {
        var out = "partners:\n"
        out.reserveCapacity(partners.count * 160)
        for p in partners {
            out += "  - {id: \(p.id), name: \"\(p.name)\", engagement: \(p.engagement.rawValue), weight: \(p.weight)"
            if !p.territories.isEmpty {
                let t = p.territories.map { t -> String in
                    if let regions = t.regions {
                        return "{country: \"\(t.country)\", regions: [\(regions.map { "\"\($0)\"" }.joined(separator: ", "))]}"
                    }
                    return "{country: \"\(t.country)\"}"
                }
                out += ", territories: [\(t.joined(separator: ", "))]"
            }
            if !p.products.isEmpty {
                out += ", products: [\(p.products.joined(separator: ", "))]"
            }
            out += "}\n"
        }
        return out
    }

    // MARK: - Leads

    /// Lead `index` with id `<prefix>-<index>`: compact JSON of 600-1,000 bytes ending in
    /// the `bench_t` stamp (18 zeros). Returns the bytes and the stamp's first digit offset.
    static func lead(_ index: Int, prefix: String) -> (bytes: [UInt8], stampOffset: Int) {
        var rng = SplitMix64(seed: 0x1EAD_0000 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03 &+ UInt64(truncatingIfNeeded: prefix.hashValueStable))
        let target = Int.random(in: (minimumLeadBytes + 10)...(maximumLeadBytes - 10), using: &rng)
        let country = Int.random(in: 0..<100, using: &rng) < 3 ? pick(uncoveredCountries, &rng) : weightedCountry(&rng)
        let region: String? = country.regions.isEmpty || Int.random(in: 0..<100, using: &rng) < 15 ? nil : pick(country.regions, &rng)
        let root = pick(companyRoots, &rng), kind = pick(companyKinds, &rng)
        let company = "\(root) \(kind) \(pick(companySuffixes, &rng))"
        let domain = "\(root.lowercased())\(kind.lowercased()).\(country.tld)"
        let first = pick(firstNames, &rng), last = pick(lastNames, &rng)
        let employees = [5, 12, 25, 40, 80, 150, 250, 400, 800, 1500, 3000, 12000][Int.random(in: 0..<12, using: &rng)]
        let nProducts = Int.random(in: 0..<100, using: &rng) < 5 ? 0 : Int.random(in: 1...3, using: &rng)
        let leadProducts = Array(products.shuffled(using: &rng).prefix(nProducts))
        let budget = Int.random(in: 2...400, using: &rng) * 500
        let authority = pick(["decision_maker", "influencer", "unknown"], &rng)
        let timeline = pick([14, 30, 45, 60, 90, 120, 180, 365], &rng)
        let receivedAt = Timestamp.rfc3339(millisecondsSince1970: 1_795_000_000_000 + Int64(index) * 1_337)

        var s = "{\"lead_id\":\"\(prefix)-\(pad(index, 9))\",\"source\":\"\(pick(sources, &rng))\",\"kind\":\"lead\""
        s += ",\"received_at\":\"\(receivedAt)\""
        s += ",\"company\":{\"name\":\"\(company)\",\"domain\":\"\(domain)\",\"country\":\"\(country.code)\""
        if let region { s += ",\"region\":\"\(region)\"" }
        s += ",\"postal_code\":\"\(pad(Int.random(in: 1000...99999, using: &rng), 5))\",\"employees\":\(employees)}"
        s += ",\"contact\":{\"name\":\"\(first) \(last)\",\"email\":\"\(first.lowercased()).\(last.lowercased())@\(domain)\""
        s += ",\"title\":\"\(pick(titles, &rng))\",\"phone\":\"+1 555 \(pad(Int.random(in: 0...9999999, using: &rng), 7))\"}"
        s += ",\"products\":[\(leadProducts.map { "\"\($0)\"" }.joined(separator: ","))]"
        s += ",\"qualification\":{\"need\":\"\(pick(needs, &rng))\",\"budget\":\(budget),\"currency\":\"\(country.currency)\""
        s += ",\"authority\":\"\(authority)\",\"timeline_days\":\(timeline)}"
        s += ",\"estimated_value\":\(budget + Int.random(in: 0...20, using: &rng) * 1000)"
        s += ",\"campaign\":{\"utm_source\":\"\(pick(["google", "linkedin", "newsletter", "partner-portal", "event"], &rng))\",\"utm_campaign\":\"fy27-q\(Int.random(in: 1...4, using: &rng))-\(pick(leadProducts.isEmpty ? ["brand"] : leadProducts, &rng))\"}"
        let tail = ",\"bench_t\":\"" + String(repeating: "0", count: stampDigits) + "\"}"
        let notesHead = ",\"notes\":\""
        let notesLength = max(16, target - s.utf8.count - notesHead.utf8.count - 1 - tail.utf8.count)
        var notes = ""
        while notes.utf8.count < notesLength {
            if !notes.isEmpty { notes += " " }
            notes += pick(words, &rng)
        }
        notes = String(notes.prefix(notesLength))
        if notes.hasSuffix(" ") { notes = String(notes.dropLast()) + "." }
        s += notesHead + notes + "\"" + tail
        let bytes = Array(s.utf8)
        return (bytes, bytes.count - 2 - stampDigits)
    }

    static func weightedCountry(_ rng: inout SplitMix64) -> Country {
        var r = Int.random(in: 0..<countryWeightTotal, using: &rng)
        for c in countries {
            if r < c.weight { return c }
            r -= c.weight
        }
        return countries[0]
    }

    static func pick<T>(_ items: [T], _ rng: inout SplitMix64) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }

    static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension String {
    /// A hash that is the same in every run (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}

/// Many leads in one contiguous buffer, pre-generated before any timing.
struct LeadSet: Sendable {
    var bytes: [UInt8] = []
    /// `starts[i]..<starts[i+1]` is lead `i`.
    var starts: [Int] = [0]
    /// Absolute offset of each lead's first stamp digit.
    var stampOffsets: [Int] = []

    var count: Int { starts.count - 1 }

    init() {}

    /// Leads `range` with ids `<prefix>-<index>`.
    init(_ range: Range<Int>, prefix: String) {
        bytes.reserveCapacity(range.count * 820)
        starts.reserveCapacity(range.count + 1)
        stampOffsets.reserveCapacity(range.count)
        for i in range {
            let (lead, stamp) = LeadFactory.lead(i, prefix: prefix)
            stampOffsets.append(bytes.count + stamp)
            bytes.append(contentsOf: lead)
            starts.append(bytes.count)
        }
    }

    /// The first `n` leads.
    func prefix(_ n: Int) -> LeadSet {
        let n = min(n, count)
        var out = LeadSet()
        out.bytes = Array(bytes[0..<starts[n]])
        out.starts = Array(starts[0...n])
        out.stampOffsets = Array(stampOffsets[0..<n])
        return out
    }

    func lead(_ i: Int) -> ArraySlice<UInt8> { bytes[starts[i]..<starts[i + 1]] }

    var averageBytes: Double { count == 0 ? 0 : Double(bytes.count) / Double(count) }
    var minBytes: Int { (0..<count).map { starts[$0 + 1] - starts[$0] }.min() ?? 0 }
    var maxBytes: Int { (0..<count).map { starts[$0 + 1] - starts[$0] }.max() ?? 0 }
}
