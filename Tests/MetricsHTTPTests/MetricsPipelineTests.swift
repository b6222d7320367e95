import LeadRouterService
import Logging
@testable import MetricsHTTP
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The metrics endpoint's limits, on the handlers `MetricsServer` puts on each connection and on
/// its listening socket, over swift-nio's embedded channels: time is advanced by hand, so the
/// 30 s timeouts take no time. `Tests/EndToEndTests/MetricsTests.swift` checks the real daemon.
@Suite("Metrics endpoint: swift-nio handlers and their limits")
struct MetricsPipelineTests {
    static let limits = RequestLimits(maxBytes: MetricsServer.maxHeaderBytes, maxHeaderFields: MetricsServer.maxHeaderFields,
                                      timeout: .seconds(30))

    /// A connection's pipeline as the server makes it, answering ``MetricsRoute`` with a
    /// one-line scrape; connected.
    static func connection() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try MetricsServer.addHandlers(to: channel.pipeline.syncOperations, limits: limits, logger: Logger(label: "test")) { method, target in
            MetricsRoute.answer(method: method, target: target) { Array("up 1\n".utf8) }
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9464)).wait()
        return channel
    }

    /// Sends `text` from the client; a closed connection takes nothing more.
    static func send(_ channel: EmbeddedChannel, _ text: String) {
        _ = try? channel.writeInbound(ByteBuffer(string: text))
    }

    /// What the server wrote since last asked, as text.
    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { continue }
            text += String(buffer: buffer)
        }
        return text
    }

    /// The status codes of the answers in `text`, in order.
    static func statuses(_ text: String) -> [Int] {
        text.ranges(of: "HTTP/1.1 ").compactMap { Int(text[$0.upperBound...].prefix(3)) }
    }

    static func headers(_ count: Int) -> String {
        (0..<count).map { "X-\($0): y\r\n" }.joined()
    }

    @Test("GET and HEAD /metrics 200 with the route's content type, other paths 404, other methods 405 with Allow, on one connection")
    func answersFromTheRoute() throws {
        let channel = try Self.connection()
        Self.send(channel, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let get = try Self.written(channel)
        #expect(get.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(get)")
        #expect(get.contains("Content-Type: \(MetricsRoute.contentType)\r\n"))
        #expect(get.contains("Content-Length: 5\r\n"))
        #expect(get.hasSuffix("\r\n\r\nup 1\n"))
        Self.send(channel, "HEAD /metrics?name[]=up HTTP/1.1\r\n\r\n")
        let head = try Self.written(channel)
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.hasSuffix("\r\n\r\n"), "\(head)")
        Self.send(channel, "GET /health HTTP/1.1\r\n\r\n")
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        Self.send(channel, "DELETE /metrics HTTP/1.1\r\n\r\n")
        let delete = try Self.written(channel)
        #expect(delete.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n") && delete.contains("Allow: GET, HEAD\r\n"), "\(delete)")
        #expect(channel.isActive, "keep-alive: still open")
        Self.send(channel, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(try Self.written(channel).contains("Connection: close\r\n"))
        #expect(!channel.isActive, "closed as the client asked")
    }

    @Test("pipelined requests are answered in order")
    func pipelined() throws {
        let channel = try Self.connection()
        Self.send(channel, "GET /metrics HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\nPUT /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi")
        #expect(try Self.statuses(Self.written(channel)) == [200, 404, 405])
        #expect(channel.isActive)
    }

    @Test("more than maxHeaderFields header fields: 431 and closed; exactly maxHeaderFields: answered")
    func headerFieldCount() throws {
        let atLimit = try Self.connection()
        Self.send(atLimit, "GET /metrics HTTP/1.1\r\n\(Self.headers(MetricsServer.maxHeaderFields))\r\n")
        #expect(try Self.written(atLimit).hasPrefix("HTTP/1.1 200 OK\r\n"))
        let past = try Self.connection()
        Self.send(past, "GET /metrics HTTP/1.1\r\n\(Self.headers(MetricsServer.maxHeaderFields + 1))\r\n")
        let answer = try Self.written(past)
        #expect(answer.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n") && answer.contains("Connection: close"), "\(answer)")
        #expect(!past.isActive)
    }

    @Test("a request head past maxHeaderBytes is never served: a long header or target 431, blank space or a body closed unanswered")
    func headBytes() throws {
        let over = MetricsServer.maxHeaderBytes + 1
        let header = try Self.connection()
        Self.send(header, "GET /metrics HTTP/1.1\r\nX-Huge: \(String(repeating: "a", count: over))\r\n\r\n")
        #expect(try Self.written(header).hasPrefix("HTTP/1.1 431 "))
        #expect(!header.isActive)
        let target = try Self.connection()
        Self.send(target, "GET /metrics?\(String(repeating: "a", count: over)) HTTP/1.1\r\n\r\n")
        #expect(try Self.written(target).hasPrefix("HTTP/1.1 431 "))
        #expect(!target.isActive)
        // Spaces after the colon, which the parser skips without counting, sent 1 KiB at a time.
        let blank = try Self.connection()
        Self.send(blank, "GET /metrics HTTP/1.1\r\nX:")
        for _ in 0..<(over / 1024 + 1) { Self.send(blank, String(repeating: " ", count: 1024)) }
        #expect(try Self.written(blank).isEmpty)
        #expect(!blank.isActive)
        // A body (nothing reads one) counts too, once it comes in more than one read.
        let body = try Self.connection()
        Self.send(body, "POST /metrics HTTP/1.1\r\nContent-Length: \(over)\r\n\r\n")
        for _ in 0..<(over / 1024 + 1) { Self.send(body, String(repeating: "b", count: 1024)) }
        #expect(try Self.written(body).isEmpty)
        #expect(!body.isActive)
        // Just under the limit, in pieces: served.
        let under = try Self.connection()
        let request = "GET /metrics HTTP/1.1\r\nX-Big: \(String(repeating: "c", count: MetricsServer.maxHeaderBytes - 200))\r\n\r\n"
        for piece in request.utf8.chunks(ofCount: 1000) { Self.send(under, String(decoding: piece, as: UTF8.self)) }
        #expect(try Self.written(under).hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test("a request that does not arrive whole within idleTimeout of its first byte is closed, though bytes keep coming")
    func requestDeadline() throws {
        let channel = try Self.connection()
        Self.send(channel, "GET /metrics HTTP/1.1\r\n")
        for i in 0..<29 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            Self.send(channel, "X-\(i): y\r\n")
        }
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(try Self.written(channel).isEmpty)

        // Each request has its own time: a slow second request after a quick first is served.
        let again = try Self.connection()
        Self.send(again, "GET /metrics HTTP/1.1\r\n\r\n")
        again.embeddedEventLoop.advanceTime(by: .seconds(20))
        Self.send(again, "GET /metrics HTTP/1.1\r\n")
        again.embeddedEventLoop.advanceTime(by: .seconds(20))
        Self.send(again, "\r\n")
        #expect(try Self.statuses(Self.written(again)) == [200, 200])
        #expect(again.isActive)
    }

    // swift-nio's IdleStateHandler times reads on the real clock, not the embedded loop's:
    // the 30 s idle close is checked on the real daemon (docs/operations.md), its effect here.
    @Test("an idle connection (swift-nio's IdleStateHandler fires) is closed")
    func idle() throws {
        let channel = try Self.connection()
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
    }

    @Test("bytes that are not HTTP, or another HTTP version: 400 and closed")
    func notHTTP() throws {
        for garbage in ["\u{0}\u{1}\u{2} not http\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n"] {
            let channel = try Self.connection()
            Self.send(channel, garbage)
            #expect(try Self.written(channel).hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(garbage.debugDescription)")
            #expect(!channel.isActive, "\(garbage.debugDescription)")
        }
    }

    @Test("the listening socket accepts no more than its limit: at it, accepting waits; each closed connection lets one more in")
    func connectionCap() throws {
        let server = EmbeddedChannel()
        let reads = ReadCounter()
        try server.pipeline.syncOperations.addHandlers([reads, ConnectionCap(limit: 2)])
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9464)).wait()
        let accepted = (0..<2).map { _ in EmbeddedChannel(loop: server.embeddedEventLoop) }
        server.read()
        #expect(reads.count == 1)
        for connection in accepted { try server.writeInbound(connection as any Channel) }
        server.read()
        #expect(reads.count == 1, "at the limit, no accept")
        try accepted[0].close().wait()
        server.embeddedEventLoop.run()
        #expect(reads.count == 2, "the held accept goes once one closes")
        server.read()
        #expect(reads.count == 3, "below the limit, accepts go through")
        _ = try server.finish(acceptAlreadyClosed: true)
    }
}

/// Counts the `read` calls that reach the socket.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Never
    var count = 0
    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}

extension String.UTF8View {
    func chunks(ofCount size: Int) -> [Substring.UTF8View] {
        stride(from: 0, to: count, by: size).map { start in
            let from = index(startIndex, offsetBy: start)
            return self[from..<(index(from, offsetBy: size, limitedBy: endIndex) ?? endIndex)]
        }
    }
}
