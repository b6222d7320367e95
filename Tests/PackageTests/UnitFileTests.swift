import Foundation
import Testing

/// The systemd unit as the package installs it, checked by `systemd-analyze verify` against
/// the unpacked package (`--root`), so that its commands must exist where the package puts them.
@Suite("Debian package: systemd unit")
struct UnitFileTests {
    static let unit = "lib/systemd/system/leadrouterd.service"

    /// `systemd-analyze verify` of `unit` (a path inside `root`), dependencies not followed (the
    /// scratch root has no system units to satisfy them).
    static func verify(root: ScratchDirectory, unit: String) throws -> CommandResult {
        try runCommand(["systemd-analyze", "verify", "--recursive-errors=no", "--root=\(root.path)", "/" + unit])
    }

    /// The unpacked package, with the host's /bin/kill (procps, a dependency) for ExecReload.
    static func installedRoot() throws -> ScratchDirectory {
        let root = try PackageUnderTest.unpacked()
        try FileManager.default.createDirectory(atPath: root.file("bin"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/kill", toPath: root.file("bin/kill"))
        return root
    }

    @Test("runs /usr/bin/leadrouterd on /etc/leadrouter/leadrouter.yaml with the store in /var/lib/leadrouter; reload is SIGHUP")
    func commands() throws {
        let root = try PackageUnderTest.sharedUnpacked()
        let text = try String(contentsOfFile: root + "/" + Self.unit, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("Exec") } == [
            "ExecStartPre=/usr/bin/leadrouterd --config /etc/leadrouter/leadrouter.yaml --check",
            "ExecStart=/usr/bin/leadrouterd --config /etc/leadrouter/leadrouter.yaml --state-dir /var/lib/leadrouter",
            "ExecReload=/bin/kill -HUP $MAINPID",
        ])
        #expect(lines.filter { $0.hasPrefix("User=") || $0.hasPrefix("StateDirectory=") } == ["User=leadrouter", "StateDirectory=leadrouter"])
        #expect(!text.contains("/usr/local"), "a /usr/local path left in the installed unit")
    }

    @Test("systemd-analyze verify passes the installed unit")
    func verifies() throws {
        let root = try Self.installedRoot()
        let result = try Self.verify(root: root, unit: Self.unit)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "\(result)")
    }

    /// Without this, a verify that passed everything would pass the test above too.
    @Test("systemd-analyze verify fails copies of the unit broken in four ways")
    func failsBrokenCopies() throws {
        let root = try Self.installedRoot()
        let text = try String(contentsOfFile: root.file(Self.unit), encoding: .utf8)
        let breakages = [
            ("ExecStart=/usr/bin/leadrouterd ", "ExecStart=/usr/bin/leadrouterd-gone ", "leadrouterd-gone"),
            ("ExecReload=/bin/kill ", "ExecReload=/bin/kil ", "/bin/kil"),
            ("WatchdogSec=", "WatchdogSecs=", "WatchdogSecs"),
            ("Type=notify", "Type=notifyy", "notifyy"),
        ]
        for (number, (original, broken, named)) in breakages.enumerated() {
            #expect(text.contains(original))
            let copy = "lib/systemd/system/leadrouterd-broken\(number).service"
            try text.replacingOccurrences(of: original, with: broken).write(toFile: root.file(copy), atomically: true, encoding: .utf8)
            let result = try Self.verify(root: root, unit: copy)
            #expect(result.status != 0, "\(result)")
            #expect(result.stderr.contains(named), "\(result)")
        }
    }
}
