import Foundation
import Glibc
import Store
@testable import StoreSQLite
import XCTest

/// An answered write survives `kill -9`: a child process — this very test
/// binary, re-run on one hidden test — creates clients in a loop and prints
/// each id after `createClient` returned; the parent kills it with SIGKILL in
/// mid-burst, reopens the database and finds every printed id.
final class SQLiteDurabilityTests: XCTestCase {
    /// Set in the child's environment to the database path; absent otherwise.
    static let childVariable = "IEC_STORE_DURABILITY_CHILD"
    static let childTest = "StoreSQLiteTests.SQLiteDurabilityTests/testChildCreatesClientsUntilKilled"
    static let marker = "CREATED "

    func testKillNineLosesNoAnsweredCreation() throws {
        let folder = try TemporaryFolder.make()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("durable.sqlite").path

        let child = Process()
        child.executableURL = URL(fileURLWithPath: try Self.testBinary())
        child.arguments = [Self.childTest]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: path]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()

        // Let it answer a good number of creations, then kill it without warning.
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Self.createdIDs(in: text).count < 150, Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // the child ended on its own
            text += String(decoding: chunk, as: UTF8.self)
        }
        let wasRunning = child.isRunning
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(wasRunning, "the child must still have been writing when killed:\n\(text.suffix(2000))")
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)

        let answered = Self.createdIDs(in: text)
        XCTAssertGreaterThanOrEqual(answered.count, 150, "the child answered too few creations:\n\(text.suffix(2000))")

        let store = try SQLiteStore(path: path)
        let integrity = try store.readers.with { try $0.queryOne("PRAGMA integrity_check", []) { try $0.text(0) } }
        XCTAssertEqual(integrity, "ok")
        let stored = Set(
            try allClientIDs(store))
        let lost = answered.filter { !stored.contains($0) }
        XCTAssertEqual(lost, [], "creations answered before the kill but missing after it")
    }

    /// The child's part; skipped unless the parent test started this process.
    func testChildCreatesClientsUntilKilled() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childVariable] else {
            throw XCTSkip("helper of testKillNineLosesNoAnsweredCreation; runs only in its child process")
        }
        let store = try SQLiteStore(path: path)
        let started = Date()
        var number = 0
        // Bounded, in case the parent died before killing us.
        while Date().timeIntervalSince(started) < 30 {
            number += 1
            let id = "client-\(number)"
            try store.createClient(
                OAuth2ClientRecord(
                    realm: "edge", clientID: id, tokenEndpointAuthMethod: "client_secret_basic", secretHash: "h",
                    grantTypes: ["client_credentials"], scopes: [], createdAt: 1_700_000_000, updatedAt: 1_700_000_000))
            // One write(2) per line, after the call returned: what the parent reads was answered.
            FileHandle.standardOutput.write(Data((Self.marker + id + "\n").utf8))
        }
    }

    /// The ids of the complete lines the child printed.
    private static func createdIDs(in text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .filter { $0.hasPrefix(marker) }.map { String($0.dropFirst(marker.count)) }
    }

    private func allClientIDs(_ store: SQLiteStore) throws -> [String] {
        var ids: [String] = []
        var cursor: String?
        repeat {
            let page = try store.listClients(realm: "edge", page: PageRequest(limit: 1000, cursor: cursor))
            ids += page.items.map(\.clientID)
            cursor = page.nextCursor
        } while cursor != nil
        return ids
    }

    /// The running test binary (`swift test` runs the `.xctest` executable directly on Linux).
    private static func testBinary() throws -> String {
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        guard path.hasSuffix(".xctest") else {
            throw XCTSkip("not running from an .xctest binary (\(path)): cannot re-run this test binary as the child")
        }
        return path
    }
}
