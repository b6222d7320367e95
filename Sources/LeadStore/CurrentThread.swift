import Foundation

/// What a thread of the daemon sets on itself as it starts: its name and its priority.
/// The store's key filter threads and the service layer's workers both use it.
public enum CurrentThread {
    /// Names the calling thread. Linux keeps 15 bytes of a thread's name, and Foundation
    /// names a thread only from inside it, and only when the name fits (set before `start()`,
    /// or longer, it is silently dropped). `top -H`, `ps -L` and `perf` show it.
    public static func name(_ label: String) {
        precondition(label.utf8.count <= 15, "thread name \(label) is longer than Linux keeps")
        Thread.current.name = label
    }

    /// Lowers the calling thread's CPU priority to `niceness`. On Linux the nice value is
    /// per thread, and `who` 0 is the calling thread. An unprivileged process cannot raise it
    /// again, so this is for threads whose work is never urgent.
    public static func lowerPriority(to niceness: Int32) {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
    }
}
