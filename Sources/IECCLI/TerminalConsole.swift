internal import Glibc

/// The process's standard streams.
public final class TerminalConsole: Console {
    public init() {}

    public func write(_ text: String) { Self.write(text, to: STDOUT_FILENO) }
    public func writeError(_ text: String) { Self.write(text, to: STDERR_FILENO) }

    public func readInput(limit: Int) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return output }
            output.append(contentsOf: buffer[..<count])
            if output.count > limit { return nil }
        }
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return }
            bytes = bytes.dropFirst(count)
        }
    }
}
