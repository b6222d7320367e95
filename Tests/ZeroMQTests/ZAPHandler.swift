import Foundation
import Synchronization
import ZeroMQ

/// A ZAP handler for tests: a REP socket bound at `ZAP.endpoint` in `context`, on its own
/// thread (which alone touches the socket), accepting the keys in `accepted` under their
/// user ids and refusing every other.
final class ZAPHandler: Sendable {
    /// Every request answered, with whether it was accepted, in order.
    let answered = Mutex<[(request: ZAPRequest, accepted: Bool)]>([])
    private let accepted: [CurveKey: String]
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    private let startFailure = Mutex<ZMQError?>(nil)

    init(_ context: Context, accepting accepted: [CurveKey: String]) throws {
        self.accepted = accepted
        let ready = DispatchSemaphore(value: 0)
        Thread { [self] in
            defer { stopped.signal() }
            let socket: Socket
            do {
                socket = try Socket(context, type: .rep)
                try socket.set(.linger, 0)
                try socket.bind(ZAP.endpoint)
            } catch {
                startFailure.withLock { $0 = error as? ZMQError }
                ready.signal()
                return
            }
            ready.signal()
            serve(socket)
        }.start()
        ready.wait()
        if let error = startFailure.withLock({ $0 }) { throw error }
    }

    /// Answers requests until ``stop()``; short receive timeouts let it notice.
    private func serve(_ socket: Socket) {
        while !stopping.load(ordering: .acquiring) {
            guard let frames = try? socket.receive(timeoutMilliseconds: 20) else { continue }
            guard let request = ZAPRequest(frames: frames) else { return }
            let userID = request.curveClientKey.flatMap { accepted[$0] }
            let reply = userID.map { ZAPReply.accept(request, userID: $0) } ?? ZAPReply.refuse(request)
            answered.withLock { $0.append((request, userID != nil)) }
            guard (try? socket.send(reply.frames)) != nil else { return }
        }
    }

    /// Stops the thread and waits until it has closed its socket.
    func stop() {
        stopping.store(true, ordering: .releasing)
        stopped.wait()
    }

    /// Waits (polling, up to `seconds`) until `condition` holds for the requests answered.
    func wait(seconds: Double = 10, until condition: ([(request: ZAPRequest, accepted: Bool)]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if answered.withLock({ condition($0) }) { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return false
    }
}
