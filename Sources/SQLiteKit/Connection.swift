internal import CSQLite
public import Store

/// A value bound to a statement parameter. Values always travel as bindings,
/// never inside SQL text.
public enum SQLValue {
    case text(String)
    case real(Double)
    case integer(Int64)
    case null

    public static func optionalText(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    public static func optionalReal(_ value: Double?) -> SQLValue { value.map(SQLValue.real) ?? .null }
    public static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
    public static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
}

/// One SQLite connection and its prepared statements.
///
/// Not thread-safe: every connection lives inside a `Mutex` (``LockedConnection``)
/// and is opened in multi-thread mode (`SQLITE_OPEN_NOMUTEX`), so SQLite's own
/// per-connection mutex is not paid twice. Statements are prepared once with
/// `SQLITE_PREPARE_PERSISTENT` and kept for the connection's life; the
/// connection finalises them and closes itself in `deinit`.
public final class Connection {
    /// What this connection is for, in error messages ("writer", "reader 2", ...).
    public let label: String
    private let db: OpaquePointer
    private var statements: [String: Statement] = [:]

    /// Opens an existing database file (the store creates it first, with mode 0600).
    public init(path: String, label: String, busyTimeout: Double) throws {
        self.label = label
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard let handle else { throw StoreError(.internalFailure, "cannot open \(path): out of memory") }
        guard code == SQLITE_OK else {
            let error = SQLiteError.map(code, db: handle, during: "opening \(path)")
            sqlite3_close_v2(handle)
            throw error
        }
        db = handle
        sqlite3_extended_result_codes(db, 1)
        // From here on `deinit` closes the handle should a pragma fail.
        try SQLiteError.check(iec_sqlite3_enable_defensive(db), db: db, during: "opening \(path)")
        let milliseconds = Int32(clamping: Int((busyTimeout * 1000).rounded()))
        try SQLiteError.check(sqlite3_busy_timeout(db, milliseconds), db: db, during: "opening \(path)")
        try execute("PRAGMA foreign_keys = ON")
        try execute("PRAGMA trusted_schema = OFF")
    }

    deinit {
        // Finalise every statement before closing; `close_v2` would otherwise
        // leave a zombie connection until the last statement went.
        statements.removeAll()
        sqlite3_close_v2(db)
    }

    /// Runs SQL that has no parameters and returns no rows we need (pragmas, DDL,
    /// transaction control). Never used with values.
    public func execute(_ sql: String) throws {
        let code = sqlite3_exec(db, sql, nil, nil, nil)
        try SQLiteError.check(code, db: db, during: "\(label): \(Self.firstWords(of: sql))")
    }

    /// The cached prepared statement for `sql`, preparing it on first use.
    public func statement(_ sql: String) throws -> Statement {
        if let cached = statements[sql] { return cached }
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw SQLiteError.map(code, db: db, during: "\(label): preparing \(Self.firstWords(of: sql))")
        }
        let statement = Statement(handle: handle, db: db, label: label)
        statements[sql] = statement
        return statement
    }

    /// Runs a statement that returns no rows; returns how many rows it changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        while try statement.step() {}
        return Int(sqlite3_changes(db))
    }

    /// Runs a query and maps every row.
    public func query<T>(_ sql: String, _ values: [SQLValue], _ row: (Statement) throws -> T) throws -> [T] {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        var rows: [T] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    /// Runs a query expected to return at most one row.
    public func queryOne<T>(_ sql: String, _ values: [SQLValue], _ row: (Statement) throws -> T) throws -> T? {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        guard try statement.step() else { return nil }
        let result = try row(statement)
        while try statement.step() {}
        return result
    }

    /// The rowid of the last row this connection inserted.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(db) }

    /// Runs `body` in a write transaction taken at once (`BEGIN IMMEDIATE`), so
    /// that it waits in the busy handler instead of failing on a lock upgrade;
    /// commits when `body` returns, rolls back when it throws.
    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try run("BEGIN IMMEDIATE", [])
        let result: T
        do {
            result = try body()
            try run("COMMIT", [])
        } catch {
            rollback()
            throw error
        }
        return result
    }

    /// Rolls back the open transaction, if any. A failure here leaves nothing to do:
    /// SQLite has already rolled back when it reports most errors.
    private func rollback() {
        guard sqlite3_get_autocommit(db) == 0 else { return }
        _ = try? run("ROLLBACK", [])
    }

    /// The start of a SQL text, for error messages (our own SQL, never values).
    private static func firstWords(of sql: String) -> String {
        let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(4)
        return words.joined(separator: " ")
    }
}

/// A prepared statement, finalised in `deinit`. Belongs to one ``Connection``
/// and never leaves it.
public final class Statement {
    private let handle: OpaquePointer
    private let db: OpaquePointer
    private let label: String

    init(handle: OpaquePointer, db: OpaquePointer, label: String) {
        self.handle = handle
        self.db = db
        self.label = label
    }

    deinit { sqlite3_finalize(handle) }

    private var operation: String {
        let sql = sqlite3_sql(handle).map { String(cString: $0) } ?? "?"
        return "\(label): \(sql.split(separator: " ").prefix(4).joined(separator: " "))"
    }

    public func bind(_ values: [SQLValue]) throws {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null:
                code = sqlite3_bind_null(handle, index)
            case .integer(let integer):
                code = sqlite3_bind_int64(handle, index, integer)
            case .real(let real):
                // SQLite stores NaN as NULL: refuse it rather than lose it.
                guard !real.isNaN else { throw StoreError(.invalidValue, "a time or number is NaN") }
                code = sqlite3_bind_double(handle, index, real)
            case .text(let text):
                var text = text
                code = text.withUTF8 { (buffer) -> Int32 in
                    guard buffer.count <= Int(Int32.max) else { return SQLITE_TOOBIG }
                    guard let base = buffer.baseAddress, buffer.count > 0 else {
                        return iec_sqlite3_bind_text_copy(handle, index, "", 0)  // a nil pointer would bind NULL
                    }
                    return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                        iec_sqlite3_bind_text_copy(handle, index, $0, Int32(buffer.count))
                    }
                }
            }
            try SQLiteError.check(code, db: db, during: operation)
        }
    }

    /// Advances; true when a row is available.
    public func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw SQLiteError.map(code, db: db, during: operation)
        }
    }

    /// Makes the statement ready for its next use and ends its read, so that no
    /// snapshot stays open between calls.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Columns (0-based)

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func text(_ column: Int32) throws -> String {
        guard let text = optionalText(column) else { throw unexpectedNull(column) }
        return text
    }

    public func optionalText(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    public func real(_ column: Int32) throws -> Double {
        guard !isNull(column) else { throw unexpectedNull(column) }
        return sqlite3_column_double(handle, column)
    }

    public func optionalReal(_ column: Int32) -> Double? {
        isNull(column) ? nil : sqlite3_column_double(handle, column)
    }

    public func integer(_ column: Int32) throws -> Int64 {
        guard !isNull(column) else { throw unexpectedNull(column) }
        return sqlite3_column_int64(handle, column)
    }

    public func bool(_ column: Int32) throws -> Bool { try integer(column) != 0 }

    public func columnName(_ column: Int32) -> String {
        sqlite3_column_name(handle, column).map { String(cString: $0) } ?? "column \(column)"
    }

    private func unexpectedNull(_ column: Int32) -> StoreError {
        StoreError(.internalFailure, "\(operation): unexpected NULL in \(columnName(column))")
    }
}
