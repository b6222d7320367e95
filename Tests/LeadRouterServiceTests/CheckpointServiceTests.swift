import Foundation
@testable import LeadRouterService
import LeadRouterTesting
import LeadStore
import Logging
import Testing

@Suite("The checkpoint service's writeback thread")
struct CheckpointServiceTests {
    @Test("it starts the database file's writeback again and again until stopped, and never after")
    func writebackRunsUntilStopped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lr-ckpt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FaultInjectingStore(try LeadStore(directory: directory, syncLogOnRequest: true))
        let thread = CheckpointService.startingWriteback(store, logger: Logger(label: "test"), every: 0.005, after: nil)
        let deadline = Date().addingTimeInterval(10)
        while store.writebacksStarted < 5 && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        #expect(store.writebacksStarted >= 5)
        thread.stop()
        _ = thread.waitForResult()
        let atStop = store.writebacksStarted
        Thread.sleep(forTimeInterval: 0.1)
        #expect(store.writebacksStarted == atStop)
    }
}
