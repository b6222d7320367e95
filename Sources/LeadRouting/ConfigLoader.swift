internal import Yams

/// One thing wrong with a config file: where it is and what is expected instead.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// The key path of the offending node, such as `partners[2].weight` or
    /// `ingest.bind[0]`; empty for the document as a whole.
    public var path: String
    /// The 1-based line of the offending node, when known.
    public var line: Int?
    /// What is wrong and what is expected, such as `must be greater than 0, got -1`.
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    /// `partners[2].weight (line 31): must be greater than 0, got -1`.
    public var description: String {
        let location = path.isEmpty ? "<document>" : path
        if let line { return "\(location) (line \(line)): \(message)" }
        return "\(location): \(message)"
    }
}

/// Everything wrong with a config file, in document order.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    /// One line per problem.
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}

/// Turns the YAML text of a config file into a validated ``RouterConfig``.
///
/// Pure: it never touches the file system. Every problem in the text is reported at
/// once, each with its key path and line.
public enum ConfigLoader {
    /// Parses and validates `yaml`.
    ///
    /// - Throws: ``ConfigError`` listing every problem found, in document order.
    public static func load(yaml: String) throws(ConfigError) -> RouterConfig {
        var checker = Checker()
        let config = checker.document(yaml)
        guard checker.problems.isEmpty, let config else {
            throw ConfigError(problems: checker.sortedProblems())
        }
        return config
    }
}

// MARK: - Keys

private enum Keys {
    static let top = [
        "state_dir", "ingest", "intake", "publish", "replay", "routing", "store", "qualification", "partners",
        "registrations",
    ]
    static let ingest = ["bind", "connect", "topics", "max_message_bytes", "receive_hwm"]
    static let intake = ["bind"]
    static let publish = ["bind", "send_hwm", "heartbeat_ms"]
    static let replay = ["bind", "max_limit"]
    static let store = ["durability", "retention_days"]
    static let routing = ["unmatched"]
    static let qualification = ["weights", "grades", "timeline_days", "full_employees", "full_value"]
    static let weights = ["need", "budget", "authority", "timeline", "company_size", "estimated_value"]
    static let grades = ["A", "B", "C"]
    static let partner = [
        "id", "name", "engagement", "territories", "products", "weight", "active", "min_grade", "capacity",
        "paused_until", "accounts",
    ]
    static let territory = ["country", "regions"]
    static let capacity = ["max", "per"]
    static let registration = ["partner", "domain", "expires"]
}

private enum Limits {
    static let maxMessageBytes = 1...16_777_216
    /// ZeroMQ takes high-water marks as a C `int`.
    static let highWaterMark = 1...Int(Int32.max)
    /// Keeps the sum of all weights far from overflowing.
    static let maxWeight = 1_000_000
    static let heartbeatMilliseconds = 100...60_000
    static let replayMaxLimit = 1...100_000
    static let retentionDays = 1...36_500
    static let qualificationWeight = 0...1000
    static let gradeScore = 0...100
    static let timelineDays = 1...3650
    static let fullEmployees = 1...10_000_000
    static let maxFullValue = 1e12
    static let capacityMax = 1...1_000_000
    /// The longest capacity window: 366 days.
    static let maxCapacityWindowSeconds: Int64 = 366 * 86_400
    /// Longer counts are out of range whatever the unit (and would overflow in seconds).
    static let maxWindowDigits = 9
}

// MARK: - Composing, with every duplicate key found

/// The node tree of a document, composed even when mappings repeat a key.
///
/// Yams refuses a mapping with a repeated key and names only the first occurrence.
/// To report every duplicate with its key path, the first occurrence is renamed in the
/// text with a unique prefix and the text composed again, until it composes; the walk
/// then strips the prefixes and reports every later occurrence of a key.
private struct Composition {
    var root: Node?
    var renamePrefixes: [String] = []
    var problem: ConfigProblem?

    static let prefixStem = "__leadrouter_duplicate_"
    static let maxRenames = 500

    init(_ yaml: String) {
        // libyaml (through Yams) trips over a byte order mark followed by more lines.
        var text = yaml.unicodeScalars.first == "\u{FEFF}" ? String(yaml.unicodeScalars.dropFirst()) : yaml
        var lastDuplicate: (line: Int, column: Int, keys: [String], error: YamlError)?
        while true {
            do {
                root = try Yams.compose(yaml: text)
                return
            } catch let error as YamlError {
                if case let .duplicatedKeysInMapping(duplicates, context) = error {
                    let mark = context.mark
                    let same = lastDuplicate.map {
                        $0.line == mark.line && $0.column == mark.column && $0.keys == duplicates
                    } ?? false
                    let prefix = "\(Composition.prefixStem)\(renamePrefixes.count)__"
                    if !same, renamePrefixes.count < Composition.maxRenames,
                       let renamed = Composition.insert(prefix, atKeyMarkedBy: mark, in: text) {
                        lastDuplicate = (mark.line, mark.column, duplicates, error)
                        renamePrefixes.append(prefix)
                        text = renamed
                        continue
                    }
                }
                var problem = Composition.problem(for: error, in: text)
                // The text up to the renamed key parsed before, so a syntax error on its
                // line comes from the renaming: report the duplicate key instead.
                if let lastDuplicate, problem.line == lastDuplicate.line, !Composition.isDuplicateKeys(error) {
                    problem = Composition.problem(for: lastDuplicate.error, in: text)
                }
                self.problem = problem
                return
            } catch {
                problem = ConfigProblem(path: "", line: nil, message: "invalid YAML: \(error)")
                return
            }
        }
    }

    /// Inserts `prefix` at the start of the scalar key at `mark` (inside its quotes),
    /// or returns `nil` when the key there is not a plain or quoted scalar.
    static func insert(_ prefix: String, atKeyMarkedBy mark: Mark, in text: String) -> String? {
        var scalars = Array(text.unicodeScalars)
        var index = 0
        var line = 1
        var column = 1
        // libyaml counts lines across \r\n, \r, \n, NEL, LS and PS, and columns in characters.
        while index < scalars.count, line < mark.line || column < mark.column {
            let scalar = scalars[index]
            switch scalar {
            case "\r":
                if index + 1 < scalars.count, scalars[index + 1] == "\n" { index += 1 }
                line += 1
                column = 1
            case "\n", "\u{85}", "\u{2028}", "\u{2029}":
                line += 1
                column = 1
            default:
                if line == mark.line { column += 1 }
            }
            index += 1
        }
        guard line == mark.line, column == mark.column, index < scalars.count else { return nil }
        let first = scalars[index]
        let insertAt: Int
        if first == "\"" || first == "'" {
            insertAt = index + 1
        } else if "&*!|>%@`[]{},#? \t\r\n".unicodeScalars.contains(first) {
            // An anchor, alias, tag, block scalar or collection: not a key we can rename.
            return nil
        } else {
            // Any plain scalar stays a plain scalar with letters in front.
            insertAt = index
        }
        scalars.insert(contentsOf: prefix.unicodeScalars, at: insertAt)
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars)
        return String(result)
    }

    static func isDuplicateKeys(_ error: YamlError) -> Bool {
        if case .duplicatedKeysInMapping = error { return true }
        return false
    }

    static func problem(for error: YamlError, in text: String) -> ConfigProblem {
        func describe(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line))"
        }
        switch error {
        case let .scanner(context, problem, mark, _),
             let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return ConfigProblem(path: "", line: mark.line, message: "invalid YAML: \(describe(context, problem))")
        case let .reader(problem, offset, _, _):
            let line = offset.map { offset in
                1 + text.utf8.prefix(offset).reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            }
            return ConfigProblem(path: "", line: line, message: "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "\"\($0.replacing("\n", with: "\\n"))\"" }.joined(separator: ", ")
            return ConfigProblem(
                path: "", line: context.mark.line,
                message: "a mapping repeats the key(s) \(keys); each key may appear only once per mapping"
            )
        default:
            return ConfigProblem(path: "", line: nil, message: "invalid YAML: \(error)")
        }
    }
}

// MARK: - Walking the tree

/// The keys of one YAML mapping, each first occurrence by name.
private struct Fields {
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

private struct BoundEndpoint {
    var endpoint: Endpoint
    var path: String
    var line: Int?
}

private struct Checker {
    private(set) var problems: [ConfigProblem] = []
    private var renamePrefixes: [String] = []
    private var bound: [BoundEndpoint] = []
    /// Every id written in `partners`, valid or not, so a registration is checked only
    /// against what the file says; `nil` when `partners` is not a list.
    private var partnerIDs: Set<String>? = []

    func sortedProblems() -> [ConfigProblem] {
        // Stable: problems on the same line keep the order they were found in.
        problems.enumerated().sorted { lhs, rhs in
            let l = lhs.element.line ?? Int.max
            let r = rhs.element.line ?? Int.max
            return l != r ? l < r : lhs.offset < rhs.offset
        }.map(\.element)
    }

    private mutating func report(_ path: String, _ line: Int?, _ message: String) {
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
        if let entry = top["routing"] { config.routing = routing(entry) }
        if let entry = top["store"] { config.store = store(entry) }
        if let entry = top["qualification"] { config.qualification = qualification(entry) }
        if let entry = top["partners"] { config.partners = partners(entry) }
        if let entry = top["registrations"] { config.registrations = registrations(entry) }
        checkBoundEndpoints()
        return config
    }

    // MARK: Sections

    private mutating func ingest(_ entry: Fields.Entry?) -> IngestConfig {
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
            var values: [String] = []
            var firstIndex: [String: Int] = [:]
            for (index, node) in list.enumerated() {
                let path = "ingest.topics[\(index)]"
                guard let topic = string(node, at: path, fallbackLine: line(topics)) else { continue }
                if let first = firstIndex[topic] {
                    report(path, node.mark?.line,
                           "duplicate topic \"\(topic)\": ingest.topics[\(first)] already subscribes to it")
                    continue
                }
                firstIndex[topic] = index
                values.append(topic)
            }
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

    private mutating func intake(_ entry: Fields.Entry?) -> IntakeConfig {
        var intake = IntakeConfig()
        _ = socketSection(entry, "intake", allowed: Keys.intake, bind: &intake.bind)
        return intake
    }

    /// A section with an optional `bind` (intake, replay): reads the endpoint, or records the
    /// default as bound; returns the section's fields for its other keys.
    private mutating func socketSection(_ entry: Fields.Entry?, _ name: String, allowed: [String], bind: inout Endpoint?) -> Fields? {
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

    private mutating func publish(_ entry: Fields.Entry?) -> PublishConfig {
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

    private mutating func replay(_ entry: Fields.Entry?) -> ReplayConfig {
        var replay = ReplayConfig()
        guard let fields = socketSection(entry, "replay", allowed: Keys.replay, bind: &replay.bind) else { return replay }
        if let entry = fields["max_limit"], let value = int(entry, at: "replay.max_limit", in: Limits.replayMaxLimit) {
            replay.maxLimit = value
        }
        return replay
    }

    private mutating func store(_ entry: Fields.Entry) -> StoreConfig {
        var store = StoreConfig()
        guard let fields = section(entry, at: "store", allowed: Keys.store) else { return store }
        if let entry = fields["durability"], let value = choice(entry, at: "store.durability", of: Durability.self) {
            store.durability = value
        }
        if let entry = fields["retention_days"], let value = int(entry, at: "store.retention_days", in: Limits.retentionDays) {
            store.retentionDays = value
        }
        return store
    }

    private mutating func routing(_ entry: Fields.Entry) -> RoutingPolicy {
        var routing = RoutingPolicy()
        guard let fields = section(entry, at: "routing", allowed: Keys.routing) else { return routing }
        if let entry = fields["unmatched"],
           let value = choice(entry, at: "routing.unmatched", of: UnmatchedDestination.self) {
            routing.unmatched = value
        }
        return routing
    }

    // MARK: Qualification

    private mutating func qualification(_ entry: Fields.Entry) -> QualificationConfig {
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
    private mutating func weights(_ entry: Fields.Entry, into qualification: inout QualificationConfig) {
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
    private mutating func grades(_ entry: Fields.Entry, into qualification: inout QualificationConfig) {
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

    // MARK: Partners

    private mutating func partners(_ entry: Fields.Entry) -> [Partner] {
        guard let list = list(entry, at: "partners") else {
            partnerIDs = nil
            return []
        }
        var partners: [Partner] = []
        var firstIndex: [String: (index: Int, line: Int?)] = [:]
        for (index, node) in list.enumerated() {
            let path = "partners[\(index)]"
            guard let fields = fields(
                of: node, at: path, fallbackLine: line(entry),
                expected: "a partner mapping with the keys \(Keys.partner.joined(separator: ", "))",
                allowed: Keys.partner
            ) else { continue }
            var valid = true

            var id: String?
            if let entry = fields["id"] {
                if let value = string(entry, at: "\(path).id") {
                    partnerIDs?.insert(value)
                    if !Partner.isValidID(value) {
                        report("\(path).id", line(entry),
                               "must be 1-63 lower-case letters, digits and dashes, not starting with a dash "
                                   + "(^[a-z0-9][a-z0-9-]{0,62}$), got \"\(value)\"")
                    } else if let first = firstIndex[value] {
                        let at = first.line.map { " (line \($0))" } ?? ""
                        report("\(path).id", line(entry),
                               "duplicate partner id \"\(value)\": partners[\(first.index)]\(at) already uses it")
                    } else {
                        firstIndex[value] = (index, line(entry))
                        id = value
                    }
                }
            } else {
                report("\(path).id", fields.line, "is required: a unique partner id such as \"rocky-mountain-it\"")
            }

            var name: String?
            if let entry = fields["name"],
               let value = string(entry, at: "\(path).name", nullHint: " (omit name to use the partner id)") {
                if value.allSatisfy(\.isWhitespace) {
                    report("\(path).name", line(entry), "must not be empty; omit it to use the partner id")
                    valid = false
                } else {
                    name = value
                }
            }

            var engagement: EngagementModel?
            if let entry = fields["engagement"] {
                engagement = choice(entry, at: "\(path).engagement", of: EngagementModel.self)
            } else {
                report("\(path).engagement", fields.line,
                       "is required: one of \(Checker.allowed(EngagementModel.self))")
            }

            var territories: [Territory] = []
            if let entry = fields["territories"] {
                if let value = self.territories(entry, at: "\(path).territories") {
                    territories = value
                } else {
                    valid = false
                }
            }

            var products: [String] = []
            if let entry = fields["products"] {
                if let value = self.products(entry, at: "\(path).products") {
                    products = value
                } else {
                    valid = false
                }
            }

            var weight = 1
            if let entry = fields["weight"] {
                if let value = int(entry, at: "\(path).weight") {
                    if value <= 0 {
                        report("\(path).weight", line(entry), "must be greater than 0, got \(value)")
                        valid = false
                    } else if value > Limits.maxWeight {
                        report("\(path).weight", line(entry), "must be at most \(Limits.maxWeight), got \(value)")
                        valid = false
                    } else {
                        weight = value
                    }
                } else {
                    valid = false
                }
            }

            var active = true
            if let entry = fields["active"] {
                if let value = bool(entry, at: "\(path).active") { active = value } else { valid = false }
            }

            var minGrade: Grade?
            if let entry = fields["min_grade"] {
                if let value = choice(entry, at: "\(path).min_grade", of: Grade.self) {
                    minGrade = value
                } else {
                    valid = false
                }
            }

            var capacity: Capacity?
            if let entry = fields["capacity"] {
                if let value = self.capacity(entry, at: "\(path).capacity") { capacity = value } else { valid = false }
            }

            var pausedUntil: Int64?
            if let entry = fields["paused_until"] {
                if let value = timestamp(
                    entry, at: "\(path).paused_until", nullHint: " (omit paused_until when the partner is not paused)"
                ) {
                    pausedUntil = value
                } else {
                    valid = false
                }
            }

            var accounts: [String] = []
            if let entry = fields["accounts"] {
                if let value = self.accounts(entry, at: "\(path).accounts") { accounts = value } else { valid = false }
            }

            if valid, let id, let engagement {
                partners.append(Partner(
                    id: id, name: name, engagement: engagement, territories: territories,
                    products: products, weight: weight, active: active, minGrade: minGrade,
                    capacity: capacity, pausedUntil: pausedUntil, accounts: accounts
                ))
            }
        }
        return partners
    }

    /// The territories of a partner, or `nil` when any is invalid.
    private mutating func territories(_ entry: Fields.Entry, at path: String) -> [Territory]? {
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

    private mutating func regions(_ entry: Fields.Entry, at path: String) -> [String]? {
        guard let list = list(entry, at: path) else { return nil }
        if list.isEmpty {
            report(path, line(entry), "must not be empty; omit regions to cover the whole country")
            return nil
        }
        var regions: [String] = []
        var valid = true
        var firstIndex: [String: Int] = [:]
        for (index, node) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let value = string(node, at: itemPath, fallbackLine: line(entry)) else {
                valid = false
                continue
            }
            let code = value.uppercased()
            let isCode = (1...3).contains(code.utf8.count)
                && code.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
            if !isCode {
                var message = "must be a region code of 1-3 letters or digits, such as CO, got \"\(value)\""
                if let dash = code.firstIndex(of: "-") {
                    message += "; write only the part after the dash (\(code[code.index(after: dash)...]))"
                }
                report(itemPath, node.mark?.line, message)
                valid = false
            } else if let first = firstIndex[code] {
                report(itemPath, node.mark?.line, "duplicate region \(code): \(path)[\(first)] already lists it")
                valid = false
            } else {
                firstIndex[code] = index
                regions.append(code)
            }
        }
        return valid ? regions : nil
    }

    private mutating func products(_ entry: Fields.Entry, at path: String) -> [String]? {
        guard let list = list(entry, at: path) else { return nil }
        var products: [String] = []
        var valid = true
        var firstIndex: [String: Int] = [:]
        for (index, node) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let value = string(node, at: itemPath, fallbackLine: line(entry)) else {
                valid = false
                continue
            }
            let key = value.lowercased()
            if value.allSatisfy(\.isWhitespace) {
                report(itemPath, node.mark?.line, "must be a product name, got an empty string")
                valid = false
            } else if let first = firstIndex[key] {
                report(itemPath, node.mark?.line,
                       "duplicate product \"\(value)\": \(path)[\(first)] already lists it (case is ignored)")
                valid = false
            } else {
                firstIndex[key] = index
                products.append(value)
            }
        }
        return valid ? products : nil
    }

    /// `{max: 50, per: 7d}`; `nil` after reporting a problem.
    private mutating func capacity(_ entry: Fields.Entry, at path: String) -> Capacity? {
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
            per = window(entry, at: "\(path).per")
        } else {
            report("\(path).per", fields.line, "is required: the rolling window, such as 30m, 12h, 7d or 2w")
        }
        guard let max, let per else { return nil }
        return Capacity(max: max, perSeconds: per.seconds, perText: per.text)
    }

    /// A window such as `7d`, in seconds and as written; `nil` after reporting a problem.
    private mutating func window(_ entry: Fields.Entry, at path: String) -> (seconds: Int64, text: String)? {
        let expected = "a window such as 30m, 12h, 7d or 2w"
        guard let text = string(entry, at: path, expected: expected) else { return nil }
        let count = text.dropLast()
        guard let unit = text.last, "mhdw".contains(unit), !count.isEmpty,
              count.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            report(path, line(entry),
                   "must be \(expected): a whole number followed by m (minutes), h (hours), d (days) "
                       + "or w (weeks), got \"\(text)\"")
            return nil
        }
        let maxDays = Limits.maxCapacityWindowSeconds / 86_400
        let tooLong = "must be at most \(maxDays)d (\(Limits.maxCapacityWindowSeconds) seconds), got \"\(text)\""
        guard count.count <= Limits.maxWindowDigits else {
            report(path, line(entry), tooLong)
            return nil
        }
        guard let seconds = Capacity.seconds(in: text) else {
            report(path, line(entry), "must be longer than 0, got \"\(text)\"")
            return nil
        }
        guard seconds <= Limits.maxCapacityWindowSeconds else {
            report(path, line(entry), tooLong)
            return nil
        }
        return (seconds, text)
    }

    /// A partner's accounts, each trimmed, or `nil` when any is invalid.
    private mutating func accounts(_ entry: Fields.Entry, at path: String) -> [String]? {
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

    private mutating func registrations(_ entry: Fields.Entry) -> [Registration] {
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
                expires = timestamp(entry, at: "\(path).expires")
            } else {
                report("\(path).expires", fields.line,
                       "is required: when the registration ends, an RFC 3339 timestamp such as 2027-03-01T00:00:00Z")
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
    private static func domainProblem(_ domain: String) -> String? { AccountKey.domainProblem(domain) }

    private static func trimmed(_ text: String) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(text[first...last])
    }

    // MARK: Timestamps

    /// An RFC 3339 timestamp with an offset, in milliseconds since 1970; `nil` after
    /// reporting a problem. Takes the scalar as written, whatever tag YAML gave it.
    private mutating func timestamp(_ entry: Fields.Entry, at path: String, nullHint: String = "") -> Int64? {
        let expected = "an RFC 3339 timestamp with an offset, such as 2026-12-01T00:00:00Z or 2026-12-01T00:00:00+02:00"
        guard let text = string(entry, at: path, expected: expected, nullHint: nullHint) else { return nil }
        switch RFC3339.parse(text) {
        case let .instant(milliseconds):
            return milliseconds
        case let .invalid(reason):
            report(path, line(entry), "must be \(expected), got \"\(text)\": \(reason)")
            return nil
        }
    }

    // MARK: Endpoints

    /// One bound endpoint, or `fallback` after reporting a problem. Null is not allowed.
    private mutating func endpoint(_ entry: Fields.Entry, at path: String, default fallback: Endpoint?) -> Endpoint? {
        let hint = fallback.map { " (omit the key to use the default, \($0))" } ?? ""
        guard let text = string(entry, at: path, expected: "an endpoint such as tcp://127.0.0.1:5551", nullHint: hint)
        else { return fallback }
        return endpoint(text, at: path, line: line(entry), bound: true) ?? fallback
    }

    /// Records endpoints a socket binds because the config does not say otherwise.
    private mutating func bindByDefault(_ endpoints: [Endpoint], at path: String) {
        bound.append(contentsOf: endpoints.map { BoundEndpoint(endpoint: $0, path: path, line: nil) })
    }

    private mutating func endpoint(_ text: String, at path: String, line: Int?, bound isBound: Bool) -> Endpoint? {
        if let problem = Endpoint.problem(in: text) {
            report(path, line, problem)
            return nil
        }
        guard let endpoint = Endpoint(validating: text) else { return nil }
        if isBound { bound.append(BoundEndpoint(endpoint: endpoint, path: path, line: line)) }
        return endpoint
    }

    /// An endpoint or a list of them; `nil` after reporting a problem.
    private mutating func endpointList(_ entry: Fields.Entry, at path: String, bound isBound: Bool) -> [Endpoint]? {
        if case .scalar = entry.value, !isNull(entry.value) {
            guard let text = string(entry, at: path) else { return nil }
            return endpoint(text, at: path, line: line(entry), bound: isBound).map { [$0] }
        }
        guard let list = list(entry, at: path, expected: "an endpoint or a list of endpoints") else { return nil }
        var endpoints: [Endpoint] = []
        var valid = true
        var firstIndex: [Endpoint: Int] = [:]
        for (index, node) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let text = string(node, at: itemPath, fallbackLine: line(entry)),
                  let endpoint = endpoint(text, at: itemPath, line: node.mark?.line, bound: isBound) else {
                valid = false
                continue
            }
            // Bound endpoints are checked against every socket at the end.
            if !isBound, let first = firstIndex[endpoint] {
                report(itemPath, node.mark?.line, "\(endpoint) is already listed at \(path)[\(first)]")
                valid = false
                continue
            }
            firstIndex[endpoint] = index
            endpoints.append(endpoint)
        }
        return valid ? endpoints : nil
    }

    /// Reports every bound endpoint that another socket binds too, at the one written
    /// later in the document (or at the explicit one when the other is a default).
    private mutating func checkBoundEndpoints() {
        var reported = Set<Int>()
        for j in bound.indices {
            for i in bound.indices where i < j {
                guard let collision = Checker.collision(bound[i].endpoint, bound[j].endpoint) else { continue }
                let (a, b) = (bound[i], bound[j])
                if a.line == nil, b.line == nil { continue }
                // Report at `here`; name `other`.
                let hereIndex = (b.line ?? 0) >= (a.line ?? 0) ? j : i
                let (here, other) = hereIndex == j ? (b, a) : (a, b)
                guard !reported.contains(hereIndex) else { continue }
                reported.insert(hereIndex)
                let at = other.line.map { " (line \($0))" } ?? " (its default)"
                let what = switch collision {
                case .same: "\(here.endpoint) is also bound by \(other.path)\(at)"
                case .overlapping: "\(here.endpoint) overlaps \(other.endpoint), bound by \(other.path)\(at)"
                }
                report(here.path, here.line, "\(what); every socket needs its own endpoint")
            }
        }
    }

    private enum Collision { case same, overlapping }

    /// Whether binding both `a` and `b` would fail. A port of `*` (ephemeral) never collides.
    private static func collision(_ a: Endpoint, _ b: Endpoint) -> Collision? {
        guard a.transport == .tcp, b.transport == .tcp else { return a == b ? .same : nil }
        func split(_ endpoint: Endpoint) -> (host: Substring, port: Substring)? {
            let rest = endpoint.description.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            return (rest[..<colon], rest[rest.index(after: colon)...])
        }
        guard let x = split(a), let y = split(b), x.port != "*", x.port == y.port else { return nil }
        if x.host == y.host { return .same }
        if x.host == "*" || y.host == "*" { return .overlapping }
        return nil
    }

    // MARK: Mappings

    /// The keys of a section such as `ingest`; `nil` after reporting a problem.
    private mutating func section(_ entry: Fields.Entry, at path: String, allowed: [String]) -> Fields? {
        fields(
            of: entry.value, at: path, fallbackLine: entry.keyLine,
            expected: "a mapping with the keys \(allowed.joined(separator: ", ")) (omit \(path) to use the defaults)",
            allowed: allowed
        )
    }

    /// Checks that `node` is a mapping whose keys are all allowed and unique.
    private mutating func fields(
        of node: Node, at path: String, fallbackLine: Int?, expected: String, allowed: [String]
    ) -> Fields? {
        guard case let .mapping(mapping) = node else {
            report(path, lineOf(node, fallback: fallbackLine), "expected \(expected), got \(Checker.describe(node))")
            return nil
        }
        var fields = Fields(path: path, line: mapping.mark?.line ?? fallbackLine)
        for (keyNode, value) in mapping {
            let keyLine = keyNode.mark?.line
            guard case let .scalar(scalar) = keyNode, !isNull(keyNode) else {
                report(path, keyLine ?? fields.line,
                       "keys must be plain names, got \(Checker.describe(keyNode)) as a key; "
                           + "allowed keys: \(allowed.joined(separator: ", "))")
                continue
            }
            let name = originalName(scalar.string)
            let keyPath = Checker.child(path, name)
            if let first = fields.entries[name] {
                let at = first.keyLine.map { " (first on line \($0))" } ?? ""
                report(keyPath, keyLine, "duplicate key \"\(name)\"\(at); each key may appear only once")
                continue
            }
            fields.entries[name] = Fields.Entry(key: keyNode, value: value, keyLine: keyLine)
            if !allowed.contains(name) {
                var message = "unknown key \"\(name)\"; allowed keys: \(allowed.joined(separator: ", "))"
                if let suggestion = Checker.suggestion(for: name, among: allowed) {
                    message += " (did you mean \"\(suggestion)\"?)"
                }
                report(keyPath, keyLine, message)
            }
        }
        return fields
    }

    /// Strips the prefix ``Composition`` gave a duplicate key.
    private func originalName(_ key: String) -> String {
        guard key.hasPrefix(Composition.prefixStem) else { return key }
        for prefix in renamePrefixes where key.hasPrefix(prefix) {
            return String(key.dropFirst(prefix.count))
        }
        return key
    }

    private static func child(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The allowed key closest to `name`, when it is a likely typo.
    private static func suggestion(for name: String, among allowed: [String]) -> String? {
        let candidates = allowed.map { ($0, editDistance(name.lowercased(), $0)) }
        guard let best = candidates.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(1, min(name.count, best.0.count) / 3) ? best.0 : nil
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }

    // MARK: Scalars

    /// The line of a value: its own, or the key's when the value is empty (an empty
    /// value's mark points past the key, often at the next line).
    private func line(_ entry: Fields.Entry) -> Int? {
        lineOf(entry.value, fallback: entry.keyLine)
    }

    private func lineOf(_ node: Node, fallback: Int?) -> Int? {
        if case let .scalar(scalar) = node, scalar.string.isEmpty, scalar.style == .plain {
            return fallback ?? scalar.mark?.line
        }
        return node.mark?.line ?? fallback
    }

    private func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return tagName(node) == .null }
        return false
    }

    private mutating func list(
        _ entry: Fields.Entry, at path: String, expected: String = "a list"
    ) -> [Node]? {
        guard case let .sequence(sequence) = entry.value else {
            report(path, line(entry), "expected \(expected), got \(Checker.describe(entry.value))")
            return nil
        }
        return Array(sequence)
    }

    /// The text of any non-null scalar, exactly as written (so `country: NO` is Norway,
    /// not `false`); `nil` after reporting a problem.
    private mutating func string(
        _ entry: Fields.Entry, at path: String, expected: String = "a string", nullHint: String = ""
    ) -> String? {
        string(entry.value, at: path, fallbackLine: entry.keyLine, expected: expected, nullHint: nullHint)
    }

    private mutating func string(
        _ node: Node, at path: String, fallbackLine: Int?, expected: String = "a string", nullHint: String = ""
    ) -> String? {
        guard case let .scalar(scalar) = node, !isNull(node) else {
            let hint = isNull(node) ? nullHint : ""
            report(path, lineOf(node, fallback: fallbackLine),
                   "expected \(expected), got \(Checker.describe(node))\(hint)")
            return nil
        }
        return scalar.string
    }

    /// A decimal integer written as a plain scalar; `nil` after reporting a problem.
    private mutating func int(_ entry: Fields.Entry, at path: String, in range: ClosedRange<Int>? = nil) -> Int? {
        let node = entry.value
        let line = line(entry)
        guard case let .scalar(scalar) = node, tagName(node) == .int || tagName(node) == .float else {
            report(path, line, "expected an integer, got \(Checker.describe(node))")
            return nil
        }
        guard tagName(node) == .int else {
            report(path, line, "expected an integer, got the number \(scalar.string)")
            return nil
        }
        var digits = Substring(scalar.string)
        var sign = ""
        if let first = digits.first, first == "-" || first == "+" {
            sign = first == "-" ? "-" : ""
            digits = digits.dropFirst()
        }
        let isDecimal = !digits.isEmpty && digits.first != "_"
            && digits.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "_") }
            && (digits.count == 1 || digits.first != "0")
        guard isDecimal else {
            report(path, line, "expected a decimal integer, got \(scalar.string)")
            return nil
        }
        guard let value = Int(sign + digits.filter { $0 != "_" }) else {
            if let range {
                report(path, line, "must be between \(range.lowerBound) and \(range.upperBound), got \(scalar.string)")
            } else {
                report(path, line, "is too large for an integer, got \(scalar.string)")
            }
            return nil
        }
        if let range, !range.contains(value) {
            report(path, line, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            return nil
        }
        return value
    }

    /// A number greater than 0 and at most `atMost`, written as a decimal integer or a
    /// float such as `2.5e4`; `nil` after reporting a problem.
    private mutating func number(_ entry: Fields.Entry, at path: String, atMost limit: Double) -> Double? {
        let node = entry.value
        let line = line(entry)
        guard case let .scalar(scalar) = node, tagName(node) == .int || tagName(node) == .float else {
            report(path, line, "expected a number, got \(Checker.describe(node))")
            return nil
        }
        let value: Double
        if tagName(node) == .int {
            guard let integer = int(entry, at: path) else { return nil }
            value = Double(integer)
        } else {
            let digits = scalar.string.filter { $0 != "_" }
            guard !digits.contains(":"), let parsed = Double(digits), parsed.isFinite else {
                report(path, line, "expected a finite decimal number, got \(scalar.string)")
                return nil
            }
            value = parsed
        }
        guard value > 0 else {
            report(path, line, "must be greater than 0, got \(scalar.string)")
            return nil
        }
        guard value <= limit else {
            report(path, line, "must be at most \(Int64(limit)), got \(scalar.string)")
            return nil
        }
        return value
    }

    /// `true` or `false` (also `True`, `TRUE`, `False`, `FALSE`); YAML 1.1's yes, no, on
    /// and off are refused. `nil` after reporting a problem.
    private mutating func bool(_ entry: Fields.Entry, at path: String) -> Bool? {
        let node = entry.value
        if case let .scalar(scalar) = node, tagName(node) == .bool {
            switch scalar.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default:
                report(path, line(entry), "expected true or false, got \(scalar.string)")
                return nil
            }
        }
        report(path, line(entry), "expected true or false, got \(Checker.describe(node))")
        return nil
    }

    /// One of the raw values of `E`; `nil` after reporting a problem.
    private mutating func choice<E: RawRepresentable & CaseIterable>(
        _ entry: Fields.Entry, at path: String, of type: E.Type
    ) -> E? where E.RawValue == String {
        let expected = "one of \(Checker.allowed(type))"
        guard let text = string(entry, at: path, expected: expected) else { return nil }
        guard let value = E(rawValue: text) else {
            report(path, line(entry), "must be \(expected), got \"\(text)\"")
            return nil
        }
        return value
    }

    private static func allowed<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> String
    where E.RawValue == String {
        type.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// What a node is, for "expected X, got Y".
    private static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(scalar):
            switch tagName(node) {
            case .null: return "null"
            case .bool: return "the boolean \(scalar.string)"
            case .int: return "the integer \(scalar.string)"
            case .float: return "the number \(scalar.string)"
            default:
                return "the string \"\(scalar.string)\""
            }
        }
    }
}

/// The resolved tag of a node, such as `tag:yaml.org,2002:int` for a plain `5`.
private func tagName(_ node: Node) -> Tag.Name {
    Tag.Name(rawValue: node.tag.rawValue)
}

// MARK: - RFC 3339

