import ArgumentParser
import Foundation
import LeadRouterConfigFile
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new CURVE key pair: NAME.key (the public certificate, to hand out) and NAME.key_secret (mode 0600).",
        discussion: """
            The czmq / pyzmq certificate format (zmq.auth.create_certificates writes and \
            zmq.auth.load_certificate reads it). Name the files in the config: the server's \
            NAME.key_secret as security.server_key, a client's NAME.key in its keys. Never \
            overwrites a file: exit 1 if either exists.
            """)

    @Argument(help: "The pair's name, such as server or acme: letters, digits, '.', '_' and '-'.")
    var name: String

    @Option(help: "The directory to write the files in, created with its parents if missing.")
    var dir: String = "."

    func validate() throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard let first = name.first, first != ".", first != "-", name.allSatisfy(allowed.contains) else {
            throw ValidationError("NAME must be letters, digits, '.', '_' and '-', not starting with '.' or '-', got \"\(name)\"")
        }
    }

    func run() throws {
        let base = dir.hasSuffix("/") ? dir + name : dir + "/" + name
        let publicPath = base + ".key", secretPath = base + ".key_secret"
        for path in [publicPath, secretPath] where FileManager.default.fileExists(atPath: path) {
            throw fail("\(path) already exists; keygen never overwrites a key: remove it or choose another NAME")
        }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw fail("cannot create the directory \(dir): \(error.localizedDescription)")
        }
        let pair: CurveKeyPair
        do {
            pair = try CurveKeyPair.generate()
        } catch {
            throw fail("cannot generate a key pair: \(error)")
        }
        let now = Date()
        let secret = CurveCertificate(publicKey: pair.publicKey.z85, secretKey: pair.secretKey.z85)
        let publicCertificate = CurveCertificate(publicKey: pair.publicKey.z85)
        try writeNew(secretPath, secret.fileText(generatedAt: now), mode: 0o600)
        do {
            try writeNew(publicPath, publicCertificate.fileText(generatedAt: now), mode: 0o644)
        } catch {
            unlink(secretPath)
            throw error
        }
        print("public certificate: \(publicPath)")
        print("secret certificate: \(secretPath)")
        print("public key: \(pair.publicKey.z85)")
    }

    /// Creates `path` (refusing an existing one) with `mode` from the start, whatever the umask,
    /// writes `text` and syncs it.
    private func writeNew(_ path: String, _ text: String, mode: mode_t) throws {
        var fd: Int32
        repeat { fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { throw fail("\(path) already exists; keygen never overwrites a key: remove it or choose another NAME") }
            throw fail("cannot create \(path): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var failure: Int32 = 0
        // The umask may have taken bits away (never added any): set exactly `mode`.
        if fchmod(fd, mode) != 0 { failure = errno }
        var bytes = Array(text.utf8)[...]
        while failure == 0, !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            if written < 0 { failure = errno } else { bytes = bytes.dropFirst(written) }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(path)
            throw fail("cannot write \(path): \(String(cString: strerror(failure)))")
        }
    }
}
