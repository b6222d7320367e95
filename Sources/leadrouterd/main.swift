import ArgumentParser
import CProcessTuning
import CoreMetrics
import Foundation
import LeadRouterConfigFile
import LeadRouterService
import LeadRouting
import LeadStore
import Logging
import MetricsHTTP
import Prometheus
import ServiceLifecycle

@main
struct LeadRouterDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leadrouterd",
        abstract: "Route leads from lead sources to channel partners and vendor sales over ZeroMQ.",
        discussion: "Runs in the foreground until SIGTERM or SIGINT. Exit codes: 0 success, 1 invalid config or input, 2 usage error.",
        version: LeadRouterVersion.current
    )

    @Option(help: "The YAML config file.")
    var config: String

    @Flag(help: "Validate the config and exit: 0 and a summary line when valid, 1 and one line per problem when not.")
    var check = false

    @Option(help: "Overrides state_dir in the config.")
    var stateDir: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: "Route a file of leads (JSON lines) with this config and print each decision and a per-partner summary; publishes and stores nothing.")
    var dryRun: String?

    /// Runs the command, mapping argument errors to the contract's exit code 2.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exitMappingUsageErrors(error)
        }
    }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let routerConfig = try loadConfig()
        if check {
            _ = try loadKeys(routerConfig)
            print(ConfigFile.summary(routerConfig, path: config))
            return
        }
        if let dryRun {
            try runDryRun(routerConfig, file: dryRun)
            return
        }
        let keyRing = try loadKeys(routerConfig)
        // What reading the config allocated is free now: its pages go back to the system.
        lr_release_free_memory()
        let logger = bootstrapLogging()
        // A write past RLIMIT_FSIZE (systemd's LimitFSIZE=, `ulimit -f`) should fail as a full
        // disk does (EFBIG: the batch is refused, intake answers storage_unavailable), not kill
        // the daemon with SIGXFSZ's default action.
        signal(SIGXFSZ, SIG_IGN)
        let store = try await openStore(routerConfig)
        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        let metrics = bootstrapMetrics(routerConfig, storePath: store.path, logger: logger)
        let routing = try LeadRouterService(config: routerConfig, store: store, logger: logger, notifier: notifier, keyRing: keyRing,
                                            metrics: metrics?.instruments, readConfig: configReader(),
                                            metricsListening: metrics?.server.listening)
        // Started in this order, stopped in reverse: the metrics endpoint outlives routing.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = metrics.map { [.init(service: $0.server)] } ?? []
        services += [
            .init(service: routing, successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: RetentionService(store: store, retentionDays: routerConfig.store.retentionDays, logger: logger),
                  successTerminationBehavior: .ignore),
            .init(service: CheckpointService(store: store, logger: logger), successTerminationBehavior: .ignore),
        ]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        do {
            try await group.run()
        } catch let error as StartupError {
            printError("leadrouterd: cannot start: \(error)")
            throw ExitCode(1)
        } catch let error as LogSyncFailure {
            printError("leadrouterd: stopped: the store's log could not be synced to disk: \(error)")
            throw ExitCode(1)
        }
    }

    /// The config file, or exit 1 with one line per problem.
    private func loadConfig() throws -> RouterConfig {
        switch ConfigFile.load(path: config, stateDirOverride: stateDir) {
        case .success(let loaded):
            return loaded
        case .failure(let problems):
            for line in problems.lines { printError(line) }
            throw ExitCode(1)
        }
    }

    /// Reads the config file and its keys again, for SIGHUP: with the same `--state-dir`, so
    /// only a changed file can ask for a restart.
    private func configReader() -> @Sendable () -> Result<ConfigUpdate, ConfigReadFailure> {
        let path = config, stateDirOverride = stateDir
        return {
            switch ConfigFile.load(path: path, stateDirOverride: stateDirOverride) {
            case .failure(let problems):
                return .failure(ConfigReadFailure(problems: problems.lines))
            case .success(let loaded):
                switch ConfigFile.loadKeys(for: loaded, path: path) {
                case .failure(let problems): return .failure(ConfigReadFailure(problems: problems.lines))
                case .success(let keyRing): return .success(ConfigUpdate(config: loaded, keyRing: keyRing))
                }
            }
        }
    }

    /// The CURVE keys the config names (an empty ring with `security.mode: none`), or exit 1
    /// with one line per problem.
    private func loadKeys(_ routerConfig: RouterConfig) throws -> KeyRing {
        switch ConfigFile.loadKeys(for: routerConfig, path: config) {
        case .success(let keyRing):
            return keyRing
        case .failure(let problems):
            for line in problems.lines { printError(line) }
            throw ExitCode(1)
        }
    }

    private func bootstrapLogging() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "leadrouterd")
        logger.debug("malloc", metadata: [
            "arena_max": "\(lr_malloc_arena_max() == 0 ? "left to the environment" : "\(lr_malloc_arena_max())")",
        ])
        // Before anything opens the store.
        logger.debug("sqlite", metadata: [
            "connections": "\(LeadStore.sqliteConfigured ? "multi-thread, no memory statistics, statement journals in memory, log writes gathered" : "SQLite's defaults (it was used before the store)")",
        ])
        return logger
    }

    /// With `metrics.bind`: bootstraps swift-metrics over a Prometheus registry (once per
    /// process, here only) and makes the instruments the routing loop folds its counts into
    /// and the server that serves them. `nil` without `metrics.bind`.
    private func bootstrapMetrics(_ routerConfig: RouterConfig, storePath: String,
                                  logger: Logger) -> (instruments: RouterMetrics, server: MetricsServer)? {
        guard let address = routerConfig.metrics.bind else { return nil }
        let registry = PrometheusCollectorRegistry()
        let factory = RouterMetrics.prometheusFactory(registry)
        MetricsSystem.bootstrap(factory)
        let instruments = RouterMetrics(factory: factory, perPartner: routerConfig.metrics.perPartner,
                                        partnerIDs: routerConfig.partners.map(\.id), storePath: storePath)
        return (instruments, MetricsServer(address: address, registry: registry, metrics: instruments, logger: logger))
    }

    /// Prepares the state directory and opens the store, or exits 1 saying why.
    private func openStore(_ routerConfig: RouterConfig) async throws -> LeadStore {
        do {
            try StateDirectory.prepare(routerConfig.stateDir)
        } catch {
            printError("leadrouterd: \(error)")
            throw ExitCode(1)
        }
        do {
            // Opening runs SQLite (and may migrate a large store): not on the cooperative pool.
            return try await onThreadOfItsOwn("open-store") {
                try LeadStore(directory: routerConfig.stateDir, durability: routerConfig.store.durability, syncLogOnRequest: true)
            }
        } catch {
            printError("leadrouterd: cannot open the store: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `--dry-run FILE`: each decision on its own line, then the summary.
func runDryRun(_ config: RouterConfig, file: String) throws {
    guard let data = FileManager.default.contents(atPath: file) else {
        printError("leadrouterd: cannot read \(file)")
        throw ExitCode(1)
    }
    var run = DryRun(config: config, now: Int64(Date().timeIntervalSince1970 * 1000))
    var lineNumber = 0
    for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
        lineNumber += 1
        let bytes = Array(line).drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if bytes.isEmpty || bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
        print(run.route(line: lineNumber, Array(bytes)))
    }
    for line in run.summary() { print(line) }
}

/// Exits for `error` as ArgumentParser would, except that usage errors exit 2, not 64.
func exitMappingUsageErrors(_ error: any Error) -> Never {
    if LeadRouterDaemon.exitCode(for: error) == .validationFailure {
        printError(LeadRouterDaemon.fullMessage(for: error))
        exit(2)
    }
    LeadRouterDaemon.exit(withError: error)
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
