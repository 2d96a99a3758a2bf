/// Why a log file could not be set up.
///
/// Only ``RotatingFileSink/init(path:maxBytes:maxBackups:maxAgeDays:compress:)``
/// throws: once a sink exists, failures are counted and reported on standard
/// error instead (a logger must never take the process down).
public struct LogFileError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible, so switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidConfiguration
            case cannotCreateFolder
            case cannotOpen
        }

        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// A size, count or age is out of range, or the path names a folder.
        public static var invalidConfiguration: Self { .init(.invalidConfiguration) }
        /// The log file's folder does not exist and could not be made.
        public static var cannotCreateFolder: Self { .init(.cannotCreateFolder) }
        /// The file could not be opened for appending (a folder is in the way, no permission, read-only file system…).
        public static var cannotOpen: Self { .init(.cannotOpen) }

        public var description: String {
            switch value {
            case .invalidConfiguration: "invalid configuration"
            case .cannotCreateFolder: "cannot create folder"
            case .cannotOpen: "cannot open"
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// The log file's path, as given.
    public let path: String
    /// What happened, for people (with the system's reason when a call failed).
    public let message: String
    /// The `errno` of the failed system call, if one failed.
    public let systemErrorNumber: Int32?

    init(_ code: Code, path: String, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.systemErrorNumber = errno
    }

    public var description: String { "log file \(path): \(message)" }
}
