/// Why a script run failed.
public struct ScriptError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure; compare with the static members.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Code: Hashable, Sendable {
            case syntaxError, runtimeError, timeout, memoryLimit, sourceTooLarge, outputTooLarge, invalidOutput
            case hostFunctionFailed
        }

        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The prelude or the script does not compile; `line` says where.
        public static let syntaxError = Kind(.syntaxError)
        /// An exception nobody caught (also one a host function threw).
        public static let runtimeError = Kind(.runtimeError)
        /// The run took longer than ``ScriptLimits/timeout``.
        public static let timeout = Kind(.timeout)
        /// The heap reached ``ScriptLimits/memoryBytes`` and the run then failed.
        public static let memoryLimit = Kind(.memoryLimit)
        /// `source` is longer than ``ScriptLimits/maxSourceBytes``; nothing ran.
        public static let sourceTooLarge = Kind(.sourceTooLarge)
        /// The outputs' JSON is longer than ``ScriptLimits/maxOutputBytes``.
        public static let outputTooLarge = Kind(.outputTooLarge)
        /// An output has no JSON form (a function, a symbol, a cycle, too deep).
        public static let invalidOutput = Kind(.invalidOutput)
        /// A host function stopped the run by throwing a `ScriptError` of this
        /// kind, or returned more than ``ScriptLimits/maxOutputBytes`` of JSON.
        public static let hostFunctionFailed = Kind(.hostFunctionFailed)

        public var description: String {
            switch code {
            case .syntaxError: return "syntax error"
            case .runtimeError: return "runtime error"
            case .timeout: return "timeout"
            case .memoryLimit: return "memory limit"
            case .sourceTooLarge: return "source too large"
            case .outputTooLarge: return "output too large"
            case .invalidOutput: return "invalid output"
            case .hostFunctionFailed: return "host function failed"
            }
        }
    }

    public let kind: Kind
    /// What went wrong; for script errors the exception as the script would
    /// print it (`"TypeError: undefined not callable"`).
    public let message: String
    /// The line in the source (or prelude) the error points at, when known.
    public let line: Int?

    public init(kind: Kind, message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    public var description: String {
        if let line { return "\(kind) at line \(line): \(message)" }
        return "\(kind): \(message)"
    }
}
