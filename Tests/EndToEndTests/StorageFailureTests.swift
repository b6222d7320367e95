import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whether this machine lets an ordinary user make a user and mount namespace (`unshare -rm`),
/// where a bind mount of the state dir can be made read-only without root.
let userNamespacesWork: Bool = {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
    return (try? run("/usr/bin/unshare", ["-rm", "/bin/true"], timeout: 30).status) == 0
}()

@Suite("Storage failures: damaged, unusable, read-only and full stores", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct StorageFailureTests {
    @Test("a damaged store is a clear error at start-up, never a silent fresh start")
    func corruptStore() throws {
        let dir = try TemporaryDirectory()
        let state = dir.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: state + "/leadrouter.sqlite"))
        let daemon = try Daemon(partnersYAML: partnersYAML, stateDir: state)
        #expect(daemon.waitForExit(timeout: 30) == 1)
        #expect(daemon.log.contains("damaged"), "\(daemon.log)")
        #expect(FileManager.default.contents(atPath: state + "/leadrouter.sqlite") == garbage)
        expectInDurabilityTable(daemon, stateDir: state)
    }

    @Test("a state_dir the daemon cannot use is a clear error at start-up")
    func unusableStateDir() throws {
        let dir = try TemporaryDirectory()
        let notADirectory = dir.file("file")
        try "x".write(toFile: notADirectory, atomically: true, encoding: .utf8)
        let daemon = try Daemon(partnersYAML: partnersYAML, stateDir: notADirectory)
        #expect(daemon.waitForExit(timeout: 30) == 1)
        #expect(daemon.log.contains("state_dir"), "\(daemon.log)")
        expectInDurabilityTable(daemon, stateDir: notADirectory)
    }

    @Test("a read-only state_dir is a clear error at start-up (a read-only bind mount in a user namespace: no root needed)",
          .enabled(if: userNamespacesWork))
    func readOnlyStateDir() throws {
        let dir = try TemporaryDirectory()
        let state = dir.file("ro")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let daemon = try Daemon(partnersYAML: partnersYAML, stateDir: state, start: false)
        // In a namespace of its own the daemon sees state_dir read-only, whoever runs the test.
        daemon.launcher = ["/usr/bin/unshare", "-rm", "/bin/sh", "-c",
                           #"mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@""#, state]
        try daemon.start()
        #expect(daemon.waitForExit(timeout: 30) == 1)
        #expect(daemon.log.contains("state_dir \(state) is not writable"), "\(daemon.log)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state).isEmpty)
        expectInDurabilityTable(daemon, stateDir: state)
    }

    /// What the daemon printed before exiting 1 is in durability.md's table of start-up failures.
    private func expectInDurabilityTable(_ daemon: Daemon, stateDir: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let printed = daemon.log.split(separator: "\n").first { $0.hasPrefix("leadrouterd: ") }.map(String.init) ?? "(nothing printed)"
        DocTable.expectDocumented(printed.replacingOccurrences(of: stateDir, with: "/var/lib/leadrouter"), in: "docs/durability.md", sourceLocation: sourceLocation)
    }

    @Test("a full store at run time (RLIMIT_FSIZE: writes fail with EFBIG, no root needed): intake answers storage_unavailable, SUB leads are reported, and routing resumes by itself when writes succeed again",
          arguments: DurabilityTests.commitModes)
    func diskFull(extraYAML: String) throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: extraYAML, start: false)
        daemon.fileSizeLimit = 1 << 20
        try daemon.start()
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        #expect(try intake.reply(lead("df-0", country: "DE"))["status"] as? String == "accepted")

        var refused: [String: Any] = [:]
        var refusedID = ""
        // Full for good: a refusal, and a checkpoint that fails after it because the database
        // file is at the limit too. Until then a checkpoint can copy the whole log back and the
        // next commit start the log afresh, so the store takes writes again (as it should);
        // then more leads fill it further. One refusal a round keeps the daemon's failure
        // lines under its rate limit, so the SUB lead's below is logged.
        for i in 1...4000 {
            let reply = try intake.reply(lead("df-\(i)", country: "DE", extra: #", "pad": "\#(String(repeating: "p", count: 3000))""#))
            if reply["status"] as? String == "rejected" {
                (refused, refusedID) = (reply, "df-\(i)")
                if daemon.waitForLog("checkpoint failed", timeout: 2) { break }
                continue
            }
            try #require(reply["status"] as? String == "accepted", "\(reply)")
        }
        try #require(daemon.log.contains("checkpoint failed"), "no checkpoint failed: the database file never reached the limit")
        let error = try #require(refused["error"] as? [String: Any], "the store never hit the file size limit")
        #expect(error["code"] as? String == "storage_unavailable")
        #expect(refused["lead_id"] as? String == refusedID)

        // A SUB-ingested lead meanwhile is reported in the log; the daemon keeps running.
        let source = try TestSource(endpoint: daemon.ingest)
        try source.sendLead(lead("df-sub", country: "DE", extra: #", "pad": "\#(String(repeating: "p", count: 3000))""#))
        #expect(daemon.waitForLog("df-sub"))
        #expect(daemon.process.isRunning)

        // The limit goes: the refused lead goes through on a retry, with no restart.
        let lift = try run("/usr/bin/prlimit", ["--pid", "\(daemon.process.processIdentifier)", "--fsize=unlimited:unlimited"])
        try #require(lift.status == 0, "\(lift.stderr)")
        let retried = try intake.reply(lead(refusedID, country: "DE"))
        #expect(retried["status"] as? String == "accepted", "\(retried)")
        let ids = try TestRequester(endpoint: daemon.replay).replayAll("partner/globex/").map { jsonObject($0)["lead_id"] as? String ?? "" }
        #expect(ids.last == refusedID)
        #expect(Set(ids).count == ids.count)
        #expect(daemon.terminate() == 0)
    }

    @Test("a really full file system (a 2 MiB tmpfs in a user and mount namespace, no root needed): the intake reply and the log line say the disk is full, as protocol.md and durability.md show",
          .enabled(if: userNamespacesWork))
    func fullFileSystem() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, start: false)
        daemon.launcher = ["/usr/bin/unshare", "-rm", "/bin/sh", "-c",
                           #"mkdir -p "$0" && mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@""#, daemon.stateDir]
        // The tmpfs, endpoints.json included, is seen only in the daemon's mount namespace.
        daemon.endpointsRoot = { "/proc/\($0)/root" }
        try daemon.start()
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        var refused = ""
        for i in 1...2000 where refused.isEmpty {
            let frames = try intake.request(json: lead("df-\(i)", country: "DE", extra: #", "pad": "\#(String(repeating: "p", count: 3000))""#))
            let reply = jsonObject(frames.first ?? [])
            if reply["status"] as? String == "rejected" { refused = String(decoding: frames.first ?? [], as: UTF8.self) }
            try #require(reply["status"] as? String != nil, "\(reply)")
        }
        try #require(!refused.isEmpty, "the tmpfs never filled up")
        let source = try TestSource(endpoint: daemon.ingest)
        try source.sendLead(lead("df-sub", country: "DE", extra: #", "pad": "\#(String(repeating: "p", count: 3000))""#))
        #expect(daemon.waitForLog("ingest_leads_not_routed=df-sub"))
        func documented(_ text: String) -> String {
            text.replacingOccurrences(of: daemon.stateDir, with: "/var/lib/leadrouter")
                .replacingOccurrences(of: #""df-[0-9]+""#, with: #""df-1""#, options: .regularExpression)
        }
        try DocExample.named("disk-full-reply").expectMatches([documented(refused)], what: "the intake reply on a full disk")
        let line = daemon.log.split(separator: "\n").first { $0.contains("ingest_leads_not_routed=df-sub") }.map(String.init) ?? "(no such line)"
        try DocExample.named("disk-full-log").expectMatches([documented(line)], what: "the log line of a SUB lead on a full disk")
        #expect(daemon.process.isRunning)
        #expect(daemon.terminate() == 0)
    }
}
