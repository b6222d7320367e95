import CSQLiteSetup
import Foundation
import GRDB
import GRDBSQLite
import LeadRouting
import LeadStore
import Testing

// What the store keeps for operators: run-time registrations and their withdrawal.

@Test("withdrawing a run-time registration removes it and changes the version, even when it was the newest row")
func withdrawingARegistrationChangesTheVersion() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let first = Registration(partnerID: "acme", domain: "acme.example", expires: 2_000_000_000_000)
            let second = Registration(partnerID: "globex", domain: "globex.example", expires: 2_000_000_000_000)
            try store.addRegistration(first, now: 1)
            try store.addRegistration(second, now: 2)
            let before = try store.registrationsVersion()
            // The newest row goes: the largest id falls back, and the version must still move.
            #expect(try store.withdrawRegistrations(partnerID: "globex", domain: "globex.example") == [second])
            let afterWithdrawal = try store.registrationsVersion()
            #expect(afterWithdrawal != before)
            #expect(try store.registrations() == [first])
            // Nothing matched: nothing changes, not even the version.
            #expect(try store.withdrawRegistrations(partnerID: "acme", domain: "globex.example").isEmpty)
            #expect(try store.registrationsVersion() == afterWithdrawal)
            // Adding again after the withdrawal reuses the row id: the version moves all the same.
            try store.addRegistration(second, now: 3)
            #expect(try store.registrationsVersion() != afterWithdrawal)
            #expect(try store.registrationsVersion() != before)
        }
    }
}

@Test("partner lists: the current one stays; a retired one goes once no stored lead can name it, pruned with the leads")
func retiredPartnerListsArePruned() throws {
    let day: Int64 = 86_400_000
    let t0: Int64 = 1_700_000_000_000
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let first = try store.partnerListID(["acme", "beta"], now: t0)
            try store.commit(batch(leads: [storedLead("a1", routedAt: t0 + 1), storedLead("a2", routedAt: t0 + day)]))
            // A restart with another partner list retires the first, as of then.
            let second = try store.partnerListID(["acme", "beta", "gamma"], now: t0 + 2 * day)
            #expect(second != first)
            #expect(try store.currentPartnerList() == ["acme", "beta", "gamma"])
            try store.commit(batch(leads: [storedLead("b1", routedAt: t0 + 3 * day)]))
            #expect(try store.partnerListCount() == 2)

            // a1 goes, a2 (routed with the first list) stays: so does the list.
            _ = try store.prune(olderThan: t0 + day / 2, limit: 1000, expiredBefore: nil)
            #expect(try store.leadCount() == 2)
            #expect(try store.partnerList(first) == ["acme", "beta"])
            // a2 goes too: nothing can name the first list any more; the current one stays.
            _ = try store.prune(olderThan: t0 + 2 * day + 1, limit: 1000, expiredBefore: nil)
            #expect(try store.leadCount() == 1)
            #expect(try store.partnerList(first) == nil)
            #expect(try store.partnerList(second) == ["acme", "beta", "gamma"])
            // Pruning every lead leaves the current list alone.
            _ = try store.prune(olderThan: t0 + 10 * day, limit: 1000, expiredBefore: nil)
            #expect(try store.partnerListCount() == 1)
            #expect(try store.currentPartnerList() == ["acme", "beta", "gamma"])
        }
    }
}

@Test("a lead routed with a retired list but stored just after it was retired keeps the list")
func aListStaysForLeadsCommittedAfterItsRetirement() throws {
    let t0: Int64 = 1_700_000_000_000
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let old = try store.partnerListID(["acme"], now: t0)
            try store.commit(batch(leads: [storedLead("x1", routedAt: t0 + 10)]))
            _ = try store.partnerListID(["acme", "beta"], now: t0 + 100)
            // Routed at t0 + 50 with the old list, committed once the new one was current.
            try store.commit(batch(leads: [storedLead("x2", routedAt: t0 + 50), storedLead("x3", routedAt: t0 + 200)]))
            _ = try store.prune(olderThan: t0 + 20, limit: 1000, expiredBefore: nil)
            #expect(try store.leadCount() == 2)
            #expect(try store.partnerList(old) == ["acme"])
            _ = try store.prune(olderThan: t0 + 60, limit: 1000, expiredBefore: nil)
            #expect(try store.partnerList(old) == nil)
        }
    }
}

@Test("rejections are found by the lead_id stored beside them, through their own index, oldest first")
func rejectionsAreFoundByLeadID() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let first = message("rejected/", 1), unreadable = message("rejected/", 2), second = message("rejected/", 3)
            try store.commit(batch(envelopes: [first, unreadable], leadIDs: ["web-9", nil]))
            try store.commit(batch(leads: [storedLead("web-9")], envelopes: [message("partner/acme/", 1), second],
                                   leadIDs: ["web-9", "web-9"]))
            #expect(try store.rejections(leadID: "web-9") == [first, second])
            #expect(try store.rejections(leadID: "web-10").isEmpty)
        }
        let plan = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT seq, envelope FROM envelopes
                WHERE topic = 'rejected/' AND lead_id IS NOT NULL AND lead_id = ? ORDER BY id
                """, arguments: ["web-9"]).map { $0["detail"] as String? ?? "" }.joined(separator: "; ")
        }
        #expect(plan.contains("envelopes_rejected_lead_id"), "\(plan)")
    }
}
