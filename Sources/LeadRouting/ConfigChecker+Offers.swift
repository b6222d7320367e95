internal import Yams

/// Checking `control` and `offers` (and a partner's own `offers:`).
extension Checker {
    /// `control`: absent, null, or `bind: null`: no control endpoint (so nothing bound by default).
    mutating func control(_ entry: Fields.Entry?) -> ControlConfig {
        var control = ControlConfig()
        guard let entry, !isNull(entry.value),
              let fields = section(entry, at: "control", allowed: Keys.control),
              let bind = fields["bind"], !isNull(bind.value) else { return control }
        control.bind = endpoint(bind, at: "control.bind", default: nil)
        return control
    }

    mutating func offers(_ entry: Fields.Entry) -> OfferPolicy {
        guard let fields = section(entry, at: "offers", allowed: Keys.offers) else { return OfferPolicy() }
        return offerKeys(fields, at: "offers").applied(to: OfferPolicy())
    }

    /// A partner's `offers:`; `nil` after reporting a problem.
    mutating func partnerOffers(_ entry: Fields.Entry, at path: String) -> OfferOverride? {
        let problems = self.problems.count
        guard let fields = fields(
            of: entry.value, at: path, fallbackLine: entry.keyLine,
            expected: "a mapping with any of the keys \(Keys.offers.joined(separator: ", ")), such as {accept_within: 30m}",
            allowed: Keys.offers
        ) else { return nil }
        let keys = offerKeys(fields, at: path)
        return self.problems.count == problems ? keys : nil
    }

    /// The keys of an `offers` mapping that are present and valid (each problem reported).
    private mutating func offerKeys(_ fields: Fields, at path: String) -> OfferOverride {
        var keys = OfferOverride()
        if let entry = fields["accept_within"] {
            keys.acceptWithin = offerDuration(entry, at: "\(path).accept_within", zero: "no offers", max: Limits.maxOfferSeconds)
        }
        if let entry = fields["max_offers"] { keys.maxOffers = int(entry, at: "\(path).max_offers", in: Limits.maxOffers) }
        if let entry = fields["then"] { keys.then = choice(entry, at: "\(path).then", of: OfferFallback.self) }
        if let entry = fields["pool_window"] {
            keys.poolWindow = offerDuration(entry, at: "\(path).pool_window", zero: nil, max: Limits.maxOfferSeconds)
        }
        if let entry = fields["withhold"] { keys.withhold = withhold(entry, at: "\(path).withhold") }
        if let entry = fields["follow_up_within"] {
            keys.followUpWithin = offerDuration(entry, at: "\(path).follow_up_within", zero: "never", max: Limits.maxFollowUpSeconds)
        }
        return keys
    }

    /// `withhold`: distinct top-level lead field names, never `lead_id`.
    private mutating func withhold(_ entry: Fields.Entry, at path: String) -> [String]? {
        guard let list = list(entry, at: path, expected: "a list of lead field names, such as [contact]") else { return nil }
        let (values, valid) = distinctStrings(list, at: path, fallbackLine: line(entry)) { name in
            if name == "lead_id" {
                return .failure(ItemProblem(message: "lead_id cannot be withheld: the partner needs it to accept or decline the offer"))
            }
            guard let first = name.utf8.first, (first >= 0x61 && first <= 0x7A) || first == 0x5F,
                  name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }) else {
                return .failure(ItemProblem(message: "must be a top-level field name of the lead, such as contact or qualification (lower case, digits and _), got \"\(name)\""))
            }
            return .success((name, name))
        } repeated: { name, first in
            "duplicate field \"\(name)\": \(path)[\(first)] withholds it already"
        }
        return valid ? values : nil
    }

    /// An offer deadline such as `4h`, in seconds; `nil` after reporting a problem.
    private mutating func offerDuration(_ entry: Fields.Entry, at path: String, zero: String?, max: Int64) -> Int64? {
        duration(entry, at: path, expected: "a duration such as 90s, 30m, 4h or 2d", zero: zero, max: max)?.seconds
    }
}
