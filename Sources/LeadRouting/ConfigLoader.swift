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

enum Keys {
    static let top = [
        "state_dir", "ingest", "intake", "publish", "replay", "routing", "store", "qualification", "partners",
        "registrations", "control", "offers", "security", "metrics",
    ]
    static let ingest = ["bind", "connect", "topics", "max_message_bytes", "receive_hwm"]
    static let intake = ["bind"]
    static let publish = ["bind", "send_hwm", "heartbeat_ms"]
    static let replay = ["bind", "max_limit"]
    static let store = ["durability", "retention_days", "pipeline_batch"]
    static let routing = ["unmatched"]
    static let control = ["bind"]
    static let offers = ["accept_within", "max_offers", "then", "pool_window", "withhold", "follow_up_within"]
    static let qualification = ["weights", "grades", "timeline_days", "full_employees", "full_value"]
    static let weights = ["need", "budget", "authority", "timeline", "company_size", "estimated_value"]
    static let grades = ["A", "B", "C"]
    static let partner = [
        "id", "name", "engagement", "territories", "products", "weight", "active", "min_grade", "capacity",
        "paused_until", "accounts", "offers", "keys",
    ]
    static let territory = ["country", "regions"]
    static let capacity = ["max", "per"]
    static let registration = ["partner", "domain", "expires"]
    static let security = ["mode", "server_key", "allow_plaintext_network", "clients"]
    static let client = ["id", "role", "keys"]
    static let metrics = ["bind", "per_partner"]
}

enum Limits {
    static let maxMessageBytes = 1...16_777_216
    /// ZeroMQ takes high-water marks as a C `int`.
    static let highWaterMark = 1...Int(Int32.max)
    /// Keeps the sum of all weights far from overflowing.
    static let maxWeight = 1_000_000
    static let heartbeatMilliseconds = 100...60_000
    static let replayMaxLimit = 1...100_000
    static let retentionDays = 1...36_500
    /// At most a whole batch (RoutingLoop.batchLimit).
    static let pipelineBatch = 1...2048
    static let maxOffers = 1...50
    /// `accept_within`, `pool_window`: at most a year.
    static let maxOfferSeconds: Int64 = 366 * 86_400
    /// `follow_up_within`: at most ten years.
    static let maxFollowUpSeconds: Int64 = 3660 * 86_400
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
struct Composition {
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
