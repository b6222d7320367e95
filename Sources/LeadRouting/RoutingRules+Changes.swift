/// What a reload changes in the ``RoutingRules``: partners added, removed and changed (and
/// in what), and the other sections that differ. The daemon logs it, so an operator sees
/// what a `systemctl reload` did.
public struct RulesChange: Sendable, Equatable {
    /// Ids of partners in the new rules only, in their order.
    public var partnersAdded: [String] = []
    /// Ids of partners in the old rules only, in their order.
    public var partnersRemoved: [String] = []
    /// Partners in both whose settings differ, in the new order, each with the keys that
    /// differ as written in the config (`weight`, `territories`, `paused_until`, …).
    public var partnersChanged: [(id: String, keys: [String])] = []
    /// Other sections that differ: `routing`, `qualification`, `registrations`, `offers`,
    /// `security.clients`; and `partners.order` when only the partners' order changed.
    public var sections: [String] = []

    public init(from old: RoutingRules, to new: RoutingRules) {
        let oldByID = Dictionary(old.partners.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let newIDs = Set(new.partners.map(\.id))
        partnersRemoved = old.partners.map(\.id).filter { !newIDs.contains($0) }
        for partner in new.partners {
            guard let before = oldByID[partner.id] else {
                partnersAdded.append(partner.id)
                continue
            }
            let keys = RulesChange.changedKeys(before, partner)
            if !keys.isEmpty { partnersChanged.append((partner.id, keys)) }
        }
        if old.partners.map(\.id).filter(newIDs.contains) != new.partners.map(\.id).filter({ oldByID[$0] != nil }) {
            sections.append("partners.order")
        }
        if old.routing != new.routing { sections.append("routing") }
        if old.qualification != new.qualification { sections.append("qualification") }
        if old.registrations != new.registrations { sections.append("registrations") }
        if old.offers != new.offers { sections.append("offers") }
        if old.clients.map(\.withoutKeyLines) != new.clients.map(\.withoutKeyLines) { sections.append("security.clients") }
    }

    /// Whether the new rules are the old ones.
    public var isEmpty: Bool {
        partnersAdded.isEmpty && partnersRemoved.isEmpty && partnersChanged.isEmpty && sections.isEmpty
    }

    /// `acme(weight,territories) globex(active)`, or `-` when none changed.
    public var changedText: String {
        partnersChanged.isEmpty ? "-" : partnersChanged.map { "\($0.id)(\($0.keys.joined(separator: ",")))" }.joined(separator: " ")
    }

    public static func == (a: RulesChange, b: RulesChange) -> Bool {
        a.partnersAdded == b.partnersAdded && a.partnersRemoved == b.partnersRemoved && a.sections == b.sections
            && a.partnersChanged.map(\.id) == b.partnersChanged.map(\.id)
            && a.partnersChanged.map(\.keys) == b.partnersChanged.map(\.keys)
    }

    /// The partner keys, as written in the config, whose values differ.
    static func changedKeys(_ a: Partner, _ b: Partner) -> [String] {
        var keys: [String] = []
        func compare<Value: Equatable>(_ key: String, _ path: KeyPath<Partner, Value>) {
            if a[keyPath: path] != b[keyPath: path] { keys.append(key) }
        }
        compare("name", \.name)
        compare("engagement", \.engagement)
        compare("territories", \.territories)
        compare("products", \.products)
        compare("weight", \.weight)
        compare("active", \.active)
        compare("min_grade", \.minGrade)
        compare("capacity", \.capacity)
        compare("paused_until", \.pausedUntil)
        compare("accounts", \.accounts)
        compare("offers", \.offers)
        compare("keys", \.keys.kinds)
        if keys.isEmpty && a.withoutKeyLines != b.withoutKeyLines { keys.append("other") }
        return keys
    }
}

extension [KeySource] {
    /// The keys as written, without where (key path and line).
    var kinds: [KeySource.Kind] { map(\.kind) }
}

extension Partner {
    /// This partner with its keys' places in the file left out: moving a partner in the
    /// file is no change.
    var withoutKeyLines: Partner {
        var partner = self
        partner.keys = keys.map { KeySource($0.kind, path: "") }
        return partner
    }
}

extension SecurityClient {
    var withoutKeyLines: SecurityClient {
        SecurityClient(id: id, role: role, keys: keys.map { KeySource($0.kind, path: "") })
    }
}
