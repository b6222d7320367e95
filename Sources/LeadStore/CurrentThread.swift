import Foundation

/// What a thread of the daemon sets on itself as it starts: its name and its priority.
/// The store's key filter threads and the service layer's workers both use it.
public enum CurrentThread {
    /// Names the calling thread: `top -H`, `ps -L` and `perf` show it. Linux keeps 15 bytes of
    /// a thread's name. Written to the kernel directly (`/proc/thread-self/comm`): Foundation's
    /// `Thread.current.name` now and then left a new thread with the name it inherited from
    /// the thread that made it (`oot.default-qos`, a dispatch worker's), which the end-to-end
    /// test of the daemon's thread names caught about one run in four on a busy machine.
    public static func name(_ label: String) {
        precondition(label.utf8.count <= 15, "thread name \(label) is longer than Linux keeps")
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = label.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }

    /// Lowers the calling thread's CPU priority to `niceness`. On Linux the nice value is
    /// per thread, and `who` 0 is the calling thread. An unprivileged process cannot raise it
    /// again, so this is for threads whose work is never urgent.
    public static func lowerPriority(to niceness: Int32) {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
    }

    /// Puts the calling thread in Linux's idle scheduling class (`SCHED_IDLE`): it runs on
    /// what the other threads leave, and a thread of the normal class that wakes on its core
    /// takes the core at once. At nice 10 a thread that has the core keeps it for its slice
    /// (about 1.4 ms here) before a waking thread gets it; the routing thread, woken by a lead,
    /// would wait that long. Any process may lower its own threads so. False when refused.
    @discardableResult
    public static func runOnlyWhenIdle() -> Bool {
        var parameters = sched_param(sched_priority: 0)
        return sched_setscheduler(0, schedIdle, &parameters) == 0
    }

    /// `SCHED_IDLE` from `<linux/sched.h>`, which Swift's Glibc module leaves out (glibc
    /// declares it only under `_GNU_SOURCE`).
    static let schedIdle: Int32 = 5
}
