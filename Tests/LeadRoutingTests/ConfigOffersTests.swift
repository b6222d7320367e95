import LeadRouting
import Testing

// The `control` and `offers` sections, and a partner's own `offers:`.

private let head = """
    state_dir: /tmp/lr
    control:
      bind: "tcp://127.0.0.1:5562"

    """

private let partners = """
    partners:
      - id: acme
        engagement: leads_only
      - id: beta
        engagement: co_sell
        offers: {accept_within: 30m, withhold: [], then: nurture}

    """

@Test("offers and control are read, with a partner's own offers over the section's")
func offersRead() throws {
    let config = try ConfigLoader.load(yaml: head + """
        offers:
          accept_within: 4h
          max_offers: 2
          then: pool
          pool_window: 2d
          withhold: [contact, qualification]
          follow_up_within: 90s

        """ + partners)
    #expect(config.control.bind?.description == "tcp://127.0.0.1:5562")
    #expect(config.offers == OfferPolicy(acceptWithin: 14_400, maxOffers: 2, then: .pool, poolWindow: 172_800,
                                         withhold: ["contact", "qualification"], followUpWithin: 90))
    let beta = try #require(config.partners.last)
    #expect(config.rules.offerPolicy(for: beta) == OfferPolicy(acceptWithin: 1_800, maxOffers: 2, then: .nurture, poolWindow: 172_800,
                                                               withhold: [], followUpWithin: 90))
    #expect(config.rules.offerPolicy(for: config.partners[0]).acceptWithin == 14_400)
    #expect(config.rules.offersLeads)
}

@Test("without an offers section there are no offers, unless a partner asks for its own")
func offersDefaults() throws {
    let none = try ConfigLoader.load(yaml: "state_dir: /tmp/lr\npartners:\n  - {id: acme, engagement: leads_only}\n")
    #expect(none.offers == OfferPolicy())
    #expect(!none.rules.offersLeads)
    #expect(none.control.bind == nil)
    let one = try ConfigLoader.load(yaml: "state_dir: /tmp/lr\npartners:\n  - {id: acme, engagement: leads_only, offers: {accept_within: 1h}}\n")
    #expect(one.rules.offersLeads)
    #expect(one.rules.offerPolicy(for: one.partners[0]).withhold == ["contact"])
    let zero = try ConfigLoader.load(yaml: "state_dir: /tmp/lr\noffers: {accept_within: 0}\n")
    #expect(!zero.rules.offersLeads)
}

struct OfferProblem: Sendable, CustomTestStringConvertible {
    var yaml: String
    var path: String
    var line: Int
    var mentions: [String]
    var testDescription: String { path + ": " + mentions.joined(separator: ", ") }
}

let offerProblems: [OfferProblem] = [
    OfferProblem(yaml: "offers:\n  accept_within: 4x\n", path: "offers.accept_within", line: 5, mentions: ["\"4x\"", "90s, 30m, 4h"]),
    OfferProblem(yaml: "offers:\n  accept_within: -1h\n", path: "offers.accept_within", line: 5, mentions: ["\"-1h\""]),
    OfferProblem(yaml: "offers:\n  accept_within: 400d\n", path: "offers.accept_within", line: 5, mentions: ["at most 366d"]),
    OfferProblem(yaml: "offers:\n  pool_window: 0\n", path: "offers.pool_window", line: 5, mentions: ["longer than 0"]),
    OfferProblem(yaml: "offers:\n  max_offers: 0\n", path: "offers.max_offers", line: 5, mentions: ["between 1 and 50"]),
    OfferProblem(yaml: "offers:\n  then: sideways\n", path: "offers.then", line: 5, mentions: ["vendor-sales, nurture, pool", "sideways"]),
    OfferProblem(yaml: "offers:\n  withhold: [lead_id]\n", path: "offers.withhold[0]", line: 5, mentions: ["lead_id cannot be withheld"]),
    OfferProblem(yaml: "offers:\n  withhold: [contact, contact]\n", path: "offers.withhold[1]", line: 5, mentions: ["duplicate field \"contact\""]),
    OfferProblem(yaml: "offers:\n  withhold: [Contact]\n", path: "offers.withhold[0]", line: 5, mentions: ["top-level field name"]),
    OfferProblem(yaml: "offers:\n  accept_withn: 1h\n", path: "offers.accept_withn", line: 5, mentions: ["did you mean \"accept_within\"?"]),
    OfferProblem(yaml: "partners:\n  - id: acme\n    engagement: leads_only\n    offers: {bogus: 1}\n",
                 path: "partners[0].offers.bogus", line: 7, mentions: ["unknown key"]),
    OfferProblem(yaml: "partners:\n  - id: acme\n    engagement: leads_only\n    offers: {follow_up_within: 1y}\n",
                 path: "partners[0].offers.follow_up_within", line: 7, mentions: ["\"1y\""]),
    OfferProblem(yaml: "intake:\n  bind: \"tcp://127.0.0.1:5562\"\n", path: "intake.bind", line: 5, mentions: ["control.bind (line 3)"]),
]

@Test("every problem of offers and control names its key and line", arguments: offerProblems)
func offersProblem(_ problem: OfferProblem) {
    let found = problems(head + problem.yaml)
    #expect(found.count >= 1, "\(found)")
    let match = found.first { $0.path == problem.path }
    #expect(match?.line == problem.line, "\(found)")
    for text in problem.mentions { #expect(match?.message.contains(text) == true, "\(found)") }
}
