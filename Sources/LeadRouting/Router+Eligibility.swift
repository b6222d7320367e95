/// Which partners may take a lead, and why the others may not.
extension Router {
    // MARK: - Eligibility

    /// The static part of eligibility (active, territory, product); on success, the reasons.
    public static func eligibility(of partner: Partner, for lead: LeadFacts) -> Result<[String], Exclusion> {
        guard partner.active else { return .failure(.inactive) }
        guard let territoryReason = territoryMatch(partner, lead) else { return .failure(.territory) }
        guard let productReason = productMatch(partner, lead) else { return .failure(.product) }
        return .success([territoryReason, productReason])
    }

    static func territoryMatch(_ partner: Partner, _ lead: LeadFacts) -> String? {
        switch territoryCover(partner.territories, lead) {
        case nil: nil
        case .anywhere: "territory anywhere"
        case .country: Text.join("country ", lead.country, " in territory")
        case .region(let region): Text.join("country ", lead.country, " region ", region, " in territory")
        }
    }

    /// How a partner's territory covers a lead.
    enum TerritoryCover {
        case anywhere
        case country
        case region(String)
    }

    /// How a partner's `territories` cover `lead`: its region, else all of its country, else
    /// `nil`. (Given the partner's lists, not the partner: passed a partner, each call
    /// copied it, a retain and a release of each of its references.)
    static func territoryCover(_ territories: [Territory], _ lead: LeadFacts) -> TerritoryCover? {
        if territories.isEmpty { return .anywhere }
        var wholeCountry = false
        for territory in territories where territory.country == lead.country {
            guard let regions = territory.regions else {
                wholeCountry = true
                continue
            }
            if let region = lead.region, regions.contains(region) { return .region(region) }
        }
        return wholeCountry ? .country : nil
    }

    static func productMatch(_ partner: Partner, _ lead: LeadFacts) -> String? {
        switch productCover(partner.products, lead) {
        case nil: nil
        case .some(nil): "every product offered"
        case .some(let product?): Text.join("product ", product, " offered")
        }
    }

    /// Which of `lead`'s products `partner` offers: `.some(nil)` when it offers every
    /// product, `nil` when none.
    static func productCover(_ products: [String], _ lead: LeadFacts) -> String?? {
        if products.isEmpty { return .some(nil) }
        var offered: String?
        lead.forEachProduct { product in
            guard offered == nil else { return }
            // Lengths first (a native string's is stored): most offers differ in length, and
            // reading a small string's bytes copies it out first.
            offered = products.first { offer in
                guard offer.utf8.count == product.count else { return false }
                var offer = offer
                return offer.withUTF8 { $0.sameBytes(as: product) }
            }
        }
        return offered.map { .some($0) }
    }

    /// The owner of the first of the account's keys whose owner is eligible, the keys found
    /// as bytes.
    @inline(__always)
    func eligibleOwner(of account: LeadAccount, _ eligible: some EligiblePartners) -> Int? {
        var found: Int?
        account.forEachKey { _, key in
            if found == nil, let owner = ownedAccounts[utf8: key], eligible.isEligible(owner) { found = owner }
        }
        return found
    }

    func isPaused(_ i: Int, at now: Int64) -> Bool { rules[i].pausedUntil > now }

    func isFull(_ i: Int, at now: Int64) -> Bool {
        guard rules[i].hasCapacity, let capacity = partners[i].capacity else { return false }
        let since = now - capacity.perSeconds * 1000
        return recentAssignments[i].count { $0 > since } >= capacity.max
    }

    /// The lead's products as a bit set over ``productIDs`` (products no partner lists are
    /// left out: only partners offering every product can take those).
    func productBits(_ lead: LeadFacts) -> LeadProducts {
        var bits = LeadProducts(first: 0, extra: [UInt64](repeating: 0, count: extraProductWords))
        lead.forEachProduct { product in
            guard let id = productIDs[utf8: product] else { return }
            if id < 64 { bits.first |= 1 << UInt64(id) } else { bits.extra[id / 64 - 1] |= 1 << UInt64(id % 64) }
        }
        return bits
    }

    /// Whether partner `i` offers one of the lead's products numbered past the first 64.
    func offersExtraProduct(_ i: Int, _ leadProducts: LeadProducts) -> Bool {
        let base = i * extraProductWords
        for w in 0..<extraProductWords where extraProductBits[base + w] & leadProducts.extra[w] != 0 { return true }
        return false
    }

    /// The partners whose territory covers the lead (its whole country, its region, or
    /// anywhere), in config order.
    func candidates(for lead: LeadFacts) -> CandidateList {
        if let slot = Router.countrySlot(lead.country) {
            let i = Int(countrySlots[slot])
            guard i >= 0 else { return anywhere }
            // The country's index read in place, field by field: bound to a local or passed
            // on, it was copied, a retain and a release of each of its lists.
            guard let region = lead.region, let regional = countryIndexes[i].regionTable[region] else { return countryIndexes[i].whole }
            return countryIndexes[i].regionsIncludeWhole ? regional : CandidateList.merged(countryIndexes[i].whole, regional)
        }
        guard let index = byCountry[lead.country] else { return anywhere }
        guard let region = lead.region, let regional = index.regionTable[region] else { return index.whole }
        return index.regionsIncludeWhole ? regional : CandidateList.merged(index.whole, regional)
    }

    /// How many ``countrySlot(_:)`` numbers there are.
    static let countrySlotCount = 26 * 26

    /// A country code of two capital letters (`US`) as a number below ``countrySlotCount``;
    /// `nil` for any other text (whose index, if any, is found by name).
    @inline(__always)
    static func countrySlot(_ country: String) -> Int? {
        var country = country
        return country.withUTF8 { bytes -> Int? in
            guard bytes.count == 2 else { return nil }
            let first = Int(bytes[0]) - 0x41, second = Int(bytes[1]) - 0x41
            guard (0..<26).contains(first) && (0..<26).contains(second) else { return nil }
            return first * 26 + second
        }
    }

    /// A list in ascending order without its repeats (a partner naming a country twice).
    static func unique(_ list: [Int]) -> [Int] {
        var out: [Int] = []
        for i in list where out.last != i { out.append(i) }
        return out
    }

    /// A writer of a lead's reasons (``Reasons``), begun with why partner `i` matches `lead`
    /// (its territory, its products, as ``Router/eligibility(of:for:)`` gives them) and
    /// `first`: the reasons of a lead are written into one buffer.
    func reasonWriter(_ i: Int, _ lead: LeadFacts, then first: String, into buffer: inout [UInt8]) -> JSONWriter {
        var json = JSONWriter(reusing: &buffer, capacity: 256)
        // The partner's fields read in place: `let partner = partners[i]` copied the partner,
        // a retain and a release of each of its references (about 400 instructions a lead).
        if partners[i].active, let territory = Router.territoryCover(partners[i].territories, lead),
           let product = Router.productCover(partners[i].products, lead) {
            json.beginString()
            switch territory {
            case .anywhere: json.text(literal: "territory anywhere")
            case .country:
                json.text(literal: "country ")
                json.text(lead.country)
                json.text(literal: " in territory")
            case .region(let region):
                json.text(literal: "country ")
                json.text(lead.country)
                json.text(literal: " region ")
                json.text(region)
                json.text(literal: " in territory")
            }
            json.endString()
            json.beginString()
            if let product {
                json.text(literal: "product ")
                json.text(product)
                json.text(literal: " offered")
            } else {
                json.text(literal: "every product offered")
            }
            json.endString()
        }
        json.element(first)
        return json
    }
}
