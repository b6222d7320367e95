import Foundation
import LeadRouterConfigFile
import Testing

// The czmq / pyzmq certificate format: written exactly as pyzmq writes it, read leniently.

private let publicKey = "Ky{=Wc4(5Z2B/mHq=8nM%dA0b&l]Yt.x^6L-Qp<R"
private let secretKey = "bR3]w:sZ[kN!8}pQe@7v$Lm2(Hy*Tq+Gx.4=Ua)J"

@Test func aSecretCertificateIsWrittenAsPyzmqWritesIt() {
    let date = Date(timeIntervalSince1970: 1_800_000_000)
    let text = CurveCertificate(publicKey: publicKey, secretKey: secretKey).fileText(generatedAt: date)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.first?.hasPrefix("#   ****  Generated on 20") == true)
    #expect(lines.first?.hasSuffix(" by leadctl  ****") == true)
    #expect(Array(lines.dropFirst()) == [
        "#   ZeroMQ CURVE **Secret** Certificate",
        "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
        "",
        "metadata",
        "curve",
        "    public-key = \"\(publicKey)\"",
        "    secret-key = \"\(secretKey)\"",
        "",
    ])
}

@Test func aPublicCertificateHasNoSecretKey() throws {
    let text = CurveCertificate(publicKey: publicKey).fileText()
    #expect(text.contains("#   ZeroMQ CURVE Public Certificate\n"))
    #expect(text.hasSuffix("\n\nmetadata\ncurve\n    public-key = \"\(publicKey)\"\n"))
    #expect(!text.contains("secret-key"))
    #expect(try CurveCertificate(parsing: text) == CurveCertificate(publicKey: publicKey))
}

@Test func whatIsWrittenReadsBack() throws {
    let certificate = CurveCertificate(publicKey: publicKey, secretKey: secretKey)
    #expect(try CurveCertificate(parsing: certificate.fileText()) == certificate)
}

@Test(arguments: [
    "curve\n    public-key = \"\(publicKey)\"\n    secret-key = \"\(secretKey)\"\n",
    "#  comment\r\nmetadata\r\n    name = \"x\"\r\ncurve\r\n\tpublic-key='\(publicKey)'\r\n\tsecret-key='\(secretKey)'\r\n",
    "curve\npublic-key = \(publicKey)   # the public half\nsecret-key=\"\(secretKey)\"\n",
    "public-key = \"\(publicKey)\"\nsecret-key = \"\(secretKey)\"\n",
    "metadata\n    public-key = \"elsewhere\"\ncurve\n        public-key = \"\(publicKey)\"\n  secret-key = \"\(secretKey)\"",
])
func certificatesAreReadLeniently(_ text: String) throws {
    #expect(try CurveCertificate(parsing: text) == CurveCertificate(publicKey: publicKey, secretKey: secretKey))
}

@Test(arguments: [
    ("", "has no public-key under curve"),
    ("metadata\n    public-key = \"\(publicKey)\"\n", "has no public-key under curve"),
    ("curve\n    public-key = \"a\"\n    public-key = \"b\"\n", "has public-key twice"),
    ("curve\n    public-key = \"a\"\n    secret-key = \"b\"\n    secret-key = \"c\"\n", "has secret-key twice"),
])
func notACertificate(_ text: String, _ reason: String) {
    #expect(throws: CurveCertificate.ParseError.self) { try CurveCertificate(parsing: text) }
    do {
        _ = try CurveCertificate(parsing: text)
    } catch {
        #expect(error.description.contains(reason), "\(error)")
    }
}
