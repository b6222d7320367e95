internal import CZeroMQ
#if canImport(Glibc)
internal import Glibc
#endif

/// Z85, ZeroMQ's printable encoding of binary data (RFC 32): 4 bytes become 5 characters.
/// CURVE keys are written this way in certificates and configuration.
public enum Z85 {
    /// Encodes `bytes`, whose count must be a multiple of 4.
    public static func encode(_ bytes: some Collection<UInt8>) throws(Z85Error) -> String {
        let input = Array(bytes)
        guard input.count % 4 == 0 else { throw .wrongLength(input.count, multipleOf: 4) }
        var output = [CChar](repeating: 0, count: input.count / 4 * 5 + 1)
        do {
            _ = try zmqPointerCall("zmq_z85_encode") { zmq_z85_encode(&output, input, input.count) }
        } catch {
            throw .wrongLength(input.count, multipleOf: 4)
        }
        return String(decoding: output.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes `text`, whose length must be a multiple of 5, of Z85 characters only.
    public static func decode(_ text: String) throws(Z85Error) -> [UInt8] {
        let characters = Array(text.utf8)
        guard characters.count % 5 == 0 else { throw .wrongLength(characters.count, multipleOf: 5) }
        guard !characters.contains(0) else { throw .invalidCharacter }
        var output = [UInt8](repeating: 0, count: characters.count / 5 * 4)
        do {
            _ = try zmqPointerCall("zmq_z85_decode") { zmq_z85_decode(&output, text) }
        } catch {
            throw .invalidCharacter
        }
        return output
    }
}

/// Why bytes or text are not Z85.
public enum Z85Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// Z85 encodes groups of 4 bytes as groups of 5 characters; the input had `count`.
    case wrongLength(_ count: Int, multipleOf: Int)
    /// A character outside Z85's 85, or a group that decodes above 2^32-1.
    case invalidCharacter

    public var description: String {
        switch self {
        case let .wrongLength(count, multipleOf):
            "Z85 needs a multiple of \(multipleOf) \(multipleOf == 4 ? "bytes" : "characters"); got \(count)"
        case .invalidCharacter:
            "not Z85: a character outside its alphabet (0-9 a-z A-Z .-:+=^!/*?&<>()[]{}@%$#)"
        }
    }
}

/// A CURVE key (public or secret): 32 bytes, written as 40 Z85 characters.
///
/// Its description never shows the key, so a secret key cannot reach a log by accident;
/// use ``z85`` on purpose.
public struct CurveKey: Sendable, Hashable, CustomStringConvertible {
    /// The key's 32 bytes.
    public let bytes: [UInt8]

    /// A key from its 32 raw bytes.
    public init(bytes: some Collection<UInt8>) throws(CurveKeyError) {
        let bytes = Array(bytes)
        guard bytes.count == 32 else { throw .wrongByteCount(bytes.count) }
        self.bytes = bytes
    }

    /// A key from its 40 Z85 characters (as in a czmq / pyzmq certificate).
    public init(z85: String) throws(CurveKeyError) {
        let length = z85.utf8.count
        guard length == 40 else { throw .wrongZ85Length(length) }
        do {
            bytes = try Z85.decode(z85)
        } catch {
            throw .invalidZ85
        }
    }

    /// The key as 40 Z85 characters.
    public var z85: String {
        // 32 bytes are a multiple of 4: encoding cannot fail.
        (try? Z85.encode(bytes)) ?? ""
    }

    public var description: String { "CurveKey(32 bytes)" }

    /// The public key that belongs to `secretKey` (`zmq_curve_public`).
    public static func publicKey(of secretKey: CurveKey) throws(ZMQError) -> CurveKey {
        var publicText = [CChar](repeating: 0, count: 41)
        _ = try zmqCall("zmq_curve_public") { zmq_curve_public(&publicText, secretKey.z85) }
        return try CurveKey(z85CString: publicText)
    }

    /// A key from a NUL-terminated Z85 buffer libzmq filled.
    init(z85CString buffer: [CChar]) throws(ZMQError) {
        let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            try self.init(z85: text)
        } catch {
            throw ZMQError(code: EPROTO, operation: "libzmq returned a malformed key: \(error)")
        }
    }
}

/// Why a value is not a CURVE key.
public enum CurveKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A raw key must be 32 bytes; it had this many.
    case wrongByteCount(Int)
    /// A Z85 key must be 40 characters; it had this many.
    case wrongZ85Length(Int)
    /// 40 characters, but not all Z85.
    case invalidZ85

    public var description: String {
        switch self {
        case .wrongByteCount(let count): "a CURVE key is 32 bytes; got \(count)"
        case .wrongZ85Length(let count): "a CURVE key in Z85 is 40 characters; got \(count)"
        case .invalidZ85: "a CURVE key in Z85 has only Z85 characters; this one has others"
        }
    }
}

/// A CURVE key pair, as `leadctl keygen` makes for a server or a client.
public struct CurveKeyPair: Sendable, Hashable {
    public let publicKey: CurveKey
    public let secretKey: CurveKey

    public init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A new random key pair (`zmq_curve_keypair`).
    ///
    /// - Throws: ``ZMQError`` (`ENOTSUP` when libzmq was built without CURVE).
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        _ = try zmqCall("zmq_curve_keypair") { zmq_curve_keypair(&publicText, &secretText) }
        return CurveKeyPair(publicKey: try CurveKey(z85CString: publicText), secretKey: try CurveKey(z85CString: secretText))
    }
}

extension Socket {
    /// Makes this socket a CURVE server holding `secretKey`, its connections authenticated
    /// in `zapDomain`. Call before `bind`: security options apply to later binds only.
    ///
    /// A ZAP handler must already be bound in this socket's context (``ZAP/endpoint``):
    /// without one, libzmq 4.3 accepts any client key.
    public func makeCurveServer(secretKey: CurveKey, zapDomain: String) throws(ZMQError) {
        try set(.curveServer, 1)
        try set(.curveSecretKey, secretKey.bytes)
        try set(.zapDomain, zapDomain)
    }

    /// Makes this socket a CURVE client holding `keyPair`, talking only to the server whose
    /// public key is `serverKey`. Call before `connect`.
    public func makeCurveClient(serverKey: CurveKey, keyPair: CurveKeyPair) throws(ZMQError) {
        try set(.curveServerKey, serverKey.bytes)
        try set(.curvePublicKey, keyPair.publicKey.bytes)
        try set(.curveSecretKey, keyPair.secretKey.bytes)
    }
}
