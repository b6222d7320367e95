import Foundation
import Testing

/// Package.resolved is not committed, so Package.swift pins every package: each one the
/// build resolved (Package.resolved, written by every build) must have an `exact:` pin at
/// the version resolved. A dependency added, or pulled in by an update, without a pin fails here.
@Suite("Dependencies: every resolved package is pinned exactly")
struct DependencyPinTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// What is wrong with the pins: a `from:` requirement, or a resolved package without an
    /// `exact:` pin at its resolved version.
    static func problems(manifest: String, resolved: Data) throws -> [String] {
        var pins: [String: String] = [:]
        for match in manifest.matches(of: /\.package\(url: "https:\/\/github\.com\/[^\/]+\/([^"]+?)(?:\.git)?", exact: "([^"]+)"\)/) {
            pins[match.output.1.lowercased()] = String(match.output.2)
        }
        var problems = manifest.contains("from: \"") ? ["a dependency is not pinned with exact:"] : []
        let object = try #require(try JSONSerialization.jsonObject(with: resolved) as? [String: Any])
        for package in try #require(object["pins"] as? [[String: Any]]) {
            let identity = try #require(package["identity"] as? String)
            let version = (package["state"] as? [String: Any])?["version"] as? String
            if pins[identity] != version { problems.append("\(identity): pinned \(pins[identity] ?? "-"), resolved \(version ?? "-")") }
        }
        return problems
    }

    @Test("every package in Package.resolved has an exact pin in Package.swift, at that version")
    func everyPackagePinned() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let resolved = try Data(contentsOf: Self.root.appendingPathComponent("Package.resolved"))
        #expect(manifest.matches(of: /exact: "/).count >= 10)
        #expect(try Self.problems(manifest: manifest, resolved: resolved) == [])
    }

    @Test("a package resolved without a pin, or at another version, is found")
    func unpinnedFound() throws {
        let manifest = #".package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),"#
        let resolved = Data(#"{"pins": [{"identity": "swift-log", "state": {"version": "1.16.3"}}, {"identity": "swift-system", "state": {"version": "1.8.1"}}]}"#.utf8)
        #expect(try Self.problems(manifest: manifest, resolved: resolved) == [
            "swift-log: pinned 1.16.2, resolved 1.16.3", "swift-system: pinned -, resolved 1.8.1",
        ])
        #expect(try Self.problems(manifest: #".package(url: "https://github.com/a/b.git", from: "1.0.0")"#, resolved: Data(#"{"pins": []}"#.utf8))
                == ["a dependency is not pinned with exact:"])
    }
}
