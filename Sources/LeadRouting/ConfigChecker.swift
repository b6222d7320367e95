internal import Yams

// MARK: - Walking the tree

/// The keys of one YAML mapping, each first occurrence by name.
struct Fields {
    struct Entry {
        var key: Node
        var value: Node
        var keyLine: Int?
    }

    var path: String
    var line: Int?
    var entries: [String: Entry] = [:]

    subscript(name: String) -> Entry? { entries[name] }
}

struct BoundEndpoint {
    var endpoint: Endpoint
    var path: String
    var line: Int?
}

struct Checker {
    private(set) var problems: [ConfigProblem] = []
    var renamePrefixes: [String] = []
    var bound: [BoundEndpoint] = []
    /// Every id written in `partners`, valid or not, so a registration is checked only
    /// against what the file says; `nil` when `partners` is not a list.
    var partnerIDs: Set<String>? = []

    func sortedProblems() -> [ConfigProblem] {
        // Stable: problems on the same line keep the order they were found in.
        problems.enumerated().sorted { lhs, rhs in
            let l = lhs.element.line ?? Int.max
            let r = rhs.element.line ?? Int.max
            return l != r ? l < r : lhs.offset < rhs.offset
        }.map(\.element)
    }

    mutating func report(_ path: String, _ line: Int?, _ message: String) {
        problems.append(ConfigProblem(path: path, line: line, message: message))
    }

    // MARK: Document

    mutating func document(_ yaml: String) -> RouterConfig? {
        let composition = Composition(yaml)
        if let problem = composition.problem {
            problems.append(problem)
            return nil
        }
        renamePrefixes = composition.renamePrefixes
        let expected = "a mapping with the keys \(Keys.top.joined(separator: ", "))"
        guard let root = composition.root else {
            report("", 1, "the document is empty; expected \(expected)")
            return nil
        }
        guard let top = fields(of: root, at: "", fallbackLine: 1, expected: expected, allowed: Keys.top) else {
            return nil
        }

        var config = RouterConfig()
        if let entry = top["state_dir"], let dir = string(entry, at: "state_dir") {
            if dir.isEmpty {
                report("state_dir", line(entry), "must not be empty; expected a directory path")
            } else {
                config.stateDir = dir
            }
        }
        config.ingest = ingest(top["ingest"])
        config.intake = intake(top["intake"])
        config.publish = publish(top["publish"])
        config.replay = replay(top["replay"])
        config.control = control(top["control"])
        if let entry = top["offers"] { config.offers = offers(entry) }
        if let entry = top["routing"] { config.routing = routing(entry) }
        if let entry = top["store"] { config.store = store(entry) }
        if let entry = top["qualification"] { config.qualification = qualification(entry) }
        if let entry = top["partners"] { config.partners = partners(entry) }
        if let entry = top["registrations"] { config.registrations = registrations(entry) }
        let securityKnown = top["security"].map { security($0, into: &config) } ?? true
        config.metrics = metrics(top["metrics"])
        checkBoundEndpoints()
        if securityKnown {
            checkPlaintextEndpoints(config.security)
            checkMetricsOnNetwork(config)
        }
        return config
    }

    // MARK: Sections

    mutating func ingest(_ entry: Fields.Entry?) -> IngestConfig {
        var ingest = IngestConfig()
        guard let entry else {
            bindByDefault(ingest.bind, at: "ingest.bind")
            return ingest
        }
        guard let fields = section(entry, at: "ingest", allowed: Keys.ingest) else { return ingest }
        var bindLine = fields.line
        if let bind = fields["bind"] {
            bindLine = line(bind)
            if let endpoints = endpointList(bind, at: "ingest.bind", bound: true) { ingest.bind = endpoints }
        } else {
            bindByDefault(ingest.bind, at: "ingest.bind")
        }
        if let connect = fields["connect"],
           let endpoints = endpointList(connect, at: "ingest.connect", bound: false) {
            ingest.connect = endpoints
        }
        if fields["bind"] != nil, ingest.bind.isEmpty, ingest.connect.isEmpty {
            report("ingest.bind", bindLine,
                   "ingest.bind and ingest.connect are both empty, so no lead could ever arrive; "
                       + "list at least one endpoint in either")
        }
        if let topics = fields["topics"], let list = list(topics, at: "ingest.topics") {
            let values = distinctStrings(list, at: "ingest.topics", fallbackLine: line(topics)) { .success(($0, $0)) } repeated: { topic, first in
                "duplicate topic \"\(topic)\": ingest.topics[\(first)] already subscribes to it"
            }.values
            if list.isEmpty {
                report("ingest.topics", line(topics),
                       "must list at least one subscription topic prefix, such as [\"lead\"]")
            } else {
                ingest.topics = values
            }
        }
        if let entry = fields["max_message_bytes"],
           let value = int(entry, at: "ingest.max_message_bytes", in: Limits.maxMessageBytes) {
            ingest.maxMessageBytes = value
        }
        if let entry = fields["receive_hwm"],
           let value = int(entry, at: "ingest.receive_hwm", in: Limits.highWaterMark) {
            ingest.receiveHighWaterMark = value
        }
        return ingest
    }

    mutating func intake(_ entry: Fields.Entry?) -> IntakeConfig {
        var intake = IntakeConfig()
        _ = socketSection(entry, "intake", allowed: Keys.intake, bind: &intake.bind)
        return intake
    }

    /// A section with an optional `bind` (intake, replay): reads the endpoint, or records the
    /// default as bound; returns the section's fields for its other keys.
    mutating func socketSection(_ entry: Fields.Entry?, _ name: String, allowed: [String], bind: inout Endpoint?) -> Fields? {
        guard let entry else {
            bindByDefault(bind.map { [$0] } ?? [], at: "\(name).bind")
            return nil
        }
        guard let fields = section(entry, at: name, allowed: allowed) else { return nil }
        if let value = fields["bind"] {
            bind = endpoint(value, at: "\(name).bind", default: bind)
        } else {
            bindByDefault(bind.map { [$0] } ?? [], at: "\(name).bind")
        }
        return fields
    }

    mutating func publish(_ entry: Fields.Entry?) -> PublishConfig {
        var publish = PublishConfig()
        guard let entry else {
            bindByDefault([publish.bind], at: "publish.bind")
            return publish
        }
        guard let fields = section(entry, at: "publish", allowed: Keys.publish) else { return publish }
        if let bind = fields["bind"] {
            if let endpoint = endpoint(bind, at: "publish.bind", default: publish.bind) {
                publish.bind = endpoint
            }
        } else {
            bindByDefault([publish.bind], at: "publish.bind")
        }
        if let entry = fields["send_hwm"], let value = int(entry, at: "publish.send_hwm", in: Limits.highWaterMark) {
            publish.sendHighWaterMark = value
        }
        if let entry = fields["heartbeat_ms"], let value = int(entry, at: "publish.heartbeat_ms", in: Limits.heartbeatMilliseconds) {
            publish.heartbeatMilliseconds = value
        }
        return publish
    }

    mutating func replay(_ entry: Fields.Entry?) -> ReplayConfig {
        var replay = ReplayConfig()
        guard let fields = socketSection(entry, "replay", allowed: Keys.replay, bind: &replay.bind) else { return replay }
        if let entry = fields["max_limit"], let value = int(entry, at: "replay.max_limit", in: Limits.replayMaxLimit) {
            replay.maxLimit = value
        }
        return replay
    }

    mutating func store(_ entry: Fields.Entry) -> StoreConfig {
        var store = StoreConfig()
        guard let fields = section(entry, at: "store", allowed: Keys.store) else { return store }
        if let entry = fields["durability"], let value = choice(entry, at: "store.durability", of: Durability.self) {
            store.durability = value
        }
        if let entry = fields["retention_days"], let value = int(entry, at: "store.retention_days", in: Limits.retentionDays) {
            store.retentionDays = value
        }
        if let entry = fields["pipeline_batch"], let value = int(entry, at: "store.pipeline_batch", in: Limits.pipelineBatch) {
            store.pipelineBatch = value
        }
        return store
    }

    mutating func routing(_ entry: Fields.Entry) -> RoutingPolicy {
        var routing = RoutingPolicy()
        guard let fields = section(entry, at: "routing", allowed: Keys.routing) else { return routing }
        if let entry = fields["unmatched"],
           let value = choice(entry, at: "routing.unmatched", of: UnmatchedDestination.self) {
            routing.unmatched = value
        }
        return routing
    }

    // MARK: Qualification

    mutating func qualification(_ entry: Fields.Entry) -> QualificationConfig {
        var qualification = QualificationConfig()
        guard let fields = section(entry, at: "qualification", allowed: Keys.qualification) else {
            return qualification
        }
        if let entry = fields["weights"] { weights(entry, into: &qualification) }
        if let entry = fields["grades"] { grades(entry, into: &qualification) }
        if let entry = fields["timeline_days"],
           let value = int(entry, at: "qualification.timeline_days", in: Limits.timelineDays) {
            qualification.timelineDays = value
        }
        if let entry = fields["full_employees"],
           let value = int(entry, at: "qualification.full_employees", in: Limits.fullEmployees) {
            qualification.fullEmployees = value
        }
        if let entry = fields["full_value"],
           let value = number(entry, at: "qualification.full_value", atMost: Limits.maxFullValue) {
            qualification.fullValue = value
        }
        return qualification
    }

    /// `qualification.weights`: each 0-1000, absent ones at their defaults, not all 0.
    mutating func weights(_ entry: Fields.Entry, into qualification: inout QualificationConfig) {
        let path = "qualification.weights"
        guard let fields = section(entry, at: path, allowed: Keys.weights) else { return }
        let weights: [(name: String, keyPath: WritableKeyPath<QualificationConfig, Int>)] = [
            ("need", \.needWeight), ("budget", \.budgetWeight), ("authority", \.authorityWeight),
            ("timeline", \.timelineWeight), ("company_size", \.companySizeWeight),
            ("estimated_value", \.estimatedValueWeight),
        ]
        let defaults = QualificationConfig()
        var allRead = true
        for weight in weights {
            guard let entry = fields[weight.name] else { continue }
            if let value = int(entry, at: "\(path).\(weight.name)", in: Limits.qualificationWeight) {
                qualification[keyPath: weight.keyPath] = value
            } else {
                allRead = false
            }
        }
        if allRead, weights.allSatisfy({ qualification[keyPath: $0.keyPath] == 0 }) {
            let listed = weights.map { "\($0.name) \(defaults[keyPath: $0.keyPath])" }.joined(separator: ", ")
            report(path, entry.keyLine ?? fields.line,
                   "at least one weight must be greater than 0, but all are 0, so no lead could earn a score; "
                       + "an absent weight keeps its default (\(listed))")
        }
    }

    /// `qualification.grades`: each 0-100, absent ones at their defaults, with A > B > C.
    mutating func grades(_ entry: Fields.Entry, into qualification: inout QualificationConfig) {
        let path = "qualification.grades"
        guard let fields = section(entry, at: path, allowed: Keys.grades) else { return }
        let grades: [(name: String, keyPath: WritableKeyPath<QualificationConfig, Int>)] = [
            ("A", \.gradeA), ("B", \.gradeB), ("C", \.gradeC),
        ]
        struct Known {
            var name: String
            var value: Int
            /// `nil`: absent, so the default.
            var entry: Fields.Entry?
            var described: String { entry == nil ? "\(value), its default" : "\(value)" }
        }
        // The grades whose value is known, best first: written and valid, or absent.
        var known: [Known] = []
        for grade in grades {
            if let entry = fields[grade.name] {
                guard let value = int(entry, at: "\(path).\(grade.name)", in: Limits.gradeScore) else { continue }
                qualification[keyPath: grade.keyPath] = value
                known.append(Known(name: grade.name, value: value, entry: entry))
            } else {
                known.append(Known(name: grade.name, value: qualification[keyPath: grade.keyPath], entry: nil))
            }
        }
        for (higher, lower) in zip(known, known.dropFirst()) where higher.value <= lower.value {
            let order = "grades need A > B > C (each the lowest score for that grade)"
            if let entry = lower.entry {
                report("\(path).\(lower.name)", line(entry),
                       "must be less than \(higher.name) (\(higher.described)), got \(lower.value); \(order)")
            } else if let entry = higher.entry {
                report("\(path).\(higher.name)", line(entry),
                       "must be greater than \(lower.name) (\(lower.described)), got \(higher.value); \(order)")
            }
        }
    }
}
