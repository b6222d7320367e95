import Foundation
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
