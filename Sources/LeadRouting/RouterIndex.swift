/// The partners covering one country: all of it (or anywhere), or some of its regions.
struct CountryIndex: Sendable {
    /// The partners covering all of the country (or anywhere).
    var whole: CandidateList
    /// Per region: the partners covering that region, and those covering all of the country (or
    /// anywhere) when `regionsIncludeWhole`; else a lead merges them with `whole`.
    var regions: [String: CandidateList]
    var regionsIncludeWhole: Bool
    /// ``regions`` as a ``StringTable``, for a lead's look-up (set once the lists are
    /// numbered): a dictionary hashed each lead's region with SipHash, about 200 instructions.
    var regionTable = StringTable<CandidateList>()
}

/// Partners that may take a lead from one territory, in config order, each with a copy of
/// its eligibility rule: a lead reads them front to back, not scattered over every partner's.
/// The rules' static facts are also kept as bit sets over the list's positions
/// (``CandidateMasks``), so that a lead's verdicts are found 64 candidates at a time.
struct CandidateList: Sendable {
    var partners: [Int]
    var rules: [PartnerRule]
    /// ``CandidateMasks/count`` words for each 64 positions: word `w`'s masks start at
    /// `w * CandidateMasks.count`.
    var masks: [UInt64]
    /// For each 64 positions, ``productCount`` words: word `p` the positions offering product
    /// `p` (of the first 64 numbered). A lead's offers are then one OR per product it names.
    var productMasks: [UInt64]
    /// How many products ``productMasks`` has per 64 positions: one past the highest product
    /// number (below 64) the list's partners offer.
    var productCount: Int
    /// The list's number in ``Router/candidateLists`` (which the store keeps, so that a
    /// decision record can give its candidates' verdicts as bit sets over the list's
    /// positions); -1 for a list merged for one lead.
    var number = -1

    init(partners: [Int], rules: [PartnerRule]) {
        self.partners = partners
        self.rules = rules
        masks = CandidateMasks.make(rules)
        let offered = rules.reduce(UInt64(0)) { $0 | $1.products }
        productCount = 64 - offered.leadingZeroBitCount
        productMasks = [UInt64](repeating: 0, count: (rules.count + 63) / 64 * productCount)
        for (position, rule) in rules.enumerated() {
            var products = rule.products
            while products != 0 {
                productMasks[position / 64 * productCount + products.trailingZeroBitCount] |= 1 << UInt64(position % 64)
                products &= products - 1
            }
        }
    }

    /// How many 64-bit words a bit set over the list's positions takes.
    var words: Int { (partners.count + 63) / 64 }

    /// Two lists in config order merged into one, without repeats.
    static func merged(_ a: CandidateList, _ b: CandidateList) -> CandidateList {
        if b.partners.isEmpty { return a }
        if a.partners.isEmpty { return b }
        var partners: [Int] = [], rules: [PartnerRule] = []
        partners.reserveCapacity(a.partners.count + b.partners.count)
        rules.reserveCapacity(a.partners.count + b.partners.count)
        var i = 0, j = 0
        while i < a.partners.count || j < b.partners.count {
            if j == b.partners.count || (i < a.partners.count && a.partners[i] < b.partners[j]) {
                partners.append(a.partners[i])
                rules.append(a.rules[i])
                i += 1
            } else {
                if i < a.partners.count && a.partners[i] == b.partners[j] { i += 1 }
                partners.append(b.partners[j])
                rules.append(b.rules[j])
                j += 1
            }
        }
        return CandidateList(partners: partners, rules: rules)
    }
}

/// The static part of a candidate list's rules as bit sets, one bit per position, made when
/// the config loads: bit `b` of word `w` is position `64 * w + b`.
enum CandidateMasks {
    /// Active partners.
    static let active = 0
    /// Partners offering every product.
    static let everyProduct = 1
    /// Partners with a pause configured (whether it is over is a lead's time to say).
    static let pausable = 2
    /// Partners with a capacity.
    static let capped = 3
    /// `refuses + rank`: partners whose `min_grade` is above the grade of that rank (A 0 … D 3).
    static let refuses = 4
    /// Masks per word.
    static let count = 8

    static func make(_ rules: [PartnerRule]) -> [UInt64] {
        var masks = [UInt64](repeating: 0, count: (rules.count + 63) / 64 * count)
        for (position, rule) in rules.enumerated() {
            let base = position / 64 * count, bit: UInt64 = 1 << UInt64(position % 64)
            if rule.active { masks[base + active] |= bit }
            if rule.everyProduct { masks[base + everyProduct] |= bit }
            if rule.pausedUntil != .min { masks[base + pausable] |= bit }
            if rule.hasCapacity { masks[base + capped] |= bit }
            if let minimum = rule.minGrade {
                for grade in Grade.allCases where grade < minimum { masks[base + refuses + grade.rank] |= bit }
            }
        }
        return masks
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

/// What the router's index is built from, read from the partners in config order: the
/// products numbered for bit sets, each partner's rule and product bits, who covers which
/// territory, the ids and the owned accounts.
struct PartnerTables {
    var productIDs: [String: Int] = [:]
    /// Product bit-set words beyond the first, per partner (see ``Router/extraProductWords``).
    let extraWords: Int
    var extraBits: [UInt64]
    var rules: [PartnerRule] = []
    /// Per country, the partners that cover all of it.
    var wholeCountry: [String: [Int]] = [:]
    /// Per country and region, the partners that list that region.
    var byRegion: [String: [String: [Int]]] = [:]
    /// The partners that cover anywhere.
    var anywhere: [Int] = []
    var indexByID: [String: Int] = [:]
    /// Each account key's owner: the first partner listing the account.
    var owned: [String: Int] = [:]

    init(_ partners: [Partner]) {
        var productIDs: [String: Int] = [:]
        for partner in partners {
            for product in partner.products where productIDs[product] == nil { productIDs[product] = productIDs.count }
        }
        self.productIDs = productIDs
        extraWords = max(0, (productIDs.count + 63) / 64 - 1)
        extraBits = [UInt64](repeating: 0, count: extraWords * partners.count)
        rules.reserveCapacity(partners.count)
        for (i, partner) in partners.enumerated() { add(partner, at: i) }
    }

    /// Adds partner `i`: its id, its rule and product bits, its territories and its accounts.
    private mutating func add(_ partner: Partner, at i: Int) {
        indexByID[partner.id] = i
        var bits: UInt64 = 0
        for product in partner.products {
            let id = productIDs[product]!
            if id < 64 { bits |= 1 << UInt64(id) } else { extraBits[i * extraWords + id / 64 - 1] |= 1 << UInt64(id % 64) }
        }
        rules.append(PartnerRule(
            active: partner.active, pausedUntil: partner.pausedUntil ?? .min, minGrade: partner.minGrade,
            hasCapacity: partner.capacity != nil, everyProduct: partner.products.isEmpty, products: bits))
        if partner.territories.isEmpty {
            anywhere.append(i)
        } else {
            for territory in partner.territories {
                if let regions = territory.regions {
                    for region in Set(regions) { byRegion[territory.country, default: [:]][region, default: []].append(i) }
                } else {
                    wholeCountry[territory.country, default: []].append(i)
                }
            }
        }
        for entry in partner.accounts {
            let key = AccountKey.key(forAccountEntry: entry)
            if owned[key] == nil { owned[key] = i }  // the first partner listing an account owns it
        }
    }
}

extension Router {
    /// `partners` (positions in config order), each with a copy of its rule.
    static func candidateList(_ partners: [Int], _ rules: [PartnerRule]) -> CandidateList {
        CandidateList(partners: partners, rules: partners.map { rules[$0] })
    }

    /// Each country's index. Each country's whole-country list includes the partners that
    /// cover anywhere (`anywhereList`), and each region's list those that cover the whole
    /// country: a lead takes one list as is. (Within a budget: copying every whole-country
    /// list into each of its regions' lists could take hundreds of megabytes with thousands
    /// of partners covering anywhere and many regions listed. Countries whose copies cost
    /// least come first; the leads of a country past the budget merge the two lists as they
    /// come.)
    static func countryIndexes(_ tables: PartnerTables, anywhere anywhereList: CandidateList,
                               premergedEntryBudget: Int) -> [String: CountryIndex] {
        let wholeCountry = tables.wholeCountry
        let byRegion = tables.byRegion
        var byCountry: [String: CountryIndex] = [:]
        func list(_ partners: [Int]) -> CandidateList { candidateList(partners, tables.rules) }
        let wholes = Set(wholeCountry.keys).union(byRegion.keys).map { country in
            (country, CandidateList.merged(list(Router.unique(wholeCountry[country] ?? [])), anywhereList))
        }
        func copyCost(_ entry: (String, CandidateList)) -> Int { entry.1.partners.count * (byRegion[entry.0]?.count ?? 0) }
        var budget = premergedEntryBudget
        for (country, whole) in wholes.sorted(by: { (copyCost($0), $0.0) < (copyCost($1), $1.0) }) {
            let premerged = copyCost((country, whole)) <= budget
            if premerged { budget -= copyCost((country, whole)) }
            byCountry[country] = CountryIndex(
                whole: whole,
                regions: (byRegion[country] ?? [:]).mapValues { regional in
                    let own = list(Router.unique(regional))
                    return premerged ? CandidateList.merged(whole, own) : own
                },
                regionsIncludeWhole: premerged)
        }
        return byCountry
    }

    /// Numbers every list of the index, the ``anywhere`` list first, then each country's
    /// (by name) whole list and its regions' (by name); returns the lists' partners in that
    /// order (``candidateLists``).
    static func number(_ anywhere: inout CandidateList, _ byCountry: inout [String: CountryIndex]) -> [[Int]] {
        var lists: [[Int]] = []
        func number(_ list: inout CandidateList) {
            list.number = lists.count
            lists.append(list.partners)
        }
        number(&anywhere)
        for country in byCountry.keys.sorted() {
            guard var index = byCountry.removeValue(forKey: country) else { continue }
            number(&index.whole)
            for region in index.regions.keys.sorted() { number(&index.regions[region]!) }
            byCountry[country] = index
        }
        return lists
    }
}
