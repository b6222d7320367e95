import Foundation
import Testing
import ZeroMQ

@Suite("oversized frames", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct OversizedFrameTests {
    @Test("a frame above intake's hard cap: libzmq drops the sender, the log names the disconnect with the peer's address, and intake goes on taking leads")
    func oversizedIntakeFrameIsLogged() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let hardCap = 16 << 20  // max(16 MiB, 16 × max_message_bytes) with the harness's 64 KiB
        let sender = try TestRequester(endpoint: daemon.intake)
        try sender.socket.send([[], [UInt8](repeating: UInt8(ascii: "x"), count: hardCap + 1)])

        #expect(daemon.waitForLog("intake peer disconnected"), "no disconnect logged")
        let line = daemon.log.split(separator: "\n").first { $0.contains("intake peer disconnected") } ?? ""
        #expect(line.contains("peer=127.0.0.1:"), "the line names the peer: \(line)")
        #expect(line.contains("endpoint=\(daemon.intake)"), "the line names the endpoint: \(line)")

        let reply = try TestRequester(endpoint: daemon.intake).reply(lead("after-big", country: "US", region: "CO"))
        #expect(reply["status"] as? String == "accepted")
        #expect(daemon.terminate() == 0)
    }
}
