import Testing
import ZeroMQ

/// A PULL bound at `endpoint` and a PUSH connected to it, in `context`.
func pipeline(_ context: Context, _ endpoint: String) throws -> (push: Socket, pull: Socket) {
    let pull = try Socket(context, type: .pull)
    try pull.bind(endpoint)
    try pull.set(.receiveTimeout, 5000)
    let push = try Socket(context, type: .push)
    try push.connect(endpoint)
    return (push, pull)
}

@Suite("Message and MultipartMessage")
struct MessageTests {
    @Test("a message owns a copy of its bytes, lends them, and is emptied by a send")
    func messageBytes() throws {
        let context = try Context()
        let (push, pull) = try pipeline(context, "inproc://message-bytes")
        var message = try Message(copying: Array("hello".utf8))
        #expect(message.size == 5)
        #expect(message.withBytes { $0.byteCount } == 5)
        #expect(message.copyBytes() == Array("hello".utf8))
        #expect(message.copyBytes(limit: 2) == Array("he".utf8))
        let startsWithHel = message.starts(with: "hel".utf8)
        #expect(startsWithHel)
        #expect(Message().size == 0)
        #expect(try push.send(&message))
        #expect(message.size == 0)

        var received = Message()
        #expect(try pull.receive(into: &received))
        #expect(received.copyBytes() == Array("hello".utf8))
        let more = received.more
        #expect(!more)
        // A plaintext peer has no User-Id; inproc connections carry no metadata at all.
        #expect(received.userID == nil)
        #expect(received.property("Routing-Id") == nil)
    }

    @Test("a received frame outlives its socket, and receiving again replaces it")
    func lifetime() throws {
        let context = try Context()
        let (push, pull) = try pipeline(context, "inproc://lifetime")
        try push.send([Array(repeating: UInt8(1), count: 100_000)])
        try push.send([Array("small".utf8)])
        var frame = Message()
        #expect(try pull.receive(into: &frame))
        #expect(frame.size == 100_000)
        #expect(try pull.receive(into: &frame))
        #expect(frame.copyBytes() == Array("small".utf8))
        pull.close()
        push.close()
        #expect(frame.copyBytes() == Array("small".utf8))
    }

    @Test("a multipart message is received whole, in place, and its storage reused")
    func multipartReceive() throws {
        let context = try Context()
        let (push, pull) = try pipeline(context, "inproc://multipart-message")
        let seven = (0..<7).map { Array("frame-\($0)".utf8) }
        try push.send(seven)
        try push.send([Array("topic".utf8), []])
        var message = MultipartMessage(capacity: 2)
        #expect(try pull.receive(into: &message))
        #expect(message.count == 7)
        #expect(ReceivedMessage(copying: message).frames.map(\.bytes) == seven)
        #expect((0..<6).allSatisfy { message[$0].more })
        let lastHasMore = message.last.more
        #expect(!lastHasMore)
        #expect(message.totalSize == seven.reduce(0) { $0 + $1.count })
        // Lent, not copied: the same bytes at the same address each time they are read.
        let first = message[3].withUnsafeBytes { $0.baseAddress }
        #expect(message[3].withUnsafeBytes { $0.baseAddress } == first)

        #expect(try pull.receive(into: &message))
        #expect(message.count == 2)
        #expect(message[0].copyBytes() == Array("topic".utf8))
        #expect(message[1].size == 0)
        #expect(message.userID == nil)
        #expect(try !pull.receive(into: &message, wait: false))
        let emptied = message.isEmpty
        #expect(emptied)
    }

    @Test("frames are lent one by one, and a multipart message is forwarded without copies")
    func framesAndForwarding() throws {
        let context = try Context()
        let (push, pull) = try pipeline(context, "inproc://frames-in")
        let (forward, sink) = try pipeline(context, "inproc://frames-out")
        #expect(try pull.receiveFrames(wait: false) { _, _ in } == nil)
        try push.send([Array("a".utf8), Array("bc".utf8)])
        var sizes: [Int] = []
        #expect(try pull.receiveFrames { index, frame in sizes.append(index * 10 + frame.size) } == 2)
        #expect(sizes == [1, 12])

        try push.send([Array("x".utf8), Array("yz".utf8), []])
        var message = MultipartMessage()
        #expect(try pull.receive(into: &message))
        #expect(try forward.send(&message))
        let sentAll = message.isEmpty
        #expect(sentAll)
        #expect(try sink.receive() == [Array("x".utf8), Array("yz".utf8), []])

        var built = MultipartMessage()
        built.append(try Message(copying: Array("built".utf8)))
        built.append(try Message(copying: [UInt8]()))
        #expect(try forward.send(&built))
        #expect(try sink.receive() == [Array("built".utf8), []])
    }

    @Test("bytes are sent from borrowed memory, one frame at a time")
    func sendBorrowed() throws {
        let context = try Context()
        let (push, pull) = try pipeline(context, "inproc://borrowed")
        let head: [UInt8] = [1, 2, 3]
        try head.withUnsafeBytes { (bytes) throws -> Void in
            #expect(try push.send(bytes: bytes, more: true))
            #expect(try push.send(bytes: UnsafeRawBufferPointer(rebasing: bytes.prefix(1))))
        }
        #expect(try pull.receive() == [[1, 2, 3], [1]])
    }

    @Test("an XPUB subscription message is parsed; other frames are not one")
    func subscriptionMessage() throws {
        #expect(try Message(copying: [1] + Array("partner/".utf8)).subscription
            == SubscriptionMessage(isSubscribe: true, prefix: Array("partner/".utf8)))
        #expect(try Message(copying: [0]).subscription == SubscriptionMessage(isSubscribe: false, prefix: []))
        #expect(try Message(copying: [2, 3]).subscription == nil)
        #expect(Message().subscription == nil)
    }
}
