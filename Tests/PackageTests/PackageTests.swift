import Foundation
import LeadRouting
import Testing

/// The Debian package scripts/package builds, as an operator meets it: its control data, its
/// files, its binaries run from where it installs them, its unit, and its maintainer scripts.
@Suite("Debian package")
struct PackageTests {
    @Test("control: leadrouter, this source's version, this machine's architecture, the config as a conffile")
    func controlData() throws {
        #expect(try PackageUnderTest.field("Package") == "leadrouter")
        #expect(try PackageUnderTest.field("Version") == LeadRouterVersion.current)
        let architecture = try output(["dpkg", "--print-architecture"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try PackageUnderTest.field("Architecture") == architecture)
        #expect(try output(["dpkg-deb", "--info", PackageUnderTest.path(), "conffiles"]) == "/etc/leadrouter/leadrouter.yaml\n")
        let info = try output(["dpkg-deb", "--info", PackageUnderTest.path()])
        for script in ["postinst", "prerm", "postrm"] {
            // dpkg-deb --info marks an executable control file with `*`.
            #expect(info.contains("*  \(script) "), "\(script) missing or not executable:\n\(info)")
        }
    }

    @Test("the installed leadrouterd and leadctl print the package's version")
    func binariesPrintTheVersion() throws {
        let root = try PackageUnderTest.sharedUnpacked()
        let version = try PackageUnderTest.field("Version")
        for program in ["leadrouterd", "leadctl"] {
            #expect(try output(["\(root)/usr/bin/\(program)", "--version"]) == version + "\n")
        }
    }

    @Test("Depends is exactly the packages of the libraries the binaries load, and procps; nothing from the Swift toolchain")
    func dependsMatchTheLibraries() throws {
        let root = try PackageUnderTest.sharedUnpacked()
        var owners: Set<String> = ["procps"]  // /bin/kill, for the unit's ExecReload
        for program in ["leadrouterd", "leadctl"] {
            let binary = "\(root)/usr/bin/\(program)"
            let dynamic = try output(["objdump", "-p", binary])
            #expect(!dynamic.contains("RPATH") && !dynamic.contains("RUNPATH"), "\(program) has a library search path")
            let ldd = try output(["ldd", binary])
            #expect(!ldd.contains("not found") && !ldd.contains("/opt/swift"), "\(program):\n\(ldd)")
            for library in try neededLibraries(binary) {
                #expect(!["swift", "Foundation", "dispatch", "BlocksRuntime"].contains { library.name.contains($0) },
                        "\(program) loads \(library.name): the Swift runtime must be linked in")
                guard let path = library.path, let owner = try owningPackage(path) else {
                    Issue.record("\(program): \(library.name) is not from a Debian package (\(library.path ?? "not found"))")
                    continue
                }
                owners.insert(owner)
            }
        }
        let depends = try PackageUnderTest.field("Depends")
        #expect(PackageUnderTest.dependencyNames(depends) == owners, "Depends: \(depends)")
        for expected in ["libc6", "libgcc-s1", "libstdc++6", "libzmq5", "libsqlite3-0"] {
            #expect(owners.contains(expected), "\(expected) not among \(owners.sorted())")
        }
        #expect(owners.contains { $0.hasPrefix("libsimdjson") }, "no libsimdjson among \(owners.sorted())")
    }

    @Test("files: where each one goes, owned by root, with its mode; nothing else")
    func files() throws {
        var expected = [
            "./usr/bin/leadrouterd": "-rwxr-xr-x", "./usr/bin/leadctl": "-rwxr-xr-x",
            "./lib/systemd/system/leadrouterd.service": "-rw-r--r--",
            "./usr/lib/sysusers.d/leadrouter.conf": "-rw-r--r--",
            "./etc/leadrouter/leadrouter.yaml": "-rw-r--r--",
            "./usr/share/doc/leadrouter/copyright": "-rw-r--r--",
            "./usr/share/doc/leadrouter/README.md": "-rw-r--r--",
        ]
        for (directory, suffix) in [("docs", ".md"), ("docs/examples", "")] {
            let names = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent(directory).path)
            for name in names where name.hasSuffix(suffix) && !name.hasPrefix(".") && name != "examples" {
                expected["./usr/share/doc/leadrouter/\(directory)/\(name)"] = "-rw-r--r--"
            }
        }
        var files: [String: String] = [:]
        for line in try output(["dpkg-deb", "--contents", PackageUnderTest.path()]).split(separator: "\n") {
            // "-rw-r--r-- root/root      5538 2026-12-04 22:00 ./etc/leadrouter/leadrouter.yaml"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6 else { continue }
            #expect(fields[1] == "root/root", "\(line)")
            if fields[0].hasPrefix("-") { files[String(fields[5])] = String(fields[0]) }
        }
        #expect(files == expected)
        let root = try PackageUnderTest.sharedUnpacked()
        for (installed, source) in [("usr/lib/sysusers.d/leadrouter.conf", "systemd/leadrouter.sysusers.conf"),
                                    ("usr/share/doc/leadrouter/README.md", "README.md"),
                                    ("usr/share/doc/leadrouter/copyright", "packaging/copyright")] {
            #expect(FileManager.default.contents(atPath: "\(root)/\(installed)")
                    == FileManager.default.contents(atPath: repositoryRoot.appendingPathComponent(source).path), "\(installed)")
        }
    }

    @Test("the installed config passes the installed leadrouterd's --check, without the toolchain; its store is /var/lib/leadrouter")
    func installedConfigChecks() throws {
        let root = try PackageUnderTest.sharedUnpacked()
        let config = "\(root)/etc/leadrouter/leadrouter.yaml"
        let check = try runCommand(["\(root)/usr/bin/leadrouterd", "--config", config, "--check"],
                                   environment: ["PATH": "/usr/bin:/bin"])
        #expect(check.status == 0, "\(check)")
        #expect(check.stderr.isEmpty, "\(check)")
        #expect(check.stdout.hasPrefix("\(config): valid: 6 partners, 5 active ("), "\(check)")
        #expect(check.stdout.split(separator: "\n").count == 1, "\(check)")
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(text.hasPrefix("# LeadRouter configuration, installed by the leadrouter package."))
        #expect(text.contains("\nstate_dir: /var/lib/leadrouter\n"))
        #expect(!text.contains("Config/leadrouter.yaml"), "a repository path left in the installed config")
    }

    @Test("the README's install command and Depends line are this version's (on amd64, the README's example)")
    func readmeIsCurrent() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("sudo apt install ./leadrouter_\(LeadRouterVersion.current)_amd64.deb\n"))
        if try PackageUnderTest.field("Architecture") == "amd64" {
            let depends = try PackageUnderTest.field("Depends")
            #expect(readme.contains("On Debian 12 (amd64): `\(depends)`."), "README.md lacks the Depends line \(depends)")
        }
    }
}
