import LeadRouting
import Testing

// Where a partner stands now, as `leadctl partners` shows it.

private let anHour: Int64 = 3_600_000
private let statusNow: Int64 = 1_800_000_000_000

@Test func statesFollowTheRoutersOrderOfChecks() {
    let week = Capacity(max: 2, perSeconds: 7 * 86_400, perText: "7d")
    let full = PartnerState(recentAssignments: [statusNow - 2 * anHour, statusNow - anHour])
    func status(_ partner: Partner, _ state: PartnerState? = nil) -> PartnerStatus {
        PartnerStatus(partner: partner, state: state, work: nil, now: statusNow)
    }
    #expect(status(Partner(id: "a")).state == .active)
    #expect(status(Partner(id: "a", active: false, pausedUntil: statusNow + anHour)).state == .inactive)
    let paused = status(Partner(id: "a", capacity: week, pausedUntil: statusNow + anHour), full)
    #expect(paused.state == .paused)
    #expect(paused.pausedUntil == statusNow + anHour)
    #expect(paused.leadsInWindow == 2)
    // A pause that has ended is no pause.
    #expect(status(Partner(id: "a", pausedUntil: statusNow - 1)).pausedUntil == nil)
    #expect(status(Partner(id: "a", capacity: week), full).state == .atCapacity)
    #expect(status(Partner(id: "a", capacity: week), PartnerState(recentAssignments: [statusNow - anHour])).state == .active)
}

@Test func theWindowCountsAsTheRouterDoes() {
    let day = Capacity(max: 2, perSeconds: 86_400, perText: "1d")
    // A lead received exactly `per` ago no longer counts; one a millisecond later does.
    let state = PartnerState(recentAssignments: [statusNow - 24 * anHour, statusNow - 24 * anHour + 1])
    let status = PartnerStatus(partner: Partner(id: "a", capacity: day), state: state, work: nil, now: statusNow)
    #expect(status.leadsInWindow == 1)
    #expect(status.state == .active)
    #expect(PartnerStatus(partner: Partner(id: "a"), state: state, work: nil, now: statusNow).leadsInWindow == nil)
}

@Test func openWorkCountsOffersAndPoolsPerPartner() {
    var offered = LeadCase.assigned(leadID: "l1", assignmentID: "a1", partnerID: "acme", engagement: .leadsOnly)
    offered.state = .offered
    var pooled = offered
    pooled.leadID = "l2"
    pooled.state = .pooled
    pooled.partnerID = nil
    pooled.pool = ["acme", "globex"]
    let accepted = LeadCase.assigned(leadID: "l3", assignmentID: "a3", partnerID: "acme", engagement: .leadsOnly)
    let work = PartnerStatus.openWork(in: [offered, pooled, accepted])
    #expect(work["acme"] == PartnerStatus.OpenWork(offers: 1, claims: 1))
    #expect(work["globex"] == PartnerStatus.OpenWork(offers: 0, claims: 1))
    let status = PartnerStatus(partner: Partner(id: "acme"), state: nil, work: work["acme"], now: statusNow)
    #expect((status.openOffers, status.openClaims) == (1, 1))
}

@Test("leadctl explain lists signals in Qualification.signalNames order: the order the qualifier (and so every envelope) writes them")
func signalNamesFollowTheQualifier() throws {
    let lead = try LeadParser.parse(Array(#"{"lead_id":"q","company":{"name":"A","country":"US"}}"#.utf8)).get()
    #expect(Qualifier(config: QualificationConfig()).qualify(lead.facts).signals.map(\.name) == Qualification.signalNames)
}
