internal import CZeroMQ

/// The kinds of ZeroMQ socket LeadRouter uses.
public enum SocketType: Sendable {
    case pub, sub, xpub, xsub, router, dealer, req, rep, push, pull, pair

    var raw: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        }
    }
}

/// Integer socket options.
public enum IntOption: Sendable {
    /// Messages queued per peer for sending before the socket drops (PUB) or blocks.
    case sendHighWaterMark
    /// Messages queued per peer on receipt.
    case receiveHighWaterMark
    /// Milliseconds unsent messages linger after `close` (-1 forever, 0 drop).
    case linger
    /// Milliseconds a blocking receive waits before failing with `EAGAIN` (-1 forever).
    case receiveTimeout
    /// Milliseconds a blocking send waits before failing with `EAGAIN` (-1 forever).
    case sendTimeout
    /// Milliseconds between reconnection attempts.
    case reconnectInterval
    /// Maximum reconnection interval in milliseconds (0: only `reconnectInterval`).
    case reconnectIntervalMax
    /// 1: queue messages only to completed connections.
    case immediate
    /// 1: ROUTER fails with `EHOSTUNREACH` instead of dropping an unroutable message.
    case routerMandatory
    /// 1: XPUB passes every subscription message up, duplicates included.
    case xpubVerbose
    /// 1: XPUB passes every subscription and every unsubscription up, duplicates
    /// included (``xpubVerbose`` and more).
    case xpubVerboser
    /// 1: XPUB/PUB fails a send with `EAGAIN` at the high-water mark instead of dropping.
    case xpubNoDrop
    /// 1: allow IPv6 on tcp sockets.
    case ipv6
    /// Milliseconds between ZMTP heartbeats (0: off).
    case heartbeatInterval
    /// Milliseconds without traffic after a heartbeat before the peer is dropped.
    case heartbeatTimeout
    /// 1: a REQ socket may send again without waiting for the reply (Lazy Pirate).
    case requestRelaxed
    /// 1: a REQ socket tags requests and drops stale replies.
    case requestCorrelate
    /// 1: this socket is a CURVE server (set before `bind`, with ``ByteOption/curveSecretKey``).
    case curveServer
    /// 1: an XPUB applies no subscription by itself. Each subscription message is passed
    /// up (see ``Message/subscription``) and the owner applies what it decides with
    /// ``Socket/subscribe(_:)`` or ``Socket/unsubscribe(_:)``, which act on the subscriber
    /// whose message was received last: decide before the next receive.
    ///
    /// When a subscriber goes away, libzmq removes what was applied to it by itself and
    /// passes up an unsubscribe for each prefix it had asked for; those messages carry no
    /// metadata (no `User-Id`) and need no answer.
    case xpubManual
    /// Milliseconds a new connection may take to finish its handshake (CURVE and ZAP
    /// included) before it is dropped (0: no limit).
    case handshakeInterval

    var raw: Int32 {
        switch self {
        case .sendHighWaterMark: ZMQ_SNDHWM
        case .receiveHighWaterMark: ZMQ_RCVHWM
        case .linger: ZMQ_LINGER
        case .receiveTimeout: ZMQ_RCVTIMEO
        case .sendTimeout: ZMQ_SNDTIMEO
        case .reconnectInterval: ZMQ_RECONNECT_IVL
        case .reconnectIntervalMax: ZMQ_RECONNECT_IVL_MAX
        case .immediate: ZMQ_IMMEDIATE
        case .routerMandatory: ZMQ_ROUTER_MANDATORY
        case .xpubVerbose: ZMQ_XPUB_VERBOSE
        case .xpubVerboser: ZMQ_XPUB_VERBOSER
        case .xpubNoDrop: ZMQ_XPUB_NODROP
        case .ipv6: ZMQ_IPV6
        case .heartbeatInterval: ZMQ_HEARTBEAT_IVL
        case .heartbeatTimeout: ZMQ_HEARTBEAT_TIMEOUT
        case .requestRelaxed: ZMQ_REQ_RELAXED
        case .requestCorrelate: ZMQ_REQ_CORRELATE
        case .curveServer: ZMQ_CURVE_SERVER
        case .xpubManual: ZMQ_XPUB_MANUAL
        case .handshakeInterval: ZMQ_HANDSHAKE_IVL
        }
    }
}

/// Socket options whose values are bytes or strings.
public enum ByteOption: Sendable {
    /// A CURVE socket's public key: 32 bytes, or 40 Z85 characters (see ``CurveKey``).
    case curvePublicKey
    /// A CURVE socket's secret key: 32 bytes, or 40 Z85 characters. A server needs only
    /// this one (and ``IntOption/curveServer``).
    case curveSecretKey
    /// A CURVE client's copy of the server's public key: 32 bytes, or 40 Z85 characters.
    case curveServerKey
    /// The domain this socket's connections are authenticated in: passed to the ZAP
    /// handler with each request, so one handler can apply one policy per endpoint.
    case zapDomain
    /// The identity a DEALER or REQ socket presents to a ROUTER (the peer chooses it: a
    /// ROUTER must not trust it; see ``Message/property(_:)``).
    case routingID
    /// SUB: receive messages whose first frame starts with the value. XPUB with
    /// ``IntOption/xpubManual``: let the subscriber whose message was received last have
    /// this prefix.
    case subscribe
    /// The reverse of ``subscribe``.
    case unsubscribe
    /// XPUB: a message sent to each new subscriber as it subscribes (empty: none).
    case xpubWelcomeMessage

    var raw: Int32 {
        switch self {
        case .curvePublicKey: ZMQ_CURVE_PUBLICKEY
        case .curveSecretKey: ZMQ_CURVE_SECRETKEY
        case .curveServerKey: ZMQ_CURVE_SERVERKEY
        case .zapDomain: ZMQ_ZAP_DOMAIN
        case .routingID: ZMQ_ROUTING_ID
        case .subscribe: ZMQ_SUBSCRIBE
        case .unsubscribe: ZMQ_UNSUBSCRIBE
        case .xpubWelcomeMessage: ZMQ_XPUB_WELCOME_MSG
        }
    }

    /// Whether the value is a CURVE key (read back as its 32 bytes).
    var isCurveKey: Bool {
        switch self {
        case .curvePublicKey, .curveSecretKey, .curveServerKey: true
        default: false
        }
    }
}
