import Glibc
import IECClient
import IECCrypto
import IECJSON
import IECLog
import XCTest

/// The client against a fake gateway over real ZeroMQ with CURVE.
final class IECClientGatewayTests: XCTestCase {
    func testInitialiseRegistersTheClientAndTheCallsSpeakTheProtocol() async throws {
        let gateway = try FakeGateway()
        let client = try await IECClient.initialise(attributes: gateway.attributes(clientID: "app-7"))
        try await client.registerDevice("Narwhal", registrationData: #"{"custom_data":"here"}"#)
        let empty = try await client.deviceConfiguration("Narwhal")
        XCTAssertEqual(empty, [:])
        let configured = try await client.deviceConfiguration("Configured")
        XCTAssertEqual(configured["minimum"], 7)
        let tokens = try await client.deviceTokens("Narwhal")
        XCTAssertEqual(tokens, Tokens(accessToken: "at-Narwhal", idToken: "it-Narwhal", tokenType: "Bearer", expiresIn: "3599"))
        let introspection = try await client.introspect("at-Narwhal")
        XCTAssertEqual(introspection["active"], true)

        let requests = gateway.requests
        XCTAssertEqual(gateway.operations(), ["initialise", "register_device", "device_configuration", "device_configuration", "device_tokens", "introspect"])
        for request in requests {
            XCTAssertEqual(request["v"], 1)
            XCTAssertEqual(request["client_id"], "app-7")
        }
        XCTAssertEqual(Set(requests.compactMap { $0["request_id"]?.stringValue }).count, requests.count, "request ids are unique")
        XCTAssertEqual(requests[1]["registration_data"], #"{"custom_data":"here"}"#)
        XCTAssertEqual(requests[5]["token"], "at-Narwhal")
    }

    func testTheGatewaysErrorsComeThroughWithTheirCode() async throws {
        let gateway = try FakeGateway()
        let client = try await IECClient.initialise(attributes: gateway.attributes())
        do {
            _ = try await client.customCommand("Narwhal", command: "HELLO_WORLD", params: "{}")
            XCTFail("an unmapped command should fail")
        } catch {
            XCTAssertEqual(error.description, "Error: am_error, Description: no script found for command, URL: ")
        }
        do {
            _ = try await client.deviceTokens("Unknown")
            XCTFail("an unknown device should fail")
        } catch {
            XCTAssertEqual(error.code, .amError)
            XCTAssertTrue(error.message.contains("unknown device"), error.message)
        }
        do {
            try await client.registerDevice("")
            XCTFail("an empty id should fail")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
        XCTAssertEqual(gateway.operations(), ["initialise", "custom_command", "device_tokens"], "an empty id is refused before sending")
    }

    func testInitialiseFailsWhenTheGatewayRefusesTheClient() async throws {
        let gateway = try FakeGateway { request in
            request["op"] == "initialise" ? .error("am_unavailable", "iec-am cannot be reached", url: "http://127.0.0.1:8080") : .result([:])
        }
        do {
            _ = try await IECClient.initialise(attributes: gateway.attributes())
            XCTFail("initialise should fail")
        } catch {
            XCTAssertEqual(error.description, "Error: am_error, Description: iec-am cannot be reached, URL: http://127.0.0.1:8080", "reported as the original did")
        }
    }

    func testNoGatewayFailsWithinTheTimeoutAndSaysSo() async throws {
        let keys = CurveKeyPair()
        let endpoint = "tcp://127.0.0.1:\(closedPort())"
        let attributes = IECClientAttributes(endpoint: endpoint, secretKey: keys.secretKeyZ85, publicKey: keys.publicKeyZ85,
                                             serverPublicKey: CurveKeyPair().publicKeyZ85, messageTimeoutSeconds: 1, clientID: "app")
        let started = now()
        do {
            _ = try await IECClient.initialise(attributes: attributes)
            XCTFail("initialise should fail")
        } catch {
            let elapsed = now() - started
            XCTAssertEqual(error.code, .gatewayTimeout)
            XCTAssertEqual(error.url, endpoint)
            XCTAssertTrue(error.message.contains("no answer from the gateway within 1 s"), error.message)
            XCTAssertTrue(error.message.contains("nothing accepts connections"), error.message)
            XCTAssertTrue(error.message.contains("is iecservice running"), error.message)
            XCTAssertGreaterThanOrEqual(elapsed, 0.9)
            XCTAssertLessThan(elapsed, 1.8, "the message timeout bounds initialise")
        }
    }

    func testWrongKeysFailWithinTheTimeoutAndSaySo() async throws {
        let gateway = try FakeGateway()
        var wrongServer = gateway.attributes(timeout: 1)
        wrongServer.serverPublicKey = CurveKeyPair().publicKeyZ85
        var unknownClient = gateway.attributes(timeout: 1)
        let stranger = CurveKeyPair()
        unknownClient.secretKey = stranger.secretKeyZ85
        unknownClient.publicKey = stranger.publicKeyZ85
        for attributes in [wrongServer, unknownClient] {
            let started = now()
            do {
                _ = try await IECClient.initialise(attributes: attributes)
                XCTFail("initialise should fail")
            } catch {
                XCTAssertEqual(error.code, .gatewayTimeout)
                XCTAssertTrue(error.message.contains("accepts connections: check the CURVE keys"), error.message)
                XCTAssertLessThan(now() - started, 1.8)
            }
        }
        XCTAssertEqual(gateway.requests.count, 0, "a refused client reaches nothing")
    }

    func testUserTokensPollUntilTheUserApproves() async throws {
        let polls = Counter()
        let gateway = try FakeGateway { request in
            guard request["op"] == "user_tokens" else { return FakeGateway.standard(request) }
            XCTAssertEqual(request["device_code"], "dc-1")
            return polls.next() < 2
                ? .error("authorization_pending", "the user has not approved yet")
                : .result(["access_token": "user-at", "id_token": "user-it", "token_type": "Bearer", "expires_in": 3600])
        }
        let client = try await IECClient.initialise(attributes: gateway.attributes())
        let code = try await client.userCode("Narwhal")
        XCTAssertEqual(code.userCode, "ABCD-EFGH")
        XCTAssertEqual(code.verificationURL, "http://am/device")
        XCTAssertEqual(code.interval, 1)
        let started = now()
        let tokens = try await client.userTokens("Narwhal")
        XCTAssertEqual(tokens.accessToken, "user-at")
        XCTAssertEqual(tokens.expiresIn, "3600")
        XCTAssertEqual(polls.value, 3)
        XCTAssertGreaterThanOrEqual(now() - started, 1.9, "one interval between polls")
    }

    func testUserTokensEndOnDenialAndExpiry() async throws {
        let gateway = try FakeGateway { request in
            switch (request["op"]?.stringValue, request["device_id"]?.stringValue) {
            case ("user_tokens", "Denied"): return .error("access_denied", "the user denied the request")
            case ("user_tokens", _): return .error("authorization_pending", "not yet")
            case ("user_code", "Short"):
                return .result(["user_code": "SHOR-TTTT", "device_code": "dc-short", "verification_url": "http://am/device", "expires_in": 2, "interval": 1])
            default: return FakeGateway.standard(request)
            }
        }
        let client = try await IECClient.initialise(attributes: gateway.attributes())
        _ = try await client.userCode("Denied")
        do {
            _ = try await client.userTokens("Denied")
            XCTFail("denied")
        } catch {
            XCTAssertEqual(error.code, .accessDenied)
        }
        _ = try await client.userCode("Short")
        do {
            _ = try await client.userTokens("Short")
            XCTFail("expired")
        } catch {
            XCTAssertEqual(error.code, .expiredToken)
            XCTAssertTrue(error.message.contains("SHOR-TTTT"), error.message)
        }
        do {
            _ = try await client.userTokens("NeverAsked")
            XCTFail("no user code")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
    }

    func testCancellingUserTokensStopsThePolling() async throws {
        let gateway = try FakeGateway { request in
            request["op"] == "user_tokens" ? .error("authorization_pending", "not yet") : FakeGateway.standard(request)
        }
        let client = try await IECClient.initialise(attributes: gateway.attributes())
        _ = try await client.userCode("Narwhal")
        let waiting = Task { () -> IECClientError? in
            do throws(IECClientError) {
                _ = try await client.userTokens("Narwhal")
                return nil
            } catch {
                return error
            }
        }
        usleep(300_000)
        let started = now()
        waiting.cancel()
        let error = await waiting.value
        XCTAssertEqual(error?.code, .cancelled)
        XCTAssertLessThan(now() - started, 1.0)
    }

    func testALateAnswerDoesNotConfuseTheNextRequest() async throws {
        let gateway = try FakeGateway { request in
            if request["device_id"] == "Slow" {
                usleep(1_500_000)  // after the client gave up (1 s)
            }
            return FakeGateway.standard(request)
        }
        let client = try await IECClient.initialise(attributes: gateway.attributes(timeout: 1))
        do {
            _ = try await client.deviceTokens("Slow")
            XCTFail("should time out")
        } catch {
            XCTAssertEqual(error.code, .gatewayTimeout)
        }
        usleep(700_000)
        let fast = try await client.deviceTokens("Fast")
        XCTAssertEqual(fast.accessToken, "at-Fast")
    }

    func testManyTasksAtOnceEachGetTheirOwnAnswer() async throws {
        let gateway = try FakeGateway()
        let client = try await IECClient.initialise(attributes: gateway.attributes())
        try await withThrowingTaskGroup(of: (String, Tokens).self) { group in
            for index in 0..<16 {
                group.addTask {
                    let device = "device-\(index)"
                    return (device, try await client.deviceTokens(device))
                }
            }
            for try await (device, tokens) in group {
                XCTAssertEqual(tokens.accessToken, "at-\(device)")
            }
        }
        XCTAssertEqual(try client.blocking.deviceTokens("sync").accessToken, "at-sync")
    }

    func testLoggingGoesToTheConfiguredFile() async throws {
        let gateway = try FakeGateway()
        var template = Array("/tmp/iecclient-log-XXXXXX".utf8CString)
        let folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(folder)'") }
        var attributes = gateway.attributes()
        try attributes.set(.loggingEnabled, text: "true")
        try attributes.set(.loggingDebug, text: "1")
        try attributes.set(.loggingLogfile, text: folder + "/sdk.log")
        let client = try await IECClient.initialise(attributes: attributes)
        _ = try await client.deviceTokens("Narwhal")
        client.close()
        let text = String(decoding: try XCTUnwrap(readFile(folder + "/sdk.log")), as: UTF8.self)
        XCTAssertTrue(text.contains("initialised client=app-test"), text)
        XCTAssertTrue(text.contains("request done op=device_tokens"), text)
        XCTAssertFalse(text.contains("at-Narwhal"), "tokens never reach the log")
    }

    private func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }
}

/// A thread-safe counter: `next()` returns the value before the increment.
final class Counter: @unchecked Sendable {
    private let lock = NSLockish()
    private var count = 0
    func next() -> Int { lock.withLock { defer { count += 1 }; return count } }
    var value: Int { lock.withLock { count } }
}
