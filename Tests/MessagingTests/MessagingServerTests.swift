import Dispatch
import Foundation
import IECCrypto
import IECJSON
import IECLog
import Messaging
import Synchronization
import XCTest

/// Swift client ↔ Swift server over real TCP on 127.0.0.1, CURVE on.
final class MessagingServerTests: XCTestCase {
    func testRoundTrip() throws {
        let echo = try EchoServer()
        XCTAssertTrue(echo.server.endpoint.hasPrefix("tcp://127.0.0.1:"), echo.server.endpoint)
        XCTAssertFalse(echo.server.endpoint.hasSuffix(":*"))
        let client = try echo.client()
        let reply = try parse(client.request(requestBytes("r1", ["op": "ping"]), timeout: .seconds(5)))
        XCTAssertEqual(reply["request_id"], "r1")
        XCTAssertEqual(reply["echo"]?["op"], "ping")
        XCTAssertEqual(reply["client_key"]?.stringValue, echo.clientKeys[0].publicKeyZ85, "the ZAP user id is the client's Z85 key")
        XCTAssertEqual(reply["peer_address"], "127.0.0.1")

        // Integer request ids work too, and the primitives can be used directly.
        let bytes = JSONValue.object(["request_id": 42]).serializedBytes()
        try client.send(bytes, timeout: .seconds(1))
        let raw = try XCTUnwrap(client.receive(timeout: .seconds(5)))
        XCTAssertEqual(try parse(raw)["request_id"], 42)
        XCTAssertNil(try client.receive(timeout: .milliseconds(50)), "nothing else is waiting")
    }

    func testManyClientsAtOnceGetTheirOwnReplies() throws {
        let clients = 50
        let requests = 20
        let echo = try EchoServer(clients: clients)
        let context = try MessagingContext()
        let failures = Mutex<[String]>([])
        let done = DispatchGroup()
        for index in 0..<clients {
            let client = try echo.client(index, context: context)
            let key = echo.clientKeys[index].publicKeyZ85
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                for number in 0..<requests {
                    let id = "c\(index)-\(number)"
                    do {
                        let reply = try parse(client.request(requestBytes(id, ["client": .int(Int64(index))]), timeout: .seconds(10)))
                        if reply["request_id"]?.stringValue != id || reply["echo"]?["client"]?.int64Value != Int64(index)
                            || reply["client_key"]?.stringValue != key
                        {
                            failures.withLock { $0.append("\(id): wrong reply \(reply)") }
                        }
                    } catch {
                        failures.withLock { $0.append("\(id): \(error)") }
                    }
                }
            }
            thread.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
    }

    func testALateReplyIsSkippedAndTheSocketIsNotWedged() throws {
        let echo = try EchoServer()
        let client = try echo.client()
        _ = try client.request(requestBytes("warm-up"), timeout: .seconds(5))
        XCTAssertThrowsMessagingError(.timedOut, try client.request(requestBytes("slow", ["delay_ms": 300]), timeout: .milliseconds(100)))
        // Answered at ~650 ms; the reply to "slow" arrives first (at ~300 ms) and is skipped.
        let reply = try parse(client.request(requestBytes("next", ["delay_ms": 550]), timeout: .seconds(5)))
        XCTAssertEqual(reply["request_id"], "next")
        XCTAssertNil(try client.receive(timeout: .milliseconds(50)), "the late reply was consumed")
    }

    func testAClientKeyNotOnTheListIsRefused() throws {
        let echo = try EchoServer()
        let stranger = CurveKeyPair()
        let client = try echo.client(keys: stranger)
        XCTAssertThrowsMessagingError(.timedOut, try client.request(requestBytes("x"), timeout: .milliseconds(300)))
        let line = try XCTUnwrap(echo.waitForLine { $0.contains("ZAP: connection refused") }, "\(echo.lines)")
        XCTAssertTrue(line.contains("reason=\"client key not on the list\""), line)
        XCTAssertTrue(line.contains("peer=127.0.0.1"), line)
        // Z85 has '=' in its alphabet, so the logger may quote the value: look for the prefix itself.
        XCTAssertTrue(line.contains("key=") && line.contains("\(stranger.publicKeyZ85.prefix(8))…"), line)
        XCTAssertFalse(echo.lines.contains { $0.contains(stranger.publicKeyZ85.prefix(9)) }, "no more than 8 characters of a key")
        // Good clients are unaffected.
        XCTAssertNoThrow(try echo.client().request(requestBytes("ok"), timeout: .seconds(5)))
    }

    func testAnEmptyKeyListRefusesEveryClient() throws {
        let echo = try EchoServer(allowClients: false)
        let client = try echo.client()
        XCTAssertThrowsMessagingError(.timedOut, try client.request(requestBytes("x"), timeout: .milliseconds(300)))
        XCTAssertNotNil(echo.waitForLine { $0.contains("no client keys are configured") }, "\(echo.lines)")
    }

    func testAWrongServerKeyLeavesATraceOnTheServer() throws {
        let echo = try EchoServer()
        let client = try echo.client(serverKey: CurveKeyPair().publicKeyZ85)
        XCTAssertThrowsMessagingError(.timedOut, try client.request(requestBytes("x"), timeout: .milliseconds(300)))
        let line = try XCTUnwrap(echo.waitForLine { $0.contains("handshake failed") && $0.contains("warning") }, "\(echo.lines)")
        XCTAssertTrue(line.contains("wrong server public key"), line)
        // The peer is named when the connection was still open as the socket thread saw it accepted.
        XCTAssertTrue(line.contains("peer=127.0.0.1") || line.contains("peer=unknown"), line)
        // The client reconnects every ~100 ms; repeats do not flood the log.
        usleep(600_000)
        let warnings = echo.lines.filter { $0.contains("warning") && $0.contains("handshake failed") }
        XCTAssertLessThanOrEqual(warnings.count, 2, "\(warnings)")
        XCTAssertGreaterThan(echo.lines.filter { $0.contains("debug") && $0.contains("connection accepted") }.count, 2)
    }

    func testAnAddressNotOnTheWhitelistIsRefused() throws {
        let echo = try EchoServer(whitelist: ["127.0.0.2"])
        let client = try echo.client()
        XCTAssertThrowsMessagingError(.timedOut, try client.request(requestBytes("x"), timeout: .milliseconds(300)))
        let line = try XCTUnwrap(echo.waitForLine { $0.contains("ZAP: connection refused") }, "\(echo.lines)")
        XCTAssertTrue(line.contains("reason=\"address not on the whitelist\""), line)
        XCTAssertTrue(line.contains("peer=127.0.0.1"), line)
    }

    func testAnEmptyWhitelistAllowsAnyAddress() throws {
        let echo = try EchoServer(whitelist: [])
        XCTAssertNoThrow(try echo.client().request(requestBytes("ok"), timeout: .seconds(5)))
    }

    func testShutdown() throws {
        let echo = try EchoServer()
        let client = try echo.client()
        let peer = try XCTUnwrap(captureOnePeer(echo))
        echo.server.shutdown()
        echo.server.shutdown()
        XCTAssertThrowsMessagingError(.closed, try echo.server.send([1], to: peer))
        XCTAssertThrowsMessagingError(.closed, try echo.server.start { _ in })
        XCTAssertThrowsMessagingError(.timedOut, try client.request(requestBytes("after"), timeout: .milliseconds(200)))
        XCTAssertNotNil(echo.waitForLine { $0.contains("messaging server stopped") })

        // A server that never started shuts down (and deinitialises) cleanly; its port is free again.
        let keys = CurveKeyPair()
        let configuration = MessagingServerConfiguration(endpoint: "tcp://127.0.0.1:*", serverKeys: keys, clientPublicKeys: [], whitelist: [])
        let idle = try MessagingServer(configuration: configuration, logger: .disabled)
        let endpoint = idle.endpoint
        idle.shutdown()
        var again = configuration
        again.endpoint = endpoint
        XCTAssertNoThrow(try MessagingServer(configuration: again, logger: .disabled))

        let client2 = try echo.client()
        client2.close()
        XCTAssertThrowsMessagingError(.closed, try client2.send([1], timeout: .seconds(1)))
    }

    /// The peer id of one request, answered.
    private func captureOnePeer(_ echo: EchoServer) throws -> PeerID? {
        let keys = CurveKeyPair()
        let seen = Mutex<PeerID?>(nil)
        let configuration = MessagingServerConfiguration(
            endpoint: "tcp://127.0.0.1:*", serverKeys: keys, clientPublicKeys: [echo.clientKeys[0].publicKeyZ85], whitelist: [])
        let server = try MessagingServer(configuration: configuration, logger: .disabled)
        try server.start { message in
            seen.withLock { $0 = message.peer }
            try? server.send(message.payload, to: message.peer)
        }
        defer { server.shutdown() }
        let client = try MessagingClient(keys: echo.clientKeys[0], serverPublicKeyZ85: keys.publicKeyZ85)
        try client.connect(to: server.endpoint)
        _ = try client.request(requestBytes("p"), timeout: .seconds(5))
        return seen.withLock { $0 }
    }

    func testBindAndArgumentErrors() throws {
        let echo = try EchoServer()
        var configuration = MessagingServerConfiguration(
            endpoint: echo.server.endpoint, serverKeys: CurveKeyPair(), clientPublicKeys: [], whitelist: [])
        XCTAssertThrowsMessagingError(.addressInUse, try MessagingServer(configuration: configuration, logger: .disabled))
        configuration.endpoint = "tcp://127.0.0.1"
        XCTAssertThrowsMessagingError(.invalidArgument, try MessagingServer(configuration: configuration, logger: .disabled))
        configuration.endpoint = "tcp://192.0.2.77:*"
        XCTAssertThrowsMessagingError(.addressUnavailable, try MessagingServer(configuration: configuration, logger: .disabled))

        let client = try echo.client()
        XCTAssertThrowsMessagingError(.invalidArgument, try client.request(Array("{\"op\":1}".utf8), timeout: .seconds(1)))
        XCTAssertThrowsMessagingError(.invalidArgument, try client.request(Array("not json".utf8), timeout: .seconds(1)))
        XCTAssertThrowsMessagingError(.invalidArgument, try client.connect(to: "nonsense://x"))
        XCTAssertThrowsMessagingError(
            .invalidConfiguration, try MessagingClient(keys: CurveKeyPair(), serverPublicKeyZ85: "short"))
    }

    /// Median round trip, one client, 1000 requests, loopback, CURVE on.
    func testLatency() throws {
        for inline in [true, false] {
            let echo = try EchoServer(answerInline: inline)
            let client = try echo.client()
            for index in 0..<50 { _ = try client.request(requestBytes("w\(index)"), timeout: .seconds(5)) }
            var samples: [Duration] = []
            samples.reserveCapacity(1000)
            let clock = ContinuousClock()
            for index in 0..<1000 {
                let payload = requestBytes("l\(index)")
                let elapsed = try clock.measure { _ = try client.request(payload, timeout: .seconds(5)) }
                samples.append(elapsed)
            }
            samples.sort()
            let micros = { (d: Duration) in Double(d.components.attoseconds) / 1e12 + Double(d.components.seconds) * 1e6 }
            print(
                "messaging latency (\(inline ? "handler answers inline" : "answered from a worker pool")): "
                    + "median \(Int(micros(samples[500]))) µs, p99 \(Int(micros(samples[990]))) µs over 1000 requests")
        }
    }
}
