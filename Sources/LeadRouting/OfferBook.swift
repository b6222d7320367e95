/// The cases that wait on a deadline (offers, pools, follow-ups), in memory with their
/// deadlines in a heap: the earliest is known in O(1), so a million open offers cost
/// routing nothing. Cases without a deadline live in the store only.
///
/// Changes are journaled per batch (``generation``), like the pipeline's, so a batch whose
/// commit fails is undone (``rollBack(from:)``) without copying the book.
public struct OfferBook: Sendable {
    /// A `StringTable`, not a `Dictionary`: a million open offers are put in at start-up
    /// (hashed a word at a time, not with SipHash), and it holds no room for a value in its
    /// free slots.
    private var open = StringTable<LeadCase>()
    /// Each open case's deadline when it was set. An entry is stale once its case has gone
    /// or has another deadline (dropped when it reaches the top), so no second map of keys
    /// to deadlines is kept: a million open offers are scheduled in one O(n) heapify.
    private var heap = BinaryHeap<Due>()
    /// Cases whose heap entry ``takeDue(now:limit:)`` took: set again, even with the same
    /// deadline, they need a new one.
    private var taken = Set<String>()

    struct Due: Comparable, Sendable {
        var at: Int64
        var leadID: String
        static func < (a: Due, b: Due) -> Bool { a.at < b.at }
    }
    /// What each change replaced, oldest first: `(generation, lead id, the case before)`.
    private var journal: [(generation: Int, leadID: String, previous: LeadCase?)] = []

    public init() {}

    /// The cases read back at start-up, each lead once (the store's key). They are taken,
    /// not copied: with a million open offers, copying each case into the book and then
    /// destroying the list cost about a tenth of the start-up.
    public init(open cases: consuming [LeadCase]) {
        var entries: [Due] = []
        entries.reserveCapacity(cases.count)
        open = StringTable(minimumCapacity: cases.count) {
            while let lead = cases.popLast() {
                guard let deadline = lead.deadline else { continue }
                entries.append(Due(at: deadline, leadID: lead.leadID))
                return (lead.leadID, lead)
            }
            return nil
        }
        heap = BinaryHeap(entries)
    }

    /// The partners the open cases are offered to (or were last with), each once.
    public var partnerIDs: Set<String> {
        var seen = StringTable<Bool>()
        for entry in open.entries { if let partner = entry.value.partnerID { seen.set(true, forKey: partner) } }
        return Set(seen.entries.lazy.map(\.key))
    }

    /// How many cases wait on a deadline.
    public var count: Int { open.count }

    /// The open case of `leadID`, if it has one.
    public subscript(leadID: String) -> LeadCase? { open[leadID] }

    /// The earliest deadline (milliseconds since 1970).
    public var nextDeadline: Int64? {
        mutating get {
            dropStaleTop()
            return heap.first?.at
        }
    }

    /// Records the case as changed by the batch `generation`: kept while it has a deadline,
    /// dropped from memory once it has none (the store has it).
    public mutating func put(_ lead: LeadCase, generation: Int) {
        // The lead id hashed and looked up once, for the journal and the change alike.
        let hash = open.hash(lead.leadID)
        let at = open.index(of: lead.leadID, hash: hash)
        journal.append((generation, lead.leadID, at.map { open[position: $0] }))
        set(lead.leadID, lead.isOpen ? lead : nil, hash: hash, at: at)
    }

    /// Up to `limit` lead ids whose deadline is at or before `now`, earliest first. They
    /// leave the heap; ``put(_:generation:)`` of the fired case schedules its next deadline.
    public mutating func takeDue(now: Int64, limit: Int) -> [String] {
        var due: [String] = []
        while due.count < limit {
            dropStaleTop()
            guard let top = heap.first, top.at <= now else { break }
            heap.popFirst()
            if taken.insert(top.leadID).inserted { due.append(top.leadID) }
        }
        return due
    }

    private mutating func dropStaleTop() {
        while let top = heap.first, open[top.leadID]?.deadline != top.at { heap.popFirst() }
    }

    /// Puts back the deadlines of cases taken by ``takeDue(now:limit:)`` but not handled.
    public mutating func reschedule(_ leadIDs: [String]) {
        for leadID in leadIDs where taken.remove(leadID) != nil {
            if let deadline = open[leadID]?.deadline { heap.push(Due(at: deadline, leadID: leadID)) }
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

    /// Brings forward to `now` the deadline of every lead offered to one of `partners` (a
    /// reload removed them, or they are gone from the config at start-up), so the lead moves
    /// on at once rather than wait for a partner that can no longer accept. Returns their ids.
    @discardableResult
    public mutating func expedite(offeredTo partners: Set<String>, now: Int64, generation: Int) -> [String] {
        guard !partners.isEmpty else { return [] }
        let waiting = open.entries.compactMap { entry -> LeadCase? in
            let lead = entry.value
            return lead.state == .offered && lead.partnerID.map(partners.contains) == true && (lead.deadline ?? now) > now ? lead : nil
        }
        for lead in waiting {
            var sooner = lead
            sooner.deadline = now
            put(sooner, generation: generation)
        }
        return waiting.map(\.leadID).sorted()
    }

    /// Every open case, soonest deadline first (for listings).
    public var openCases: [LeadCase] {
        open.entries.map(\.value).sorted { ($0.deadline ?? 0, $0.leadID) < ($1.deadline ?? 0, $1.leadID) }
    }

    private mutating func set(_ leadID: String, _ lead: LeadCase?) {
        let hash = open.hash(leadID)
        set(leadID, lead, hash: hash, at: open.index(of: leadID, hash: hash))
    }

    /// ``set(_:_:)`` with `leadID`'s hash in ``open`` and its entry's position there (`nil`: none).
    private mutating func set(_ leadID: String, _ lead: LeadCase?, hash: UInt64, at: Int?) {
        let previous = at.flatMap { open[position: $0].deadline }
        // Taken entries are few (only those fired and not yet handled): no hash when none.
        let wasTaken = !taken.isEmpty && taken.remove(leadID) != nil
        if let lead, let deadline = lead.deadline {
            if let at { open[position: at] = lead } else { open.updateValue(lead, forKey: leadID, hash: hash) }
            // A deadline taken off the heap (takeDue) and set again needs its entry back.
            if wasTaken || previous != deadline { heap.push(Due(at: deadline, leadID: leadID)) }
        } else if at != nil {
            open.removeValue(forKey: leadID, hash: hash)
        }
        // Bound the stale entries that moved deadlines leave behind.
        if heap.count > 64 && heap.count > 2 * open.count {
            let open = self.open
            heap.filter { open[$0.leadID]?.deadline == $0.at }
        }
    }
}
