internal import CSQLite
import Store

/// The one place where SQLite result codes become `StoreError` kinds.
///
/// The reason carries SQLite's own message (which names tables and columns,
/// never bound values) and the symbolic code, so record contents cannot leak
/// into logs through an error.
enum SQLiteError {
    /// The error for the result code `code` just returned on `db`.
    ///
    /// Call it while still holding the connection: `sqlite3_errmsg` describes
    /// the connection's most recent failure.
    static func map(_ code: Int32, db: OpaquePointer?, during operation: String) -> StoreError {
        let message = db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
        return map(code, message: message, during: operation)
    }

    static func map(_ code: Int32, message: String, during operation: String) -> StoreError {
        let reason = "\(operation): \(message) (\(name(of: code)))"
        switch code & 0xFF {
        case SQLITE_CONSTRAINT:
            if code == SQLITE_CONSTRAINT_UNIQUE_CODE || code == SQLITE_CONSTRAINT_PRIMARYKEY_CODE {
                return StoreError(.conflict, reason)
            }
            return StoreError(.internalFailure, reason)
        case SQLITE_BUSY, SQLITE_LOCKED:
            // The busy handler has already waited for the configured timeout.
            return StoreError(.unavailable, reason)
        case SQLITE_TOOBIG:
            return StoreError(.invalidValue, reason)
        default:
            return StoreError(.internalFailure, reason)
        }
    }

    /// Throws the mapped error unless `code` is `SQLITE_OK`. `operation` is only
    /// worked out on failure: `Statement.bind` checks every bound value.
    static func check(_ code: Int32, db: OpaquePointer?, during operation: @autoclosure () -> String) throws {
        guard code == SQLITE_OK else { throw map(code, db: db, during: operation()) }
    }

    // Extended codes are macros built with `|` and `<<`, which Swift does not import.
    static let SQLITE_CONSTRAINT_PRIMARYKEY_CODE: Int32 = SQLITE_CONSTRAINT | (6 << 8)
    static let SQLITE_CONSTRAINT_UNIQUE_CODE: Int32 = SQLITE_CONSTRAINT | (8 << 8)

    /// `SQLITE_BUSY` and friends, for operators reading the log.
    static func name(of code: Int32) -> String {
        switch code {
        case SQLITE_CONSTRAINT_PRIMARYKEY_CODE: return "SQLITE_CONSTRAINT_PRIMARYKEY"
        case SQLITE_CONSTRAINT_UNIQUE_CODE: return "SQLITE_CONSTRAINT_UNIQUE"
        default: break
        }
        let names: [Int32: String] = [
            SQLITE_ERROR: "SQLITE_ERROR", SQLITE_INTERNAL: "SQLITE_INTERNAL", SQLITE_PERM: "SQLITE_PERM",
            SQLITE_ABORT: "SQLITE_ABORT", SQLITE_BUSY: "SQLITE_BUSY", SQLITE_LOCKED: "SQLITE_LOCKED",
            SQLITE_NOMEM: "SQLITE_NOMEM", SQLITE_READONLY: "SQLITE_READONLY", SQLITE_INTERRUPT: "SQLITE_INTERRUPT",
            SQLITE_IOERR: "SQLITE_IOERR", SQLITE_CORRUPT: "SQLITE_CORRUPT", SQLITE_NOTFOUND: "SQLITE_NOTFOUND",
            SQLITE_FULL: "SQLITE_FULL", SQLITE_CANTOPEN: "SQLITE_CANTOPEN", SQLITE_PROTOCOL: "SQLITE_PROTOCOL",
            SQLITE_SCHEMA: "SQLITE_SCHEMA", SQLITE_TOOBIG: "SQLITE_TOOBIG", SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT",
            SQLITE_MISMATCH: "SQLITE_MISMATCH", SQLITE_MISUSE: "SQLITE_MISUSE", SQLITE_NOLFS: "SQLITE_NOLFS",
            SQLITE_AUTH: "SQLITE_AUTH", SQLITE_RANGE: "SQLITE_RANGE", SQLITE_NOTADB: "SQLITE_NOTADB",
        ]
        let primary = names[code & 0xFF] ?? "SQLITE_\(code & 0xFF)"
        return code > 0xFF ? "\(primary), extended \(code)" : primary
    }
}
