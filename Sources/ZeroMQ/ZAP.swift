/// ZAP 1.0 (ZeroMQ RFC 27), the protocol by which libzmq asks the application whether to
/// accept a connection: a request on ``endpoint`` for each handshake of a server socket
/// using CURVE (or PLAIN, or a ``ByteOption/zapDomain``), answered `200` or `400`.
///
/// The handler is a REP (or ROUTER) socket bound at ``endpoint`` in the same ``Context``
/// as the server sockets, before they bind, owned by one thread:
///
/// ```swift
/// let handler = try Socket(context, type: .rep)
/// try handler.bind(ZAP.endpoint)
/// while let frames = try handler.receive(), let request = ZAPRequest(frames: frames) {
///     let reply = request.curveClientKey.flatMap(partners.name(for:))
///         .map { ZAPReply.accept(request, userID: $0) } ?? ZAPReply.refuse(request)
///     try handler.send(reply.frames)
/// }
/// ```
///
/// The `userID` of an accepted reply becomes the `User-Id` of every message of that
/// connection (``Message/userID``).
public enum ZAP {
    /// Where libzmq sends ZAP requests: `inproc://zeromq.zap.01`, per context.
    public static let endpoint = "inproc://zeromq.zap.01"
    /// The protocol version this handler speaks.
    public static let version = "1.0"
}

/// One ZAP request: who is connecting to which domain, with which credentials.
public struct ZAPRequest: Sendable, Equatable {
    /// Echoed in the reply, so libzmq matches it to the handshake.
    public var requestID: [UInt8]
    /// The server socket's ``ByteOption/zapDomain``.
    public var domain: String
    /// The peer's address (an IP for tcp, empty for inproc).
    public var address: String
    /// The routing id the peer declared (its choice: not to be trusted).
    public var routingID: [UInt8]
    /// `NULL`, `PLAIN` or `CURVE`.
    public var mechanism: String
    /// The mechanism's credentials: for CURVE, the client's 32-byte public key.
    public var credentials: [[UInt8]]

    /// Parses a request's frames; `nil` unless it is a ZAP 1.0 request (a handler answers
    /// nothing to those, and libzmq then refuses the connection).
    public init?(frames: [[UInt8]]) {
        guard frames.count >= 6, frames[0] == Array(ZAP.version.utf8) else { return nil }
        requestID = frames[1]
        domain = String(decoding: frames[2], as: UTF8.self)
        address = String(decoding: frames[3], as: UTF8.self)
        routingID = frames[4]
        mechanism = String(decoding: frames[5], as: UTF8.self)
        credentials = Array(frames.dropFirst(6))
    }

    /// For a CURVE request, the client's public key (verified by the handshake: the client
    /// holds its secret key); `nil` for other mechanisms.
    public var curveClientKey: CurveKey? {
        guard mechanism == "CURVE", credentials.count == 1 else { return nil }
        return try? CurveKey(bytes: credentials[0])
    }
}

/// The answer to a ``ZAPRequest``.
public struct ZAPReply: Sendable, Equatable {
    public var requestID: [UInt8]
    /// `200` accepted, `300` temporary failure, `400` refused, `500` internal error.
    public var statusCode: String
    /// Why, for logs (libzmq does not send it to the peer).
    public var statusText: String
    /// The identity the application gives the peer: every message of an accepted
    /// connection carries it as `User-Id`.
    public var userID: String

    public init(requestID: [UInt8], statusCode: String, statusText: String, userID: String) {
        self.requestID = requestID
        self.statusCode = statusCode
        self.statusText = statusText
        self.userID = userID
    }

    /// Accepts `request`'s peer as `userID`.
    public static func accept(_ request: ZAPRequest, userID: String) -> ZAPReply {
        ZAPReply(requestID: request.requestID, statusCode: "200", statusText: "OK", userID: userID)
    }

    /// Refuses `request`'s peer: the handshake fails and none of its messages arrive.
    public static func refuse(_ request: ZAPRequest, statusText: String = "unknown key") -> ZAPReply {
        ZAPReply(requestID: request.requestID, statusCode: "400", statusText: statusText, userID: "")
    }

    /// The reply's frames, for a REP handler: version, request id, status code, status
    /// text, user id, and empty metadata.
    public var frames: [[UInt8]] {
        [Array(ZAP.version.utf8), requestID, Array(statusCode.utf8), Array(statusText.utf8), Array(userID.utf8), []]
    }
}
