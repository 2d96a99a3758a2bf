import Foundation
import Glibc
import IECJSON
import Store
@testable import StoreSQLite
import SQLiteKit
import Synchronization
import XCTest

/// What only the SQLite adapter promises: files, schema versions, limits,
/// error mapping and its two writers. The shared behaviour is in
/// `SQLiteStoreConformanceTests`.
final class SQLiteStoreTests: XCTestCase {
    private var folder: URL!
    private static let t0: Timestamp = 1_700_000_000
    private var t0: Timestamp { Self.t0 }

    override func setUpWithError() throws {
        folder = try TemporaryFolder.make()
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    private func path(_ name: String = "store.sqlite") -> String { folder.appendingPathComponent(name).path }

    private static func user(_ name: String, realm: String = "edge") -> UserRecord {
        UserRecord(realm: realm, username: name, passwordHash: "hash", createdAt: t0, updatedAt: t0)
    }

    private func user(_ name: String, realm: String = "edge") -> UserRecord { Self.user(name, realm: realm) }

    private func mode(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }

    private func assertStoreError<T>(
        _ kind: StoreError.Kind, reasonContains fragment: String? = nil, file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> T
    ) {
        do {
            _ = try body()
            XCTFail("expected StoreError(\(kind))", file: file, line: line)
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            if let fragment { XCTAssertTrue(error.reason.contains(fragment), "\(error) should mention \(fragment)", file: file, line: line) }
        } catch {
            XCTFail("expected StoreError(\(kind)), got \(error)", file: file, line: line)
        }
    }

    /// Writes `user_version` straight into the header of a closed database (offset 60, big-endian).
    private func setUserVersion(_ version: UInt32, at path: String) throws {
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: 60)
        handle.write(Data([UInt8(version >> 24), UInt8(version >> 16 & 0xFF), UInt8(version >> 8 & 0xFF), UInt8(version & 0xFF)]))
    }

    private func userVersion(at path: String) throws -> UInt32 {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertGreaterThanOrEqual(bytes.count, 64)
        return bytes[60..<64].reduce(0) { $0 << 8 | UInt32($1) }
    }

    // MARK: Files

    func testFilesAreMode0600WhateverTheUmask() throws {
        let previous = umask(0o002)
        defer { umask(previous) }
        let store = try SQLiteStore(path: path())
        try store.createUser(user("alice"))
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: t0 + 60, now: t0))
        for file in [path(), path() + "-wal", path() + "-shm"] {
            XCTAssertEqual(mode(of: file), 0o600, "\(file) must be private to its owner")
        }
    }

    func testExistingFileKeepsItsMode() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path(), contents: nil, attributes: [.posixPermissions: 0o640]))
        let store = try SQLiteStore(path: path())
        try store.createUser(user("alice"))
        XCTAssertEqual(mode(of: path()), 0o640, "an administrator's choice is kept")
    }

    func testMissingFolderIsAClearError() {
        assertStoreError(.internalFailure, reasonContains: "No such file or directory") {
            try SQLiteStore(path: self.folder.appendingPathComponent("absent/store.sqlite").path)
        }
    }

    // MARK: Lifetime

    func testClosingReleasesEveryConnection() throws {
        do {
            let store = try SQLiteStore(path: path())
            try store.createUser(user("alice"))
            _ = try store.user(realm: "edge", username: "alice")
            XCTAssertTrue(FileManager.default.fileExists(atPath: path() + "-wal"))
        }
        // The last connection to close checkpoints and deletes the WAL; a leaked
        // connection or an unfinalised statement would keep it.
        XCTAssertFalse(FileManager.default.fileExists(atPath: path() + "-wal"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path() + "-shm"))
    }

    func testReopenAfterCloseKeepsEverything() throws {
        do {
            let store = try SQLiteStore(path: path())
            try store.createUser(user("alice"))
            try store.revokeAccessToken(jwtID: "jti-1", realm: "edge", expiresAt: t0 + 60)
            XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: t0 + 60, now: t0))
        }
        let store = try SQLiteStore(path: path())
        XCTAssertEqual(try store.user(realm: "edge", username: "alice"), user("alice"))
        XCTAssertTrue(try store.isAccessTokenRevoked(jwtID: "jti-1"))
        XCTAssertFalse(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: t0 + 60, now: t0 + 1))
    }

    // MARK: Schema

    func testSchemaVersionIsRecorded() throws {
        do { _ = try SQLiteStore(path: path()) }
        XCTAssertEqual(try userVersion(at: path()), UInt32(Schema.currentVersion))
        do { _ = try SQLiteStore(path: path()) }  // opening again migrates nothing
        XCTAssertEqual(try userVersion(at: path()), UInt32(Schema.currentVersion))
    }

    func testNewerSchemaVersionIsRefused() throws {
        do {
            let store = try SQLiteStore(path: path())
            try store.createUser(user("alice"))
        }
        try setUserVersion(UInt32(Schema.currentVersion + 1), at: path())
        assertStoreError(.schemaMismatch, reasonContains: "newer") { try SQLiteStore(path: self.path()) }
        XCTAssertEqual(try userVersion(at: path()), UInt32(Schema.currentVersion + 1), "the file is left as it was")
    }

    func testForeignSQLiteDatabaseIsRefused() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path(), contents: nil))
        do {
            let connection = try Connection(path: path(), label: "test", busyTimeout: 1)
            try connection.execute("CREATE TABLE somebody_elses (x INTEGER)")
        }
        assertStoreError(.schemaMismatch, reasonContains: "not an OpenIEC store") { try SQLiteStore(path: self.path()) }
    }

    func testGarbageFileIsAClearError() throws {
        let garbage = Data(String(repeating: "this is not a database\n", count: 200).utf8)
        try garbage.write(to: URL(fileURLWithPath: path()))
        assertStoreError(.internalFailure, reasonContains: "not a database") { try SQLiteStore(path: self.path()) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path())), garbage, "the file is left as it was")

        try Data("short".utf8).write(to: URL(fileURLWithPath: path("short.sqlite")))
        assertStoreError(.internalFailure, reasonContains: "not a database") { try SQLiteStore(path: self.path("short.sqlite")) }
    }

    // MARK: Values and limits

    func testJSONOverTheLimitIsInvalidValue() throws {
        let store = try SQLiteStore(path: path(), options: SQLiteStoreOptions(maxJSONBytes: 1000))
        var big = user("alice")
        big.attributes = ["blob": .string(String(repeating: "x", count: 1000))]
        assertStoreError(.invalidValue, reasonContains: "over the limit of 1000") { try store.createUser(big) }
        XCTAssertNil(try store.user(realm: "edge", username: "alice"), "nothing stored")
        big.attributes = ["blob": .string(String(repeating: "x", count: 900))]
        XCTAssertNoThrow(try store.createUser(big))
    }

    func testNonFiniteNumbersAreInvalidValues() throws {
        let store = try SQLiteStore(path: path())
        assertStoreError(.invalidValue) {
            try store.putRealm(RealmRecord(name: "edge", settings: ["x": .double(.nan)], createdAt: self.t0, updatedAt: self.t0))
        }
        assertStoreError(.invalidValue) {
            try store.putRealm(RealmRecord(name: "edge", settings: [.double(.infinity)], createdAt: self.t0, updatedAt: self.t0))
        }
        assertStoreError(.invalidValue) {
            try store.putRealm(RealmRecord(name: "edge", settings: [:], createdAt: .nan, updatedAt: self.t0))
        }
        XCTAssertEqual(try store.listRealms(), [])
        // An infinite time is a time ("never"): SQLite keeps it.
        try store.revokeAccessToken(jwtID: "forever", realm: "edge", expiresAt: .infinity)
        XCTAssertEqual(try store.purgeExpired(now: t0 + 1e12), 0)
        XCTAssertTrue(try store.isAccessTokenRevoked(jwtID: "forever"))
    }

    func testJSONNestedTooDeepIsInvalidValue() throws {
        let store = try SQLiteStore(path: path())
        let nested = { (depth: Int) in (0..<depth).reduce(JSONValue.null) { inner, _ in .array([inner]) } }
        var deep = user("deep")
        deep.attributes = nested(JSONColumn.maxDepth + 1)
        assertStoreError(.invalidValue, reasonContains: "nested deeper") { try store.createUser(deep) }
        deep.attributes = nested(JSONColumn.maxDepth)
        try store.createUser(deep)
        XCTAssertEqual(try store.user(realm: "edge", username: "deep"), deep)
    }

    func testForeignCursorIsInvalidValue() throws {
        let store = try SQLiteStore(path: path())
        for cursor in ["!!!", "", "AGFsaWNl", "A", "Af8"] {  // bad alphabet, empty, wrong format byte, bad length, bad UTF-8
            assertStoreError(.invalidValue, reasonContains: "cursor") {
                try store.listUsers(realm: "edge", page: PageRequest(limit: 2, cursor: cursor))
            }
        }
        let cursor = PageCursor.encode(lastKey: "alice")
        XCTAssertEqual(try PageCursor.decode(cursor), "alice")
        XCTAssertEqual(try store.listUsers(realm: "edge", page: PageRequest(limit: 2, cursor: cursor)).items, [])
    }

    func testLimitsAreClampedToOneThroughAThousand() throws {
        let store = try SQLiteStore(path: path())
        for name in ["a", "b", "c"] { try store.createUser(user(name)) }
        for limit in [0, -5, Int.min] {
            let page = try store.listUsers(realm: "edge", page: PageRequest(limit: limit))
            XCTAssertEqual(page.items.map(\.username), ["a"], "limit \(limit)")
            XCTAssertNotNil(page.nextCursor)
        }
        XCTAssertEqual(try store.listUsers(realm: "edge", page: PageRequest(limit: Int.max)).items.count, 3)
        XCTAssertEqual(PageCursor.clampedLimit(5000), 1000)
        XCTAssertEqual(PageCursor.clampedLimit(Int.max), 1000)
        for action in ["one", "two"] {
            try store.appendAudit(AuditEvent(realm: "edge", time: t0, actor: "a", action: action, target: "t", outcome: "success"))
        }
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 0, before: nil).map(\.action), ["two"])
    }

    func testInvalidOptionsAreRefused() {
        assertStoreError(.invalidValue) { try SQLiteStore(path: self.path(), options: SQLiteStoreOptions(readerCount: 0)) }
        for timeout in [-1, .infinity, .nan] {
            assertStoreError(.invalidValue) { try SQLiteStore(path: self.path(), options: SQLiteStoreOptions(busyTimeout: timeout)) }
        }
    }

    // MARK: Errors

    func testSQLiteCodesMapToStoreErrorKinds() {
        let cases: [(Int32, StoreError.Kind)] = [
            (2067, .conflict),  // SQLITE_CONSTRAINT_UNIQUE
            (1555, .conflict),  // SQLITE_CONSTRAINT_PRIMARYKEY
            (1299, .internalFailure),  // SQLITE_CONSTRAINT_NOTNULL
            (787, .internalFailure),  // SQLITE_CONSTRAINT_FOREIGNKEY
            (5, .unavailable),  // SQLITE_BUSY
            (517, .unavailable),  // SQLITE_BUSY_SNAPSHOT
            (6, .unavailable),  // SQLITE_LOCKED
            (18, .invalidValue),  // SQLITE_TOOBIG
            (26, .internalFailure),  // SQLITE_NOTADB
            (10, .internalFailure),  // SQLITE_IOERR
            (13, .internalFailure),  // SQLITE_FULL
        ]
        for (code, kind) in cases {
            let error = SQLiteError.map(code, message: "message", during: "operation")
            XCTAssertEqual(error.kind, kind, "code \(code)")
            XCTAssertTrue(error.reason.hasPrefix("operation: message (SQLITE_"), error.reason)
        }
    }

    func testConflictReasonNamesNoValues() throws {
        let store = try SQLiteStore(path: path())
        try store.createUser(user("very-secret-name"))
        do {
            try store.createUser(user("very-secret-name"))
            XCTFail("expected a conflict")
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, .conflict)
            XCTAssertFalse(error.reason.contains("very-secret-name"), error.reason)
            XCTAssertTrue(error.reason.contains("users.username"), error.reason)
        }
    }

    func testWriteLockedPastTheTimeoutIsUnavailable() throws {
        let store = try SQLiteStore(path: path(), options: SQLiteStoreOptions(busyTimeout: 0.2))
        try store.createUser(user("alice"))
        let holder = try SQLiteStore(path: path())
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            try? holder.writers.durable { connection in
                try connection.run("BEGIN IMMEDIATE", [])
                locked.signal()
                release.wait()
                try connection.run("ROLLBACK", [])
            }
            finished.signal()
        }.start()
        locked.wait()
        let started = Date()
        assertStoreError(.unavailable, reasonContains: "SQLITE_BUSY") { try store.createUser(self.user("bob")) }
        assertStoreError(.unavailable) { try store.consumeOnce(namespace: "jti", key: "a", expiresAt: self.t0 + 60, now: self.t0) }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.35, "each call waited for the busy timeout")
        XCTAssertEqual(try store.user(realm: "edge", username: "alice")?.username, "alice", "readers are not blocked by a writer")
        release.signal()
        finished.wait()
        XCTAssertNoThrow(try store.createUser(user("bob")), "works again once the lock is gone")
    }

    func testBothWritersInterleaveUnderLoad() throws {
        let store = try SQLiteStore(path: path())
        let errors = ErrorList()
        let group = DispatchGroup()
        for thread in 0..<8 {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    for index in 0..<25 {
                        if thread % 2 == 0 {
                            try store.createUser(Self.user("t\(thread)-\(index)"))
                        } else {
                            _ = try store.consumeOnce(namespace: "jti", key: "t\(thread)-\(index)", expiresAt: Self.t0 + 60, now: Self.t0)
                            _ = try store.incrementCounter(key: "k", windowStart: Self.t0, expiresAt: Self.t0 + 60)
                        }
                        _ = try store.user(realm: "edge", username: "t0-0")
                    }
                } catch {
                    errors.add("\(error)")
                }
            }.start()
        }
        group.wait()
        XCTAssertEqual(errors.all, [])
        XCTAssertEqual(try store.listUsers(realm: "edge", page: PageRequest(limit: 1000)).items.count, 100)
        XCTAssertEqual(try store.incrementCounter(key: "k", windowStart: t0, expiresAt: t0 + 60), 101)
    }

    func testDatabaseIsInWALModeWithForeignKeys() throws {
        let store = try SQLiteStore(path: path())
        let journal = try store.readers.with { try $0.queryOne("PRAGMA journal_mode", []) { try $0.text(0) } }
        XCTAssertEqual(journal, "wal")
        let foreignKeys = try store.writers.durable { try $0.queryOne("PRAGMA foreign_keys", []) { try $0.integer(0) } }
        XCTAssertEqual(foreignKeys, 1)
        let synchronous = try store.writers.durable { try $0.queryOne("PRAGMA synchronous", []) { try $0.integer(0) } }
        XCTAssertEqual(synchronous, 2, "FULL")
        let protection = try store.writers.protection { try $0.queryOne("PRAGMA synchronous", []) { try $0.integer(0) } }
        XCTAssertEqual(protection, 1, "NORMAL")
    }
}

final class ErrorList: Sendable {
    private let errors = Mutex<[String]>([])
    func add(_ error: String) { errors.withLock { $0.append(error) } }
    var all: [String] { errors.withLock { $0 } }
}
