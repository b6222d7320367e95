import Foundation
public import LeadRouting
public import Logging
public import ServiceLifecycle

/// The daemon as a swift-service-lifecycle `Service`: runs the ``RoutingLoop`` on its own
/// thread and stops it gracefully when the service group shuts down (SIGTERM, SIGINT).
public struct LeadRouterService: Service {
    private let loop: RoutingLoop
    private let logger: Logger

    public init(config: RouterConfig, logger: Logger, notifier: SystemdNotifier) throws {
        self.loop = try RoutingLoop(config: config, logger: logger, notifier: notifier)
        self.logger = logger
    }

    public func run() async throws {
        let loop = self.loop
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        do {
                            try loop.run()
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.name = "leadrouter-sockets"
                    thread.start()
                }
            } onGracefulShutdown: {
                loop.requestStop()
            }
        } onCancel: {
            loop.requestStop()
        }
    }
}
