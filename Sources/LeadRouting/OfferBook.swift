/// The cases that wait on a deadline (offers, pools, follow-ups), in memory with their
/// deadlines in a heap: the earliest is known in O(1), so a million open offers cost
/// routing nothing. Cases without a deadline live in the store only.
///
/// Changes are journaled per batch (``generation``), like the pipeline's, so a batch whose
/// commit fails is undone (``rollBack(from:)``) without copying the book.
public struct OfferBook: Sendable {
    private var open: [String: LeadCase] = [:]
    private var deadlines = Deadlines<String, Int64>()
    /// What each change replaced, oldest first: `(generation, lead id, the case before)`.
    private var journal: [(generation: Int, leadID: String, previous: LeadCase?)] = []

    public init() {}

    /// The cases read back at start-up.
    public init(open cases: [LeadCase]) {
        open.reserveCapacity(cases.count)
        for lead in cases where lead.isOpen {
            open[lead.leadID] = lead
            deadlines.schedule(lead.leadID, at: lead.deadline!)
        }
    }

    /// How many cases wait on a deadline.
    public var count: Int { open.count }

    /// The open case of `leadID`, if it has one.
    public subscript(leadID: String) -> LeadCase? { open[leadID] }

    /// The earliest deadline (milliseconds since 1970).
    public var nextDeadline: Int64? { mutating get { deadlines.next } }

    /// Records the case as changed by the batch `generation`: kept while it has a deadline,
    /// dropped from memory once it has none (the store has it).
    public mutating func put(_ lead: LeadCase, generation: Int) {
        journal.append((generation, lead.leadID, open[lead.leadID]))
        set(lead.leadID, lead.isOpen ? lead : nil)
    }

    /// Up to `limit` lead ids whose deadline is at or before `now`, earliest first. They
    /// leave the heap; ``put(_:generation:)`` of the fired case schedules its next deadline.
    public mutating func takeDue(now: Int64, limit: Int) -> [String] {
        deadlines.takeDue(now: now, limit: limit).filter { open[$0] != nil }
    }

    /// Puts back the deadlines of cases taken by ``takeDue(now:limit:)`` but not handled.
    public mutating func reschedule(_ leadIDs: [String]) {
        for leadID in leadIDs {
            if let deadline = open[leadID]?.deadline, deadlines.deadline(of: leadID) == nil {
                deadlines.schedule(leadID, at: deadline)
            }
        }
    }

    /// Undoes every change of batches `generation` and later, newest first.
    public mutating func rollBack(from generation: Int) {
        while let last = journal.last, last.generation >= generation {
            journal.removeLast()
            set(last.leadID, last.previous)
        }
    }

    /// Forgets the undo records of batches up to `generation`, once stored.
    public mutating func forget(through generation: Int) {
        guard let first = journal.first, first.generation <= generation else { return }
        if let last = journal.last, last.generation <= generation {
            journal.removeAll(keepingCapacity: true)
        } else {
            journal.removeAll { $0.generation <= generation }
        }
    }

    /// Every open case, soonest deadline first (for listings).
    public var openCases: [LeadCase] {
        open.values.sorted { ($0.deadline ?? 0, $0.leadID) < ($1.deadline ?? 0, $1.leadID) }
    }

    private mutating func set(_ leadID: String, _ lead: LeadCase?) {
        if let lead, let deadline = lead.deadline {
            open[leadID] = lead
            if deadlines.deadline(of: leadID) != deadline { deadlines.schedule(leadID, at: deadline) }
        } else {
            open[leadID] = nil
            deadlines.cancel(leadID)
        }
    }
}
