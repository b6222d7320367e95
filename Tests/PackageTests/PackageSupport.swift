import Foundation

struct PackageTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a finished command printed, and how it ended.
struct CommandResult: CustomStringConvertible {
    let command: [String]
    let status: Int32
    let stdout: String
    let stderr: String

    var description: String {
        "`\(command.joined(separator: " "))` exited \(status)\nstdout:\n\(stdout.suffix(4000))\nstderr:\n\(stderr.suffix(4000))"
    }
}

/// Runs `command` (an absolute path, or a name looked up in PATH) to the end. Its output goes to
/// files, so that no pipe can fill and stall it.
func runCommand(_ command: [String], environment: [String: String]? = nil) throws -> CommandResult {
    let scratch = try ScratchDirectory()
    let outPath = scratch.file("stdout"), errPath = scratch.file("stderr")
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    if let environment { process.environment = environment }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    try process.run()
    process.waitUntilExit()
    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return CommandResult(command: command, status: process.terminationStatus, stdout: text(outPath), stderr: text(errPath))
}

/// Runs `command` and returns its standard output; a non-zero exit is an error.
func output(_ command: [String]) throws -> String {
    let result = try runCommand(command)
    guard result.status == 0 else { throw PackageTestError(result.description) }
    return result.stdout
}

/// A fresh directory under /tmp, removed when the value is dropped.
final class ScratchDirectory: Sendable {
    let path: String
    init() throws {
        path = "/tmp/lr-package-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The package under test: `LEADROUTER_DEB`, which scripts/test sets after running
/// scripts/package. Unset is a failure, never a skip: building a release inside the tests
/// would take minutes and fight `swift test` for the build directory.
enum PackageUnderTest {
    static func path() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["LEADROUTER_DEB"], !path.isEmpty else {
            throw PackageTestError("""
                LEADROUTER_DEB is unset. Run the tests through scripts/test, which builds the package \
                with scripts/package first, or: LEADROUTER_DEB=$(scripts/package) swift test --filter PackageTests
                """)
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw PackageTestError("LEADROUTER_DEB=\(path): no such file")
        }
        return path
    }

    /// One control field, such as `Depends`.
    static func field(_ name: String) throws -> String {
        try output(["dpkg-deb", "--field", path(), name]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The package's files unpacked (`dpkg -x`) into a fresh directory, as they would be under `/`.
    static func unpacked() throws -> ScratchDirectory {
        let root = try ScratchDirectory()
        _ = try output(["dpkg", "-x", path(), root.path])
        return root
    }

    /// The package unpacked once, for the tests that only read it: a directory removed when the
    /// test process exits.
    static func sharedUnpacked() throws -> String {
        try shared.get()
    }

    private static let shared: Result<String, PackageTestError> = {
        let path = "/tmp/lr-package-shared-\(getpid())"
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            atexit { try? FileManager.default.removeItem(atPath: "/tmp/lr-package-shared-\(getpid())") }
            _ = try output(["dpkg", "-x", PackageUnderTest.path(), path])
            return .success(path)
        } catch {
            return .failure(PackageTestError("\(error)"))
        }
    }()

    /// The names in a `Depends` line, without versions or alternatives' bars.
    static func dependencyNames(_ depends: String) -> Set<String> {
        Set(depends.split(whereSeparator: { $0 == "," || $0 == "|" }).compactMap {
            $0.split(separator: " ").first.map(String.init)
        })
    }
}

/// The repository's root (for the files the package is built from).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The shared libraries `binary` names as NEEDED, each with the path the dynamic loader resolves
/// it to (from `ldd`; nil: not found).
func neededLibraries(_ binary: String) throws -> [(name: String, path: String?)] {
    let dynamic = try output(["objdump", "-p", binary])
    let needed = dynamic.split(separator: "\n").compactMap { line -> String? in
        let words = line.split(separator: " ")
        return words.first == "NEEDED" && words.count == 2 ? String(words[1]) : nil
    }
    var resolved: [String: String] = [:]
    for line in try output(["ldd", binary]).split(separator: "\n") {
        // "libzmq.so.5 => /lib/x86_64-linux-gnu/libzmq.so.5 (0x…)", or for the dynamic loader
        // "/lib64/ld-linux-x86-64.so.2 (0x…)".
        let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: " => ")
        let target = parts.count == 2 ? parts[1] : parts[0]
        guard let path = target.split(separator: " ").first, path.hasPrefix("/") else { continue }
        let name = parts.count == 2 ? parts[0] : URL(fileURLWithPath: String(path)).lastPathComponent
        resolved[name] = String(path)
    }
    return needed.map { name in (name, resolved[name]) }
}

/// The Debian package that owns `path` (`dpkg -S`), without an `:arch` suffix. Under merged /usr
/// dpkg may know the file only by its other name (/lib or /usr/lib), so both are tried.
func owningPackage(_ path: String) throws -> String? {
    let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    var candidates = [path, real]
    for p in [path, real] {
        if p.hasPrefix("/usr/") { candidates.append(String(p.dropFirst(4))) } else { candidates.append("/usr" + p) }
    }
    for candidate in candidates {
        let result = try runCommand(["dpkg", "-S", candidate])
        guard result.status == 0, let line = result.stdout.split(separator: "\n").first,
              let owner = line.split(separator: ":").first else { continue }
        return String(owner)
    }
    return nil
}
