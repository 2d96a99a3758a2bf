internal import Glibc
internal import Synchronization

/// Severity of a log line.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, notice, warning, error

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var name: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .notice: return "notice"
        case .warning: return "warning"
        case .error: return "error"
        }
    }
}

/// One log record: a message plus key/value metadata.
///
/// Callers put only non-secret values in metadata: tokens, keys, passwords
/// and secrets never go into a log line (redact them before they get here).
public struct LogRecord: Sendable {
    public var time: Double
    public var level: LogLevel
    public var label: String
    public var message: String
    public var metadata: [(String, String)]
}

/// Where log records go: standard error, a rotating file, memory (tests).
public protocol LogSink: Sendable {
    func write(_ record: LogRecord)
}

/// A logger passed to whoever needs one; libraries never make their own (STYLE habit 9).
public struct Logger: Sendable {
    public var label: String
    public var minimumLevel: LogLevel
    private let sink: any LogSink

    public init(label: String, minimumLevel: LogLevel = .info, sink: any LogSink) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.sink = sink
    }

    /// A logger that drops everything.
    public static let disabled = Logger(label: "", minimumLevel: .error, sink: NullSink())

    /// The same sink under another label.
    public func labelled(_ label: String) -> Logger {
        Logger(label: label, minimumLevel: minimumLevel, sink: sink)
    }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) {
        guard level >= minimumLevel else { return }
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let time = Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
        sink.write(LogRecord(time: time, level: level, label: label, message: message(), metadata: metadata))
    }

    public func debug(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.debug, message(), metadata) }
    public func info(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.info, message(), metadata) }
    public func notice(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.notice, message(), metadata) }
    public func warning(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.warning, message(), metadata) }
    public func error(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.error, message(), metadata) }
}

struct NullSink: LogSink {
    func write(_ record: LogRecord) {}
}

/// Formats a record as one line: `2026-12-04T07:41:02.123Z info label: message key=value ...`.
public func formatLogLine(_ record: LogRecord) -> String {
    var seconds = time_t(record.time)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let millis = Int((record.time - Double(seconds)) * 1000)
    func pad(_ value: Int32, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    var line = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
    line += "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    line += " \(record.level.name) \(record.label): \(record.message)"
    for (key, value) in record.metadata {
        let needsQuotes = value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" })
        line += " \(key)=" + (needsQuotes ? "\"" + value.replacingQuotes() + "\"" : value)
    }
    return line
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var output = ""
        for character in self {
            if character == "\"" { output += "\\\"" } else if character == "\n" { output += "\\n" } else { output.append(character) }
        }
        return output
    }
}

/// Writes lines to standard error, whole lines at a time.
public struct StandardErrorSink: LogSink {
    public init() {}

    public func write(_ record: LogRecord) {
        let line = Array((formatLogLine(record) + "\n").utf8)
        line.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

/// Keeps records in memory; for tests that check what was (and was not) logged.
public final class MemorySink: LogSink {
    private let records = Mutex<[LogRecord]>([])

    public init() {}

    public func write(_ record: LogRecord) { records.withLock { $0.append(record) } }

    public var lines: [String] { records.withLock { $0.map(formatLogLine) } }
    public var all: [LogRecord] { records.withLock { $0 } }
}
