import Foundation

/// Keys that identify a customer account across leads: its domain, else its normalised name.
public enum AccountKey {
    /// `www.Acme.Example.` → `acme.example`.
    public static func normalizedDomain(_ domain: String) -> String {
        var copy = domain
        if copy.withUTF8(isNormalDomain) { return domain }
        var d = domain.trimmingCharacters(in: .whitespaces).lowercased()
        while d.hasSuffix(".") { d.removeLast() }
        if d.hasPrefix("www.") { d.removeFirst(4) }
        return d
    }

    /// The same, of a domain's UTF-8.
    static func normalizedDomain(_ domain: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: domain, as: UTF8.self)
        return isNormalDomain(domain) ? text : normalizedDomain(text)
    }

    /// Whether a domain is normal already: lower-case ASCII letters, digits, dots and hyphens,
    /// no `www.`, no trailing dot. (Read as bytes: the UTF-8 view's iterator costs tens of
    /// instructions a byte.)
    static func isNormalDomain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in bytes where !((b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2E || b == 0x2D) { return false }
        if bytes.last == 0x2E { return false }
        return !(bytes.count >= 4 && bytes[0] == 0x77 && bytes[1] == 0x77 && bytes[2] == 0x77 && bytes[3] == 0x2E)
    }

    /// `Acme Corp., Inc.` → `acme`: lower case, punctuation dropped, legal-form words removed.
    public static func normalizedName(_ name: String) -> String {
        if let ascii = normalizedASCIIName(name, prefix: "") { return ascii }
        var cleaned = ""
        for scalar in name.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) {
                cleaned.unicodeScalars.append(scalar)
            } else {
                cleaned.append(" ")
            }
        }
        let words = cleaned.split(separator: " ").map(String.init).filter { !legalForms.contains($0) }
        return words.joined(separator: " ")
    }

    /// `n:` and the normalised name, or `nil` when nothing is left of it: the account key,
    /// made in one allocation for an ASCII name.
    static func nameKey(_ name: String) -> String? {
        var name = name
        return name.withUTF8(nameKey)
    }

    /// The same, of a name's UTF-8.
    static func nameKey(_ name: UnsafeBufferPointer<UInt8>) -> String? {
        if let ascii = normalizedASCIIName(name, prefix: "n:") { return ascii.utf8.count > 2 ? ascii : nil }
        let normalized = normalizedName(String(decoding: name, as: UTF8.self))
        return normalized.isEmpty ? nil : "n:" + normalized
    }

    /// ``normalizedName(_:)`` of an ASCII name, after `prefix`, with no buffer but the
    /// result's; `nil` when `name` is not ASCII. Words are runs of letters and digits,
    /// lower-cased; legal forms are dropped.
    private static func normalizedASCIIName(_ name: String, prefix: StaticString) -> String? {
        var name = name
        return name.withUTF8 { normalizedASCIIName($0, prefix: prefix) }
    }

    private static func normalizedASCIIName(_ name: UnsafeBufferPointer<UInt8>, prefix: StaticString) -> String? {
        guard isASCII(name) else { return nil }
        let start = prefix.utf8CodeUnitCount
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: start + 2 * name.count + 1) { out in
            prefix.withUTF8Buffer { for (i, b) in $0.enumerated() { out[i] = b } }
            let used = writeASCIIName(name, to: out.baseAddress!, from: start)
            return String(decoding: UnsafeBufferPointer(rebasing: out[0..<used]), as: UTF8.self)
        }
    }

    /// Whether every byte is ASCII.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in bytes where b >= 0x80 { return false }
        return true
    }

    /// Writes ``normalizedName(_:)`` of an ASCII `name` from `out + start` on, and returns
    /// where it ends. It writes at most `name.count` bytes: a space only where a word follows
    /// another, in place of at least one byte that was neither letter nor digit.
    @inline(__always)
    static func writeASCIIName(_ name: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>, from start: Int) -> Int {
        var used = start, wordStart = -1
        func endWord() {
            guard wordStart >= 0 else { return }
            let word = UnsafeBufferPointer(start: out + wordStart, count: used - wordStart)
            if isLegalForm(word) {
                used = max(start, wordStart - 1)  // the word and the space before it
            }
            wordStart = -1
        }
        for b in name {
            let lower: UInt8
            switch b {
            case 0x41...0x5A: lower = b + 0x20
            case 0x61...0x7A, 0x30...0x39: lower = b
            default: endWord(); continue
            }
            if wordStart < 0 {
                if used > start { out[used] = 0x20; used += 1 }
                wordStart = used
            }
            out[used] = lower
            used += 1
        }
        endWord()
        return used
    }

    /// Whether `word` (lower-case ASCII) is one of ``legalForms``: by length, then against
    /// literals, with no global to initialise or retain (the ASCII path runs for every lead).
    static func isLegalForm(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
        func equals(_ form: StaticString) -> Bool { form.matches(word) }
        switch word.count {
        case 2: return equals("co") || equals("ag") || equals("sa") || equals("bv") || equals("nv") || equals("oy") || equals("ab") || equals("as") || equals("kg")
        case 3: return equals("inc") || equals("llc") || equals("ltd") || equals("plc") || equals("sas") || equals("spa") || equals("srl") || equals("pty") || equals("the")
        case 4: return equals("corp") || equals("gmbh") || equals("sarl")
        case 7: return equals("company") || equals("limited")
        case 11: return equals("corporation")
        case 12: return equals("incorporated")
        default: return false
        }
    }

    /// Words of legal form dropped from company names.
    static let legalForms: Set<String> = [
        "inc", "incorporated", "corp", "corporation", "co", "company", "llc", "ltd", "limited", "plc",
        "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "oy", "ab", "as", "spa", "srl", "kg", "pty", "the",
    ]

    /// Why `domain` (already normalised) is not a valid domain name, or `nil` when it is.
    public static func domainProblem(_ domain: String) -> String? {
        if domain.isEmpty { return "it is empty" }
        if let bad = domain.first(where: { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) {
            return bad.isWhitespace
                ? "it contains a space" : "it contains \"\(bad)\"; only letters, digits, hyphens and dots are allowed"
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count < 2 { return "it has no dot" }
        if labels.contains(where: \.isEmpty) { return "it has an empty label (a leading dot or two dots in a row)" }
        if let label = labels.first(where: { $0.count > 63 }) {
            return "the label \"\(label)\" is longer than 63 characters"
        }
        if let label = labels.first(where: { $0.hasPrefix("-") || $0.hasSuffix("-") }) {
            return "the label \"\(label)\" starts or ends with a hyphen"
        }
        if domain.count > 253 { return "it is longer than 253 characters" }
        return nil
    }

    /// Whether an `accounts` entry names a domain (has a dot, no spaces) rather than a company.
    public static func isDomain(_ entry: String) -> Bool {
        entry.contains(".") && !entry.contains(" ")
    }

    /// The normalised form of an `accounts` entry: `d:acme.example` or `n:acme`.
    public static func key(forAccountEntry entry: String) -> String {
        isDomain(entry) ? "d:" + normalizedDomain(entry) : "n:" + normalizedName(entry)
    }
}
