import LeadRouting
import Testing

/// Many leads, partners acting on them at random, time passing and deadlines firing,
/// batches undone and the daemon restarted from the stored form: what must hold whatever
/// the order. One seed is one run; the same seed always makes the same run.
struct OfferWorld {
    var random: SplitMix64
    var now = offerEpoch
    var partners: [ListRouting.Entry] = []
    /// Each lead's eligible partners, in the order routing picks them.
    var eligible: [String: [String]] = [:]
    var cases: [String: LeadCase] = [:]
    var book = OfferBook()
    var generation = 0
    /// Per lead: how many times each partner was offered it, assigned it, or invited to claim it.
    var shown: [String: [String: Int]] = [:]
    /// Per lead: the partner holding it; once set, only a pull-back clears it.
    var holder: [String: String] = [:]
    /// Per lead: the events that made it final.
    var finals: [String: Int] = [:]
    let seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
        random = SplitMix64(seed: seed)
        let thens: [OfferFallback] = [.vendorSales, .nurture, .pool]
        for i in 0..<Int.random(in: 3...6, using: &random) {
            let policy = OfferPolicy(
                acceptWithin: [0, 600, 3600, 14_400][Int.random(in: 0..<4, using: &random)],
                maxOffers: Int.random(in: 1...4, using: &random), then: thens.randomElement(using: &random)!,
                poolWindow: Bool.random(using: &random) ? 1800 : 86_400,
                followUpWithin: Int.random(in: 0..<3, using: &random) == 0 ? 7200 : 0)
            partners.append(.init(id: "p\(i)", engagement: EngagementModel.allCases.randomElement(using: &random)!, policy: policy))
        }
    }

    func routing(_ leadID: String) -> ListRouting {
        ListRouting(partners, eligible: eligible[leadID])
    }

    // MARK: - Steps

    mutating func startLead(_ index: Int) {
        let leadID = "lead-\(index)"
        var ids = partners.map(\.id).shuffled(using: &random)
        ids.removeLast(Int.random(in: 0..<ids.count, using: &random))
        // A registered lead goes to its registrant; the rest start with a partner that takes offers.
        let registered = Int.random(in: 0..<8, using: &random) == 0
        let first = registered ? ids[0] : (ids.first { routing(leadID).policy(for: $0).offersLeads } ?? ids[0])
        eligible[leadID] = ids
        let entry = partners.first { $0.id == first }!
        var lead: LeadCase
        if entry.policy.offersLeads {
            let (offered, event) = OfferMachine.offer(leadID: leadID, assignmentID: "a-\(index)", partner: first, engagement: entry.engagement,
                                                      registered: registered, now: now, policy: entry.policy)
            lead = offered
            record([event], leadID)
        } else {
            lead = LeadCase.assigned(leadID: leadID, assignmentID: "a-\(index)", partnerID: first, engagement: entry.engagement)
            record([.assigned(partner: first, engagement: entry.engagement, attempt: 1)], leadID)
        }
        save(lead)
    }

    mutating func act() {
        guard let leadID = cases.keys.sorted().randomElement(using: &random) else { return }
        let seen = shown[leadID, default: [:]].keys.sorted()
        var lead = cases[leadID]!
        // Mostly the partner the lead waits on, so that leads get taken as well as let go.
        let current = lead.state == .pooled ? lead.pool : lead.partnerID.map { [$0] } ?? []
        let partner: String = switch Int.random(in: 0..<10, using: &random) {
        case 0: "stranger"
        case 1...2: eligible[leadID]!.randomElement(using: &random)!
        case 3...4: seen.randomElement(using: &random) ?? "stranger"
        default: current.randomElement(using: &random) ?? seen.randomElement(using: &random) ?? "stranger"
        }
        let act = Act.allCases.randomElement(using: &random)!
        let before = lead
        var routing = routing(leadID)
        var events: [CaseEvent] = []
        let request = act.request(by: partner, lead: leadID)
        let reply = OfferMachine.act(request, on: &lead, now: now, routing: &routing, events: &events)
        record(events, leadID)
        let context = "seed \(seed), \(partner) \(act.rawValue) on \(before.encoded) at \(now)"
        if before.state.isFinal {
            #expect(lead == before && events.isEmpty, "a final lead changed: \(context)")
        }
        let wasShown = shown[leadID]?[partner] != nil
        let notFound = if case .failed(.notFound, _) = reply { true } else { false }
        #expect(notFound == !wasShown, "\(context): \(reply)")
        if case .ok = reply, act != .status, Bool.random(using: &random) {
            let settled = lead
            var again: [CaseEvent] = []
            let repeated = OfferMachine.act(request, on: &lead, now: now, routing: &routing, events: &again)
            #expect(repeated == reply && again.isEmpty && lead == settled, "repeated: \(context)")
        }
        save(lead)
    }

    /// Time passes; the deadlines that are due fire, a few at a time, unless the daemon is
    /// busy (then a partner's late action meets the deadline first).
    mutating func advance(by step: Int64, fire: Bool) {
        now += step
        guard fire else { return }
        while true {
            let due = book.takeDue(now: now, limit: Int.random(in: 1...4, using: &random))
            if due.isEmpty { return }
            for leadID in due {
                var lead = cases[leadID]!
                #expect(lead.deadline! <= now, "seed \(seed): \(leadID) taken before its deadline")
                var routing = routing(leadID)
                var events: [CaseEvent] = []
                OfferMachine.deadlinePassed(&lead, now: now, routing: &routing, events: &events)
                #expect(!events.isEmpty, "seed \(seed): \(leadID)'s deadline passed and nothing happened")
                record(events, leadID)
                save(lead)
            }
        }
    }

    /// The daemon stops and starts: every case is read back from its stored form and the
    /// book is rebuilt from the open ones.
    mutating func restart() {
        let openBefore = book.openCases
        var decoded: [String: LeadCase] = [:]
        for (leadID, lead) in cases {
            decoded[leadID] = LeadCase(leadID: leadID, encoded: lead.encoded)
            #expect(decoded[leadID] == lead, "seed \(seed): \(lead.encoded) does not read back")
        }
        cases = decoded
        book = OfferBook(open: decoded.values.filter(\.isOpen))
        #expect(book.openCases == openBefore, "seed \(seed): the rebuilt book differs")
    }

    private mutating func save(_ lead: LeadCase) {
        cases[lead.leadID] = lead
        book.put(lead, generation: generation)
    }

    // MARK: - Invariants

    /// Follows the lead's events: nobody is shown it twice, one holder at a time, one end.
    mutating func record(_ events: [CaseEvent], _ leadID: String) {
        let context = "seed \(seed), \(leadID): \(events.map(token))"
        for event in events {
            for partner in shownTo(event) {
                shown[leadID, default: [:]][partner, default: 0] += 1
                #expect(shown[leadID]![partner] == 1, "\(partner) was shown the lead twice: \(context)")
            }
            switch event {
            case .accepted(let partner, _, _), .assigned(let partner, _, _):
                #expect(holder[leadID] == nil, "\(partner) took a lead \(holder[leadID] ?? "") holds: \(context)")
                holder[leadID] = partner
            case .withdrawn(let partner, .pulledBack):
                #expect(holder[leadID] == partner, "\(context)")
                holder[leadID] = nil
            case .outcome(let partner, let stage, _, _, _, _):
                #expect(holder[leadID] == partner, "\(context)")
                if stage.isFinal { finals[leadID, default: 0] += 1 }
            case .vendorRequest(let partner, _, _, _):
                #expect(holder[leadID] == partner, "\(context)")
            case .handedBack(let partner, _, _):
                #expect(holder[leadID] == partner, "\(context)")
                finals[leadID, default: 0] += 1
            case .toVendorSales, .toNurture:
                #expect(holder[leadID] == nil, "\(context)")
                finals[leadID, default: 0] += 1
            default:
                break
            }
        }
        #expect(finals[leadID, default: 0] <= 1, "ended twice: \(context)")
    }

    /// The book holds exactly the open cases, and knows the earliest deadline; each case's
    /// holder is the one its events name.
    mutating func checkConsistency() {
        let open = cases.values.filter(\.isOpen).sorted { ($0.deadline!, $0.leadID) < ($1.deadline!, $1.leadID) }
        #expect(book.openCases == open, "seed \(seed): the book and the cases differ")
        #expect(book.nextDeadline == open.map { $0.deadline! }.min(), "seed \(seed)")
        for (leadID, lead) in cases where [.accepted, .won, .lost, .handedBack].contains(lead.state) {
            #expect(lead.partnerID == holder[leadID], "seed \(seed): \(leadID) is \(lead.encoded)")
        }
        for (leadID, lead) in cases where [.offered, .pooled, .vendorSales, .nurture].contains(lead.state) {
            #expect(holder[leadID] == nil, "seed \(seed): \(leadID) is \(lead.encoded) yet held by \(holder[leadID]!)")
        }
    }
}

@Suite("Offer machine: random interleavings")
struct OfferPropertyTests {
    @Test("invariants hold over random actions, deadlines, undone batches and restarts", arguments: 0..<40)
    func interleavings(block: Int) {
        for seed in UInt64(block * 10)..<UInt64(block * 10 + 10) {
            run(seed: seed)
        }
    }

    private func run(seed: UInt64) {
        var world = OfferWorld(seed: seed)
        let leads = Int.random(in: 5...20, using: &world.random)
        for index in 0..<leads { world.startLead(index) }
        world.checkConsistency()
        for _ in 0..<120 {
            batch(&world)
            if Int.random(in: 0..<25, using: &world.random) == 0 { world.restart() }
        }
        // Time goes on and nobody acts: every deadline fires, and each lead ends.
        for _ in 0..<200 where world.book.count > 0 {
            world.advance(by: 7 * 24 * hour, fire: true)
        }
        world.checkConsistency()
        #expect(world.book.count == 0, "seed \(seed): cases still open")
        for lead in world.cases.values {
            #expect(lead.state.isFinal || (lead.state == .accepted && lead.deadline == nil), "seed \(seed): \(lead.encoded)")
            #expect(world.finals[lead.leadID, default: 0] == (lead.state.isFinal ? 1 : 0), "seed \(seed): \(lead.encoded)")
        }
    }

    /// One batch of a few steps, stored (its undo records forgotten) or, now and then, undone.
    private func batch(_ world: inout OfferWorld) {
        world.generation += 1
        let saved = (world.cases, world.shown, world.holder, world.finals)
        for _ in 0..<Int.random(in: 1...4, using: &world.random) {
            if Int.random(in: 0..<3, using: &world.random) == 0 {
                let step = Int.random(in: 0..<10, using: &world.random) == 0 ? 6 * hour : hour / 4
                world.advance(by: Int64.random(in: 0..<step, using: &world.random), fire: Int.random(in: 0..<4, using: &world.random) > 0)
            } else {
                world.act()
            }
        }
        if Int.random(in: 0..<6, using: &world.random) == 0 {
            world.book.rollBack(from: world.generation)
            (world.cases, world.shown, world.holder, world.finals) = saved
        } else {
            world.book.forget(through: world.generation)
        }
        world.checkConsistency()
    }
}
