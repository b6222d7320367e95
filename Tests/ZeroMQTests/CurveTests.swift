import Testing
import ZeroMQ

@Suite("CURVE, ZAP and manual XPUB")
struct CurveTests {
    @Test("Z85 matches RFC 32's test vector and refuses what is not Z85")
    func z85() throws {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(try Z85.encode(bytes) == "HelloWorld")
        #expect(try Z85.decode("HelloWorld") == bytes)
        #expect(throws: Z85Error.wrongLength(3, multipleOf: 4)) { try Z85.encode([1, 2, 3]) }
        #expect(throws: Z85Error.wrongLength(4, multipleOf: 5)) { try Z85.decode("Hell") }
        #expect(throws: Z85Error.invalidCharacter) { try Z85.decode("Hello Worl") }
    }

    @Test("CURVE keys: generated pairs, Z85 round trips, derived public keys, typed errors")
    func curveKeys() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey != pair.secretKey)
        #expect(pair.secretKey.z85.utf8.count == 40)
        #expect(try CurveKey(z85: pair.secretKey.z85) == pair.secretKey)
        #expect(try CurveKey.publicKey(of: pair.secretKey) == pair.publicKey)
        #expect(!"\(pair.secretKey)".contains(pair.secretKey.z85))
        #expect(throws: CurveKeyError.wrongByteCount(31)) { try CurveKey(bytes: [UInt8](repeating: 0, count: 31)) }
        #expect(throws: CurveKeyError.wrongZ85Length(10)) { try CurveKey(z85: "HelloWorld") }
        #expect(throws: CurveKeyError.invalidZ85) { try CurveKey(z85: String(repeating: " ", count: 40)) }
    }

    @Test("byte options take raw bytes or Z85 text and read back")
    func byteOptions() throws {
        let context = try Context()
        let socket = try Socket(context, type: .router)
        let pair = try CurveKeyPair.generate()
        try socket.set(.curveSecretKey, pair.secretKey.z85)
        #expect(try socket.get(.curveSecretKey) == pair.secretKey.bytes)
        try socket.set(.curvePublicKey, pair.publicKey.bytes)
        #expect(try socket.get(.curvePublicKey) == pair.publicKey.bytes)
        try socket.set(.zapDomain, "intake")
        #expect(try socket.get(.zapDomain) == Array("intake".utf8))
        let error = try #require(throws: ZMQError.self) { try socket.set(.curveServerKey, "too short") }
        #expect(error.description.contains("curveServerKey"))
    }

    @Test("a CURVE server admits the key its ZAP handler accepts, with its User-Id, and nothing from others")
    func curveWithZAP() throws {
        let context = try Context()
        let server = try CurveKeyPair.generate(), known = try CurveKeyPair.generate(), unknown = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context, accepting: [known.publicKey: "partner-acme"])
        defer { zap.stop() }
        let router = try Socket(context, type: .router)
        try router.set(.linger, 0)
        try router.set(.receiveTimeout, 10_000)
        try router.makeCurveServer(secretKey: server.secretKey, zapDomain: "intake")
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint

        let intruder = try client(context, endpoint, server: server.publicKey, keys: unknown)
        let plaintext = try Socket(context, type: .dealer)
        try plaintext.set(.linger, 0)
        try plaintext.connect(endpoint)
        try intruder.send(Array("from unknown".utf8))
        try plaintext.send(Array("from plaintext".utf8))
        #expect(zap.wait { $0.contains { !$0.accepted } }, "the unknown key reached the ZAP handler")

        let partner = try client(context, endpoint, server: server.publicKey, keys: known)
        try partner.send(Array("first".utf8))
        var message = MultipartMessage()
        #expect(try router.receive(into: &message))
        #expect(message.count == 2)
        #expect(message[1].copyBytes() == Array("first".utf8))
        #expect(message[0].userID == "partner-acme")
        #expect(message[1].property("User-Id") == "partner-acme")
        #expect(message[0].property("Peer-Address") == "127.0.0.1")

        // Everything the others sent was sent before this: had any of it got through, it
        // would arrive first.
        try partner.send(Array("second".utf8))
        #expect(try router.receive(into: &message))
        #expect(message[1].copyBytes() == Array("second".utf8))
        #expect(try !router.receive(into: &message, wait: false))

        let requests = zap.answered.withLock { $0 }
        #expect(requests.allSatisfy { $0.request.domain == "intake" && $0.request.mechanism == "CURVE" })
        #expect(requests.filter(\.accepted).map { $0.request.curveClientKey } == [known.publicKey])
        #expect(requests.filter { !$0.accepted }.allSatisfy { $0.request.curveClientKey == unknown.publicKey })
    }

    @Test("a manual XPUB reads who subscribed and applies the subscription it chooses")
    func manualXPUB() throws {
        let context = try Context()
        let server = try CurveKeyPair.generate(), known = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context, accepting: [known.publicKey: "partner-acme"])
        defer { zap.stop() }
        let xpub = try Socket(context, type: .xpub)
        try xpub.set(.linger, 0)
        try xpub.set(.receiveTimeout, 10_000)
        try xpub.set(.xpubManual, 1)
        try xpub.makeCurveServer(secretKey: server.secretKey, zapDomain: "publish")
        try xpub.bind("tcp://127.0.0.1:*")

        let sub = try Socket(context, type: .sub)
        try sub.set(.linger, 0)
        try sub.set(.receiveTimeout, 10_000)
        try sub.makeCurveClient(serverKey: server.publicKey, keyPair: known)
        try sub.subscribe("partner/")
        try sub.connect(try xpub.lastEndpoint)

        var request = Message()
        #expect(try xpub.receive(into: &request))
        #expect(request.subscription == SubscriptionMessage(isSubscribe: true, prefix: Array("partner/".utf8)))
        #expect(request.userID == "partner-acme")
        // Narrowed to the subscriber's own topic, before the next receive.
        try xpub.subscribe("partner/acme/")

        try xpub.send([Array("partner/globex/".utf8), Array("not yours".utf8)])
        try xpub.send([Array("partner/acme/".utf8), Array("yours".utf8)])
        #expect(try sub.receive() == [Array("partner/acme/".utf8), Array("yours".utf8)])

        // When the subscriber goes, libzmq drops what was applied by itself and reports an
        // unsubscribe of what the subscriber had asked for: a message it made, no User-Id.
        sub.close()
        #expect(try xpub.receive(into: &request))
        #expect(request.subscription == SubscriptionMessage(isSubscribe: false, prefix: Array("partner/".utf8)))
        #expect(request.userID == nil)
    }

    /// A DEALER using CURVE with `keys`, connected to the server at `endpoint`.
    func client(_ context: Context, _ endpoint: String, server: CurveKey, keys: CurveKeyPair) throws -> Socket {
        let socket = try Socket(context, type: .dealer)
        try socket.set(.linger, 0)
        try socket.makeCurveClient(serverKey: server, keyPair: keys)
        try socket.connect(endpoint)
        return socket
    }
}
