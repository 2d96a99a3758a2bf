import IECConfig
import IECGateway
import IECJSON
import XCTest

/// The SDK ↔ gateway codec, as values (docs/protocol.md).
final class GatewayProtocolTests: XCTestCase {
    func parse(_ text: String) -> Result<GatewayProtocol.Request, GatewayProtocol.ParseFailure> {
        GatewayProtocol.parse(Array(text.utf8))
    }

    func testEveryOperationRoundTrips() throws {
        let operations: [GatewayProtocol.Operation] = [
            .ping, .initialise, .registerDevice(deviceID: "Narwhal", registrationData: #"{"custom_data":"here"}"#),
            .registerDevice(deviceID: "Narwhal", registrationData: nil), .deviceConfiguration(deviceID: "d"), .deviceTokens(deviceID: "d"),
            .userCode(deviceID: "d"), .userTokens(deviceID: "d", deviceCode: "code"),
            .customCommand(deviceID: "d", command: "HELLO_WORLD", params: #"{"a":1}"#), .introspect(token: "eyJ.x.y"),
        ]
        for operation in operations {
            let bytes = GatewayProtocol.encode(requestID: "42", clientID: "iec-client", operation: operation)
            guard case .success(let request) = GatewayProtocol.parse(bytes) else { return XCTFail("\(operation) did not parse") }
            XCTAssertEqual(request.operation, operation)
            XCTAssertEqual(request.requestID, "42")
            if operation != .ping { XCTAssertEqual(request.clientID, "iec-client") }
        }
    }

    func testRefusalsCarryTheRequestID() {
        let cases: [(String, String, String)] = [
            ("not json", "", GatewayProtocol.ErrorCode.badRequest),
            ("[1]", "", GatewayProtocol.ErrorCode.badRequest),
            (#"{"v":1,"op":"ping"}"#, "", GatewayProtocol.ErrorCode.badRequest),
            (#"{"v":2,"request_id":"a","op":"ping"}"#, "a", GatewayProtocol.ErrorCode.unsupportedVersion),
            (#"{"request_id":"a","op":"ping"}"#, "a", GatewayProtocol.ErrorCode.badRequest),
            (#"{"v":1,"request_id":"b","op":"fly","client_id":"c"}"#, "b", GatewayProtocol.ErrorCode.unknownOperation),
            (#"{"v":1,"request_id":"c","op":"device_tokens"}"#, "c", GatewayProtocol.ErrorCode.badRequest),
            (#"{"v":1,"request_id":"d","op":"device_tokens","client_id":"x"}"#, "d", GatewayProtocol.ErrorCode.badRequest),
            (#"{"v":1,"request_id":"e","op":"device_tokens","client_id":"x","device_id":5}"#, "e", GatewayProtocol.ErrorCode.badRequest),
            (#"{"v":1,"request_id":"f","op":"user_tokens","client_id":"x","device_id":"d"}"#, "f", GatewayProtocol.ErrorCode.badRequest),
            (#"{"v":1,"request_id":7,"op":"initialise"}"#, "7", GatewayProtocol.ErrorCode.badRequest),
        ]
        for (text, requestID, code) in cases {
            guard case .failure(let bad) = parse(text) else { XCTFail("accepted \(text)"); continue }
            XCTAssertEqual(bad.requestID, requestID, text)
            XCTAssertEqual(bad.failure.code, code, text)
            let answer = try! JSONValue.parse(GatewayProtocol.failure(requestID: bad.requestID, bad.failure))
            XCTAssertEqual(answer["ok"], false)
            XCTAssertEqual(answer["error"]?["code"]?.stringValue, code)
        }
    }

    func testAnswersHaveTheDocumentedShape() throws {
        let ok = try JSONValue.parse(GatewayProtocol.success(requestID: "1", result: ["a": 1]))
        XCTAssertEqual(ok, ["v": 1, "request_id": "1", "ok": true, "result": ["a": 1]])
        let failure = try JSONValue.parse(GatewayProtocol.failure(requestID: "2", .init("am_error", "no script found for command")))
        XCTAssertEqual(failure["error"], ["code": "am_error", "description": "no script found for command", "url": ""])
    }

    func testAnAnswerFromSerializedResultIsTheSameBytes() {
        let result: JSONValue = ["access_token": "eyJ.a.b", "expires_in": "3600", "token_type": "Bearer", "id_token": "eyJ.c.d"]
        for requestID in ["r1", "", "quote\"and\\slash", "é😀"] {
            XCTAssertEqual(GatewayProtocol.success(requestID: requestID, serializedResult: result.serializedBytes()),
                           GatewayProtocol.success(requestID: requestID, result: result), requestID)
        }
    }

    func testRandomBytesNeverCrashTheParser() {
        var state: UInt64 = 7
        for _ in 0..<5000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(state % 64) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: state >> 33))
            }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            _ = GatewayProtocol.parse(bytes)
        }
    }
}

final class GatewayConfigurationTests: XCTestCase {
    let good = """
        {"iec_configuration": {"id_token_config.subject": "gw", "id_token_config.vendor_secret": "letmein"},
         "am_configuration": {"url": "http://127.0.0.1:8080/", "realm": "/edge"},
         "zmq_server": {"secret_key": "O=QAu0}6S{y}D-bVgNB!(qJG*fIwPj=Y6<sQfaC}", "client_public_keys": []}}
        """

    func testDefaultsOfAMinimalFile() throws {
        let config = try GatewayConfiguration.parse(Array(good.utf8), source: "iec-config.json")
        XCTAssertEqual(config.amURL, "http://127.0.0.1:8080")
        XCTAssertEqual(config.realm, "edge")
        XCTAssertEqual(config.endpoint, "tcp://*:5556")
        XCTAssertEqual(config.idTokenIssuer, "edge-device")
        XCTAssertEqual(config.registrationChain, "device_registration")
        XCTAssertEqual(config.cookieName, "iPlanetDirectoryPro")
        XCTAssertEqual(try GatewayConfiguration.parse(config.json.serializedBytes(), source: "db"), config)
    }

    func testBadValuesNameTheKeyPath() {
        let bad: [(String, String)] = [
            (good.replacingOccurrences(of: "O=QAu0}6S{y}D-bVgNB!(qJG*fIwPj=Y6<sQfaC}", with: "short"), "zmq_server.secret_key"),
            (good.replacingOccurrences(of: #""url": "http://127.0.0.1:8080/""#, with: #""url": 5"#), "am_configuration.url"),
            (good.replacingOccurrences(of: #""realm": "/edge""#, with: #""relm": "/edge""#), "am_configuration.relm"),
            (good.replacingOccurrences(of: #""id_token_config.vendor_secret": "letmein""#, with: #""x": 1"#), "iec_configuration.id_token_config.vendor_secret"),
            (good.replacingOccurrences(of: #""client_public_keys": []"#, with: #""client_public_keys": ["nope"]"#), "zmq_server.client_public_keys[0]"),
        ]
        for (text, path) in bad {
            XCTAssertThrowsError(try GatewayConfiguration.parse(Array(text.utf8), source: "iec-config.json")) { error in
                XCTAssertEqual((error as? ConfigError)?.path, path, "\(error)")
            }
        }
    }
}
