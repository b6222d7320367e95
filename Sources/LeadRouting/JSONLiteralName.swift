/// Names written into envelopes and records from literals: as `rawValue`s they are `String`s,
/// which the writer checks for characters to escape every time.
protocol JSONLiteralName: RawRepresentable<String> {
    /// ``rawValue``, as a literal.
    var literal: StaticString { get }
}

extension JSONWriter {
    /// A string field whose value is one of these names, `null` for none.
    mutating func field(_ name: StaticString, _ value: (some JSONLiteralName)?) {
        guard let value else { return field(name, nil as String?) }
        field(name, literal: value.literal)
    }
}

extension Assignment.Role: JSONLiteralName {
    var literal: StaticString {
        switch self {
        case .owner: "owner"
        case .coSeller: "co_seller"
        case .relationshipOwner: "relationship_owner"
        case .closer: "closer"
        case .direct: "direct"
        case .nurture: "nurture"
        }
    }
}

extension ChoiceRule: JSONLiteralName {
    var literal: StaticString {
        switch self {
        case .registration: "registration"
        case .registrationHeld: "registration_held"
        case .account: "account"
        case .affinity: "affinity"
        case .rotation: "rotation"
        case .onlyEligible: "only_eligible"
        case .belowGrade: "below_grade"
        case .unmatched: "unmatched"
        }
    }
}

extension EngagementModel: JSONLiteralName {
    var literal: StaticString {
        switch self {
        case .leadsOnly: "leads_only"
        case .coSell: "co_sell"
        case .vendorCloses: "vendor_closes"
        }
    }
}
