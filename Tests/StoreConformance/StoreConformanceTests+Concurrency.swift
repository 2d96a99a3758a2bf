import Dispatch
import Foundation  // Thread
import Store
import Synchronization
import XCTest

// Many threads at once, as the HTTP server's workers call the store.
extension StoreConformanceTests {
    /// 8 threads × the same 100 keys: each key is consumed exactly once.
    public func concurrentConsumeOnceHasOneWinnerPerKey() throws {
        let store = try makeStore()
        let wins = Tally(keys: 100)
        let failures = runConcurrently(threads: 8) { _ in
            for key in 0..<100 {
                if try store.consumeOnce(namespace: "jti", key: "key-\(key)", expiresAt: Self.t0 + 60, now: Self.t0) { wins.add(key) }
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(wins.total, 100, "exactly 100 successes in total")
        XCTAssertEqual(wins.counts, Array(repeating: 1, count: 100), "one success per key")
    }

    /// 8 threads creating 20 distinct clients each: all 160 are there.
    public func concurrentClientCreationKeepsAll() throws {
        let store = try makeStore()
        let clients = (0..<8).map { thread in (0..<20).map { makeClient(Self.concurrentClientID(thread: thread, index: $0)) } }
        let failures = runConcurrently(threads: 8) { thread in
            for client in clients[thread] { try store.createClient(client) }
        }
        XCTAssertEqual(failures, [])
        let listed = try allPages(limit: 1000) { try store.listClients(realm: "edge", page: $0) }.flatMap { $0 }
        let expected = (0..<8).flatMap { thread in (0..<20).map { Self.concurrentClientID(thread: thread, index: $0) } }.sorted()
        XCTAssertEqual(listed.map(\.clientID), expected)
    }

    private static func concurrentClientID(thread: Int, index: Int) -> String {
        "t\(thread)-c" + (index < 10 ? "0" : "") + "\(index)"
    }

    /// Readers and writers together: counters under contention stay exact.
    public func concurrentCountersAreExact() throws {
        let store = try makeStore()
        let failures = runConcurrently(threads: 8) { _ in
            for _ in 0..<50 {
                _ = try store.incrementCounter(key: "shared", windowStart: Self.t0, expiresAt: Self.t0 + 60)
                _ = try store.isAccessTokenRevoked(jwtID: "jti")
                _ = try store.counter(key: "shared", windowStart: Self.t0)
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(try store.counter(key: "shared", windowStart: Self.t0), 400)
        XCTAssertEqual(try store.incrementCounter(key: "shared", windowStart: Self.t0, expiresAt: Self.t0 + 60), 401)
    }

    /// Runs `body` on `threads` threads released together; returns the errors they threw.
    public func runConcurrently(threads: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> [String] {
        let failures = Failures()
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for index in 0..<threads {
            done.enter()
            let thread = Thread {
                start.wait()
                do { try body(index) } catch { failures.add("thread \(index): \(error)") }
                done.leave()
            }
            thread.start()
        }
        for _ in 0..<threads { start.signal() }
        done.wait()
        return failures.all
    }
}

private final class Failures: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ failure: String) { list.withLock { $0.append(failure) } }
    var all: [String] { list.withLock { $0 } }
}

private final class Tally: Sendable {
    private let values: Mutex<[Int]>
    init(keys: Int) { values = Mutex(Array(repeating: 0, count: keys)) }
    func add(_ key: Int) { values.withLock { $0[key] += 1 } }
    var counts: [Int] { values.withLock { $0 } }
    var total: Int { counts.reduce(0, +) }
}
