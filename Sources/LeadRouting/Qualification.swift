/// A lead's qualification: a score 0-100, its grade, and the points each signal earned.
public struct Qualification: Sendable, Equatable {
    public var score: Int
    public var grade: Grade
    /// Points earned per signal, in a fixed order: need, budget, authority, timeline,
    /// company_size, estimated_value.
    public var signals: [Signal]

    /// The signals' names in the order ``signals`` (and every envelope's `qualification`)
    /// lists them.
    public static let signalNames = ["need", "budget", "authority", "timeline", "company_size", "estimated_value"]

    public struct Signal: Sendable, Equatable {
        public var name: String
        public var points: Int
        public var possible: Int
    }
}

/// Scores leads per ``QualificationConfig``. Pure and cheap: a few comparisons a lead.
public struct Qualifier: Sendable {
    public let config: QualificationConfig

    public init(config: QualificationConfig) { self.config = config }

    public func qualify(_ lead: LeadFacts) -> Qualification {
        let q = lead.qualification
        var signals: [Qualification.Signal] = []
        signals.reserveCapacity(Qualification.signalNames.count)
        func add(_ name: String, _ weight: Int, _ fraction: Double) {
            let points = Int((Double(weight) * min(1, max(0, fraction))).rounded())
            signals.append(.init(name: name, points: points, possible: weight))
        }
        let need = q?.statesNeed ?? false
        add("need", config.needWeight, need ? 1 : 0)
        add("budget", config.budgetWeight, (q?.budget ?? 0) > 0 ? 1 : 0)
        let authority: Double
        switch q?.authority {
        case .decisionMaker: authority = 1
        case .influencer: authority = 0.5
        case .unknown, nil: authority = 0
        }
        add("authority", config.authorityWeight, authority)
        var timeline = 0.0
        if let days = q?.timelineDays {
            if days <= config.timelineDays { timeline = 1 } else if days <= 2 * config.timelineDays { timeline = 0.5 }
        }
        add("timeline", config.timelineWeight, timeline)
        add("company_size", config.companySizeWeight, Double(lead.employees ?? 0) / Double(max(1, config.fullEmployees)))
        add("estimated_value", config.estimatedValueWeight, (lead.estimatedValue ?? 0) / max(1, config.fullValue))

        let possible = signals.reduce(0) { $0 + $1.possible }
        let earned = signals.reduce(0) { $0 + $1.points }
        let score = possible == 0 ? 0 : Int((100 * Double(earned) / Double(possible)).rounded())
        let grade: Grade = score >= config.gradeA ? .A : score >= config.gradeB ? .B : score >= config.gradeC ? .C : .D
        return Qualification(score: score, grade: grade, signals: signals)
    }
}
