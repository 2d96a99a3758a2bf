import Foundation
import Glibc
import IECLog
import XCTest

@testable import IECLogFile

/// The sink against real files in a temporary folder.
final class RotatingFileSinkTests: XCTestCase {
    private var folder: TemporaryFolder!
    private var log: String { folder.file("iecservice.log") }

    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder.remove() }

    func testLoggerLinesAreAppendedOneRecordPerLine() throws {
        let sink = try RotatingFileSink(path: log, maxBytes: 1 << 20, maxBackups: 3, maxAgeDays: 0, compress: true)
        let logger = Logger(label: "iecservice", minimumLevel: .debug, sink: sink)
        logger.info("started", [("endpoint", "tcp://*:5556")])
        logger.debug("two\nlines forged\r\n2026-01-01T00:00:00.000Z error x: fake")
        logger.error("stopped")
        let written = lines(log)
        XCTAssertEqual(written.count, 3, "one line per record, newlines inside escaped: \(written)")
        XCTAssertTrue(written[0].hasSuffix(" info iecservice: started endpoint=tcp://*:5556"), written[0])
        XCTAssertTrue(written[1].hasSuffix(" debug iecservice: two\\nlines forged\\r\\n2026-01-01T00:00:00.000Z error x: fake"), written[1])
        XCTAssertTrue(written[2].hasSuffix(" error iecservice: stopped"), written[2])
        XCTAssertEqual(sink.lostLineCount, 0)
        XCTAssertEqual(sink.path, log)

        // A second sink (a restart) appends to what is there.
        sink.close()
        logger.info("dropped after close")
        let again = try RotatingFileSink(path: log, maxBytes: 1 << 20, maxBackups: 3, maxAgeDays: 0, compress: true)
        again.write(line: "after restart")
        again.flush()
        XCTAssertEqual(lines(log).count, 4)
        XCTAssertEqual(lines(log).last, "after restart")
    }

    func testNewFileIsMode0600AndNewFoldersAre0700WhateverTheUmask() throws {
        let previous = umask(0)
        defer { umask(previous) }
        let path = folder.file("var/opt/iec/iecservice.log")
        let sink = try RotatingFileSink(path: path, maxBytes: 100, maxBackups: 2, maxAgeDays: 0, compress: true)
        sink.write(line: "x")
        XCTAssertEqual(fileMode(path), 0o600)
        XCTAssertEqual(fileMode(folder.file("var")), 0o700)
        XCTAssertEqual(fileMode(folder.file("var/opt/iec")), 0o700)
        for index in 0..<20 { sink.write(line: paddedLine("line \(index)", width: 40)) }
        XCTAssertEqual(fileMode(path + ".1.gz"), 0o600, "compressed backups too")
        XCTAssertEqual(fileMode(path), 0o600, "and the file started after rotation")

        // An existing file keeps its mode (the administrator's choice).
        let existing = folder.file("existing.log")
        touch(existing)
        chmod(existing, 0o640)
        _ = try RotatingFileSink(path: existing, maxBytes: 100, maxBackups: 1, maxAgeDays: 0, compress: false)
        XCTAssertEqual(fileMode(existing), 0o640)
    }

    func testRotatesBeforeALineWouldPassTheLimitAndKeepsMaxBackups() throws {
        let sink = try RotatingFileSink(path: log, maxBytes: 1000, maxBackups: 3, maxAgeDays: 0, compress: false)
        for index in 1...45 { sink.write(line: paddedLine("line \(index)", width: 100)) }
        // Ten 100-byte lines fill a file exactly; the 11th starts a new one.
        XCTAssertEqual(folder.names(), ["iecservice.log.1", "iecservice.log.2", "iecservice.log.3"])
        func numbers(_ path: String) -> [Int] {
            lines(path).map { Int($0.dropFirst(5).prefix(while: { $0 != "." }))! }
        }
        XCTAssertEqual(numbers(log), Array(41...45))
        XCTAssertEqual(numbers(log + ".1"), Array(31...40))
        XCTAssertEqual(numbers(log + ".2"), Array(21...30))
        XCTAssertEqual(numbers(log + ".3"), Array(11...20), "lines 1–10 went with the 4th backup")
        for name in ["", ".1", ".2", ".3"] { XCTAssertLessThanOrEqual(fileSize(log + name), 1000) }

        // A line longer than the limit goes in whole, in a file of its own.
        sink.write(line: paddedLine("long", width: 2500))
        sink.write(line: "after")
        XCTAssertEqual(fileSize(log + ".1"), 2500)
        XCTAssertEqual(lines(log), ["after"])
        XCTAssertEqual(sink.lostLineCount, 0)
    }

    func testMaxBackupsZeroKeepsNoBackups() throws {
        let sink = try RotatingFileSink(path: log, maxBytes: 500, maxBackups: 0, maxAgeDays: 0, compress: true)
        for index in 1...23 { sink.write(line: paddedLine("line \(index)", width: 100)) }
        XCTAssertEqual(folder.names(), [])
        XCTAssertEqual(lines(log).count, 3, "lines 21–23, the rest dropped with their files")
        XCTAssertTrue(lines(log)[0].hasPrefix("line 21."))
        XCTAssertEqual(fileMode(log), 0o600)
    }

    func testCompressedBackupsAreValidGzipWithTheLinesInOrder() throws {
        let sink = try RotatingFileSink(path: log, maxBytes: 4096, maxBackups: 4, maxAgeDays: 0, compress: true)
        var expected: [String] = []
        for index in 1...300 {
            let line = paddedLine("line \(index) " + String(repeating: "x", count: index % 50), width: 80)
            expected.append(line)
            sink.write(line: line)
        }
        XCTAssertEqual(folder.names(), ["iecservice.log.1.gz", "iecservice.log.2.gz", "iecservice.log.3.gz", "iecservice.log.4.gz"],
                       "compressed, the uncompressed copies and temporary files removed")
        var kept: [String] = []
        for index in stride(from: 4, through: 1, by: -1) {
            let backup = log + ".\(index).gz"
            XCTAssertEqual(try runCommand("/usr/bin/gzip", ["-t", backup]).status, 0, "gzip -t \(backup)")
            let unzipped = try runCommand("/usr/bin/zcat", [backup])
            XCTAssertEqual(unzipped.status, 0)
            let viaZlib = String(decoding: try Gzip.decompress(backup), as: UTF8.self)
            XCTAssertEqual(viaZlib, unzipped.output, "zlib and zcat agree")
            XCTAssertLessThanOrEqual(viaZlib.utf8.count, 4096)
            XCTAssertLessThan(fileSize(backup), viaZlib.utf8.count / 2, "it is really compressed")
            kept += viaZlib.split(separator: "\n").map(String.init)
        }
        kept += lines(log)
        XCTAssertEqual(kept, Array(expected.suffix(kept.count)), "the newest lines, in order, none lost or doubled")
        XCTAssertGreaterThan(kept.count, 4 * 40)
    }

    func testCorruptGzipIsDetectedByTheCheck() throws {
        let sink = try RotatingFileSink(path: log, maxBytes: 1000, maxBackups: 1, maxAgeDays: 0, compress: true)
        for index in 1...20 { sink.write(line: paddedLine("line \(index)", width: 100)) }
        let backup = log + ".1.gz"
        XCTAssertNoThrow(try Gzip.decompress(backup))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: backup))
        try bytes.prefix(bytes.count - 6).write(to: URL(fileURLWithPath: backup))
        XCTAssertThrowsError(try Gzip.decompress(backup), "a cut-short file is refused")
    }

    func testBackupsKeepTheTimeOfTheirLastLine() throws {
        let sink = try RotatingFileSink(path: log, maxBytes: 1000, maxBackups: 2, maxAgeDays: 0, compress: true)
        for index in 1...10 { sink.write(line: paddedLine("line \(index)", width: 100)) }
        let lastWrite = Double(time(nil)) - 3 * 86_400
        setModificationTime(log, lastWrite)
        sink.write(line: "rotates")
        var status = stat()
        XCTAssertEqual(stat(log + ".1.gz", &status), 0)
        XCTAssertEqual(Double(status.st_mtim.tv_sec), lastWrite, "the age limit counts from the last line, not from the compression")
    }

    func testBackupsOlderThanTheAgeLimitAreRemovedAtStartAndAtRotation() throws {
        let environment = TestEnvironment()
        let now = environment.now
        let day = 86_400.0
        touch(log + ".1")
        setModificationTime(log + ".1", now - 1 * day)
        touch(log + ".2.gz")
        setModificationTime(log + ".2.gz", now - 10 * day)
        touch(log + ".3")
        setModificationTime(log + ".3", now - 4 * day)
        touch(log + ".4.gz.tmp")  // a compression cut short
        touch(folder.file("iecservice.log.old"))  // not ours
        touch(folder.file("other.log.1"))
        setModificationTime(folder.file("other.log.1"), now - 100 * day)

        let sink = try environment.sink(log, maxBytes: 300, maxBackups: 10, maxAgeDays: 5)
        XCTAssertEqual(folder.names(), ["iecservice.log.1", "iecservice.log.3", "iecservice.log.old"],
                       "the 10-day-old backup and the leftover went at start")

        // Two days on, the 4-day-old backup is past the limit: the next rotation removes it and shifts the rest.
        environment.advance(2 * day)
        for index in 1...4 { sink.write(line: paddedLine("line \(index)", width: 100)) }
        XCTAssertEqual(folder.names(), ["iecservice.log.1", "iecservice.log.2", "iecservice.log.old"])
        XCTAssertEqual(contents(log + ".2"), "old\n")
        XCTAssertEqual(lines(log + ".1").count, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.file("other.log.1")), "other files are left alone")

        // With no age limit (0) nothing is removed for its age.
        setModificationTime(log + ".2", now - 10_000 * day)
        _ = try environment.sink(log, maxBytes: 300, maxBackups: 10, maxAgeDays: 0)
        XCTAssertEqual(folder.names(), ["iecservice.log.1", "iecservice.log.2", "iecservice.log.old"])
    }

    func testALowerBackupCountRemovesTheExtraBackupsAtStart() throws {
        for name in [".1", ".2.gz", ".3", ".4.gz", ".5", ".12"] { touch(log + name) }
        _ = try RotatingFileSink(path: log, maxBytes: 1000, maxBackups: 2, maxAgeDays: 0, compress: true)
        XCTAssertEqual(folder.names(), ["iecservice.log.1", "iecservice.log.2.gz"])
    }

    func testEightThreadsNeverInterleaveLinesAndLoseNoneWhileRotating() throws {
        // Without rotation: every line whole, each thread's lines in its order.
        try checkConcurrentWriters(maxBytes: 1 << 30, compress: false, perThread: 1000)
        folder.remove()
        folder = try TemporaryFolder()
        // With rotation (about 40 of them): the same, across the backups.
        try checkConcurrentWriters(maxBytes: 16 * 1024, compress: false, perThread: 1000)
        folder.remove()
        folder = try TemporaryFolder()
        try checkConcurrentWriters(maxBytes: 16 * 1024, compress: true, perThread: 400)
    }

    private func checkConcurrentWriters(maxBytes: Int, compress: Bool, perThread: Int) throws {
        let sink = try RotatingFileSink(path: log, maxBytes: maxBytes, maxBackups: 1000, maxAgeDays: 0, compress: compress)
        let width = 80
        onThreads(8) { thread in
            for index in 0..<perThread { sink.write(line: paddedLine("t\(thread) \(index) ", width: width)) }
        }
        XCTAssertEqual(sink.lostLineCount, 0)
        try checkAllLines(threads: 8, perThread: perThread, width: width, maxBytes: maxBytes, compressed: compress)
    }

    /// Reads the live file and every backup, oldest first; checks each line is whole and each writer's lines are all there, in order.
    private func checkAllLines(threads: Int, perThread: Int, width: Int, maxBytes: Int?, compressed: Bool) throws {
        let backups = folder.names().map { name -> (Int, String) in
            let index = Int(name.dropFirst("iecservice.log.".count).prefix(while: { $0.isNumber }))!
            return (index, folder.file(name))
        }.sorted { $0.0 > $1.0 }
        XCTAssertFalse(backups.contains { $0.1.hasSuffix(".tmp") })
        var all: [String] = []
        for (_, path) in backups {
            let text: String
            if compressed {
                XCTAssertTrue(path.hasSuffix(".gz"), path)
                text = String(decoding: try Gzip.decompress(path), as: UTF8.self)
            } else {
                text = contents(path)
            }
            if let maxBytes { XCTAssertLessThanOrEqual(text.utf8.count, maxBytes, path) }
            XCTAssertTrue(text.hasSuffix("\n"), path)
            all += text.split(separator: "\n").map(String.init)
        }
        all += lines(log)
        XCTAssertEqual(all.count, threads * perThread, "no line lost or doubled")
        var next = [Int](repeating: 0, count: threads)
        for line in all {
            let fields = line.split(separator: " ")
            guard line.utf8.count == width - 1, fields.count == 3, fields[0].hasPrefix("t"),
                  let thread = Int(fields[0].dropFirst()), let index = Int(fields[1]), thread < threads,
                  fields[2].allSatisfy({ $0 == "." })
            else { return XCTFail("a torn or interleaved line: \(line)") }
            XCTAssertEqual(index, next[thread], "thread \(thread)'s lines in order")
            next[thread] = index + 1
        }
        XCTAssertEqual(next, [Int](repeating: perThread, count: threads))
    }

    func testTwoSinksOnOneFileTakeTurnsToRotate() throws {
        // Two sinks stand for two processes: separate descriptors, separate locks, flock(2) between them.
        let environment = TestEnvironment()
        let first = try environment.sink(log, maxBytes: 16 * 1024, maxBackups: 1000)
        let second = try environment.sink(log, maxBytes: 16 * 1024, maxBackups: 1000)
        onThreads(8) { thread in
            let sink = thread.isMultiple(of: 2) ? first : second
            for index in 0..<1000 { sink.write(line: paddedLine("t\(thread) \(index) ", width: 64)) }
        }
        XCTAssertEqual(first.lostLineCount + second.lostLineCount, 0)
        XCTAssertEqual(environment.reports, [], "no failed rotation: the one that comes second reopens instead")
        // A line may land in a file just rotated by the other sink, so sizes may pass the limit a little.
        try checkAllLines(threads: 8, perThread: 1000, width: 64, maxBytes: nil, compressed: false)
    }

    func testUnwritablePathsThrowClearErrors() throws {
        func refused(_ path: String, maxBytes: Int = 1000, maxBackups: Int = 1, maxAgeDays: Int = 0, _ code: LogFileError.Code,
                     _ words: String, line: UInt = #line) {
            XCTAssertThrowsError(
                try RotatingFileSink(path: path, maxBytes: maxBytes, maxBackups: maxBackups, maxAgeDays: maxAgeDays, compress: false),
                line: line
            ) { error in
                guard let error = error as? LogFileError else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(error.code, code, "\(error)", line: line)
                XCTAssertTrue(error.description.contains(words), "\(error)", line: line)
                XCTAssertTrue(error.description.hasPrefix("log file \(path): "), "\(error)", line: line)
            }
        }
        mkdir(log, 0o700)
        refused(log, .cannotOpen, "Is a directory (a folder is in the way)")
        touch(folder.file("plain"))
        refused(folder.file("plain/iecservice.log"), .cannotCreateFolder, "Not a directory")
        refused("/proc/openiec-no-such-folder/iecservice.log", .cannotCreateFolder, "cannot create the folder /proc/openiec-no-such-folder")
        refused("/proc/self/iecservice.log", .cannotOpen, "cannot open the file for appending")
        refused("", .invalidConfiguration, "empty")
        refused(folder.path + "/", .invalidConfiguration, "folder")
        refused(folder.path + "/..", .invalidConfiguration, "folder")
        refused(folder.file("a.log"), maxBytes: 0, .invalidConfiguration, "at least 1 byte")
        refused(folder.file("a.log"), maxBackups: -1, .invalidConfiguration, "backups")
        refused(folder.file("a.log"), maxAgeDays: -1, .invalidConfiguration, "age")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("a.log")), "nothing made for a bad configuration")
    }

    func testAFullDiskCountsLostLinesAndComplainsOnceAMinute() throws {
        let environment = TestEnvironment()
        // /dev/full: every write fails with ENOSPC; a character device is written to, never rotated.
        let sink = try environment.sink("/dev/full", maxBytes: 10)
        for index in 0..<100 { sink.write(line: "line \(index)") }
        XCTAssertEqual(sink.lostLineCount, 100)
        XCTAssertEqual(environment.reports.count, 1)
        XCTAssertEqual(environment.reports.first, "RotatingFileSink: cannot append to /dev/full: No space left on device; 1 log line(s) lost since the last report")
        environment.advance(59)
        sink.write(line: "still failing")
        XCTAssertEqual(environment.reports.count, 1)
        environment.advance(1)
        sink.write(line: "a minute on")
        XCTAssertEqual(environment.reports.count, 2)
        XCTAssertEqual(environment.reports.last, "RotatingFileSink: cannot append to /dev/full: No space left on device; 101 log line(s) lost since the last report; 100 more problem(s) not shown")
        XCTAssertEqual(sink.lostLineCount, 102)
    }

    func testAFileThatBecomesUnwritableLaterIsRetriedAndRecovers() throws {
        let environment = TestEnvironment()
        let inner = folder.file("logs")
        let path = inner + "/iecservice.log"
        let sink = try environment.sink(path, maxBytes: 1000, maxBackups: 2)
        sink.write(line: "first")

        // The file is removed by hand: the next line starts a new one (0600).
        unlink(path)
        sink.write(line: "second")
        XCTAssertEqual(lines(path), ["second"])
        XCTAssertEqual(fileMode(path), 0o600)

        // Its folder is replaced by a plain file: lines are lost, counted, reported; no crash, no wait.
        try FileManager.default.removeItem(atPath: inner)
        touch(inner, "in the way\n")
        for index in 0..<50 { sink.write(line: "lost \(index)") }
        XCTAssertEqual(sink.lostLineCount, 50)
        XCTAssertEqual(environment.reports.count, 1)
        XCTAssertTrue(environment.reports[0].contains("cannot reopen \(path): Not a directory"), environment.reports[0])

        // Fixed: after the retry interval the file is reopened, and a minute on the sink says it writes again.
        unlink(inner)
        environment.advance(61)
        sink.write(line: "back")
        XCTAssertEqual(lines(path), ["back"])
        XCTAssertEqual(environment.reports.count, 2)
        XCTAssertTrue(environment.reports[1].hasPrefix("RotatingFileSink: writing again; "), environment.reports[1])
        XCTAssertEqual(sink.lostLineCount, 50)
    }

    func testARotationThatFailsKeepsWritingToTheLiveFile() throws {
        let environment = TestEnvironment()
        let sink = try environment.sink(log, maxBytes: 300, maxBackups: 2)
        // A folder where backup .2 is: the shift fails (even for root).
        for index in 1...3 { sink.write(line: paddedLine("line \(index)", width: 100)) }
        touch(log + ".1")
        try FileManager.default.createDirectory(atPath: log + ".2", withIntermediateDirectories: false)
        touch(log + ".2/blocker")
        for index in 4...6 { sink.write(line: paddedLine("line \(index)", width: 100)) }
        XCTAssertEqual(sink.lostLineCount, 0, "the lines still go in, past the limit")
        XCTAssertEqual(lines(log).count, 6)
        XCTAssertEqual(environment.reports.count, 1)
        XCTAssertTrue(environment.reports[0].contains("cannot rotate \(log): unlink \(log).2: Is a directory"), environment.reports[0])

        // Cleared, and a second later (rotation is retried once a second at most), rotation resumes.
        try FileManager.default.removeItem(atPath: log + ".2")
        environment.advance(1)
        sink.write(line: "rotated")
        XCTAssertEqual(lines(log), ["rotated"])
        XCTAssertEqual(lines(log + ".1").count, 6)
        XCTAssertEqual(contents(log + ".2"), "old\n")
    }
}
