extension AccountKey {
    /// Mail providers whose domain says nothing about the sender's company.
    static let freemail: Set<String> = [
        "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
        "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net",
        "web.de", "mail.ru", "yandex.ru", "qq.com", "163.com", "126.com", "zoho.com", "mail.com",
    ]

    /// ``freemail`` as a ``StringTable``, for the look-up every lead without a company domain makes.
    static let freemailTable = StringTable(Dictionary(uniqueKeysWithValues: freemail.map { ($0, true) }))

    /// A lead's account keys: its domain (`company.domain`, else the contact's e-mail domain
    /// unless a free-mail provider) and its normalised company name.
    public static func keys(companyName: String, companyDomain: String?, contactEmail: String?) -> LeadAccount {
        keys(SpareText([companyName, companyDomain, contactEmail], from: SpareText.companyName, owned: SpareText.factSlots))
    }

    /// The same, from a lead's text as the reader keeps it, the keys in a block of their own.
    static func keys(_ text: SpareText) -> LeadAccount {
        var arena = ByteArena(blockSize: 0)
        return keys(text, into: &arena)
    }

    /// The same, the keys written into `arena` (the reader's, beside the lead's text) in one
    /// run: no `String` is made of them, and no allocation but the arena's blocks. Routing
    /// hashes and finds them as bytes; a `String` is made of a key only where one is kept
    /// (a new recent owner, an owner stored).
    static func keys(_ text: SpareText, into arena: inout ByteArena) -> LeadAccount {
        text.withBytes(SpareText.companyDomain) { domain in
            text.withBytes(SpareText.contactEmail) { email in
                text.withBytes(SpareText.companyName) { name in
                    account(domain: domain, email: email, name: name, into: &arena)
                }
            }
        }
    }

    /// The keys of these fields' UTF-8. Domains normal already (lower-case ASCII, no `www.`,
    /// no trailing dot) and ASCII names, the usual case, are written straight into the run;
    /// anything else is normalised as text first (lower-casing may change its length).
    @inline(__always)
    private static func account(domain: UnsafeBufferPointer<UInt8>?, email: UnsafeBufferPointer<UInt8>?,
                                name: UnsafeBufferPointer<UInt8>?, into arena: inout ByteArena) -> LeadAccount {
        var source: UnsafeBufferPointer<UInt8>?
        if let domain, !domain.isEmpty {
            guard isNormalDomain(domain) else { return textKeys(domain: domain, email: email, name: name, into: &arena) }
            source = domain
        } else if let email, let at = email.lastIndex(of: UInt8(ascii: "@")), at + 1 < email.count {
            let mail = UnsafeBufferPointer(rebasing: email[(at + 1)...])
            guard isNormalDomain(mail) else { return textKeys(domain: domain, email: email, name: name, into: &arena) }
            if freemailTable[utf8: mail] == nil { source = mail }
        }
        if let name, !isASCII(name) { return textKeys(domain: domain, email: email, name: name, into: &arena) }
        var lengths = LeadAccount.absent
        let maximum = (source.map { $0.count + 2 } ?? 0) + (name.map { 2 * $0.count + 2 } ?? 0)
        let text = arena.write(maximum: maximum) { out in
            var used = 0
            if let source, let base = source.baseAddress {
                out[0] = UInt8(ascii: "d")
                out[1] = UInt8(ascii: ":")
                (out + 2).update(from: base, count: source.count)
                used = source.count + 2
                lengths[LeadAccount.domainPart] = Int32(used)
            }
            guard let name else { return used }
            out[used] = UInt8(ascii: "n")
            out[used + 1] = UInt8(ascii: ":")
            let end = writeASCIIName(name, to: out + used, from: 2) + used
            if end > used + 2 {
                lengths[LeadAccount.namePart] = Int32(end - used)
                used = end
            }
            // Without a domain, reasons name the account by the company's name as given.
            if source == nil, let base = name.baseAddress {
                (out + used).update(from: base, count: name.count)
                lengths[LeadAccount.describedPart] = Int32(name.count)
                used += name.count
            } else if source == nil {
                lengths[LeadAccount.describedPart] = 0
            }
            return used
        }
        return LeadAccount(text: text, lengths: lengths)
    }

    /// The keys made as text, for what ``account(domain:email:name:into:)`` does not write
    /// directly.
    static func textKeys(domain: UnsafeBufferPointer<UInt8>?, email: UnsafeBufferPointer<UInt8>?,
                         name: UnsafeBufferPointer<UInt8>?, into arena: inout ByteArena) -> LeadAccount {
        var domainKey = domain.flatMap(AccountKey.domainKey)
        if domainKey == nil, let fromMail = email.flatMap(mailDomain), !fromMail.isEmpty && freemailTable[fromMail] == nil {
            domainKey = Text.join("d:", fromMail)
        }
        let nameKey = name.flatMap(AccountKey.nameKey)
        let described = domainKey != nil ? nil : name.map { String(decoding: $0, as: UTF8.self) }
        return LeadAccount(domainKey: domainKey, nameKey: nameKey, name: described, into: &arena)
    }

    /// `d:` and the normalised domain of a domain's UTF-8, `nil` when nothing is left of it.
    static func domainKey(_ domain: UnsafeBufferPointer<UInt8>) -> String? {
        guard !domain.isEmpty else { return nil }
        let normalized = normalizedDomain(domain)
        return normalized.isEmpty ? nil : Text.join("d:", normalized)
    }

    /// The normalised domain after an e-mail address's last `@`, `nil` without one.
    static func mailDomain(_ email: UnsafeBufferPointer<UInt8>) -> String? {
        guard let at = email.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        return normalizedDomain(UnsafeBufferPointer(rebasing: email[(at + 1)...]))
    }
}

/// The keys that identify a lead's customer account.
///
/// Kept as bytes, one run for all (``SharedBytes``, in the reader's blocks for a lead read
/// from JSON): the `d:` key, the `n:` key, then, when there is no domain key, the company's
/// name as given, for ``describe``. Made as `String`s, the two keys were an allocation or two
/// a lead and about 900 instructions, although routing only hashes and compares them.
public struct LeadAccount: Sendable, Equatable {
    /// The parts' UTF-8, one after another.
    var text: SharedBytes
    /// Each part's length (``domainPart``, ``namePart``, ``describedPart``), -1 when absent.
    var lengths: SIMD4<Int32>

    static let domainPart = 0, namePart = 1, describedPart = 2
    static let absent = SIMD4<Int32>(repeating: -1)

    init(text: SharedBytes, lengths: SIMD4<Int32>) {
        self.text = text
        self.lengths = lengths
    }

    /// No keys (a decision not yet routed).
    public init() {
        self.init(text: .empty, lengths: LeadAccount.absent)
    }

    public init(domainKey: String? = nil, nameKey: String? = nil) {
        var arena = ByteArena(blockSize: 0)
        self.init(domainKey: domainKey, nameKey: nameKey, name: nil, into: &arena)
    }

    /// These parts, written into `arena` (none at all: no block).
    init(domainKey: String?, nameKey: String?, name: String?, into arena: inout ByteArena) {
        var lengths = LeadAccount.absent
        let parts = [domainKey, nameKey, name]
        let total = parts.reduce(0) { $0 + ($1?.utf8.count ?? 0) }
        guard parts.contains(where: { $0 != nil }) else {
            self.init(text: .empty, lengths: lengths)
            return
        }
        let text = arena.write(maximum: total) { out in
            var used = 0
            for (i, part) in parts.enumerated() {
                guard let part else { continue }
                for b in part.utf8 {
                    out[used] = b
                    used += 1
                }
                lengths[i] = Int32(part.utf8.count)
            }
            return used
        }
        self.init(text: text, lengths: lengths)
    }

    /// Where part `part` starts in ``text``.
    @inline(__always)
    private func start(of part: Int) -> Int {
        var start = 0
        for i in 0..<part where lengths[i] > 0 { start += Int(lengths[i]) }
        return start
    }

    /// Calls `body` with part `part`'s UTF-8, `nil` when absent.
    @inline(__always)
    func withPart<R>(_ part: Int, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        let length = Int(lengths[part])
        guard length >= 0 else { return try body(nil) }
        let start = start(of: part)
        return try text.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<(start + length)])) }
    }

    private func string(_ part: Int) -> String? { withPart(part) { $0.map { String(decoding: $0, as: UTF8.self) } } }

    /// `d:` and the normalised domain, when the lead names one.
    public var domainKey: String? { string(LeadAccount.domainPart) }
    /// `n:` and the normalised company name, when anything is left of it.
    public var nameKey: String? { string(LeadAccount.namePart) }
    /// The company's name, for ``describe``, when the account has no domain key.
    var name: String? { string(LeadAccount.describedPart) }

    /// How many keys there are (at most two).
    var keyCount: Int { (lengths[LeadAccount.domainPart] >= 0 ? 1 : 0) + (lengths[LeadAccount.namePart] >= 0 ? 1 : 0) }

    /// Calls `body` with each key's position (0 and 1, in ``keys``' order) and UTF-8: routing's
    /// look-ups, with no `String` made.
    @inline(__always)
    public func forEachKey(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        let domain = Int(lengths[LeadAccount.domainPart]), name = Int(lengths[LeadAccount.namePart])
        guard domain >= 0 || name >= 0 else { return }
        try text.withUnsafeBufferPointer { all in
            var k = 0
            if domain >= 0 {
                try body(0, UnsafeBufferPointer(rebasing: all[0..<domain]))
                k = 1
            }
            if name >= 0 {
                let start = max(domain, 0)
                try body(k, UnsafeBufferPointer(rebasing: all[start..<(start + name)]))
            }
        }
    }

    /// The keys, `d:domain` and then `n:name`, each made a `String` as it is reached.
    public var keys: Keys { Keys(account: self, part: 0) }

    /// ``keys`` as a list.
    public var all: [String] { Array(keys) }

    /// ``LeadAccount/keys``: at most two, in order.
    public struct Keys: Sequence, IteratorProtocol, Sendable {
        let account: LeadAccount
        var part: Int

        public mutating func next() -> String? {
            while part <= LeadAccount.namePart {
                defer { part += 1 }
                if let key = account.string(part) { return key }
            }
            return nil
        }

        public var underestimatedCount: Int { account.keyCount }
    }

    /// The normalised domain, when known: the `d:` key without its prefix (made when asked
    /// for, which routing does only for deal registrations and the account's reasons).
    public var domain: String? { withPart(LeadAccount.domainPart) { $0.map { String(decoding: $0.dropFirst(2), as: UTF8.self) } } }

    /// How reasons name the account: its domain, else the company's name.
    public var describe: String { domain ?? name ?? "" }

    /// Writes ``describe`` into the open string of `json`, with no `String` made of it.
    func describe(into json: inout JSONWriter) {
        if lengths[LeadAccount.domainPart] >= 0 {
            withPart(LeadAccount.domainPart) { json.text(UnsafeBufferPointer(rebasing: $0![2...])) }
        } else {
            withPart(LeadAccount.describedPart) { if let name = $0 { json.text(name) } }
        }
    }
}
