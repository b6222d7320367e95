import ArgumentParser
import LeadRouterClient
import LeadRouterConfigFile
import ZeroMQ

/// `--server-key` and `--key`, taken by every command that talks to the daemon: with them
/// the command is a CURVE client, as a daemon running `security.mode: curve` requires.
struct CurveOptions: ParsableArguments {
    @Option(name: .customLong("server-key"), help: ArgumentHelp(
        "With security.mode: curve: the server's public certificate (or its secret certificate, or its public key in Z85).",
        valueName: "file"))
    var serverKey: String?

    @Option(name: .customLong("key"), help: ArgumentHelp(
        "With security.mode: curve: this client's secret certificate (NAME.key_secret, as leadctl keygen writes).",
        valueName: "file"))
    var key: String?

    var enabled: Bool { serverKey != nil }

    func validate() throws {
        if (serverKey == nil) != (key == nil) {
            throw ValidationError("--server-key and --key go together: give both (CURVE) or neither (plaintext)")
        }
    }

    /// The keys to present, `nil` without the options. Exits 1 naming the file and what is
    /// wrong with it when one cannot be read or holds no usable key.
    func clientKeys() throws -> CurveClientKeys? {
        guard let serverKey, let key else { return nil }
        do {
            return CurveClientKeys(serverKey: try CurveOptions.serverPublicKey(serverKey), keyPair: try CurveOptions.keyPair(key))
        } catch {
            throw fail("\(error)")
        }
    }

    /// The public key in a certificate (public or secret), or a 40-character Z85 key given as is.
    static func serverPublicKey(_ argument: String) throws -> CurveKey {
        if argument.utf8.count == 40, let key = try? CurveKey(z85: argument) { return key }
        let certificate = try CurveCertificate.read(path: argument).certificate
        do {
            return try CurveKey(z85: certificate.publicKey)
        } catch {
            throw CurveCertificate.FileError(path: argument, reason: "its public-key is not a CURVE key: \(error)")
        }
    }

    /// The key pair in a secret certificate; its two keys must belong together.
    static func keyPair(_ path: String) throws -> CurveKeyPair {
        let certificate = try CurveCertificate.read(path: path).certificate
        guard let secretText = certificate.secretKey else {
            throw CurveCertificate.FileError(path: path, reason: "a public certificate (no secret-key): --key needs the secret one, NAME.key_secret")
        }
        let secret: CurveKey, publicKey: CurveKey
        do {
            secret = try CurveKey(z85: secretText)
            publicKey = try CurveKey(z85: certificate.publicKey)
        } catch {
            throw CurveCertificate.FileError(path: path, reason: "holds a malformed key: \(error)")
        }
        guard (try? CurveKey.publicKey(of: secret)) == publicKey else {
            throw CurveCertificate.FileError(path: path, reason: "its secret-key and public-key are not a pair: the certificate is damaged")
        }
        return CurveKeyPair(publicKey: publicKey, secretKey: secret)
    }
}
