internal import Glibc

/// The sink's settings, fixed at `init`.
struct LogFileSettings: Sendable {
    /// Absolute path of the live file.
    var path: String
    var folder: String
    /// The file's name in `folder`; backups are `base.1`, `base.1.gz`, …
    var base: String
    var maxBytes: Int
    var maxBackups: Int
    var maxAgeSeconds: Int
    var compress: Bool

    /// The path of a name in the log file's folder.
    func inFolder(_ name: String) -> String { folder == "/" ? "/" + name : folder + "/" + name }

    func backupPath(_ index: Int, compressed: Bool = false) -> String {
        inFolder("\(base).\(index)" + (compressed ? RotationPlan.compressedSuffix : ""))
    }
}

/// The open file and what happened to it; lives inside the sink's mutex, so
/// every method runs with the lock held. Methods return the line to print on
/// standard error (if any) rather than printing it, so that nothing slow
/// happens under the lock.
struct LogFileState: Sendable {
    /// How long to wait before retrying a reopen or a rotation that failed, seconds.
    static let retryInterval: Double = 1

    let settings: LogFileSettings
    private(set) var fd: Int32
    /// Only regular files are rotated (a character device such as /dev/null is just written to).
    private var rotates: Bool
    private var closed = false
    private var retryReopenAt: Double = 0
    private var retryRotationAt: Double = 0
    private(set) var report = FailureReport()

    init(settings: LogFileSettings, fd: Int32, status: System.Status) {
        self.settings = settings
        self.fd = fd
        self.rotates = status.isRegular
    }

    /// Appends one whole line (ending in a newline) with one write(2), rotating first if the line would pass `maxBytes`.
    mutating func append(_ line: UnsafeRawBufferPointer, now: Double) -> [String] {
        if closed { return [] }
        var notes: [String] = []
        if fd < 0 {
            guard now >= retryReopenAt else { return note(&notes, report.problem(Self.noFile(settings.path), lineLost: true, now: now)) }
            if let problem = reopen(now: now) { return note(&notes, report.problem(problem, lineLost: true, now: now)) }
        }
        if rotates {
            do throws(SystemError) {
                var status = try System.fstat(fd, settings.path)
                if status.links == 0 {
                    // Removed under us (by hand, or by another process's rotation): start a new file.
                    if let problem = reopen(now: now) { return note(&notes, report.problem(problem, lineLost: true, now: now)) }
                    status = try System.fstat(fd, settings.path)
                }
                if status.size > 0, status.size + line.count > settings.maxBytes, now >= retryRotationAt {
                    if let problem = rotate(now: now) {
                        retryRotationAt = now + Self.retryInterval
                        note(&notes, report.problem(problem, lineLost: false, now: now))
                    }
                    if fd < 0 { return note(&notes, report.problem(Self.noFile(settings.path), lineLost: true, now: now)) }
                }
            } catch {
                return note(&notes, report.problem("cannot append to \(settings.path): \(error.reason)", lineLost: true, now: now))
            }
        }
        do throws(SystemError) {
            try System.writeAll(fd, line, settings.path)
        } catch {
            return note(&notes, report.problem("cannot append to \(settings.path): \(error.reason)", lineLost: true, now: now))
        }
        return note(&notes, report.succeeded(now: now))
    }

    private static func noFile(_ path: String) -> String { "\(path) is not open (it could not be reopened)" }

    @discardableResult
    private func note(_ notes: inout [String], _ line: String?) -> [String] {
        if let line { notes.append("RotatingFileSink: " + line) }
        return notes
    }

    /// Opens the file at the path again (making its folder if it went away); returns the problem if it cannot.
    ///
    /// The new file is opened (and locked, when `locked`) before the old one is closed, so that a lock held
    /// on the old file lasts until the new file exists: another process waiting for it then finds the new file.
    private mutating func reopen(now: Double, locked: Bool = false) -> String? {
        defer { if fd < 0 { retryReopenAt = now + Self.retryInterval } }
        let old = fd
        fd = -1
        defer { if old >= 0 { Glibc.close(old) } }
        do throws(SystemError) {
            try System.makeFolders(settings.folder)
            let (fd, status) = try System.openForAppending(settings.path)
            if locked { System.lock(fd, LOCK_EX) }
            self.fd = fd
            self.rotates = status.isRegular
            return nil
        } catch {
            return "cannot reopen \(settings.path): \(error.reason)"
        }
    }

    /// Moves the live file to `.1` (compressing it when asked), shifts and prunes older backups, and opens a new live file.
    ///
    /// Other processes appending to the same file are kept in step with flock(2) on the live file:
    /// whoever gets the lock first rotates, the others find a new file at the path and just reopen.
    private mutating func rotate(now: Double) -> String? {
        // The lock on the old file goes when reopen() closes it.
        System.lock(fd, LOCK_EX)
        do throws(SystemError) {
            let mine = try System.fstat(fd, settings.path)
            guard let current = try System.status(settings.path), current.isSameFile(as: mine) else {
                // Another process rotated first (or the file was moved away): use the file now at the path.
                return reopen(now: now)
            }
            try shiftBackups(now: now)
            if settings.maxBackups == 0 {
                try System.unlink(settings.path)
            } else {
                try System.rename(settings.path, settings.backupPath(1))
            }
        } catch {
            System.lock(fd, LOCK_UN)
            return "cannot rotate \(settings.path): \(error.description)"
        }
        // The old file is out of the way: open the new one (and hold its lock while compressing, so that
        // another process's start-up clean-up does not take our temporary file for a leftover).
        if let problem = reopen(now: now, locked: true) { return problem }
        defer { System.lock(fd, LOCK_UN) }
        if settings.compress && settings.maxBackups > 0 {
            let source = settings.backupPath(1)
            do throws(SystemError) {
                try Gzip.compress(source, to: settings.backupPath(1, compressed: true),
                                  through: source + RotationPlan.temporarySuffix)
            } catch {
                return "cannot compress \(source) (kept uncompressed): \(error.description)"
            }
        }
        return nil
    }

    private func shiftBackups(now: Double) throws(SystemError) {
        let plan = try RotationPlan.make(listing: settings, now: now, shifting: true)
        for name in plan.removals { try System.unlink(settings.inFolder(name)) }
        for rename in plan.renames { try System.rename(settings.inFolder(rename.from), settings.inFolder(rename.to)) }
    }

    /// Removes backups beyond `maxBackups`, older than `maxAgeDays`, and leftovers of a cut-short compression.
    mutating func cleanUp(now: Double) -> String? {
        guard fd >= 0, rotates else { return nil }
        System.lock(fd, LOCK_EX)
        defer { System.lock(fd, LOCK_UN) }
        do throws(SystemError) {
            // Another process may have rotated between our open and our lock; then it cleaned up.
            let mine = try System.fstat(fd, settings.path)
            guard let current = try System.status(settings.path), current.isSameFile(as: mine) else { return nil }
            let plan = try RotationPlan.make(listing: settings, now: now, shifting: false)
            for name in plan.removals { try System.unlink(settings.inFolder(name)) }
            return nil
        } catch {
            return "RotatingFileSink: cannot remove old backups of \(settings.path): \(error.description)"
        }
    }

    func flush() {
        if fd >= 0 { _ = System.retrying { fsync(fd) } }
    }

    mutating func close() {
        closed = true
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

extension RotationPlan {
    /// Lists the log file's folder and plans from what is there.
    static func make(listing settings: LogFileSettings, now: Double, shifting: Bool) throws(SystemError) -> RotationPlan {
        var backups: [Backup] = []
        var temporaries: [String] = []
        for name in try System.listFolder(settings.folder) {
            switch classify(name, base: settings.base) {
            case .backup(let index, let compressed):
                guard let status = try System.linkStatus(settings.inFolder(name)) else { continue }
                backups.append(Backup(index: index, compressed: compressed, modified: Int(status.modified.tv_sec)))
            case .temporary:
                temporaries.append(name)
            case nil:
                continue
            }
        }
        return make(backups: backups, temporaries: temporaries, base: settings.base, maxBackups: settings.maxBackups,
                    maxAgeSeconds: settings.maxAgeSeconds, now: Int(now), shifting: shifting)
    }
}
