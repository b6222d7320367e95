internal import Yams

/// Checking values: mappings and scalars.
extension Checker {
    // MARK: Mappings

    /// The keys of a section such as `ingest`; `nil` after reporting a problem.
    mutating func section(_ entry: Fields.Entry, at path: String, allowed: [String]) -> Fields? {
        fields(
            of: entry.value, at: path, fallbackLine: entry.keyLine,
            expected: "a mapping with the keys \(allowed.joined(separator: ", ")) (omit \(path) to use the defaults)",
            allowed: allowed
        )
    }

    /// Checks that `node` is a mapping whose keys are all allowed and unique.
    mutating func fields(
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
    func originalName(_ key: String) -> String {
        guard key.hasPrefix(Composition.prefixStem) else { return key }
        for prefix in renamePrefixes where key.hasPrefix(prefix) {
            return String(key.dropFirst(prefix.count))
        }
        return key
    }

    static func child(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The allowed key closest to `name`, when it is a likely typo.
    static func suggestion(for name: String, among allowed: [String]) -> String? {
        let candidates = allowed.map { ($0, editDistance(name.lowercased(), $0)) }
        guard let best = candidates.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(1, min(name.count, best.0.count) / 3) ? best.0 : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
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
    func line(_ entry: Fields.Entry) -> Int? {
        lineOf(entry.value, fallback: entry.keyLine)
    }

    func lineOf(_ node: Node, fallback: Int?) -> Int? {
        if case let .scalar(scalar) = node, scalar.string.isEmpty, scalar.style == .plain {
            return fallback ?? scalar.mark?.line
        }
        return node.mark?.line ?? fallback
    }

    func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return tagName(node) == .null }
        return false
    }

    mutating func list(
        _ entry: Fields.Entry, at path: String, expected: String = "a list"
    ) -> [Node]? {
        guard case let .sequence(sequence) = entry.value else {
            report(path, line(entry), "expected \(expected), got \(Checker.describe(entry.value))")
            return nil
        }
        return Array(sequence)
    }

    /// The strings of `list` (the items of `path`), each checked by `check`: the value to keep
    /// and the key a repeat is recognised by, or the problem to report. A repeated key is
    /// reported with `repeated(value, first)`, `first` being the index that listed it already.
    /// `valid` is false once any item was reported.
    mutating func distinctStrings(
        _ list: [Node], at path: String, fallbackLine: Int?,
        check: (String) -> Result<(key: String, value: String), ItemProblem>,
        repeated: (String, Int) -> String
    ) -> (values: [String], valid: Bool) {
        var values: [String] = []
        var valid = true
        var firstIndex: [String: Int] = [:]
        for (index, node) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let text = string(node, at: itemPath, fallbackLine: fallbackLine) else {
                valid = false
                continue
            }
            switch check(text) {
            case .failure(let problem):
                report(itemPath, node.mark?.line, problem.message)
                valid = false
            case .success(let item):
                if let first = firstIndex[item.key] {
                    report(itemPath, node.mark?.line, repeated(item.value, first))
                    valid = false
                } else {
                    firstIndex[item.key] = index
                    values.append(item.value)
                }
            }
        }
        return (values, valid)
    }

    /// The text of any non-null scalar, exactly as written (so `country: NO` is Norway,
    /// not `false`); `nil` after reporting a problem.
    mutating func string(
        _ entry: Fields.Entry, at path: String, expected: String = "a string", nullHint: String = ""
    ) -> String? {
        string(entry.value, at: path, fallbackLine: entry.keyLine, expected: expected, nullHint: nullHint)
    }

    mutating func string(
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
    mutating func int(_ entry: Fields.Entry, at path: String, in range: ClosedRange<Int>? = nil) -> Int? {
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
    mutating func number(_ entry: Fields.Entry, at path: String, atMost limit: Double) -> Double? {
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
    mutating func bool(_ entry: Fields.Entry, at path: String) -> Bool? {
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

    // MARK: Durations

    /// The units a duration may be written in: letter, name and length in seconds.
    static let durationUnits: [(letter: Character, name: String, seconds: Int64)] = [
        ("s", "seconds", 1), ("m", "minutes", 60), ("h", "hours", 3600), ("d", "days", 86_400), ("w", "weeks", 604_800),
    ]

    /// A duration written as a whole number and a lower-case unit among `units` (`90s`, `30m`,
    /// `4h`, `7d`, `2w`), in seconds and as written; `nil` after reporting a problem. 0 (`0`
    /// alone or with a unit) is allowed only when `zero` says what it means; at most `max` seconds.
    /// The one parser for capacity windows and offer deadlines.
    mutating func duration(
        _ entry: Fields.Entry, at path: String, expected: String, units: String = "smhdw", zero: String? = nil,
        max: Int64
    ) -> (seconds: Int64, text: String)? {
        let expected = expected + (zero.map { " (0: \($0))" } ?? "")
        guard let text = string(entry, at: path, expected: expected) else { return nil }
        let unit = Checker.durationUnits.first { units.contains($0.letter) && $0.letter == text.last }
        let count = text == "0" ? Substring(text) : text.dropLast()
        guard text == "0" || unit != nil, !count.isEmpty, count.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            let names = Checker.durationUnits.filter { units.contains($0.letter) }.map { "\($0.letter) (\($0.name))" }
            let listed = names.dropLast().joined(separator: ", ") + (names.count > 1 ? " or " : "") + (names.last ?? "")
            report(path, line(entry), "must be \(expected): a whole number followed by \(listed), got \"\(text)\"")
            return nil
        }
        let tooLong = "must be at most \(max / 86_400)d (\(max) seconds), got \"\(text)\""
        // Longer counts are out of range whatever the unit, and could overflow.
        guard count.count <= Limits.maxWindowDigits, let number = Int64(count) else {
            report(path, line(entry), tooLong)
            return nil
        }
        let seconds = number * (unit?.seconds ?? 1)
        if seconds == 0, zero == nil {
            report(path, line(entry), "must be longer than 0, got \"\(text)\"")
            return nil
        }
        guard seconds <= max else {
            report(path, line(entry), tooLong)
            return nil
        }
        return (seconds, text)
    }

    /// One of the raw values of `E`; `nil` after reporting a problem.
    mutating func choice<E: RawRepresentable & CaseIterable>(
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

    static func allowed<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> String
    where E.RawValue == String {
        type.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// What a node is, for "expected X, got Y".
    static func describe(_ node: Node) -> String {
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
func tagName(_ node: Node) -> Tag.Name {
    Tag.Name(rawValue: node.tag.rawValue)
}

// MARK: - RFC 3339

/// What is wrong with one item of a list, for ``Checker/distinctStrings(_:at:fallbackLine:check:repeated:)``.
struct ItemProblem: Error {
    let message: String
}
