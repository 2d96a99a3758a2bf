public import IECLog
internal import Glibc
internal import Synchronization

/// A log sink that appends to a file and rotates it by size, as the original
/// IEC's `logging` settings describe: `iecservice.log` → `iecservice.log.1`
/// (`.1.gz` when compressing) → `.2` … up to `maxBackups`, with backups older
/// than `maxAgeDays` removed.
///
/// - Each record is one line, written with one write(2) on an `O_APPEND`
///   descriptor, so lines from several threads, or several processes sharing
///   the file, never interleave. Newlines inside a record are escaped (`\n`),
///   so one record is always one line.
/// - The file is rotated before a line that would take it past `maxBytes`
///   (a single longer line still goes in whole). Backups keep the time of
///   their last line, which is what `maxAgeDays` is measured against; the
///   age limit is applied at `init` and at each rotation.
/// - A new file (and any folder made for it, 0700) gets mode 0600; an
///   existing file keeps its mode.
/// - Once made, the sink never throws, crashes or waits on a failing file:
///   lost lines are counted (``lostLineCount``) and reported on standard
///   error, one line a minute at most. A file that is removed under the sink
///   is recreated; one that cannot be reopened is retried once a second.
/// - Processes sharing one file rotate it in turn (flock(2)): the first to
///   reach the limit rotates, the others reopen. A line another process
///   appends to the old file in the instant it is rotated lands in `.1`
///   (or, when compressing, may be lost); within one process nothing is lost.
///
/// Level filtering is the ``Logger``'s job; the sink writes what it gets.
/// Callers keep secrets out of records (see ``LogRecord``).
///
/// Wiring from the config files' `logging` section:
/// ```swift
/// let sink = try RotatingFileSink(
///     path: logging.logfile, maxBytes: logging.maxFileSizeMB * 1024 * 1024,
///     maxBackups: logging.maxBackupFiles, maxAgeDays: logging.maxFileAgeDays,
///     compress: logging.compressFileBackups)
/// let logger = Logger(label: "iecservice", minimumLevel: logging.debug ? .debug : .info, sink: sink)
/// ```
public final class RotatingFileSink: LogSink {
    /// The live file's absolute path.
    public let path: String
    /// The size a file may reach before it is rotated, bytes.
    public let maxBytes: Int
    /// How many rotated files are kept (0 keeps none: the file is simply started again).
    public let maxBackups: Int
    /// Rotated files modified longer ago than this many days are removed; 0 keeps any age.
    public let maxAgeDays: Int
    /// Whether rotated files are gzip-compressed (`.1.gz`).
    public let compress: Bool

    private let state: Mutex<LogFileState>
    private let clock: @Sendable () -> Double
    private let reporter: @Sendable (String) -> Void

    /// Opens (or creates) the log file and removes backups that are too many or too old.
    ///
    /// - Parameters:
    ///   - path: the live file, e.g. `/var/opt/iec/iecservice.log`; a relative path is taken from the current folder.
    ///   - maxBytes: at least 1 (the config's `max_file_size_mb` × 1 048 576).
    ///   - maxBackups: 0 or more (`max_backup_files`).
    ///   - maxAgeDays: 0 (no age limit) or more (`max_file_age_days`).
    ///   - compress: gzip the rotated files (`compress_file_backups`).
    /// - Throws: ``LogFileError`` when a value is out of range, the folder cannot be made or the file cannot be opened for appending.
    public convenience init(path: String, maxBytes: Int, maxBackups: Int, maxAgeDays: Int, compress: Bool) throws {
        try self.init(path: path, maxBytes: maxBytes, maxBackups: maxBackups, maxAgeDays: maxAgeDays, compress: compress,
                      clock: { System.wallClock() }, reporter: { System.writeToStandardError($0) })
    }

    /// The same, with the wall clock (seconds since the epoch) and the standard error writer replaced (tests).
    init(path: String, maxBytes: Int, maxBackups: Int, maxAgeDays: Int, compress: Bool,
         clock: @escaping @Sendable () -> Double, reporter: @escaping @Sendable (String) -> Void) throws(LogFileError) {
        func invalid(_ message: String) -> LogFileError { LogFileError(.invalidConfiguration, path: path, message) }
        guard !path.isEmpty else { throw invalid("the path is empty") }
        guard !path.hasSuffix("/") else { throw invalid("the path names a folder, not a file") }
        guard !path.utf8.contains(0) else { throw invalid("the path contains a NUL byte") }
        guard maxBytes >= 1 else { throw invalid("the size limit must be at least 1 byte (it is \(maxBytes))") }
        guard maxBackups >= 0 else { throw invalid("the number of backups cannot be negative (it is \(maxBackups))") }
        guard maxAgeDays >= 0, maxAgeDays <= 1_000_000 else {
            throw invalid("the age limit must be 0 (none) or a number of days (it is \(maxAgeDays))")
        }

        var absolute = path
        if !absolute.hasPrefix("/") {
            guard let current = System.currentFolder() else {
                throw LogFileError(.cannotOpen, path: path, "the current folder is unknown, so the relative path cannot be resolved")
            }
            absolute = current + "/" + path
        }
        let folder = System.parent(of: absolute)
        let base = String(absolute[absolute.index(after: absolute.lastIndex(of: "/")!)...])
        guard base != "." && base != ".." else { throw invalid("the path names a folder, not a file") }
        let settings = LogFileSettings(
            path: absolute, folder: folder, base: base, maxBytes: maxBytes, maxBackups: maxBackups,
            maxAgeSeconds: maxAgeDays * 86_400, compress: compress)

        do throws(SystemError) {
            try System.makeFolders(folder)
        } catch {
            throw LogFileError(.cannotCreateFolder, path: path, "cannot create the folder \(error.path): \(error.reason)", errno: error.code)
        }
        let opened: (fd: Int32, status: System.Status)
        do throws(SystemError) {
            opened = try System.openForAppending(absolute)
        } catch {
            let hint = error.code == EISDIR ? " (a folder is in the way)" : ""
            throw LogFileError(.cannotOpen, path: path, "cannot open the file for appending: \(error.reason)\(hint)", errno: error.code)
        }

        self.path = absolute
        self.maxBytes = maxBytes
        self.maxBackups = maxBackups
        self.maxAgeDays = maxAgeDays
        self.compress = compress
        self.clock = clock
        self.reporter = reporter
        var state = LogFileState(settings: settings, fd: opened.fd, status: opened.status)
        let problem = state.cleanUp(now: clock())
        self.state = Mutex(state)
        if let problem { reporter(problem) }
    }

    deinit {
        state.withLock { $0.close() }
    }

    /// Appends the record as one line.
    public func write(_ record: LogRecord) {
        write(line: formatLogLine(record))
    }

    /// Appends one line of text (a newline is added; newlines inside are escaped).
    func write(line text: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 1)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\n"))
        let now = clock()
        let notes = bytes.withUnsafeBytes { line in state.withLock { $0.append(line, now: now) } }
        for note in notes { reporter(note) }
    }

    /// Lines that could not be written since the sink was made.
    public var lostLineCount: Int { state.withLock { $0.report.lostLines } }

    /// Waits until what was written is on the disk (fsync). Each line is written at once, so this is
    /// only needed for durability, e.g. before shutting down.
    public func flush() {
        state.withLock { $0.flush() }
    }

    /// Closes the file; later records are dropped. Also done when the sink goes away.
    public func close() {
        state.withLock { $0.close() }
    }
}
