import CBenchProbes
import MallocInterposerSwift

#if canImport(Glibc)
import Glibc
#endif

/// Mallocs counted by ordo-one/malloc-interposer, which replaces `malloc` and `free` in this
/// process (the bench links it; the daemon does not).
enum Allocations {
    /// Whether `malloc` really goes through the interposer: one probe allocation is counted.
    static let interposed: Bool = {
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        bench_probe_one_malloc()
        MallocInterposerSwift.unhook()
        return MallocInterposerSwift.getStatistics().mallocCount >= 1
    }()

    /// `body`'s result and the mallocs made while it ran (by every thread: the caller runs
    /// nothing else meanwhile), or `nil` when malloc is not interposed.
    static func counting<T>(_ body: () throws -> T) rethrows -> (result: T, mallocs: Int?) {
        guard interposed else { return (try body(), nil) }
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        defer { MallocInterposerSwift.unhook() }
        let result = try body()
        MallocInterposerSwift.unhook()
        return (result, MallocInterposerSwift.getStatistics().mallocCount)
    }
}

/// Instructions counted by callgrind, when the bench runs under it (`--instructions` starts
/// a child bench that way): each measured part is dumped under its own name.
enum Instructions {
    static var onValgrind: Bool { bench_probe_on_valgrind() != 0 }

    /// Runs `body` with callgrind counting, then dumps the count as `name`.
    static func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        bench_probe_start()
        defer { bench_probe_stop(name) }
        return try body()
    }
}
