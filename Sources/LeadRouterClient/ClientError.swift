/// What went wrong talking to the daemon, said so a person can act on it: which endpoint,
/// what was expected there, what to check. `leadctl` prints it as it is.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
