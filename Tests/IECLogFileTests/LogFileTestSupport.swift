import Foundation
import Glibc
import Synchronization
import XCTest

@testable import IECLogFile

/// A fresh folder under /tmp, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        var template = Array("/tmp/ieclogfile-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// The log file's backups and leftovers, sorted (the live file left out).
    func names(prefix: String = "iecservice.log.") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }
}

/// A wall clock the test moves by hand, and what the sink said on "standard error".
final class TestEnvironment: Sendable {
    private let time: Mutex<Double>
    private let said = Mutex<[String]>([])

    init(now: Double = Double(Glibc.time(nil))) { time = Mutex(now) }

    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
    var reports: [String] { said.withLock { $0 } }

    func sink(_ path: String, maxBytes: Int = 1 << 20, maxBackups: Int = 5, maxAgeDays: Int = 0, compress: Bool = false) throws
        -> RotatingFileSink
    {
        try RotatingFileSink(
            path: path, maxBytes: maxBytes, maxBackups: maxBackups, maxAgeDays: maxAgeDays, compress: compress,
            clock: { [self] in now }, reporter: { [self] line in said.withLock { $0.append(line) } })
    }
}

func contents(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing \(path)>"
}

func lines(_ path: String) -> [String] {
    contents(path).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
}

func fileMode(_ path: String) -> mode_t {
    var status = stat()
    guard lstat(path, &status) == 0 else { return 0 }
    return status.st_mode & 0o7777
}

func fileSize(_ path: String) -> Int {
    var status = stat()
    guard lstat(path, &status) == 0 else { return -1 }
    return Int(status.st_size)
}

func setModificationTime(_ path: String, _ seconds: Double) {
    var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
    precondition(utimensat(AT_FDCWD, path, &times, 0) == 0, "utimensat \(path)")
}

func touch(_ path: String, _ text: String = "old\n") {
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// Runs a command, returning its exit status and standard output.
func runCommand(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A line of exactly `width` bytes with the newline: "tag" padded with dots.
func paddedLine(_ tag: String, width: Int) -> String {
    tag + String(repeating: ".", count: max(0, width - 1 - tag.utf8.count))
}

/// Starts `count` threads running `body(index)` and waits for them all.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}
