#if canImport(Glibc)
public import Glibc
#endif

extension CurveCertificate {
    /// Why a certificate file could not be used: the path and the reason, ready to print.
    public struct FileError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// Reads the certificate in the file at `path`, with the file's mode (to check that a
    /// secret certificate is private), the way the daemon reads the files its config names.
    public static func read(path: String) throws(FileError) -> (certificate: CurveCertificate, mode: mode_t) {
        switch CertificateFile.load(path) {
        case .failure(let failure):
            throw FileError(path: path, reason: failure.reason)
        case .success(let file):
            do {
                return (try CurveCertificate(parsing: file.text), file.mode)
            } catch {
                throw FileError(path: path, reason: "not a certificate: it \(error.description)")
            }
        }
    }
}
