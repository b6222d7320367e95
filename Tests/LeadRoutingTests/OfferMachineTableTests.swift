import LeadRouting
import Testing

/// A lead's case in each state the machine knows, for the table below. The partners, in
/// routing order: `x` declined the lead earlier, `p` is offered it or holds it, `q` comes next
/// (or may claim it from the pool), `r` after it; `z` never saw the lead.
enum MachineState: String, Sendable, CaseIterable {
    case offered, pooled, accepted
    case acceptedFollowUp = "accepted with follow-up"
    case won, lost
    case handedBack = "handed_back"
    case vendorSales = "vendor_sales"
    case nurture

    /// The offer, claim or follow-up deadline of the cases that have one.
    static let deadline = offerEpoch + hour
    static let onTime = offerEpoch + 60_000
    static let late = deadline + 60_000

    var lead: LeadCase {
        var lead = LeadCase(leadID: "lead-1", assignmentID: "a-1", state: .offered, partnerID: "p", engagement: .coSell,
                            offers: 2, tried: [.init("x", .declined)])
        switch self {
        case .offered: lead.deadline = Self.deadline
        case .pooled:
            lead = LeadCase(leadID: "lead-1", assignmentID: "a-1", state: .pooled, deadline: Self.deadline, offers: 3,
                            tried: [.init("x", .declined), .init("p", .expired)], pool: ["q", "r"])
        case .accepted, .acceptedFollowUp, .won, .lost, .handedBack:
            lead.state = .accepted
            lead.vendorRoles = [.coSeller]
            if self == .acceptedFollowUp { lead.deadline = Self.deadline }
            if self == .won || self == .lost {
                lead.state = self == .won ? .won : .lost
                lead.stage = self == .won ? .won : .lost
            }
            if self == .handedBack {
                lead.state = .handedBack
                lead.tried.append(.init("p", .handedBack))
            }
        case .vendorSales, .nurture:
            lead = LeadCase(leadID: "lead-1", assignmentID: "a-1", state: self == .nurture ? .nurture : .vendorSales, offers: 3,
                            tried: [.init("x", .declined), .init("p", .expired)])
            if self == .vendorSales { lead.tried += [.init("q", .poolClosed), .init("r", .poolClosed)] }
        }
        return lead
    }

    /// What the deadline does when an action comes after it (it fires first).
    var firedLate: [String] {
        switch self {
        case .offered: ["expire p", "offer q"]
        case .pooled: ["withdraw q pool_closed", "withdraw r pool_closed", "vendor_sales"]
        case .acceptedFollowUp: ["withdraw p pulled_back", "vendor_released p", "offer q"]
        default: []
        }
    }

    /// Every partner takes offers for an hour; after 3 offers the lead is pooled.
    static var routing: ListRouting {
        ListRouting([("x", .leadsOnly), ("p", .coSell), ("q", .leadsOnly), ("r", .vendorCloses)],
                    policy: OfferPolicy(acceptWithin: 3600, maxOffers: 3, then: .pool))
    }
}

enum ActingPartner: String, Sendable {
    /// `p`: offered the lead or holding it (in a pool or after it: its offer expired before).
    case holder = "p"
    /// `q`: in the pool, or next in line.
    case other = "q"
    /// `x`: declined the lead before.
    case earlier = "x"
    /// `z`: never saw the lead.
    case stranger = "z"
}

enum Timing: String, Sendable {
    case onTime = "on time", late
    /// The same reply on time and late (the deadline's own events come first when late).
    case either = "on time or late"
}

/// One line of the table: what every action by `actor` on a lead in `state` answers, and the
/// events it yields (after those of a deadline that passed). A cell is the reply's state, or
/// `!code`, then `: ` and the events.
struct MachineRow: Sendable, CustomTestStringConvertible {
    var state: MachineState
    var actor: ActingPartner
    var timing: Timing
    var cells: [Act: String]
    var otherwise: String

    init(_ state: MachineState, _ actor: ActingPartner, _ timing: Timing, _ cells: [Act: String] = [:], otherwise: String) {
        self.state = state
        self.actor = actor
        self.timing = timing
        self.cells = cells
        self.otherwise = otherwise
    }

    var testDescription: String { "\(state.rawValue), \(actor.rawValue), \(timing.rawValue)" }

    func expected(_ act: Act) -> (reply: String, events: [String]) {
        let cell = cells[act] ?? otherwise
        guard let colon = cell.firstIndex(of: ":") else { return (cell, []) }
        let events = cell[cell.index(after: colon)...].split(separator: ",").map { $0.trimmingPrefix(" ") }.map(String.init)
        return (String(cell[..<colon]), events)
    }
}

/// What a holder of an accepted lead may do with it.
let holderOfAccepted: [Act: String] = [
    .accept: "accepted", .claim: "accepted", .coSell: "accepted", .close: "accepted: vendor_request close",
    .handBack: "handed_back: hand_back p", .contacted: "accepted: outcome contacted", .won: "won: outcome won",
    .lost: "lost: outcome lost", .status: "accepted",
]
/// What `q` may do once the lead is offered to it as the third partner (the last before the pool).
let thirdOffered: [Act: String] = [.accept: "accepted: accept q", .decline: "declined: decline q, pool r", .status: "offered"]
let declinedEarlier: [Act: String] = [.decline: "declined", .status: "declined"]

let machineTable: [MachineRow] = [
    MachineRow(.offered, .holder, .onTime, [.accept: "accepted: accept p", .decline: "declined: decline p, offer q", .status: "offered"],
               otherwise: "!wrong_state"),
    MachineRow(.offered, .holder, .late, [.status: "expired"], otherwise: "!expired"),
    MachineRow(.offered, .other, .onTime, otherwise: "!not_found"),
    MachineRow(.offered, .other, .late, thirdOffered, otherwise: "!wrong_state"),
    MachineRow(.offered, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.offered, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.pooled, .holder, .either, [.status: "expired"], otherwise: "!expired"),
    MachineRow(.pooled, .other, .onTime,
               [.decline: "declined: decline q", .claim: "accepted: withdraw r taken, claim q", .status: "pooled"],
               otherwise: "!wrong_state"),
    MachineRow(.pooled, .other, .late, [.status: "withdrawn"], otherwise: "!expired"),
    MachineRow(.pooled, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.pooled, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.accepted, .holder, .either, holderOfAccepted, otherwise: "!wrong_state"),
    MachineRow(.accepted, .other, .either, otherwise: "!not_found"),
    MachineRow(.accepted, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.accepted, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.acceptedFollowUp, .holder, .onTime, holderOfAccepted, otherwise: "!wrong_state"),
    MachineRow(.acceptedFollowUp, .holder, .late, [.status: "withdrawn"], otherwise: "!wrong_state"),
    MachineRow(.acceptedFollowUp, .other, .onTime, otherwise: "!not_found"),
    MachineRow(.acceptedFollowUp, .other, .late, thirdOffered, otherwise: "!wrong_state"),
    MachineRow(.acceptedFollowUp, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.acceptedFollowUp, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.won, .holder, .either, [.accept: "won", .claim: "won", .won: "won", .status: "won"], otherwise: "!wrong_state"),
    MachineRow(.won, .other, .either, otherwise: "!not_found"),
    MachineRow(.won, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.won, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.lost, .holder, .either, [.accept: "lost", .claim: "lost", .lost: "lost", .status: "lost"], otherwise: "!wrong_state"),
    MachineRow(.lost, .other, .either, otherwise: "!not_found"),
    MachineRow(.lost, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.lost, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.handedBack, .holder, .either, [.handBack: "handed_back", .status: "handed_back"], otherwise: "!wrong_state"),
    MachineRow(.handedBack, .other, .either, otherwise: "!not_found"),
    MachineRow(.handedBack, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.handedBack, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.vendorSales, .holder, .either, [.status: "expired"], otherwise: "!expired"),
    MachineRow(.vendorSales, .other, .either, [.status: "withdrawn"], otherwise: "!expired"),
    MachineRow(.vendorSales, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.vendorSales, .stranger, .either, otherwise: "!not_found"),

    MachineRow(.nurture, .holder, .either, [.status: "expired"], otherwise: "!expired"),
    MachineRow(.nurture, .other, .either, otherwise: "!not_found"),
    MachineRow(.nurture, .earlier, .either, declinedEarlier, otherwise: "!wrong_state"),
    MachineRow(.nurture, .stranger, .either, otherwise: "!not_found"),
]

@Suite("Offer machine: every state × action × time × partner")
struct OfferMachineTableTests {
    @Test("the table covers every state, actor and time")
    func coverage() {
        for state in MachineState.allCases {
            for actor in [ActingPartner.holder, .other, .earlier, .stranger] {
                let rows = machineTable.filter { $0.state == state && $0.actor == actor }
                let times = rows.map(\.timing)
                #expect(times == [.either] || Set(times) == [.onTime, .late], "\(state) \(actor)")
            }
        }
    }

    @Test("a reply and its events", arguments: machineTable)
    func row(_ row: MachineRow) {
        let times: [Timing] = row.timing == .either ? [.onTime, .late] : [row.timing]
        for timing in times {
            for act in Act.allCases {
                check(row, act, late: timing == .late)
            }
        }
    }

    private func check(_ row: MachineRow, _ act: Act, late: Bool) {
        var lead = row.state.lead
        var routing = MachineState.routing
        let now = late ? MachineState.late : MachineState.onTime
        let (reply, events) = perform(act, by: row.actor.rawValue, on: &lead, at: now, &routing)
        let expected = row.expected(act)
        let label = "\(act.rawValue) \(late ? "late" : "on time")"
        #expect(reply == expected.reply, "\(label)")
        #expect(events == (late ? row.state.firedLate : []) + expected.events, "\(label)")
        expectRoundTrip(lead)
        // Repeating an action that took effect answers the same and changes nothing.
        guard !reply.hasPrefix("!") else { return }
        let before = lead
        let again = perform(act, by: row.actor.rawValue, on: &lead, at: now, &routing)
        #expect(again.reply == reply && again.events.isEmpty, "\(label), repeated")
        #expect(lead == before, "\(label), repeated")
    }
}
