/// The partners covering one country: all of it (or anywhere), or some of its regions.
struct CountryIndex: Sendable {
    /// The partners covering all of the country (or anywhere).
    var whole: CandidateList
    /// Per region: the partners covering that region, and those covering all of the country (or
    /// anywhere) when `regionsIncludeWhole`; else a lead merges them with `whole`.
    var regions: [String: CandidateList]
    var regionsIncludeWhole: Bool
}

/// Partners that may take a lead from one territory, in config order, each with a copy of
/// its eligibility rule: a lead reads them front to back, not scattered over every partner's.
struct CandidateList: Sendable {
    var partners: [Int]
    var rules: [PartnerRule]

    /// Two lists in config order merged into one, without repeats.
    static func merged(_ a: CandidateList, _ b: CandidateList) -> CandidateList {
        if b.partners.isEmpty { return a }
        if a.partners.isEmpty { return b }
        var out = CandidateList(partners: [], rules: [])
        out.partners.reserveCapacity(a.partners.count + b.partners.count)
        out.rules.reserveCapacity(a.partners.count + b.partners.count)
        var i = 0, j = 0
        while i < a.partners.count || j < b.partners.count {
            if j == b.partners.count || (i < a.partners.count && a.partners[i] < b.partners[j]) {
                out.partners.append(a.partners[i])
                out.rules.append(a.rules[i])
                i += 1
            } else {
                if i < a.partners.count && a.partners[i] == b.partners[j] { i += 1 }
                out.partners.append(b.partners[j])
                out.rules.append(b.rules[j])
                j += 1
            }
        }
        return out
    }
}

/// What eligibility needs of a partner, flattened.
struct PartnerRule: Sendable {
    // Declared widest first: 24 bytes a rule, so a cache line holds more than two.
    var pausedUntil: Int64
    /// The products offered among the first 64 numbered (more are in `extraProductBits`).
    var products: UInt64
    var active: Bool
    var minGrade: Grade?
    var hasCapacity: Bool
    var everyProduct: Bool

    init(active: Bool, pausedUntil: Int64, minGrade: Grade?, hasCapacity: Bool, everyProduct: Bool, products: UInt64) {
        self.pausedUntil = pausedUntil
        self.products = products
        self.active = active
        self.minGrade = minGrade
        self.hasCapacity = hasCapacity
        self.everyProduct = everyProduct
    }
}

/// A lead's products as a bit set over the router's product numbers.
struct LeadProducts {
    var first: UInt64
    var extra: [UInt64]
}

extension AccountKey {
    /// Mail providers whose domain says nothing about the sender's company.
    static let freemail: Set<String> = [
        "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
        "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net",
        "web.de", "mail.ru", "yandex.ru", "qq.com", "163.com", "126.com", "zoho.com", "mail.com",
    ]

    /// A lead's account keys: its domain (`company.domain`, else the contact's e-mail domain
    /// unless a free-mail provider) and its normalised company name.
    public static func keys(companyName: String, companyDomain: String?, contactEmail: String?) -> LeadAccount {
        var domain = companyDomain.map(normalizedDomain).flatMap { $0.isEmpty ? nil : $0 }
        if domain == nil, let email = contactEmail, let at = email.lastIndex(of: "@") {
            let fromMail = normalizedDomain(String(email[email.index(after: at)...]))
            if !fromMail.isEmpty && !freemail.contains(fromMail) { domain = fromMail }
        }
        let name = normalizedName(companyName)
        var all: [String] = []
        if let domain { all.append("d:" + domain) }
        if !name.isEmpty { all.append("n:" + name) }
        return LeadAccount(domain: domain, all: all, describe: domain ?? companyName)
    }
}

/// The keys that identify a lead's customer account.
public struct LeadAccount: Sendable, Equatable {
    /// The normalised domain, when known.
    public var domain: String?
    /// `d:domain` and `n:name`, in that order.
    public var all: [String]
    /// How reasons name the account.
    public var describe: String
}
