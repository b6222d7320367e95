import LeadRouting
import Testing

@Suite("Reload: what changed, state carried over, offers moved on")
struct ReloadRulesTests {
    let acme = Partner(id: "acme", territories: [Territory(country: "US")])
    let beta = Partner(id: "beta", territories: [Territory(country: "US")])

    @Test("partners added, removed and changed are named, with the keys that changed")
    func rulesChange() {
        var old = RoutingRules(partners: [acme, beta])
        old.partners[1].keys = [KeySource(.z85(String(repeating: "a", count: 40)), path: "partners[1].keys[0]", line: 9)]
        var new = old
        new.partners[0].weight = 5
        new.partners[0].pausedUntil = 1_000
        new.partners.append(Partner(id: "gamma"))
        new.partners[1].keys[0].line = 12  // moved in the file: no change
        #expect(RulesChange(from: old, to: new) == {
            var change = RulesChange(from: old, to: old)
            change.partnersAdded = ["gamma"]
            change.partnersChanged = [("acme", ["weight", "paused_until"])]
            return change
        }())
        #expect(RulesChange(from: old, to: new).changedText == "acme(weight,paused_until)")
        #expect(RulesChange(from: old, to: old).isEmpty)
        new.partners.removeFirst()
        new.routing.unmatched = .nurture
        let change = RulesChange(from: old, to: new)
        #expect(change.partnersRemoved == ["acme"])
        #expect(change.sections == ["routing"])
    }

    @Test("a router reloaded keeps the rotation and capacity of the partners that remain, unsaved marks included")
    func routerCarriesState() {
        var capped = acme
        capped.capacity = Capacity(max: 5, perSeconds: 3600)
        var router = Router(rules: RoutingRules(partners: [capped, beta]))
        _ = router.route(facts(id: "s-1"), context: RoutingContext(now: 1_000))
        _ = router.route(facts(id: "s-2"), context: RoutingContext(now: 2_000))
        let before = router.partnerStates
        var reloaded = router.reloaded(rules: RoutingRules(partners: [beta, capped, Partner(id: "gamma")]), registrations: [])
        #expect(reloaded.partnerStates["acme"] == before["acme"])
        #expect(reloaded.partnerStates["beta"] == before["beta"])
        #expect(reloaded.partnerStates["gamma"] == PartnerState())
        // What waited to be saved still does, under the partners' new places.
        #expect(Set(reloaded.takeChangedStates().keys) == Set(router.takeChangedStates().keys))
    }

    @Test("expedite brings forward only the offers of the partners named, and is undone with its batch")
    func expedite() {
        func offered(_ id: String, to partner: String, by deadline: Int64) -> LeadCase {
            LeadCase(leadID: id, assignmentID: "a-\(id)", state: .offered, partnerID: partner, deadline: deadline)
        }
        var book = OfferBook(open: [offered("l-1", to: "acme", by: 9_000), offered("l-2", to: "beta", by: 9_000),
                                    offered("l-3", to: "acme", by: 500)])
        #expect(book.expedite(offeredTo: ["acme"], now: 1_000, generation: 7) == ["l-1"])
        #expect(book["l-1"]?.deadline == 1_000)
        #expect(book["l-2"]?.deadline == 9_000)
        #expect(book.takeDue(now: 1_000, limit: 10) == ["l-3", "l-1"])
        book.reschedule(["l-3", "l-1"])
        book.rollBack(from: 7)
        #expect(book["l-1"]?.deadline == 9_000)
    }

    @Test("a connection's User-Id names its principal and key; a revoked key no longer admits it")
    func connectionIdentity() throws {
        let key = String(repeating: "k", count: 40)
        let identity = ConnectionIdentity(principal: .partner("acme"), key: key)
        #expect(identity.userID == "partner:acme \(key)")
        #expect(ConnectionIdentity(userID: identity.userID) == identity)
        #expect(Principal(userID: identity.userID) == .partner("acme"))
        #expect(ConnectionIdentity(userID: "partner:acme") == nil)
        let ring = KeyRing(serverSecretKey: "s", principals: [key: .partner("acme")])
        #expect(ring.admits(identity))
        let rotated = KeyRing(serverSecretKey: "s", principals: [String(repeating: "n", count: 40): .partner("acme")])
        #expect(!rotated.admits(identity))
        #expect(ring.revoked(in: rotated) == [key])
        let reassigned = KeyRing(serverSecretKey: "s", principals: [key: .partner("beta")])
        #expect(ring.revoked(in: reassigned) == [key])
        #expect(ring.revoked(in: ring).isEmpty)
    }
}
