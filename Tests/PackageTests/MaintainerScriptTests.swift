import Foundation
import Testing

/// The maintainer scripts, run for real: dpkg installs, upgrades, removes and purges the package
/// in a scratch root (`--root`, with the scripts run outside a chroot and DPKG_ROOT set, which
/// they honour), so the host's users, units and dpkg database are never touched.
@Suite("Debian package: install, remove, purge")
struct MaintainerScriptTests {
    /// A root with an empty dpkg database.
    static func emptyRoot() throws -> ScratchDirectory {
        let root = try ScratchDirectory()
        for directory in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
            try FileManager.default.createDirectory(atPath: root.file(directory), withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: root.file("var/lib/dpkg/status"), contents: nil)
        return root
    }

    /// dpkg on `root`. --force-depends: the scratch root's database has none of the libraries;
    /// --force-not-root: so that the test also runs as an ordinary user.
    static func dpkg(_ root: ScratchDirectory, _ arguments: [String]) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
        return try runCommand(["dpkg", "--root=\(root.path)", "--force-script-chrootless", "--force-depends",
                               "--force-not-root", "--log=/dev/null"] + arguments, environment: environment)
    }

    static func exists(_ root: ScratchDirectory, _ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        // A dangling symbolic link counts: attributesOfItem does not follow it.
        return FileManager.default.fileExists(atPath: root.file(path), isDirectory: &isDirectory)
            || (try? FileManager.default.attributesOfItem(atPath: root.file(path))) != nil
    }

    @Test("install creates the leadrouter user; a reinstall (upgrade) succeeds; remove keeps the store, config and user; purge deletes the store only")
    func lifecycle() throws {
        let root = try Self.emptyRoot()
        let deb = try PackageUnderTest.path()
        for _ in 0..<2 {
            let install = try Self.dpkg(root, ["--install", deb])
            #expect(install.status == 0, "\(install)")
        }
        let passwd = (try? String(contentsOfFile: root.file("etc/passwd"), encoding: .utf8)) ?? ""
        #expect(passwd.split(separator: "\n").contains {
            $0.hasPrefix("leadrouter:x:") && $0.hasSuffix(":LeadRouter daemon:/var/lib/leadrouter:/usr/sbin/nologin")
        }, "no leadrouter user in etc/passwd:\n\(passwd)")
        #expect(Self.exists(root, "usr/bin/leadrouterd"))
        try makeItLived(root)

        let remove = try Self.dpkg(root, ["--remove", "leadrouter"])
        #expect(remove.status == 0, "\(remove)")
        for gone in ["usr/bin/leadrouterd", "usr/bin/leadctl", "lib/systemd/system/leadrouterd.service",
                     "usr/lib/sysusers.d/leadrouter.conf", "usr/share/doc/leadrouter"] {
            #expect(!Self.exists(root, gone), "\(gone) left after remove")
        }
        for kept in ["var/lib/leadrouter/leadrouter.sqlite", "etc/leadrouter/leadrouter.yaml", "etc/leadrouter/keys/acme.key"] {
            #expect(Self.exists(root, kept), "\(kept) deleted by remove")
        }
        let config = try String(contentsOfFile: root.file("etc/leadrouter/leadrouter.yaml"), encoding: .utf8)
        #expect(config.hasSuffix("# edited by the operator\n"))

        let purge = try Self.dpkg(root, ["--purge", "leadrouter"])
        #expect(purge.status == 0, "\(purge)")
        for gone in ["var/lib/leadrouter", "etc/leadrouter/leadrouter.yaml",
                     "etc/systemd/system/multi-user.target.wants/leadrouterd.service"] {
            #expect(!Self.exists(root, gone), "\(gone) left after purge")
        }
        #expect(Self.exists(root, "etc/leadrouter/keys/acme.key"), "purge deleted a file the operator made")
        let passwdAfter = (try? String(contentsOfFile: root.file("etc/passwd"), encoding: .utf8)) ?? ""
        #expect(passwdAfter.contains("leadrouter:x:"), "purge removed the leadrouter user")
    }

    /// What a running installation accumulates: a store, an edited config, a key of the
    /// operator's, and the link `systemctl enable` makes.
    private func makeItLived(_ root: ScratchDirectory) throws {
        let manager = FileManager.default
        for directory in ["var/lib/leadrouter", "etc/leadrouter/keys", "etc/systemd/system/multi-user.target.wants"] {
            try manager.createDirectory(atPath: root.file(directory), withIntermediateDirectories: true)
        }
        _ = manager.createFile(atPath: root.file("var/lib/leadrouter/leadrouter.sqlite"), contents: Data("leads".utf8))
        _ = manager.createFile(atPath: root.file("etc/leadrouter/keys/acme.key"), contents: Data("public-key".utf8))
        let config = try FileHandle(forWritingTo: URL(fileURLWithPath: root.file("etc/leadrouter/leadrouter.yaml")))
        try config.seekToEnd()
        try config.write(contentsOf: Data("# edited by the operator\n".utf8))
        try config.close()
        try manager.createSymbolicLink(atPath: root.file("etc/systemd/system/multi-user.target.wants/leadrouterd.service"),
                                       withDestinationPath: "/lib/systemd/system/leadrouterd.service")
    }
}
