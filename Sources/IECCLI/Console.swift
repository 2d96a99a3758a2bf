/// Where a command reads and writes: the real terminal in `iecutil`, memory in tests.
public protocol Console: AnyObject {
    func write(_ text: String)
    func writeError(_ text: String)
    /// All of standard input, up to `limit` bytes; nil when there is more.
    func readInput(limit: Int) -> [UInt8]?
}

/// A console that keeps everything in memory.
public final class MemoryConsole: Console {
    public var output = ""
    public var errorOutput = ""
    public var input: [UInt8]

    public init(input: [UInt8] = []) { self.input = input }

    public func write(_ text: String) { output += text }
    public func writeError(_ text: String) { errorOutput += text }
    public func readInput(limit: Int) -> [UInt8]? { input.count <= limit ? input : nil }
}
