import Foundation

/// The daemon's state directory (`state_dir`), made ready before the store is opened.
public enum StateDirectory {
    /// Creates the state directory when missing and checks the daemon can write there.
    /// - Throws: ``StartupError`` naming `state_dir` and what is wrong with it.
    public static func prepare(_ path: String) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StartupError("state_dir \(path) cannot be created: \(error.localizedDescription)")
        }
        guard manager.isWritableFile(atPath: path) else {
            throw StartupError("state_dir \(path) is not writable by this user")
        }
    }
}
