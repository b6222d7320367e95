import Foundation
@testable import LeadRouting
import Testing

/// A lead's account keys are written as bytes (``LeadAccount``): straight from the lead's text
/// when its domain is normal and its name ASCII, else through the text functions. These tests
/// hold the direct writer to the text functions, and the keys a batch's owner changes use to
/// the lead's.
@Suite("Account keys as bytes")
struct LeadAccountTests {
    /// The keys made by the text functions only (the direct writer's reference).
    static func textKeys(_ name: String?, _ domain: String?, _ email: String?) -> LeadAccount {
        var arena = ByteArena(blockSize: 0)
        func bytes(_ s: String?) -> [UInt8]? { s.map { Array($0.utf8) } }
        let (n, d, e) = (bytes(name), bytes(domain), bytes(email))
        return withOptional(n) { n in withOptional(d) { d in withOptional(e) { e in
            AccountKey.textKeys(domain: d, email: e, name: n, into: &arena)
        } } }
    }

    static func withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        guard let bytes else { return body(nil) }
        return bytes.withUnsafeBufferPointer { body($0) }
    }

    @Test("written from the lead's bytes, the keys are those the text functions make, for thousands of generated accounts")
    func directWriterMatchesText() {
        var rng = SplitMix64(seed: 0xACC0)
        let words = ["Acme", "acme", "CORP", "Inc", "inc.", "The", "GmbH", "Co", "Systems", "S.A.", "7", "x", "Ltd", "A&B", "co-op", "Pty", "corporation", "KK"]
        let separators = [" ", "  ", ", ", ".", "-", "/", " & ", "\t"]
        let domains: [String?] = [nil, "", "acme.example", "a-b.example", "x.y.z.example", "123.example", "Acme.Example", "www.acme.example",
                                  "acme.example.", " acme.example", "acme", "ü.example"]
        let emails: [String?] = [nil, "", "bo@acme.example", "bo@gmail.com", "bo@Mail.Example", "bo@", "no-at-sign", "a@b@c.example",
                                 "bo@www.acme.example", "bo@acme.example."]
        var checked = 0, direct = 0
        for _ in 0..<3000 {
            var name: String? = ""
            for i in 0..<Int.random(in: 0...5, using: &rng) {
                if i > 0 { name! += separators.randomElement(using: &rng)! }
                name! += words.randomElement(using: &rng)!
            }
            if Int.random(in: 0..<20, using: &rng) == 0 { name = nil }
            let domain = domains.randomElement(using: &rng)!, email = emails.randomElement(using: &rng)!
            let written = AccountKey.keys(companyName: name ?? "", companyDomain: domain, contactEmail: email)
            let fromText = Self.textKeys(name ?? "", domain, email)
            #expect(written == fromText, "name \(String(describing: name)), domain \(String(describing: domain)), email \(String(describing: email))")
            #expect(written.all == fromText.all && written.describe == fromText.describe && written.domain == fromText.domain)
            checked += 1
            if name.map({ $0.utf8.allSatisfy { $0 < 0x80 } }) ?? true,
               domain.map({ $0.isEmpty || $0 == $0.lowercased() && !$0.hasPrefix("www.") && !$0.hasSuffix(".") && !$0.contains(" ") && $0.utf8.allSatisfy { $0 < 0x80 } }) ?? true {
                direct += 1
            }
        }
        #expect(checked == 3000 && direct > 1000, "the direct writer must be what most cases take")
    }

    @Test("keys, domain and description of the direct writer's cases, part by part",
          arguments: [
              ("Acme, Inc.", "acme.example", nil, ["d:acme.example", "n:acme"], "acme.example"),
              ("The Acme Co", nil, "bo@acme.example", ["d:acme.example", "n:acme"], "acme.example"),
              ("Acme Corp", nil, "bo@gmail.com", ["n:acme"], "Acme Corp"),
              ("Acme Corp", nil, "bo@", ["n:acme"], "Acme Corp"),
              ("Inc.", nil, nil, [], "Inc."),
              ("", "acme.example", nil, ["d:acme.example"], "acme.example"),
              ("A&B  Systems-7", nil, nil, ["n:a b systems 7"], "A&B  Systems-7"),
          ] as [(String, String?, String?, [String], String)])
    func parts(name: String, domain: String?, email: String?, keys: [String], describe: String) {
        let account = AccountKey.keys(companyName: name, companyDomain: domain, contactEmail: email)
        #expect(account.all == keys)
        #expect(account.keyCount == keys.count)
        #expect(account.describe == describe)
        var seen: [String] = []
        account.forEachKey { k, key in
            #expect(k == seen.count)
            seen.append(String(decoding: key, as: UTF8.self))
        }
        #expect(seen == keys)
    }

    @Test("no keys at all: an empty account, as a new decision has")
    func empty() {
        #expect(LeadAccount() == LeadAccount(domainKey: nil, nameKey: nil))
        #expect(LeadAccount().all.isEmpty && LeadAccount().describe == "" && LeadAccount().domain == nil)
        #expect(RoutingDecision().account == LeadAccount())
        #expect(LeadAccount(domainKey: "d:a.example") != LeadAccount(nameKey: "d:a.example"))
    }

    @Test("a batch's owner changes take each key as the pipeline keeps it, whatever the positions say")
    func ownerKeys() throws {
        var pipeline = LeadPipeline(config: RouterConfig(partners: [partner("acme", .leadsOnly)]), seed: 3)
        var envelopes: [OutgoingMessage] = []
        var decision = RoutingDecision()
        let accounts = [("Acme Corp", "acme.example"), ("Beta Labs", "beta.example")]
        for (i, (name, domain)) in accounts.enumerated() {
            let json = #"{"lead_id":"l-\#(i)","company":{"name":"\#(name)","domain":"\#(domain)","country":"US"}}"#
            let lead = try LeadParser.parse(Array(json.utf8)).get()
            _ = pipeline.route(lead, now: 1_795_000_000_000, appendingTo: &envelopes, decision: &decision)
            #expect(decision.partnerID == "acme")
            var keys: [String] = []
            pipeline.forEachOwnerKey(of: lead.facts.account, as: decision.recentOwners) { k, key in
                #expect(k == keys.count)
                keys.append(key)
            }
            #expect(keys == lead.facts.account.all)
            // Without positions, and with the other lead's, the keys are found by look-up.
            for positions in [SIMD2<Int32>.zero, SIMD2<Int32>(4, 3), SIMD2<Int32>(99, -5)] {
                var recent = decision.recentOwners
                recent.positions = positions
                var found: [String] = []
                pipeline.forEachOwnerKey(of: lead.facts.account, as: recent) { _, key in found.append(key) }
                #expect(found == keys, "\(positions)")
            }
        }
    }
}
