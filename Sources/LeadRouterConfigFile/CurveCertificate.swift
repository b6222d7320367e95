public import Foundation

/// A CURVE certificate in the czmq / pyzmq format, as `zmq.auth.create_certificates` and
/// `leadctl keygen` write it, and `zmq.auth.load_certificate` reads it:
///
/// ```
/// #   ****  Generated on 2026-05-01 12:00:00.000000 by leadctl  ****
/// #   ZeroMQ CURVE Public Certificate
/// …
///
/// metadata
/// curve
///     public-key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
/// ```
///
/// `NAME.key` holds the public key alone, to give out; `NAME.key_secret` adds `secret-key`.
/// The keys are kept as written (Z85 text): ``ConfigFile/keyRing(for:relativeTo:)`` checks them.
public struct CurveCertificate: Sendable, Equatable {
    /// `public-key`, as written.
    public var publicKey: String
    /// `secret-key`, as written; `nil` in a public certificate.
    public var secretKey: String?

    public init(publicKey: String, secretKey: String? = nil) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Why a text is not a certificate.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Reads a certificate as leniently as pyzmq does: `#` starts a comment line; a name
    /// alone on its line starts a section; `name = value` lines are read whatever their
    /// indentation, in the `curve` section (or before any section), their value in double,
    /// single or no quotes. Other sections (`metadata`) are skipped.
    public init(parsing text: String) throws(ParseError) {
        var section: Substring?
        var publicKey: String?
        var secretKey: String?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                section = Substring(line)
                continue
            }
            guard section == nil || section == "curve" else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = CurveCertificate.unquoted(line[line.index(after: equals)...])
            switch name {
            case "public-key":
                guard publicKey == nil else { throw ParseError(description: "has public-key twice under curve") }
                publicKey = value
            case "secret-key":
                guard secretKey == nil else { throw ParseError(description: "has secret-key twice under curve") }
                secretKey = value
            default:
                continue
            }
        }
        guard let publicKey else {
            throw ParseError(description: "has no public-key under curve: expected a czmq / pyzmq certificate, "
                + "such as leadctl keygen writes, with the line    public-key = \"…\"")
        }
        self.init(publicKey: publicKey, secretKey: secretKey)
    }

    /// A value without its quotes (either kind), or without a trailing `# comment` when unquoted.
    static func unquoted(_ text: Substring) -> String {
        let value = text.trimmingCharacters(in: .whitespaces)
        if let quote = value.first, quote == "\"" || quote == "'" {
            let rest = value.dropFirst()
            return String(rest.prefix { $0 != quote })
        }
        let uncommented = value.prefix { $0 != "#" }
        return uncommented.trimmingCharacters(in: .whitespaces)
    }

    /// The certificate's file, exactly as pyzmq's `create_certificates` writes it, with
    /// `generator` in its header: a secret certificate when it has a ``secretKey``.
    public func fileText(generatedAt date: Date = Date(), by generator: String = "leadctl") -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
        var text = "#   ****  Generated on \(formatter.string(from: date)) by \(generator)  ****\n"
        if secretKey != nil {
            text += """
                #   ZeroMQ CURVE **Secret** Certificate
                #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.


                """
        } else {
            text += """
                #   ZeroMQ CURVE Public Certificate
                #   Exchange securely, or use a secure mechanism to verify the contents
                #   of this file after exchange. Store public certificates in your home
                #   directory, in the .curve subdirectory.


                """
        }
        text += "metadata\ncurve\n    public-key = \"\(publicKey)\"\n"
        if let secretKey { text += "    secret-key = \"\(secretKey)\"\n" }
        return text
    }
}
