internal import Yams

/// Checking `partners` and `registrations`.
extension Checker {
    // MARK: Partners

    mutating func partners(_ entry: Fields.Entry) -> [Partner] {
        guard let list = list(entry, at: "partners") else {
            partnerIDs = nil
            return []
        }
        var firstIndex: [String: (index: Int, line: Int?)] = [:]
        return mappings(list, at: "partners", fallbackLine: line(entry), kind: "a partner", allowed: Keys.partner) { checker, fields, path, index in
            checker.partner(fields, at: path, index: index, firstIndex: &firstIndex)
        }
    }

    /// Each item of a list of mappings (partners, clients) read by `read`, which reports the
    /// problems of an item it returns `nil` for; an item that is not a mapping is reported here.
    mutating func mappings<Item>(_ list: [Node], at base: String, fallbackLine: Int?, kind: String, allowed: [String],
                                 _ read: (inout Checker, Fields, String, Int) -> Item?) -> [Item] {
        var items: [Item] = []
        for (index, node) in list.enumerated() {
            let path = "\(base)[\(index)]"
            guard let fields = fields(
                of: node, at: path, fallbackLine: fallbackLine,
                expected: "\(kind) mapping with the keys \(allowed.joined(separator: ", "))", allowed: allowed
            ) else { continue }
            if let item = read(&self, fields, path, index) { items.append(item) }
        }
        return items
    }

    /// One partner's mapping; `nil` when any of its keys is invalid (each problem reported).
    private mutating func partner(_ fields: Fields, at path: String, index: Int,
                                  firstIndex: inout [String: (index: Int, line: Int?)]) -> Partner? {
        var valid = true
        let id = partnerID(fields, at: path, index: index, firstIndex: &firstIndex)
        let name = partnerName(fields, at: path, valid: &valid)
        var engagement: EngagementModel?
        if let entry = fields["engagement"] {
            engagement = choice(entry, at: "\(path).engagement", of: EngagementModel.self)
        } else {
            report("\(path).engagement", fields.line, "is required: one of \(Checker.allowed(EngagementModel.self))")
        }
        let territories = optional(fields, "territories", or: [], valid: &valid) { $0.territories($1, at: "\(path).territories") }
        let products = optional(fields, "products", or: [], valid: &valid) { $0.products($1, at: "\(path).products") }
        let weight = optional(fields, "weight", or: 1, valid: &valid) { $0.weight($1, at: "\(path).weight") }
        let active = optional(fields, "active", or: true, valid: &valid) { $0.bool($1, at: "\(path).active") }
        let minGrade = optional(fields, "min_grade", or: nil, valid: &valid) { checker, entry -> Grade?? in
            checker.choice(entry, at: "\(path).min_grade", of: Grade.self).map { .some($0) }
        }
        let capacity = optional(fields, "capacity", or: nil, valid: &valid) { checker, entry -> Capacity?? in
            checker.capacity(entry, at: "\(path).capacity").map { .some($0) }
        }
        let pausedUntil = optional(fields, "paused_until", or: nil, valid: &valid) { checker, entry -> Int64?? in
            checker.timestamp(entry, at: "\(path).paused_until", nullHint: " (omit paused_until when the partner is not paused)")
                .map { .some($0) }
        }
        let accounts = optional(fields, "accounts", or: [], valid: &valid) { $0.accounts($1, at: "\(path).accounts") }
        let offers = optional(fields, "offers", or: nil, valid: &valid) { checker, entry -> OfferOverride?? in
            checker.partnerOffers(entry, at: "\(path).offers").map { .some($0) }
        }
        let keys = optional(fields, "keys", or: [], valid: &valid) { $0.keyList($1, at: "\(path).keys", nonEmpty: false) }
        guard valid, let id, let engagement else { return nil }
        var partner = Partner(
            id: id, name: name, engagement: engagement, territories: territories,
            products: products, weight: weight, active: active, minGrade: minGrade,
            capacity: capacity, pausedUntil: pausedUntil, accounts: accounts, offers: offers
        )
        partner.keys = keys
        return partner
    }

    /// The value of an optional key: `fallback` when absent; read by `parse` when present,
    /// clearing `valid` when that fails (it reports why).
    private mutating func optional<Value>(_ fields: Fields, _ key: String, or fallback: Value, valid: inout Bool,
                                          _ parse: (inout Checker, Fields.Entry) -> Value?) -> Value {
        guard let entry = fields[key] else { return fallback }
        guard let value = parse(&self, entry) else {
            valid = false
            return fallback
        }
        return value
    }

    /// A partner's id: required, well formed and unique.
    private mutating func partnerID(_ fields: Fields, at path: String, index: Int,
                                    firstIndex: inout [String: (index: Int, line: Int?)]) -> String? {
        uniqueID(fields, at: path, index: index, kind: "partner", example: "rocky-mountain-it", list: "partners",
                 firstIndex: &firstIndex, recordPartnerID: true)
    }

    /// An id (of a partner, or a security client): required, `^[a-z0-9][a-z0-9-]{0,62}$`, and
    /// unique in its list. `recordPartnerID`: remember it in ``partnerIDs``, well formed or not.
    mutating func uniqueID(_ fields: Fields, at path: String, index: Int, kind: String, example: String, list: String,
                           firstIndex: inout [String: (index: Int, line: Int?)], recordPartnerID: Bool = false) -> String? {
        guard let entry = fields["id"] else {
            report("\(path).id", fields.line, "is required: a unique \(kind) id such as \"\(example)\"")
            return nil
        }
        guard let value = string(entry, at: "\(path).id") else { return nil }
        if recordPartnerID { partnerIDs?.insert(value) }
        if !Partner.isValidID(value) {
            report("\(path).id", line(entry),
                   "must be 1-63 lower-case letters, digits and dashes, not starting with a dash "
                       + "(^[a-z0-9][a-z0-9-]{0,62}$), got \"\(value)\"")
        } else if let first = firstIndex[value] {
            let at = first.line.map { " (line \($0))" } ?? ""
            report("\(path).id", line(entry), "duplicate \(kind) id \"\(value)\": \(list)[\(first.index)]\(at) already uses it")
        } else {
            firstIndex[value] = (index, line(entry))
            return value
        }
        return nil
    }

    /// A partner's display name, when given and not blank.
    private mutating func partnerName(_ fields: Fields, at path: String, valid: inout Bool) -> String? {
        guard let entry = fields["name"],
              let value = string(entry, at: "\(path).name", nullHint: " (omit name to use the partner id)") else { return nil }
        if value.allSatisfy(\.isWhitespace) {
            report("\(path).name", line(entry), "must not be empty; omit it to use the partner id")
            valid = false
            return nil
        }
        return value
    }

    /// A partner's weight: 1 to ``Limits/maxWeight``.
    private mutating func weight(_ entry: Fields.Entry, at path: String) -> Int? {
        guard let value = int(entry, at: path) else { return nil }
        if value <= 0 {
            report(path, line(entry), "must be greater than 0, got \(value)")
            return nil
        }
        if value > Limits.maxWeight {
            report(path, line(entry), "must be at most \(Limits.maxWeight), got \(value)")
            return nil
        }
        return value
    }

    /// The territories of a partner, or `nil` when any is invalid.
    mutating func territories(_ entry: Fields.Entry, at path: String) -> [Territory]? {
        guard let list = list(entry, at: path) else { return nil }
        var territories: [Territory] = []
        var valid = true
        var firstIndex: [String: Int] = [:]
        for (index, node) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let fields = fields(
                of: node, at: itemPath, fallbackLine: line(entry),
                expected: "a territory mapping with the keys country and regions", allowed: Keys.territory
            ) else {
                valid = false
                continue
            }
            var country: String?
            if let entry = fields["country"] {
                if let value = string(entry, at: "\(itemPath).country") {
                    let code = value.uppercased()
                    if !ISOCountry.isValid(code) {
                        report("\(itemPath).country", line(entry),
                               "must be an ISO 3166-1 alpha-2 country code such as US or DE, got \"\(value)\"")
                    } else if let first = firstIndex[code] {
                        report("\(itemPath).country", line(entry),
                               "country \(code) is already listed at \(path)[\(first)]; "
                                   + "list all of a country's regions in one entry")
                    } else {
                        firstIndex[code] = index
                        country = code
                    }
                }
            } else {
                report("\(itemPath).country", fields.line, "is required: an ISO 3166-1 alpha-2 country code such as US")
            }
            var regions: [String]?
            var regionsValid = true
            if let entry = fields["regions"] {
                regions = self.regions(entry, at: "\(itemPath).regions")
                regionsValid = regions != nil
            }
            if let country, regionsValid {
                territories.append(Territory(country: country, regions: regions))
            } else {
                valid = false
            }
        }
        return valid ? territories : nil
    }

    mutating func regions(_ entry: Fields.Entry, at path: String) -> [String]? {
        guard let list = list(entry, at: path) else { return nil }
        if list.isEmpty {
            report(path, line(entry), "must not be empty; omit regions to cover the whole country")
            return nil
        }
        let regions = distinctStrings(list, at: path, fallbackLine: line(entry)) { value in
            let code = value.uppercased()
            let isCode = (1...3).contains(code.utf8.count)
                && code.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
            guard isCode else {
                var message = "must be a region code of 1-3 letters or digits, such as CO, got \"\(value)\""
                if let dash = code.firstIndex(of: "-") {
                    message += "; write only the part after the dash (\(code[code.index(after: dash)...]))"
                }
                return .failure(ItemProblem(message: message))
            }
            return .success((code, code))
        } repeated: { code, first in
            "duplicate region \(code): \(path)[\(first)] already lists it"
        }
        return regions.valid ? regions.values : nil
    }

    mutating func products(_ entry: Fields.Entry, at path: String) -> [String]? {
        guard let list = list(entry, at: path) else { return nil }
        let products = distinctStrings(list, at: path, fallbackLine: line(entry)) { value in
            value.allSatisfy(\.isWhitespace)
                ? .failure(ItemProblem(message: "must be a product name, got an empty string"))
                : .success((value.lowercased(), value))
        } repeated: { value, first in
            "duplicate product \"\(value)\": \(path)[\(first)] already lists it (case is ignored)"
        }
        return products.valid ? products.values : nil
    }

    /// `{max: 50, per: 7d}`; `nil` after reporting a problem.
    mutating func capacity(_ entry: Fields.Entry, at path: String) -> Capacity? {
        guard let fields = fields(
            of: entry.value, at: path, fallbackLine: entry.keyLine,
            expected: "a mapping with the keys max and per, such as {max: 50, per: 7d} (omit capacity for no limit)",
            allowed: Keys.capacity
        ) else { return nil }
        var max: Int?
        if let entry = fields["max"] {
            max = int(entry, at: "\(path).max", in: Limits.capacityMax)
        } else {
            report("\(path).max", fields.line,
                   "is required: the most leads the partner receives in one window, "
                       + "\(Limits.capacityMax.lowerBound)-\(Limits.capacityMax.upperBound)")
        }
        var per: (seconds: Int64, text: String)?
        if let entry = fields["per"] {
            per = duration(
                entry, at: "\(path).per", expected: "a window such as 30m, 12h, 7d or 2w", units: "mhdw",
                max: Limits.maxCapacityWindowSeconds)
        } else {
            report("\(path).per", fields.line, "is required: the rolling window, such as 30m, 12h, 7d or 2w")
        }
        guard let max, let per else { return nil }
        return Capacity(max: max, perSeconds: per.seconds, perText: per.text)
    }

    /// A partner's accounts, each trimmed, or `nil` when any is invalid.
    mutating func accounts(_ entry: Fields.Entry, at path: String) -> [String]? {
        guard let list = list(entry, at: path, expected: "a list of domains and company names") else { return nil }
        var accounts: [String] = []
        var valid = true
        var firstIndex: [String: (index: Int, text: String)] = [:]
        for (index, node) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            let expected = "a domain such as acme.example or a company name such as \"Globex Corporation\""
            guard let value = string(node, at: itemPath, fallbackLine: line(entry), expected: expected) else {
                valid = false
                continue
            }
            let account = Checker.trimmed(value)
            var problem: String?
            if account.isEmpty {
                problem = "must be \(expected), got an empty string"
            } else if AccountKey.isDomain(account) {
                if let reason = Checker.domainProblem(AccountKey.normalizedDomain(account)) {
                    problem = "looks like a domain (it has a dot and no spaces) but is not one: \(reason); "
                        + "expected a domain such as acme.example, or a company name with a space in it, "
                        + "such as \"Acme, Inc.\", got \"\(value)\""
                }
            } else if AccountKey.normalizedName(account).isEmpty {
                problem = "has nothing left to match once punctuation and legal-form words such as Inc, Corp, "
                    + "LLC, GmbH and The are dropped; expected a company's distinctive name, got \"\(value)\""
            }
            if let problem {
                report(itemPath, node.mark?.line, problem)
                valid = false
                continue
            }
            let key = AccountKey.key(forAccountEntry: account)
            if let first = firstIndex[key] {
                let what = key.hasPrefix("d:")
                    ? "the domain \(key.dropFirst(2))" : "the company name \"\(key.dropFirst(2))\""
                report(itemPath, node.mark?.line,
                       "duplicate account \"\(account)\": \(path)[\(first.index)] (\"\(first.text)\") "
                           + "already lists it; both are \(what) once normalised")
                valid = false
                continue
            }
            firstIndex[key] = (index, account)
            accounts.append(account)
        }
        return valid ? accounts : nil
    }

    // MARK: Registrations

    mutating func registrations(_ entry: Fields.Entry) -> [Registration] {
        guard let list = list(entry, at: "registrations") else { return [] }
        var registrations: [Registration] = []
        for (index, node) in list.enumerated() {
            let path = "registrations[\(index)]"
            guard let fields = fields(
                of: node, at: path, fallbackLine: line(entry),
                expected: "a registration mapping with the keys \(Keys.registration.joined(separator: ", "))",
                allowed: Keys.registration
            ) else { continue }

            var partner: String?
            if let entry = fields["partner"], let value = string(entry, at: "\(path).partner") {
                if let ids = partnerIDs, !ids.contains(value) {
                    var message = "unknown partner \"\(value)\": "
                    if ids.isEmpty {
                        message += "no partners are configured; expected the id of a partner in partners"
                    } else {
                        message += "no partner in partners has this id"
                        if let suggestion = Checker.suggestion(for: value, among: ids.sorted()) {
                            message += " (did you mean \"\(suggestion)\"?)"
                        }
                    }
                    report("\(path).partner", line(entry), message)
                } else {
                    partner = value
                }
            } else if fields["partner"] == nil {
                report("\(path).partner", fields.line, "is required: the id of the partner that registered the deal")
            }

            var domain: String?
            if let entry = fields["domain"], let value = string(entry, at: "\(path).domain", expected: "a domain") {
                if let reason = Checker.domainProblem(AccountKey.normalizedDomain(value)) {
                    report("\(path).domain", line(entry),
                           "must be a domain such as acme.example, got \"\(value)\": \(reason)")
                } else {
                    domain = value
                }
            } else if fields["domain"] == nil {
                report("\(path).domain", fields.line, "is required: the customer's domain, such as acme.example")
            }

            var expires: Int64?
            if let entry = fields["expires"] {
                expires = registrationExpiry(entry, at: "\(path).expires")
            } else {
                report("\(path).expires", fields.line, "is required: when the registration ends, \(RegistrationExpiry.expected)")
            }

            if let partner, let domain, let expires {
                registrations.append(Registration(partnerID: partner, domain: domain, expires: expires))
            }
        }
        return registrations
    }

    /// What makes `domain` (normalised: lower case, no `www.`, no trailing dot) not a
    /// domain, or `nil` when it is one: dot-separated labels of letters (any script, as
    /// `leadctl register` allows), digits and hyphens.
    static func domainProblem(_ domain: String) -> String? { AccountKey.domainProblem(domain) }

    static func trimmed(_ text: String) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(text[first...last])
    }
}
