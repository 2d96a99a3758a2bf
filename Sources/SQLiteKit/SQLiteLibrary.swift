internal import CSQLite

/// Facts about the SQLite library linked in, checked before a store trusts it.
public enum SQLiteLibrary {
    public static var versionNumber: Int32 { sqlite3_libversion_number() }
    public static var version: String { String(cString: sqlite3_libversion()) }
    public static var isThreadsafe: Bool { sqlite3_threadsafe() != 0 }
    public static func hasCompileOption(_ name: String) -> Bool { sqlite3_compileoption_used(name) == 1 }
}
