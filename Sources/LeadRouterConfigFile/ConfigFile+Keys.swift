import Foundation
public import LeadRouting
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Resolving the config's CURVE keys: reading the certificate files it names (the pure
/// ``ConfigLoader`` keeps them as written) and checking every key.
extension ConfigFile {
    /// The server's secret key and who each client public key belongs to, read from the
    /// certificate files and Z85 strings of `config` (relative paths from `directory`, the
    /// config file's). With `mode: none`, an empty ring: nothing is encrypted, but the keys the
    /// config lists are checked all the same, so that `--check` says what a switch to `curve`
    /// would refuse (the server key is required with `curve` only).
    ///
    /// Refused, each problem at the key path and line of the key as written: a file that
    /// cannot be read or is not a certificate; a key that is not Z85; a server key that is
    /// not secret, or whose file group or others may read; a public key listed twice (under
    /// one or two principals); libzmq's published test keys.
    public static func keyRing(for config: RouterConfig, relativeTo directory: String) -> Result<KeyRing, ConfigError> {
        let curve = config.security.mode == .curve
        var resolver = KeyResolver(directory: directory)
        let ring = resolver.resolve(config, serverKeyRequired: curve)
        guard resolver.problems.isEmpty else { return .failure(ConfigError(problems: resolver.sortedProblems())) }
        return .success(curve ? ring : KeyRing())
    }

    /// ``keyRing(for:relativeTo:)`` for the config file at `path`: relative key paths are
    /// taken from its directory, and each problem is a line as ``load(path:stateDirOverride:)`` makes.
    public static func loadKeys(for config: RouterConfig, path: String) -> Result<KeyRing, Problems> {
        keyRing(for: config, relativeTo: directory(of: path)).mapError { error in
            Problems(lines: error.problems.map { "\(path): \($0)" })
        }
    }

    /// The directory of the file at `path`: `.` for a bare file name.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// libzmq's published test keys (the `zmq_curve` man page, libzmq's tests, the zguide):
/// anyone has their secret halves.
enum PublishedTestKeys {
    static let all: [String: String] = [
        "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID": "client public key",
        "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs": "client secret key",
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7": "server public key",
        "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6": "server secret key",
    ]
}

/// Reads and checks the keys of one config, collecting every problem.
struct KeyResolver {
    let directory: String
    private(set) var problems: [ConfigProblem] = []
    /// Each public key resolved so far, and where it was listed.
    private var owners: [String: KeySource] = [:]

    init(directory: String) {
        self.directory = directory
    }

    mutating func resolve(_ config: RouterConfig, serverKeyRequired: Bool) -> KeyRing {
        var ring = KeyRing()
        var listed: [(source: KeySource, principal: Principal)] = []
        for partner in config.partners { listed += partner.keys.map { ($0, .partner(partner.id)) } }
        for client in config.clients { listed += client.keys.map { ($0, .client(client.id, client.role)) } }
        // In document order, so a key listed twice is reported where it is written the second time.
        let ordered = listed.enumerated().sorted { lhs, rhs in
            let l = lhs.element.source.line ?? Int.max, r = rhs.element.source.line ?? Int.max
            return l != r ? l < r : lhs.offset < rhs.offset
        }
        for (_, key) in ordered { add(key.source, as: key.principal, to: &ring) }
        if let source = config.security.serverKey {
            ring.serverSecretKey = serverSecretKey(source)
        } else if serverKeyRequired {
            problems.append(ConfigProblem(path: "security.server_key", line: nil,
                                          message: "is required with security.mode: curve: the server's secret certificate"))
        }
        return ring
    }

    /// Problems in document order (by line; stable).
    func sortedProblems() -> [ConfigProblem] {
        problems.enumerated().sorted { lhs, rhs in
            let l = lhs.element.line ?? Int.max, r = rhs.element.line ?? Int.max
            return l != r ? l < r : lhs.offset < rhs.offset
        }.map(\.element)
    }

    private mutating func report(_ source: KeySource, _ message: String) {
        problems.append(ConfigProblem(path: source.path, line: source.line, message: message))
    }

    /// Where `source` was listed, for a problem elsewhere: `partners[0].keys[1] (line 12)`.
    private static func location(_ source: KeySource) -> String {
        source.path + (source.line.map { " (line \($0))" } ?? "")
    }

    // MARK: Client public keys

    private mutating func add(_ source: KeySource, as principal: Principal, to ring: inout KeyRing) {
        guard let key = publicKey(source) else { return }
        if let first = owners[key] {
            report(source, "the same public key as \(KeyResolver.location(first)); a key belongs to one partner or client: "
                + "give each its own (leadctl keygen NAME)")
            return
        }
        owners[key] = source
        ring.principals[key] = principal
    }

    private mutating func publicKey(_ source: KeySource) -> String? {
        switch kind(of: source) {
        case .z85(let text):
            return checkedKey(text, source, "the key")
        case .file(let path):
            guard let certificate = certificate(path, for: source)?.certificate else { return nil }
            return checkedKey(certificate.publicKey, source, "the public-key of \(resolved(path))")
        }
    }

    // MARK: The server's secret key

    private mutating func serverSecretKey(_ source: KeySource) -> String? {
        switch kind(of: source) {
        case .z85(let text):
            guard let secret = checkedKey(text, source, "the key") else { return nil }
            if let owner = owners[text] {
                report(source, "is the public key listed at \(KeyResolver.location(owner)); "
                    + "server_key needs the server's secret key, best its secret certificate (leadctl keygen server)")
                return nil
            }
            return checkedPair(secret: secret, public: nil, source) ? secret : nil
        case .file(let path):
            let file = resolved(path)
            guard let (certificate, mode) = certificate(path, for: source) else { return nil }
            guard let secretText = certificate.secretKey else {
                report(source, "\(file) is a public certificate (it has no secret-key); server_key needs the secret "
                    + "certificate, NAME.key_secret as leadctl keygen or zmq.auth.create_certificates write it")
                return nil
            }
            if mode & 0o077 != 0 {
                report(source, "\(file) is open to group or others (mode \(String(mode & 0o777, radix: 8))): "
                    + "a secret certificate must be private to leadrouterd's user; run chmod 600 \(file)")
            }
            guard let publicKey = checkedKey(certificate.publicKey, source, "the public-key of \(file)"),
                  let secret = checkedKey(secretText, source, "the secret-key of \(file)"),
                  checkedPair(secret: secret, public: publicKey, source), mode & 0o077 == 0 else { return nil }
            return secret
        }
    }

    /// Whether `secret`'s public key is `public` (when given) and belongs to no client.
    private mutating func checkedPair(secret: String, public publicKey: String?, _ source: KeySource) -> Bool {
        let derived: String
        do {
            derived = try CurveKey.publicKey(of: CurveKey(z85: secret)).z85
        } catch {
            report(source, "cannot derive the server's public key from its secret key: \(error)")
            return false
        }
        if let publicKey, derived != publicKey {
            report(source, "its secret-key and public-key are not a pair: the certificate is damaged; write a new one")
            return false
        }
        if let owner = owners[derived] {
            report(source, "the server's public key is also listed at \(KeyResolver.location(owner)): "
                + "that client would hold the server's key pair; give the server a key of its own")
            return false
        }
        return true
    }

    // MARK: Keys and files

    static let z85Alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")

    /// `text` when it is a CURVE key in Z85 and not a published test key; else `nil` after
    /// reporting why, naming the key as `what` (never showing it).
    private mutating func checkedKey(_ text: String, _ source: KeySource, _ what: String) -> String? {
        let count = text.count
        if count != 40 {
            report(source, "\(what) is not a CURVE key: one is 40 characters of Z85, this has \(count)")
        } else if !text.allSatisfy(KeyResolver.z85Alphabet.contains) {
            report(source, "\(what) is not a CURVE key: it has characters outside Z85's alphabet "
                + "(0-9 a-z A-Z .-:+=^!/*?&<>()[]{}@%$#)")
        } else if (try? CurveKey(z85: text)) == nil {
            report(source, "\(what) is not a CURVE key: it does not decode as Z85 (a group of 5 characters is above 2^32-1)")
        } else if let which = PublishedTestKeys.all[text] {
            report(source, "\(what) is libzmq's published test \(which) (from the zmq_curve man page and libzmq's tests): "
                + "anyone can use it; generate your own with leadctl keygen NAME")
        } else {
            return text
        }
        return nil
    }

    /// What `source` is: a text of 40 Z85 characters that names an existing file (such as
    /// `/etc/leadrouter/keys/web-forms-2025.key`) is that file; otherwise it is a key, even
    /// when it starts with `/` as one generated key in 85 does.
    private func kind(of source: KeySource) -> KeySource.Kind {
        guard case .z85(let text) = source.kind,
              FileManager.default.fileExists(atPath: resolved(text)) else { return source.kind }
        return .file(text)
    }

    /// `path` from the config file's directory when relative.
    private func resolved(_ path: String) -> String {
        path.hasPrefix("/") || directory.isEmpty ? path : (directory == "." ? path : "\(directory)/\(path)")
    }

    /// The certificate at `path` and its file's mode; `nil` after reporting why it cannot be read.
    private mutating func certificate(_ path: String, for source: KeySource) -> (certificate: CurveCertificate, mode: mode_t)? {
        let file = resolved(path)
        let read: (text: String, mode: mode_t)
        switch CertificateFile.load(file) {
        case .success(let contents):
            read = contents
        case .failure(let failure):
            var message = "cannot read the certificate \(file): \(failure.reason)"
            if failure.code == ENOENT, !path.contains("/") {
                message = "is neither a Z85 key (40 characters of 0-9 a-z A-Z .-:+=^!/*?&<>()[]{}@%$#; this has "
                    + "\(path.count)) nor an existing certificate file (\(file) does not exist)"
            } else if failure.code == ENOENT, !path.hasPrefix("/") {
                message += " (a relative path is taken from the config file's directory)"
            }
            report(source, message)
            return nil
        }
        do {
            return (try CurveCertificate(parsing: read.text), read.mode)
        } catch {
            report(source, "\(file) is not a CURVE certificate: it \(error)")
            return nil
        }
    }
}

/// Reading a certificate file: its text and mode, from one open file (so the mode checked
/// is the mode of the file read).
enum CertificateFile {
    struct Failure: Error {
        var code: Int32?
        var reason: String
    }

    /// Certificates are a few hundred bytes.
    static let maxBytes = 65_536

    static func load(_ path: String) -> Result<(text: String, mode: mode_t), Failure> {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { return .failure(failure(errno)) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return .failure(failure(errno)) }
        guard status.st_mode & S_IFMT == S_IFREG else { return .failure(Failure(reason: "not a regular file")) }
        guard status.st_size <= maxBytes else {
            return .failure(Failure(reason: "it is \(status.st_size) bytes, too large for a certificate"))
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return .failure(failure(errno)) }
            if count == 0 { break }
            bytes += buffer[..<count]
            guard bytes.count <= maxBytes else { return .failure(Failure(reason: "too large for a certificate")) }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(Failure(reason: "not UTF-8 text, so not a certificate"))
        }
        return .success((text, status.st_mode))
    }

    private static func failure(_ code: Int32) -> Failure {
        Failure(code: code, reason: String(cString: strerror(code)))
    }
}
