import Foundation

/// Waits for what nothing signals to a test: a line in a log file, a process's exit, an
/// answer that replay or a scrape gives. Checks `condition` every `interval` seconds until
/// it holds, for at most `timeout` seconds; true when it held. The interval is only how
/// often to look, never a guess at how long something takes: every wait of the end-to-end
/// suite goes through here, each for an event with a deadline.
@discardableResult
func poll(timeout: TimeInterval, every interval: TimeInterval = 0.02, until condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}
