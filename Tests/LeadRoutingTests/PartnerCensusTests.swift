import LeadRouting
import Testing

// `leadrouter_partners{state}`: each partner counted once, in the first state that applies.

@Test func theCensusCountsEachPartnerInItsFirstState() throws {
    let config = try ConfigLoader.load(yaml: """
        partners:
          - {id: open, engagement: leads_only}
          - {id: off, engagement: leads_only, active: false, paused_until: 2030-01-01T00:00:00Z}
          - {id: resting, engagement: leads_only, paused_until: 2030-01-01T00:00:00Z, capacity: {max: 1, per: 1d}}
          - {id: full, engagement: leads_only, capacity: {max: 2, per: 1d}}
          - {id: half, engagement: leads_only, capacity: {max: 2, per: 1d}}
          - {id: lapsed, engagement: leads_only, capacity: {max: 1, per: 1h}}
        """)
    let now = ms20261201
    let states = [
        "resting": PartnerState(recentAssignments: [now - 1000]),
        "full": PartnerState(recentAssignments: [now - 2000, now - 1000]),
        "half": PartnerState(recentAssignments: [now - 1000]),
        // Its one lead left the one-hour window long ago.
        "lapsed": PartnerState(recentAssignments: [now - 2 * 3_600_000]),
    ]
    let census = Router(config: config, states: states).census(at: now)
    #expect(census[.inactive] == 1)
    #expect(census[.paused] == 1)
    #expect(census[.atCapacity] == 1)
    #expect(census[.active] == 3)
    // Once the pause ends, the paused partner is full; a day later, nobody is.
    let later = Router(config: config, states: states).census(at: 1_893_456_000_000 + 86_400_000)
    #expect(later[.paused] == 0)
    #expect(later[.atCapacity] == 0)
    #expect(later[.active] == 5)
}
