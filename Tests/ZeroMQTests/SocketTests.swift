import Foundation
import Testing
import ZeroMQ

@Suite("ZeroMQ wrapper")
struct SocketTests {
    @Test("multipart messages arrive whole and in order over inproc")
    func multipart() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("inproc://multipart")
        let push = try Socket(context, type: .push)
        try push.connect("inproc://multipart")
        try push.send([Array("topic".utf8), [], Array("body".utf8)])
        let message = try #require(try pull.receiveMessage())
        #expect(message.frames.map(\.bytes) == [Array("topic".utf8), [], Array("body".utf8)])
        #expect(message.totalSize == 9)
    }

    @Test("a non-blocking receive with nothing waiting returns nil")
    func nonBlocking() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("inproc://empty")
        #expect(try pull.receiveMessage(wait: false) == nil)
    }

    @Test("copyLimit copies a prefix but reports the real size")
    func copyLimit() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("inproc://big")
        let push = try Socket(context, type: .push)
        try push.connect("inproc://big")
        try push.send(Array(repeating: UInt8(7), count: 100_000))
        let message = try #require(try pull.receiveMessage(copyLimit: 10))
        #expect(message.frames[0].bytes.count == 10)
        #expect(message.frames[0].size == 100_000)
        #expect(message.frames[0].isTruncated)
    }

    @Test("errors carry errno and name the operation")
    func errors() throws {
        let context = try Context()
        let a = try Socket(context, type: .pub)
        try a.bind("tcp://127.0.0.1:*")
        let endpoint = try a.lastEndpoint
        let b = try Socket(context, type: .pub)
        let error = try #require(throws: ZMQError.self) { try b.bind(endpoint) }
        #expect(error.isAddressInUse)
        #expect(error.description.contains("bind \(endpoint)"))
        #expect(throws: ZMQError.self) { try b.connect("nonsense://x") }
    }

    /// A PUB bound at `endpoint` and a SUB connected to it with `prefix`, its subscription applied.
    func pubSub(_ context: Context, _ endpoint: String, subscribe prefix: String) throws -> (pub: Socket, sub: Socket) {
        let pub = try Socket(context, type: .pub)
        try pub.bind(endpoint)
        let sub = try Socket(context, type: .sub)
        try sub.subscribe(prefix)
        try sub.connect(endpoint)
        try sub.set(.receiveTimeout, 2000)
        // inproc subscriptions are applied synchronously on connect for a bound PUB.
        Thread.sleep(forTimeInterval: 0.05)
        return (pub, sub)
    }

    @Test("SUB receives only its prefixes")
    func subscriptions() throws {
        let context = try Context()
        let (pub, sub) = try pubSub(context, "inproc://feed", subscribe: "partner/acme/")
        try pub.send([Array("partner/acme-east/".utf8), Array("x".utf8)])
        try pub.send([Array("partner/acme/".utf8), Array("y".utf8)])
        let got = try #require(try sub.receive())
        #expect(got == [Array("partner/acme/".utf8), Array("y".utf8)])
    }

    @Test("a topic and a body sent as two frames, small and large topics alike")
    func topicAndBody() throws {
        let context = try Context()
        let (pub, sub) = try pubSub(context, "inproc://topic-body", subscribe: "")
        // A small string (stored inline) and a long one (stored on the heap), and an empty body.
        let long = "partner/" + String(repeating: "a-long-partner-id-", count: 4) + "/"
        #expect(try pub.send(topic: "partner/p1/", body: Array("{\"seq\":1}".utf8), wait: false))
        #expect(try pub.send(topic: long, body: [], wait: false))
        #expect(try sub.receive() == [Array("partner/p1/".utf8), Array("{\"seq\":1}".utf8)])
        #expect(try sub.receive() == [Array(long.utf8), []])
    }

    @Test("the poller reports readable sockets and a signalled wakeup")
    func poller() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("inproc://poll")
        let push = try Socket(context, type: .push)
        try push.connect("inproc://poll")
        let wakeup = try Wakeup()
        var poller = Poller()
        let socketIndex = poller.add(pull)
        let wakeIndex = poller.add(fileDescriptor: wakeup.fileDescriptor)
        #expect(try poller.poll(timeoutMilliseconds: 0) == [])
        try push.send(Array("hi".utf8))
        #expect(try poller.poll(timeoutMilliseconds: 1000) == [socketIndex])
        _ = try pull.receive()
        let thread = Thread { wakeup.signal() }
        thread.start()
        #expect(try poller.poll(timeoutMilliseconds: 5000) == [wakeIndex])
        wakeup.drain()
        #expect(try poller.poll(timeoutMilliseconds: 0) == [])
    }

    @Test("the linked libzmq is 4.x with CURVE")
    func version() {
        #expect(Context.libraryVersion.major == 4)
        #expect(Context.hasCurve)
    }
}
