/// A lead's qualification: a score 0-100, its grade, and the points each signal earned.
public struct Qualification: Sendable, Equatable {
    public var score: Int
    public var grade: Grade
    /// Points earned per signal, in a fixed order: need, budget, authority, timeline,
    /// company_size, estimated_value.
    public var signals: [Signal] {
        get {
            if let custom { return custom }
            return Qualification.signalNames.indices.map {
                Signal(name: Qualification.signalNames[$0], points: Int(points[$0]), possible: Int(possible[$0]))
            }
        }
        set { custom = newValue }
    }
    /// The qualifier's six signals (``signalNames``, in order), inline: no array a lead.
    /// Unused when ``custom`` holds the signals instead.
    var points = SIMD8<Int32>.zero, possible = SIMD8<Int32>.zero
    /// Signals set by hand (other names or another order), written as they are.
    var custom: [Signal]?

    /// The signals' names in the order ``signals`` (and every envelope's `qualification`)
    /// lists them.
    public static let signalNames = ["need", "budget", "authority", "timeline", "company_size", "estimated_value"]

    public struct Signal: Sendable, Equatable {
        public var name: String
        public var points: Int
        public var possible: Int
    }

    public init(score: Int, grade: Grade, signals: [Signal]) {
        self.score = score
        self.grade = grade
        self.custom = signals
    }

    /// What a decision without a qualification keeps (``RoutingDecision/qualificationValue``).
    static let absent = Qualification(score: 0, grade: .D, points: .zero, possible: .zero)

    /// The qualifier's result: the six signals' points earned and possible, in ``signalNames``' order.
    init(score: Int, grade: Grade, points: SIMD8<Int32>, possible: SIMD8<Int32>) {
        self.score = score
        self.grade = grade
        self.points = points
        self.possible = possible
    }

    /// The same score, grade and signals, however they are kept.
    public static func == (a: Qualification, b: Qualification) -> Bool {
        guard a.score == b.score && a.grade == b.grade else { return false }
        if a.custom == nil && b.custom == nil { return a.points == b.points && a.possible == b.possible }
        return a.signals == b.signals
    }
}

/// Scores leads per ``QualificationConfig``. Pure and cheap: a few comparisons a lead.
public struct Qualifier: Sendable {
    public let config: QualificationConfig

    public init(config: QualificationConfig) { self.config = config }

    public func qualify(_ lead: LeadFacts) -> Qualification {
        // The qualification's fields read in place (``LeadFacts/qualificationValue``): each
        // `q?.field` of an optional copied the whole of it.
        var need = false, budget = 0.0, authority: LeadFacts.Authority?, days: Int?
        if lead.hasQualification {
            need = lead.qualificationValue.statesNeed
            budget = lead.qualificationValue.budget ?? 0
            authority = lead.qualificationValue.authority
            days = lead.qualificationValue.timelineDays
        }
        // In ``Qualification/signalNames``' order.
        var points = SIMD8<Int32>.zero, possible = SIMD8<Int32>.zero
        var count = 0
        func add(_ weight: Int, _ fraction: Double) {
            let share = min(1, max(0, fraction))
            // Most signals are all or nothing: those need no rounding (a call to libm's `round`).
            let earned = share == 0 ? 0 : share == 1 ? Double(weight) : (Double(weight) * share).rounded()
            points[count] = Int32(clamping: Int(earned))
            possible[count] = Int32(clamping: weight)
            count += 1
        }
        add(config.needWeight, need ? 1 : 0)
        add(config.budgetWeight, budget > 0 ? 1 : 0)
        let authorityShare: Double
        switch authority {
        case .decisionMaker: authorityShare = 1
        case .influencer: authorityShare = 0.5
        case .unknown, nil: authorityShare = 0
        }
        add(config.authorityWeight, authorityShare)
        var timeline = 0.0
        if let days {
            if days <= config.timelineDays { timeline = 1 } else if days <= 2 * config.timelineDays { timeline = 0.5 }
        }
        add(config.timelineWeight, timeline)
        add(config.companySizeWeight, Double(lead.employees ?? 0) / Double(max(1, config.fullEmployees)))
        // `full_value` is checked to be above 0 (it may be below 1, such as 0.5): divide by it as configured.
        add(config.estimatedValueWeight, (lead.estimatedValue ?? 0) / (config.fullValue > 0 ? config.fullValue : 1))

        let totalPossible = (0..<count).reduce(0) { $0 + Int(possible[$1]) }
        let earned = (0..<count).reduce(0) { $0 + Int(points[$1]) }
        let score = totalPossible == 0 ? 0 : Int((100 * Double(earned) / Double(totalPossible)).rounded())
        let grade: Grade = score >= config.gradeA ? .A : score >= config.gradeB ? .B : score >= config.gradeC ? .C : .D
        return Qualification(score: score, grade: grade, points: points, possible: possible)
    }
}
