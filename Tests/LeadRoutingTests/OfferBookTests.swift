import LeadRouting
import Testing

@Suite("Offer book: open cases, their deadlines, and undo per batch")
struct OfferBookTests {
    func lead(_ id: String, due: Int64?, state: LeadCase.State = .offered, partner: String = "p") -> LeadCase {
        LeadCase(leadID: id, assignmentID: "a-\(id)", state: state, partnerID: partner, engagement: .leadsOnly, deadline: due, offers: 1)
    }

    @Test("only cases with a deadline are kept, listed soonest first")
    func keepsOpenCases() {
        var book = OfferBook(open: [lead("c", due: 30), lead("a", due: 10), lead("x", due: nil, state: .accepted), lead("b", due: 10)])
        #expect(book.count == 3)
        #expect(book.openCases.map(\.leadID) == ["a", "b", "c"])
        #expect(book["x"] == nil)
        #expect(book["c"] == lead("c", due: 30))
        #expect(book.nextDeadline == 10)
        book.put(lead("a", due: nil, state: .accepted), generation: 1)
        #expect(book["a"] == nil && book.count == 2)
        #expect(book.nextDeadline == 10)
        book.put(lead("b", due: 50), generation: 1)
        #expect(book.nextDeadline == 30)
    }

    @Test("a case taken as due and put back with the same deadline is due again; one put back with none leaves")
    func takenAndPutBack() {
        var book = OfferBook(open: [lead("a", due: 100), lead("b", due: 100)])
        #expect(book.takeDue(now: 100, limit: 10).sorted() == ["a", "b"])
        // Taken: not handed out twice while it is handled.
        #expect(book.takeDue(now: 200, limit: 10) == [])
        book.put(lead("a", due: 100), generation: 1)
        #expect(book.nextDeadline == 100)
        #expect(book.takeDue(now: 200, limit: 10) == ["a"])
        book.put(lead("b", due: nil, state: .accepted), generation: 1)
        #expect(book["b"] == nil && book.count == 1)
        // Undone, the batch gives both back as they were before it.
        book.rollBack(from: 1)
        #expect(book.count == 2 && book["b"] == lead("b", due: 100))
    }

    @Test("takeDue hands out due leads earliest first, at most `limit` at a time")
    func takeDue() {
        var book = OfferBook(open: (1...5).map { lead("l\($0)", due: Int64($0) * 10) })
        #expect(book.takeDue(now: 35, limit: 2) == ["l1", "l2"])
        #expect(book.takeDue(now: 35, limit: 2) == ["l3"])
        #expect(book.takeDue(now: 35, limit: 2) == [])
        // Taken leads stay in the book until their fired case is put back.
        #expect(book.count == 5)
        book.put(lead("l1", due: 45), generation: 1)
        #expect(book.takeDue(now: 50, limit: 10) == ["l4", "l1", "l5"])
    }

    @Test("rollBack undoes every change of a batch and those after it, newest first")
    func rollBack() {
        let a = lead("a", due: 100), b = lead("b", due: 200)
        var book = OfferBook()
        book.put(a, generation: 1)
        book.put(b, generation: 1)
        book.put(lead("a", due: 300), generation: 2)
        book.put(lead("a", due: 400), generation: 2)
        book.put(lead("b", due: nil, state: .vendorSales), generation: 3)
        book.put(lead("c", due: 50), generation: 3)
        #expect(book.openCases.map(\.leadID) == ["c", "a"])
        book.rollBack(from: 2)
        #expect(book.openCases == [a, b])
        #expect(book.nextDeadline == 100)
        #expect(book.takeDue(now: 250, limit: 10) == ["a", "b"])
        book.rollBack(from: 1)
        #expect(book.count == 0)
        #expect(book.nextDeadline == nil)
    }

    @Test("a lead fired in a batch that is rolled back comes due again")
    func rollBackFired() {
        var book = OfferBook(open: [lead("a", due: 100), lead("b", due: 500)])
        #expect(book.takeDue(now: 150, limit: 10) == ["a"])
        book.put(lead("a", due: nil, state: .vendorSales), generation: 7)
        #expect(book.takeDue(now: 150, limit: 10) == [])
        book.rollBack(from: 7)
        #expect(book["a"] == lead("a", due: 100))
        #expect(book.takeDue(now: 150, limit: 10) == ["a"])
        // Fired again and moved on: the new deadline replaces the old one.
        book.put(lead("a", due: 900, partner: "q"), generation: 8)
        book.rollBack(from: 8)
        #expect(book.takeDue(now: 150, limit: 10) == ["a"])
        #expect(book.nextDeadline == 500)
    }

    @Test("forget drops a stored batch's undo records; later batches can still be undone")
    func forget() {
        var book = OfferBook()
        book.put(lead("a", due: 100), generation: 1)
        book.put(lead("b", due: 200), generation: 2)
        book.put(lead("a", due: 300), generation: 3)
        book.forget(through: 1)
        book.rollBack(from: 1)
        // Only batches 2 and 3 are undone: batch 1 is stored, and its change stays.
        #expect(book.openCases == [lead("a", due: 100)])
        book.forget(through: 5)
        book.put(lead("a", due: nil, state: .won), generation: 6)
        book.forget(through: 6)
        book.rollBack(from: 6)
        #expect(book.count == 0)
    }

    @Test(
        "every state's case reads back from its stored form",
        arguments: MachineState.allCases)
    func roundTrip(state: MachineState) {
        var lead = state.lead
        expectRoundTrip(lead)
        lead.registered = true
        lead.stage = .proposal
        lead.vendorRoles = [.closer, .coSeller]
        lead.pool = ["q-1", "r-2"]
        expectRoundTrip(lead)
    }

    @Test("a stored form without a state, or with an unknown one, is not a case; unknown keys are skipped")
    func badStoredForms() {
        #expect(LeadCase(leadID: "l", encoded: "a=a-1;o=1") == nil)
        #expect(LeadCase(leadID: "l", encoded: "s=sleeping;a=a-1") == nil)
        #expect(LeadCase(leadID: "l", encoded: "s=offered;garbage") == nil)
        let later = LeadCase(leadID: "l", encoded: "s=accepted;a=a-1;o=1;p=p;zz=later")
        #expect(later == LeadCase(leadID: "l", assignmentID: "a-1", state: .accepted, partnerID: "p", offers: 1))
    }
}
