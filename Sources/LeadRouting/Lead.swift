import Foundation

/// What routing needs to know about a lead, read from its JSON. The lead's original
/// bytes travel alongside in ``ParsedLead/raw`` and are spliced into envelopes untouched,
/// so fields LeadRouter does not know pass through as they came.
public struct LeadFacts: Sendable, Equatable {
    public var leadID: String
    public var source: String? {
        get { spare[SpareText.source] }
        set { spare[SpareText.source] = newValue }
    }
    public var companyName: String {
        get { spare[SpareText.companyName] ?? "" }
        set { spare[SpareText.companyName] = newValue }
    }
    public var companyDomain: String? {
        get { spare[SpareText.companyDomain] }
        set { spare[SpareText.companyDomain] = newValue }
    }
    public var contactEmail: String? {
        get { spare[SpareText.contactEmail] }
        set { spare[SpareText.contactEmail] = newValue }
    }
    /// The lead's `received_at` as sent (RFC 3339 by convention; not validated).
    public var receivedAt: String? {
        get { spare[SpareText.receivedAt] }
        set { spare[SpareText.receivedAt] = newValue }
    }
    /// The company, contact, `source` and `received_at` text, as bytes (``SpareText``).
    var spare: SpareText
    /// Upper-case ISO 3166-1 alpha-2.
    public var country: String
    // Spelled `Optional<…>`, not `…?`, here and below: a `…?` variable starts as `nil`, so an
    // initialiser assigned over it, and the facts were built aside and copied whole on their
    // way out, a retain and a release of each reference (``StoredLead`` had the same).
    /// Upper-case region code without a country prefix (`CO`, from `CO` or `US-CO`).
    public var region: Optional<String>
    public var employees: Optional<Int>
    /// Lower-cased product identifiers, in the lead's order: kept as bytes in ``spare``,
    /// read as such by routing (``forEachProduct(_:)``), a list made when asked for.
    public var products: [String] {
        get { spare.productList }
        set {
            let bytes = SpareText.productBytes(newValue)
            bytes.withUnsafeBufferPointer { spare.replace(SpareText.products, with: newValue.isEmpty ? nil : $0) }
        }
    }

    /// Calls `body` with each product's UTF-8, in the lead's order.
    @inline(__always)
    func forEachProduct(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        try spare.forEachProduct(body)
    }

    /// Whether the lead names any product.
    var hasProducts: Bool { spare.has(SpareText.products) }
    /// The lead's `qualification`, when it has one.
    public var qualification: Qualification? {
        get { hasQualification ? qualificationValue : nil }
        set { (qualificationValue, hasQualification) = LeadFacts.kept(newValue) }
    }
    /// ``qualification`` kept as a value and a flag (``Qualification/absent`` when absent): read
    /// in place by the qualifier. An optional was copied whole to be read (about 130 bytes and
    /// a retain and a release), and copied and destroyed through the runtime's generic
    /// witnesses with the facts.
    var qualificationValue: Qualification
    var hasQualification: Bool

    /// A qualification as the facts keep it. (By its case: `!= nil` compared two optionals
    /// through the runtime's generic witnesses, `Qualification` being `Equatable`.)
    @inline(__always)
    static func kept(_ qualification: consuming Qualification?) -> (Qualification, Bool) {
        switch consume qualification {
        case .some(let q): (q, true)
        case .none: (Qualification.absent, false)
        }
    }
    public var estimatedValue: Optional<Double>
    /// The account keys, worked out once from the company and contact fields.
    public private(set) var account: LeadAccount

    public init(
        leadID: String, source: String? = nil, companyName: String, companyDomain: String? = nil,
        country: String, region: String? = nil, employees: Int? = nil, products: [String] = [],
        qualification: Qualification? = nil, estimatedValue: Double? = nil, contactEmail: String? = nil,
        receivedAt: String? = nil
    ) {
        let spare = SpareText([companyName, companyDomain, contactEmail, source, receivedAt], from: 0, owned: SpareText.factSlots)
        self.init(leadID: leadID, spare: spare, country: country, region: region, employees: employees,
                  qualification: qualification, estimatedValue: estimatedValue, account: AccountKey.keys(spare))
        if !products.isEmpty { self.products = products }
    }

    /// Facts whose text fields are in `spare` (the reader's), with the account keys made from
    /// them (``AccountKey/keys(_:into:)``).
    init(leadID: String, spare: SpareText, country: String, region: String?, employees: Int?,
         qualification: Qualification?, estimatedValue: Double?, account: LeadAccount) {
        self.leadID = leadID
        self.spare = spare
        self.country = country
        self.region = region
        self.employees = employees
        (self.qualificationValue, self.hasQualification) = LeadFacts.kept(qualification)
        self.estimatedValue = estimatedValue
        self.account = account
    }

    public struct Qualification: Sendable, Equatable {
        public init(need: String? = nil, budget: Double? = nil, currency: String? = nil, authority: Authority? = nil, timelineDays: Int? = nil) {
            self.init(spare: SpareText([need, currency], from: SpareText.need, owned: SpareText.qualificationSlots),
                      budget: budget, authority: authority, timelineDays: timelineDays)
        }

        init(spare: SpareText, budget: Double?, authority: Authority?, timelineDays: Int?) {
            self.spare = spare
            self.budget = budget
            self.authority = authority
            self.timelineDays = timelineDays
        }

        public var need: String? {
            get { spare[SpareText.need] }
            set { spare[SpareText.need] = newValue }
        }
        public var budget: Optional<Double>
        public var currency: String? {
            get { spare[SpareText.currency] }
            set { spare[SpareText.currency] = newValue }
        }
        public var authority: Optional<Authority>
        public var timelineDays: Optional<Int>
        /// `need` and `currency`, as bytes (``SpareText``).
        var spare: SpareText

        /// What facts without a qualification keep (``LeadFacts/qualificationValue``).
        static let absent = Qualification(spare: SpareText(bytes: .empty, starts: .zero, lengths: SIMD8(repeating: -1), owned: SpareText.qualificationSlots),
                                        budget: nil, authority: nil, timelineDays: nil)

        /// Whether a need is given: present and not blank.
        var statesNeed: Bool {
            spare.withBytes(SpareText.need) { bytes in bytes.map { !LeadParser.isBlank($0) } ?? false }
        }
    }

    public enum Authority: String, Sendable, Equatable, CaseIterable {
        case decisionMaker = "decision_maker"
        case influencer
        case unknown

        /// The case `text` names (its `rawValue`), by length and then equality:
        /// `init(rawValue:)` went through the standard library's string switch, about 300
        /// instructions a lead.
        static func named(_ text: String) -> Authority? {
            var text = text
            return text.withUTF8 { named($0) }
        }

        /// The case these UTF-8 bytes name.
        static func named(_ bytes: UnsafeBufferPointer<UInt8>) -> Authority? {
            switch bytes.count {
            case 14: ("decision_maker" as StaticString).matches(bytes) ? .decisionMaker : nil
            case 10: ("influencer" as StaticString).matches(bytes) ? .influencer : nil
            case 7: ("unknown" as StaticString).matches(bytes) ? .unknown : nil
            default: nil
            }
        }

        /// The `rawValue` these bytes spell, or `nil`: a known authority read from a lead
        /// without a string made from its bytes.
        static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? { named(bytes)?.rawValue }
    }
}

/// A lead that passed validation: its facts and its bytes exactly as received.
public struct ParsedLead: Sendable, Equatable {
    public var facts: LeadFacts
    /// The lead's bytes: a run of the receiver's blocks (``SharedBytes``), read in place.
    public var raw: SharedBytes
}

/// Why an input was not accepted, as published on `rejected/` and returned by intake.
public struct LeadRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, CaseIterable {
        case invalidJSON = "invalid_json"
        case missingField = "missing_field"
        case invalidField = "invalid_field"
        case tooLarge = "too_large"
        case badFrames = "bad_frames"
        /// Intake only: the store could not keep the lead, so it was not accepted; retry.
        case storageUnavailable = "storage_unavailable"
    }

    public var code: Code
    /// Dotted path of the offending field (`company.country`, `products[1]`), when one is to blame.
    public var field: String?
    public var message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "\(code.rawValue) \(field): \(message)" }
        return "\(code.rawValue): \(message)"
    }
}

/// Reads and validates lead JSON per the contract: required `lead_id`, `company.name`,
/// `company.country`; the types and ranges of the other known fields; unknown fields
/// allowed and kept.
public enum LeadParser {
    /// Longest accepted `lead_id`.
    public static let maxLeadIDLength = 128

    public static func parse(_ bytes: [UInt8]) -> Result<ParsedLead, LeadRejection> {
        var text = ByteArena(blockSize: 0)
        return parse(SharedBytes(bytes), text: &text)
    }

    /// The same, of bytes read in place (a receiver's run, kept as the lead's ``ParsedLead/raw``),
    /// the lead's text fields written into `text` (``SpareText``).
    public static func parse(_ bytes: SharedBytes, text: inout ByteArena) -> Result<ParsedLead, LeadRejection> {
        var body = bytes
        // A UTF-8 byte order mark is not JSON; drop it so the spliced lead stays valid JSON.
        if body.count >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF { body = body.sharing(3..<body.count) }
        let first = body.withUnsafeBufferPointer { $0.first { !isJSONWhitespace($0) } }
        guard let first else {
            return .failure(LeadRejection(.invalidJSON, "the message is empty: expected a JSON object"))
        }
        guard first == UInt8(ascii: "{") else {
            return .failure(LeadRejection(.invalidJSON, "a lead must be a JSON object, starting with {"))
        }
        // Read in place (`body` holds its block to the end, below), the reader's fields and the
        // facts thrown, not returned in `Result`s: returned, each was copied out of its
        // `Result` (and out of a closure's), a `memcpy` of a few hundred bytes and a retain and
        // a release of each of its references.
        let bytes = UnsafeBufferPointer(start: body.block.base + body.start, count: body.count)
        defer { withExtendedLifetime(body) {} }
        do throws(LeadRejection) {
            let wire = try WireLead.read(bytes, padded: true, text: &text)
            return .success(ParsedLead(facts: try validate(wire, text: &text), raw: body))
        } catch {
            return .failure(error)
        }
    }

    /// The `lead_id` of a rejected input when it can still be read (the JSON is valid and
    /// `lead_id` is a valid id ahead of the problem), so a reply can name it.
    public static func readableLeadID(_ bytes: [UInt8]) -> String? {
        var text = ByteArena(blockSize: 0)
        guard let id = bytes.withUnsafeBufferPointer({ WireLead.scan($0, text: &text) }).lead.lead_id, isValidLeadID(id) else { return nil }
        return id
    }

    private static func isJSONWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
    }

    static func isValidLeadID(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { bytes in
            guard (1...maxLeadIDLength).contains(bytes.count) else { return false }
            for b in bytes {
                let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == 0x2E || b == 0x5F || b == 0x3A || b == 0x2D
                if !ok { return false }
            }
            return true
        }
    }

    /// Inlined into ``parse(_:text:)`` (about 70 instructions a lead of call and copies less).
    @inline(__always)
    private static func validate(_ wire: consuming WireLead, text: inout ByteArena) throws(LeadRejection) -> LeadFacts {
        let leadID = try validLeadID(wire.lead_id)
        guard let company = wire.company else {
            throw LeadRejection(.missingField, field: "company.name", "company.name is required")
        }
        try validCompanyName(wire.spare)
        let country = try validCountry(company.country)
        let region = try validRegion(company.region, in: country)
        let employees = try wholeNumber(company.employees, field: "company.employees").get()
        if let i = wire.emptyProduct {
            throw LeadRejection(.invalidField, field: "products[\(i)]", "a product must be a non-empty string")
        }
        var qualification: LeadFacts.Qualification?
        if let q = wire.qualification { qualification = try validQualification(q, spare: wire.spare.owning(SpareText.qualificationSlots)) }
        if let value = wire.estimated_value, value < 0 || !value.isFinite {
            throw LeadRejection(.invalidField, field: "estimated_value", "estimated_value must be 0 or more, got \(value)")
        }
        let spare = wire.spare.owning(SpareText.factSlots)
        return LeadFacts(
            leadID: leadID, spare: spare, country: country, region: region, employees: employees,
            qualification: qualification, estimatedValue: wire.estimated_value, account: AccountKey.keys(spare, into: &text))
    }

    /// `lead_id`: present, and a valid id (``isValidLeadID(_:)``).
    @inline(__always)
    private static func validLeadID(_ leadID: String?) throws(LeadRejection) -> String {
        guard let leadID else {
            throw LeadRejection(.missingField, field: "lead_id", "lead_id is required")
        }
        guard isValidLeadID(leadID) else {
            throw LeadRejection(
                .invalidField, field: "lead_id",
                "lead_id must be 1-\(maxLeadIDLength) characters of A-Z a-z 0-9 . _ : -, got \(quoted(leadID))")
        }
        return leadID
    }

    /// `company.name`: present and not blank.
    @inline(__always)
    private static func validCompanyName(_ spare: SpareText) throws(LeadRejection) {
        let blank = spare.withBytes(SpareText.companyName) { bytes in bytes.map { LeadParser.isBlank($0) } }
        guard let blank else {
            throw LeadRejection(.missingField, field: "company.name", "company.name is required")
        }
        guard !blank else {
            throw LeadRejection(.invalidField, field: "company.name", "company.name must not be empty")
        }
    }

    /// `company.country`: present, an ISO 3166-1 alpha-2 code; upper-cased.
    @inline(__always)
    private static func validCountry(_ rawCountry: String?) throws(LeadRejection) -> String {
        guard let rawCountry else {
            throw LeadRejection(.missingField, field: "company.country", "company.country is required")
        }
        let country = LeadParser.upperCased(rawCountry)
        guard ISOCountry.isValid(country) else {
            throw LeadRejection(
                .invalidField, field: "company.country",
                "company.country must be an ISO 3166-1 alpha-2 code such as US, got \(quoted(rawCountry))")
        }
        return country
    }

    /// `company.region`, when given: an ISO 3166-2 subdivision code, upper-cased, without
    /// the `country` prefix.
    @inline(__always)
    private static func validRegion(_ rawRegion: String?, in country: String) throws(LeadRejection) -> String? {
        guard let rawRegion else { return nil }
        var code = LeadParser.upperCased(rawRegion)
        // `US-CO` for `CO`: compared as bytes (`hasPrefix(country + "-")` made a string), the
        // byte after the dash ASCII, so no combining mark joins the dash (as `hasPrefix`,
        // comparing characters, would not match `US-́CO`).
        let prefixed = code.utf8.count > country.utf8.count + 1 && code.utf8.starts(with: country.utf8)
            && code.utf8.dropFirst(country.utf8.count).first == UInt8(ascii: "-")
            && code.utf8.dropFirst(country.utf8.count + 1).first.map { $0 < 0x80 } == true
        if prefixed { code.removeFirst(country.count + 1) }
        let valid = code.withUTF8 { bytes in
            (1...3).contains(bytes.count)
                && bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        }
        guard valid else {
            throw LeadRejection(
                .invalidField, field: "company.region",
                "company.region must be an ISO 3166-2 subdivision code such as CO or US-CO, got \(quoted(rawRegion))")
        }
        return code
    }

    /// `qualification`: a budget of 0 or more, a whole number of days, a known authority.
    @inline(__always)
    private static func validQualification(_ q: WireLead.Qualification, spare: SpareText) throws(LeadRejection) -> LeadFacts.Qualification {
        if let budget = q.budget, budget < 0 || !budget.isFinite {
            throw LeadRejection(.invalidField, field: "qualification.budget", "qualification.budget must be 0 or more, got \(budget)")
        }
        let timelineDays = try wholeNumber(q.timeline_days, field: "qualification.timeline_days").get()
        var authority: LeadFacts.Authority?
        if let raw = q.authority {
            guard let value = LeadFacts.Authority.named(raw) else {
                let allowed = LeadFacts.Authority.allCases.map(\.rawValue).joined(separator: ", ")
                throw LeadRejection(
                    .invalidField, field: "qualification.authority",
                    "qualification.authority must be one of \(allowed), got \(quoted(raw))")
            }
            authority = value
        }
        return .init(spare: spare, budget: q.budget, authority: authority, timelineDays: timelineDays)
    }

    /// Whether `text` is empty or only white space (an ASCII fast path, else by Character).
    static func isBlank(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { isBlank($0) }
    }

    /// Whether the UTF-8 `bytes` are empty or only white space.
    static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in bytes {
            if byte >= 0x80 { return String(decoding: bytes, as: UTF8.self).allSatisfy(\.isWhitespace) }
            if byte != 0x20 && !(0x09...0x0D).contains(byte) { return false }
        }
        return true
    }

    /// Upper case; ASCII without consulting Unicode tables.
    static func upperCased(_ text: String) -> String {
        var copy = text
        let (ascii, lower) = copy.withUTF8 { bytes -> (Bool, Bool) in
            var lower = false
            for b in bytes {
                if b >= 0x80 { return (false, false) }
                if b >= 0x61 && b <= 0x7A { lower = true }
            }
            return (true, lower)
        }
        guard ascii else { return text.uppercased() }
        guard lower else { return text }
        return String(decoding: text.utf8.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    /// A product name as routing compares it: trimmed of spaces and tabs, lower case.
    static func normalizedProduct(_ product: String) -> String {
        var copy = product
        // nil: not ASCII; else the trimmed range, and whether it has upper case.
        let ascii = copy.withUTF8 { bytes -> (range: Range<Int>, upper: Bool)? in
            var first = -1, last = -1, upper = false
            for (i, b) in bytes.enumerated() {
                if b >= 0x80 { return nil }
                if b == 0x20 || b == 0x09 { continue }
                if first < 0 { first = i }
                last = i
                if b >= 0x41 && b <= 0x5A { upper = true }
            }
            return first < 0 ? (0..<0, false) : (first..<(last + 1), upper)
        }
        guard let ascii else { return product.trimmingCharacters(in: .whitespaces).lowercased() }
        if ascii.range.isEmpty { return "" }
        if ascii.range.count == product.utf8.count && !ascii.upper { return product }
        return copy.withUTF8 { bytes in
            String(decoding: bytes[ascii.range].lazy.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
        }
    }

    /// A JSON number that must be a whole number, 0 or more.
    private static func wholeNumber(_ value: Double?, field: String) -> Result<Int?, LeadRejection> {
        guard let value else { return .success(nil) }
        guard value >= 0, value.rounded() == value, value < 1e15 else {
            return .failure(LeadRejection(.invalidField, field: field, "\(field) must be a whole number, 0 or more, got \(value)"))
        }
        return .success(Int(value))
    }

    private static func quoted(_ s: String) -> String {
        let shown = s.count > 64 ? String(s.prefix(64)) + "…" : s
        return "\"\(shown)\""
    }

}
