import LeadRouterService
import Logging
import NIOCore
import NIOHTTP1

/// What one request may cost: its bytes (request line, headers and any body), its header
/// fields, and the time from its first byte to its last.
struct RequestLimits: Sendable {
    var maxBytes: Int
    var maxHeaderFields: Int
    var timeout: TimeAmount
}

/// On the listening socket: at most `limit` connections open at once. At the limit it stops
/// accepting (it holds the `read` that would accept the next one), so further clients wait
/// in the listen backlog; each connection that closes lets one more in. With
/// `maxMessagesPerRead` 1, one accept per read, the limit is never overshot.
final class ConnectionCap: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = any Channel
    typealias OutboundOut = any Channel

    private let limit: Int
    private var open = 0
    private var readHeld = false

    init(limit: Int) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let connection = Self.unwrapInboundIn(data)
        open += 1
        connection.closeFuture.hop(to: context.eventLoop).assumeIsolated().whenComplete { _ in
            self.connectionClosed(context: context)
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if open >= limit {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func connectionClosed(context: ChannelHandlerContext) {
        open -= 1
        if readHeld && open < limit && context.channel.isActive {
            readHeld = false
            context.read()
        }
    }
}

/// Before the HTTP decoder: counts the bytes of the request being read and times it from its
/// first byte. Past `maxBytes`, or still unfinished after `timeout`, the connection is closed
/// without an answer. ``requestEnded()`` (from ``MetricsAnswerHandler``, when the decoder
/// delivers a request's end) starts the count again for the next request.
///
/// swift-nio's decoder (``RequestLimits`` in its limit configuration) already refuses a URL or
/// header fields past `maxBytes`; this also bounds what it skips without counting (blank space,
/// a body) and a client that sends its head a byte at a time to keep the connection.
final class RequestLimitHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limits: RequestLimits
    private let logger: Logger
    private var bytes = 0
    private var deadline: Scheduled<Void>?
    private var refused = false

    init(limits: RequestLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if deadline == nil {
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.timeout) {
                self.refuse(context: context, "a request took longer than \(self.limits.timeout.nanoseconds / 1_000_000_000) s to arrive")
            }
        }
        bytes += Self.unwrapInboundIn(data).readableBytes
        // The decoder may end the request within these bytes (``requestEnded()`` resets the
        // count); a request still unfinished past the limit is refused.
        context.fireChannelRead(data)
        if bytes > limits.maxBytes {
            refuse(context: context, "a request was larger than \(limits.maxBytes) bytes")
        }
    }

    /// The decoder delivered the end of the request being read.
    func requestEnded() {
        bytes = 0
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    private func refuse(context: ChannelHandlerContext, _ reason: String) {
        guard !refused else { return }
        refused = true
        deadline?.cancel()
        deadline = nil
        logger.debug("metrics endpoint: closing a connection", metadata: [
            "reason": "\(reason)", "peer": "\(context.channel.remoteAddress?.description ?? "-")",
        ])
        context.close(promise: nil)
    }
}

/// After the HTTP codec: answers each request from ``MetricsRoute`` once its end has arrived.
/// It reads no further from the socket while an answer is being written (a client that does
/// not read its answers stops being read), answers pipelined requests one at a time as each
/// answer is written, answers a request it cannot parse 400 (431 for header fields past the
/// limits) and closes, and closes an idle connection.
final class MetricsAnswerHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Requests read while an answer is being written, answered in turn; past this many the
    /// connection is closed.
    static let maxPipelined = 16

    private let requestLimit: RequestLimitHandler
    private let logger: Logger
    private let respond: @Sendable (String, String) -> MetricsAnswer
    private var head: HTTPRequestHead?
    private var pipelined: [HTTPRequestHead] = []
    private var writing = false
    private var readHeld = false
    private var closing = false

    init(requestLimit: RequestLimitHandler, logger: Logger, respond: @escaping @Sendable (String, String) -> MetricsAnswer) {
        self.requestLimit = requestLimit
        self.logger = logger
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch Self.unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            ()  // no route takes a body
        case .end:
            requestLimit.requestEnded()
            guard let requestHead = head else { return }
            head = nil
            if writing {
                guard pipelined.count < Self.maxPipelined else {
                    return close(context: context, "more than \(Self.maxPipelined) requests pipelined")
                }
                pipelined.append(requestHead)
            } else {
                answer(requestHead, context: context)
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if writing || closing {
            readHeld = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            close(context: context, "idle")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Once closed (by a limit, say), the decoder's complaint about the cut request goes unanswered.
        guard !closing, context.channel.isActive else { return }
        guard let parseError = error as? HTTPParserError, !writing else {
            return close(context: context, "\(error)")
        }
        closing = true
        let status: HTTPResponseStatus = parseError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        logger.debug("metrics endpoint: refusing a request", metadata: [
            "status": "\(status.code)", "error": "\(parseError)", "peer": "\(context.channel.remoteAddress?.description ?? "-")",
        ])
        let headers = HTTPHeaders([("Content-Length", "0"), ("Connection", "close")])
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Writes the answer to `request`; once it is in the socket, answers the next pipelined
    /// request or reads again (or closes, when the client asked to).
    private func answer(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        let answer = respond(request.method.rawValue, request.uri)
        var headers = HTTPHeaders()
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            headers.add(name: name, value: value)
        }
        headers.add(name: "Content-Length", value: String(answer.body.count))
        let keepAlive = request.isKeepAlive
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
                      promise: nil)
        if !answer.body.isEmpty {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))),
                          promise: nil)
        }
        writing = true
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            self.written(result, keepAlive: keepAlive, context: context)
        }
    }

    private func written(_ result: Result<Void, any Error>, keepAlive: Bool, context: ChannelHandlerContext) {
        writing = false
        guard !closing else { return }
        if case .failure(let error) = result { return close(context: context, "writing an answer failed: \(error)") }
        guard keepAlive else { return close(context: context, nil) }
        if !pipelined.isEmpty {
            answer(pipelined.removeFirst(), context: context)
        } else if readHeld {
            readHeld = false
            context.read()
        }
    }

    private func close(context: ChannelHandlerContext, _ reason: String?) {
        guard !closing else { return }
        closing = true
        if let reason {
            logger.debug("metrics endpoint: closing a connection", metadata: [
                "reason": "\(reason)", "peer": "\(context.channel.remoteAddress?.description ?? "-")",
            ])
        }
        context.close(promise: nil)
    }
}
