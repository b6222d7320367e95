/// A config in which one documented key (`a.b`, `partners[].weight`) is set, or left out, with
/// the least around it that makes the rest valid: each list holds one minimal entry.
enum ConfigTree {
    indirect enum Node {
        case map([(String, Node)])
        case list([Node])
        case scalar(String)
    }

    /// The least valid entry of each list, and of the mappings whose keys are all required.
    static let minimal: [String: [(String, String)]] = [
        "partners[]": [("id", "p"), ("engagement", "leads_only")],
        "partners[].territories[]": [("country", "US")],
        "partners[].capacity": [("max", "1"), ("per", "1d")],
        "registrations[]": [("partner", "p"), ("domain", "d.example"), ("expires", "2099-01-01T00:00:00Z")],
        "security.clients[]": [("id", "c"), ("role", "operator")],
    ]

    /// The value of `sibling` in the minimal entry holding `key` (`partners[].name` → `p`, its id).
    static func minimalValue(of key: String, sibling: String) -> String? {
        guard let dot = key.lastIndex(of: ".") else { return nil }
        return minimal[String(key[..<dot])]?.first { $0.0 == sibling }?.1
    }

    /// The YAML of a config with `key` set to `value` (written as is), or left out when nil.
    static func yaml(for key: String, value: String?) -> String {
        let segments = key.split(separator: ".").map(String.init)
        var entries = container(path: "", segments: segments[...], value: value)
        if key.hasPrefix("registrations") {
            entries.append(("partners", .list([.map(minimal["partners[]"]!.map { ($0.0, .scalar($0.1)) })])))
        }
        return entries.isEmpty ? "{}\n" : emit(.map(entries), indent: 0).joined(separator: "\n") + "\n"
    }

    private static func container(path: String, segments: ArraySlice<String>, value: String?) -> [(String, Node)] {
        var entries: [(String, Node)] = (minimal[path] ?? []).map { ($0.0, .scalar($0.1)) }
        guard let first = segments.first else { return entries }
        let isList = first.hasSuffix("[]")
        let name = isList ? String(first.dropLast(2)) : first
        entries.removeAll { $0.0 == name }
        if segments.count == 1 {
            if let value { entries.append((name, .scalar(value))) }
            return entries
        }
        let childPath = (path.isEmpty ? "" : path + ".") + first
        let inner = Node.map(container(path: childPath, segments: segments.dropFirst(), value: value))
        entries.append((name, isList ? .list([inner]) : inner))
        return entries
    }

    private static func emit(_ node: Node, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch node {
        case .scalar(let text):
            return [pad + text]
        case .list(let items):
            return items.flatMap { item -> [String] in
                if case .map(let entries) = item, entries.isEmpty { return [pad + "- {}"] }
                var lines = emit(item, indent: indent + 2)
                if !lines.isEmpty { lines[0] = pad + "- " + lines[0].dropFirst(indent + 2) }
                return lines
            }
        case .map(let entries):
            return entries.flatMap { key, value -> [String] in
                switch value {
                case .scalar(let text): return ["\(pad)\(key): \(text)"]
                case .map(let inner) where inner.isEmpty: return ["\(pad)\(key): {}"]
                case .list(let inner) where inner.isEmpty: return ["\(pad)\(key): []"]
                default: return ["\(pad)\(key):"] + emit(value, indent: indent + 2)
                }
            }
        }
    }
}
