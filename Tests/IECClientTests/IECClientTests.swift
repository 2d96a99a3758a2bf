import Glibc
import IECClient
import IECConfig
import IECCrypto
import IECGatewayStore
import IECJSON
import XCTest

/// Attribute parsing, configuration, errors and the JSON layout: no network.
final class IECClientUnitTests: XCTestCase {
    func testTheAttributeEnumHasTheOriginalOrder() {
        let names = IECClientAttribute.allCases.map(\.description)
        XCTAssertEqual(names, [
            "IEC_ENDPOINT", "IEC_SECRETKEY", "IEC_PUBLICKEY", "IEC_SERVERPUBLICKEY", "IEC_MSGTIMEOUTSEC", "IEC_CLIENT_ID",
            "IEC_LOGGING_ENABLED", "IEC_LOGGING_DEBUG", "IEC_LOGGING_LOGFILE", "IEC_LOGGING_MAXSIZE", "IEC_LOGGING_MAXBACKUPS",
            "IEC_LOGGING_MAXAGE", "IEC_LOGGING_COMPRESSBACKUPS",
        ])
        XCTAssertEqual(IECClientAttribute.allCases.map(\.rawValue), Array(0...12))
    }

    func testBoolsAreTheOriginalsTwelveSpellings() throws {
        for text in ["1", "t", "T", "TRUE", "true", "True"] { XCTAssertEqual(IECClientAttributes.parseBool(text), true, text) }
        for text in ["0", "f", "F", "FALSE", "false", "False"] { XCTAssertEqual(IECClientAttributes.parseBool(text), false, text) }
        for text in ["", "yes", "no", "tRUE", "TRUE ", " 1", "2", "on", "fAlse"] { XCTAssertNil(IECClientAttributes.parseBool(text), text) }
        var attributes = IECClientAttributes()
        try attributes.set(.loggingEnabled, text: "T")
        try attributes.set(.loggingCompressBackups, text: "False")
        XCTAssertEqual(attributes.loggingEnabled, true)
        XCTAssertEqual(attributes.loggingCompressBackups, false)
        XCTAssertThrowsError(try attributes.set(.loggingDebug, text: "yes")) { error in
            let failure = error as! IECClientError
            XCTAssertEqual(failure.code, .invalidArgument)
            XCTAssertTrue(failure.message.contains("IEC_LOGGING_DEBUG takes a bool"), failure.message)
        }
    }

    func testIntegersAreDecimal() throws {
        XCTAssertEqual(IECClientAttributes.parseInteger("12"), 12)
        XCTAssertEqual(IECClientAttributes.parseInteger("+5"), 5)
        XCTAssertEqual(IECClientAttributes.parseInteger("-3"), -3)
        XCTAssertEqual(IECClientAttributes.parseInteger("007"), 7)
        for text in ["", "+", "1.5", "0x10", " 5", "5 ", "1e3", "٣", "99999999999999999999999"] {
            XCTAssertNil(IECClientAttributes.parseInteger(text), text)
        }
        var attributes = IECClientAttributes()
        try attributes.set(.messageTimeoutSeconds, text: "7")
        XCTAssertEqual(attributes.messageTimeoutSeconds, 7)
        XCTAssertThrowsError(try attributes.set(.messageTimeoutSeconds, text: "0"))
        XCTAssertThrowsError(try attributes.set(.messageTimeoutSeconds, text: "five"))
        XCTAssertThrowsError(try attributes.set(.loggingMaxBackups, text: "-1"))
        XCTAssertThrowsError(try attributes.set(.endpoint, text: ""))
        try attributes.set(.loggingMaxAge, text: "0")
        XCTAssertEqual(attributes.loggingMaxAgeDays, 0)
    }

    func testTheErrorReadsAsTheOriginal() {
        let error = IECClientError(.amError, "no script found for command")
        XCTAssertEqual(error.description, "Error: am_error, Description: no script found for command, URL: ")
        XCTAssertEqual("\(IECClientError(.amUnavailable, "down", url: "http://am"))", "Error: am_unavailable, Description: down, URL: http://am")
    }

    func testTheOriginalLayout() {
        XCTAssertEqual(OriginalLayout.text([:]), "{  }")
        let tokens = Tokens(accessToken: "a", idToken: "i", tokenType: "Bearer", expiresIn: "3599")
        XCTAssertEqual(OriginalLayout.text(tokens.json, order: Tokens.memberOrder),
                       "{\n \"access_token\": \"a\",\n \"id_token\": \"i\",\n \"token_type\": \"Bearer\",\n \"expires_in\": \"3599\"\n}")
        let nested: JSONValue = ["b": [1, 2], "a": ["x": "q\"uote"], "c": []]
        XCTAssertEqual(OriginalLayout.text(nested), "{\n \"a\": {\n  \"x\": \"q\\\"uote\"\n },\n \"b\": [\n  1,\n  2\n ],\n \"c\": []\n}")
        XCTAssertEqual(try JSONValue.parse(OriginalLayout.text(nested)), nested, "the layout is JSON")
    }

    func testTokensTakeExpiresInAsAStringOrANumber() throws {
        XCTAssertEqual(try Tokens(json: ["access_token": "a", "expires_in": 3599]).expiresIn, "3599")
        XCTAssertEqual(try Tokens(json: ["access_token": "a", "expires_in": "3599", "token_type": "Bearer"]).json["expires_in"], "3599")
        XCTAssertThrowsError(try Tokens(json: ["id_token": "i"]))
    }

    // MARK: Configuration

    private var folder = ""

    override func setUp() {
        var template = Array("/tmp/iecclient-test-XXXXXX".utf8CString)
        folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    override func tearDown() {
        _ = system("rm -rf '\(folder)'")
    }

    private func makeDatabase(_ name: String = "iec-sdk.db", endpoint: String = "tcp://127.0.0.1:5556", keys: CurveKeyPair = CurveKeyPair(),
                              server: CurveKeyPair = CurveKeyPair()) throws -> String {
        let path = folder + "/" + name
        let configuration = SDKConfiguration(endpoint: endpoint, secretKey: keys.secretKeyZ85, publicKey: keys.publicKeyZ85,
                                             serverPublicKey: server.publicKeyZ85, messageTimeoutSeconds: 9, clientID: "app-db")
        _ = try GatewayDatabase.create(path: path, keyFile: nil, configuration: configuration.json, replace: false)
        return path
    }

    func testTheDatabaseIsReadAndAttributesOverrideIt() throws {
        let path = try makeDatabase()
        let fromDatabase = try IECClientConfiguration.resolve(database: path, attributes: .init())
        XCTAssertEqual(fromDatabase.clientID, "app-db")
        XCTAssertEqual(fromDatabase.messageTimeoutSeconds, 9)
        XCTAssertEqual(fromDatabase.databasePath, path)
        var attributes = IECClientAttributes()
        try attributes.set(.clientID, text: "app-override")
        try attributes.set(.endpoint, text: "tcp://10.0.0.1:7000")
        try attributes.set(.messageTimeoutSeconds, text: "3")
        let overridden = try IECClientConfiguration.resolve(database: path, attributes: attributes)
        XCTAssertEqual(overridden.clientID, "app-override")
        XCTAssertEqual(overridden.endpoint, "tcp://10.0.0.1:7000")
        XCTAssertEqual(overridden.messageTimeoutSeconds, 3)
        XCTAssertEqual(overridden.secretKey, fromDatabase.secretKey)
    }

    func testTheDatabaseIsFoundInTheWorkingDirectory() throws {
        _ = try makeDatabase()
        let previous = getcwd(nil, 0)!
        defer { chdir(previous); free(previous) }
        chdir(folder)
        XCTAssertEqual(try IECClientConfiguration.resolve(attributes: .init()).clientID, "app-db")
        unlink("iec-sdk.db")
        XCTAssertThrowsError(try IECClientConfiguration.resolve(attributes: .init())) { error in
            let failure = error as! IECClientError
            XCTAssertEqual(failure.code, .configurationError)
            XCTAssertTrue(failure.message.contains("IEC_ENDPOINT, IEC_SECRETKEY, IEC_PUBLICKEY, IEC_SERVERPUBLICKEY, IEC_CLIENT_ID not set"), failure.message)
            XCTAssertTrue(failure.message.contains("no iec-sdk.db in the working directory"), failure.message)
        }
    }

    func testAnEnvironmentVariableCanNameTheDatabase() throws {
        let path = try makeDatabase("elsewhere.db")
        setenv("IEC_SDK_DB", path, 1)
        defer { unsetenv("IEC_SDK_DB") }
        XCTAssertEqual(try IECClientConfiguration.resolve(attributes: .init()).databasePath, path)
    }

    func testAttributesAloneAreEnough() throws {
        let keys = CurveKeyPair()
        let attributes = IECClientAttributes(endpoint: "tcp://127.0.0.1:5556", secretKey: keys.secretKeyZ85, publicKey: keys.publicKeyZ85,
                                             serverPublicKey: CurveKeyPair().publicKeyZ85, clientID: "app")
        let configuration = try IECClientConfiguration.resolve(database: nil, attributes: attributes)
        XCTAssertNil(configuration.databasePath)
        XCTAssertEqual(configuration.messageTimeoutSeconds, 5, "the original's default")
    }

    func testWrongSettingsAreNamed() throws {
        let keys = CurveKeyPair()
        let good = IECClientAttributes(endpoint: "tcp://127.0.0.1:5556", secretKey: keys.secretKeyZ85, publicKey: keys.publicKeyZ85,
                                       serverPublicKey: CurveKeyPair().publicKeyZ85, clientID: "app")
        func message(_ change: (inout IECClientAttributes) -> Void) -> String {
            var attributes = good
            change(&attributes)
            do {
                _ = try IECClientConfiguration.resolve(database: nil, attributes: attributes)
                return "no error"
            } catch {
                XCTAssertEqual(error.code, .configurationError)
                return error.message
            }
        }
        XCTAssertTrue(message { $0.publicKey = CurveKeyPair().publicKeyZ85 }.contains("IEC_PUBLICKEY (zmq_client.public_key): does not belong to the secret key"))
        XCTAssertTrue(message { $0.secretKey = "short" }.contains("IEC_SECRETKEY (zmq_client.secret_key): expected a 40-character Z85 CURVE key"))
        XCTAssertTrue(message { $0.serverPublicKey = keys.publicKeyZ85 }.contains("is this app's own public key"))
        XCTAssertTrue(message { $0.endpoint = "127.0.0.1:5556" }.contains("IEC_ENDPOINT (zmq_client.endpoint)"))
        XCTAssertTrue(message { $0.clientID = "a/b" }.contains("IEC_CLIENT_ID"))
        XCTAssertThrowsError(try IECClientConfiguration.resolve(database: folder + "/missing.db", attributes: good)) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }

    func testAGatewayDatabaseIsNotAnSDKDatabase() throws {
        let path = folder + "/iec-service.db"
        _ = try GatewayDatabase.create(path: path, keyFile: nil, configuration: ["iec_configuration": [:]], replace: false)
        XCTAssertThrowsError(try IECClientConfiguration.resolve(database: path, attributes: .init())) { error in
            XCTAssertTrue("\(error)".contains("cannot read the SDK database"), "\(error)")
        }
    }
}
