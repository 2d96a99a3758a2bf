internal import SQLiteKit
import Glibc
public import Store

/// The embedded store: one SQLite database file in WAL mode.
///
/// ## Connections and threads
/// Every method may be called from any thread. Reads go to a small pool of
/// reader connections (``SQLiteStoreOptions/readerCount``), which in WAL mode
/// run in parallel with each other and with a write. Writes go to one of two
/// writer connections, which share a mutex. Every statement is prepared once
/// per connection and every value is bound, never spliced into SQL.
///
/// ## Durability
/// The main writer commits with `PRAGMA synchronous=FULL`: when a write method
/// returns, the change is in the WAL and fsynced, so it survives `kill -9` and
/// power loss (on a disk that honours fsync). The short-lived protection state — `consumeOnce`,
/// `incrementCounter` and `touchSession` — goes through a second writer
/// connection with `synchronous=NORMAL`: in WAL mode such a commit survives a
/// crash of the process (it is in the OS page cache) and is never corrupted,
/// but the last few may be lost with the machine's power. That keeps an fsync
/// off the JWT-bearer hot path (one `consumeOnce` per assertion); after a power
/// loss a replayed `jti` could pass once more within its short lifetime, a
/// session could look idle earlier, and a rate-limit window could restart.
/// Set ``SQLiteStoreOptions/durableProtectionState`` to fsync those too.
/// The two writers share one mutex, so they take SQLite's write lock in turn
/// without polling for it; multi-statement writes use `BEGIN IMMEDIATE`.
///
/// ## Files
/// The database file is created with mode 0600 before SQLite opens it, and
/// the `-wal` and `-shm` files of a database this store created are set to
/// 0600 too (SQLite gives them the database file's mode in any case). An
/// existing file keeps the mode it has.
///
/// ## Schema
/// Versioned with `PRAGMA user_version` and migrated in one transaction when
/// the store opens; a database written by a newer build is refused with
/// `schemaMismatch`.
public final class SQLiteStore: Store {
    /// The database file.
    public let path: String
    public let options: SQLiteStoreOptions

    /// Durable writes and protection-state writes, one at a time.
    let writers: Writers
    let readers: ReaderPool

    /// Opens the database at `path`, creating it (mode 0600) and its schema
    /// when absent. The folder must exist.
    ///
    /// Throws `schemaMismatch` for a database from a newer build or a SQLite
    /// file that is not an OpenIEC store, `internalFailure` for a file that is
    /// not a database at all or a SQLite library older than 3.37, without
    /// threads or without FTS5 (the identity search's trigram index), and
    /// `unavailable` when another process holds the database locked past the busy timeout.
    public init(path: String, options: SQLiteStoreOptions = .init()) throws {
        guard options.readerCount >= 1, options.maxJSONBytes >= 1, options.busyTimeout >= 0, options.busyTimeout <= 3600 else {
            throw StoreError(
                .invalidValue, "SQLiteStoreOptions: readerCount and maxJSONBytes must be at least 1, busyTimeout 0...3600 seconds")
        }
        guard SQLiteLibrary.versionNumber >= 3_037_000 else {
            throw StoreError(.internalFailure, "SQLite \(SQLiteLibrary.version) is too old: 3.37 or newer is needed")
        }
        guard SQLiteLibrary.isThreadsafe else {
            throw StoreError(.internalFailure, "this SQLite library is built without thread support")
        }
        guard SQLiteLibrary.hasCompileOption("ENABLE_FTS5") else {
            throw StoreError(.internalFailure, "this SQLite library is built without FTS5, which the identity search needs")
        }
        self.path = path
        self.options = options
        let created = try Self.createFile(at: path)

        let writer = try Connection(path: path, label: "writer", busyTimeout: options.busyTimeout)
        try Self.enableWAL(on: writer, path: path)
        try writer.execute("PRAGMA synchronous = FULL")
        try Schema.migrate(writer, path: path)
        if created {
            for suffix in ["-wal", "-shm"] { _ = chmod(path + suffix, 0o600) }
        }

        let protectionWriter = try Connection(path: path, label: "protection writer", busyTimeout: options.busyTimeout)
        try protectionWriter.execute(options.durableProtectionState ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")

        var readers: [LockedConnection] = []
        for number in 1...options.readerCount {
            let reader = try Connection(path: path, label: "reader \(number)", busyTimeout: options.busyTimeout)
            try reader.execute("PRAGMA query_only = ON")
            // Reads through a memory map instead of a read() per page that misses the
            // connection's 2 MB cache: at 1,000,000 identities (~500 MB) most lookups
            // missed it (iec-bench store). Address space only; the OS shares the pages.
            try reader.execute("PRAGMA mmap_size = \(Self.readerMapBytes)")
            readers.append(LockedConnection(reader))
        }
        self.writers = Writers(durable: writer, protection: protectionWriter)
        self.readers = ReaderPool(readers)
    }

    /// How much of the file each reader maps (`PRAGMA mmap_size`).
    static let readerMapBytes = 1 << 30

    /// Creates the file with mode 0600 when it does not exist (whatever the
    /// umask); true when it did so.
    private static func createFile(at path: String) throws -> Bool {
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            // The umask may have cleared bits, never added any; make it exact anyway.
            _ = fchmod(descriptor, 0o600)
            close(descriptor)
            return true
        }
        let error = errno
        guard error == EEXIST else {
            throw StoreError(.internalFailure, "cannot create the database file \(path): \(String(cString: strerror(error)))")
        }
        return false
    }

    private static func enableWAL(on connection: Connection, path: String) throws {
        let mode: String?
        do {
            mode = try connection.queryOne("PRAGMA journal_mode = WAL", []) { try $0.text(0) }
        } catch let error as StoreError {
            throw StoreError(error.kind, "cannot open the database at \(path): \(error.reason)")
        }
        guard mode?.lowercased() == "wal" else {
            throw StoreError(.internalFailure, "the database at \(path) cannot use WAL mode (journal mode is \(mode ?? "unknown"))")
        }
    }

    var maxJSONBytes: Int { options.maxJSONBytes }

    public func checkHealth() throws {
        _ = try readers.with { try $0.queryOne("SELECT count(*) FROM sqlite_schema", []) { try $0.integer(0) } }
    }
}
