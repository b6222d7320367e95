/// How many partners are in each state at one instant: what `leadrouter_partners{state}`
/// reports. Each partner is counted once, in the first state that applies: `inactive`
/// (`active: false`), `paused` (`paused_until` in the future), `at_capacity` (its capacity
/// window is full), else `active` (it can take leads its territory, products and grade allow).
public struct PartnerCensus: Sendable, Equatable {
    public enum State: String, CaseIterable, Sendable {
        case active, paused, inactive
        case atCapacity = "at_capacity"
    }

    public var counts: [State: Int]

    public init(counts: [State: Int] = [:]) {
        self.counts = counts
    }

    public subscript(state: State) -> Int { counts[state] ?? 0 }
}

extension Router {
    /// Every partner's state at `now` (milliseconds since 1970). Looks at each partner once:
    /// a few milliseconds for 10,000 partners, so callers take it every few seconds, not per lead.
    public func census(at now: Int64) -> PartnerCensus {
        var active = 0, paused = 0, inactive = 0, full = 0
        for i in partners.indices {
            if !rules[i].active {
                inactive += 1
            } else if isPaused(i, at: now) {
                paused += 1
            } else if isFull(i, at: now) {
                full += 1
            } else {
                active += 1
            }
        }
        return PartnerCensus(counts: [.active: active, .paused: paused, .inactive: inactive, .atCapacity: full])
    }
}
