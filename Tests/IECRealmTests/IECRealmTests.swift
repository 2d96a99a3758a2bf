import Foundation
import IECAM
import IECCrypto
import IECJSON
import IECRealm
import JOSE
import OAuth2
import Store
import StoreSQLite
import Synchronization
import XCTest

final class MovableClock: WallClock {
    private let time: Mutex<Double>
    init(_ start: Double) { time = Mutex(start) }
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

/// A gateway as values: its key, its session and its command nonce.
struct TestGateway {
    let name: String
    let key: P256.PrivateKey
    var session = ""
    var nonce: Int64 = 0
}

/// The chains and the command endpoint, driven without sockets against a real SQLite store.
final class IECRealmTests: XCTestCase {
    var folder: URL!
    var store: SQLiteStore!
    var clock: MovableClock!
    var provider: OAuth2Provider!
    var chains: AuthenticationChains!
    var commands: CommandEndpoint!
    var iec: IECServiceSettings!
    let base = "http://am.test:8080"

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("iecrealm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        store = try SQLiteStore(path: folder.appendingPathComponent("am.db").path)
        clock = MovableClock(1_800_000_000)
        var options = RealmSetup.Options()
        options.adminPassword = "admin-password"
        options.passwordCost = .minimum
        options.vendorSecret = "letmein"
        iec = try RealmSetup(store: store, clock: clock).run(options).iec
        provider = OAuth2Provider(store: store, publicURL: base, clock: clock)
        let sessions = SessionManager(store: store, clock: clock, random: SystemRandom())
        chains = AuthenticationChains(store: store, provider: provider, sessions: sessions)
        commands = CommandEndpoint(store: store, provider: provider, sessions: sessions)
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(at: folder)
    }

    func expectRefusal(_ status: Int, _ fragment: String, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected \(status) \(fragment)", file: file, line: line)
        } catch let error as IECRealmError {
            XCTAssertEqual(error.status, status, error.message, file: file, line: line)
            XCTAssertTrue(error.message.contains(fragment), "\(error.message)", file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    // MARK: a gateway's side

    func challenge(_ chain: String) throws -> (authID: String, callbacks: [JSONValue], nonce: String) {
        guard case .callbacks(let json) = try chains.authenticate(realm: "edge", chain: chain, body: nil) else { throw XCTSkip("no callbacks") }
        let callbacks = json["callbacks"]!.arrayValue!
        let challengeJWT = callbacks[0]["output"]!.arrayValue![0]["value"]!.stringValue!
        // The gateway checks the challenge with am_public_key, the challenge key's public half.
        let challengeKey = try store.signingKeys(realm: "edge", purpose: SigningKeyPurpose.challenge).first!
        let verified = try JWS.verify(challengeJWT, keys: .es256(try JWK(json: challengeKey.privateJWK).publicKey()))
        return (json["authId"]!.stringValue!, callbacks, try verified.claims().nonce!)
    }

    func pop(_ gateway: TestGateway, nonce: String, withKey: Bool, signer: P256.PrivateKey? = nil) throws -> String {
        var claims = JWTClaims(["nonce": .string(nonce), "sub": .string(gateway.name), "aud": .string(base + "/json/realms/root/realms/edge")])
        claims.issuedAt = clock.now
        claims.expiration = clock.now + 60
        if withKey { claims["cnf"] = ["jwk": JWK(publicKey: gateway.key.publicKey).json] }
        return try JWS.sign(claims: claims, key: .es256(signer ?? gateway.key, keyID: nil))
    }

    func idToken(_ subject: String, secret: String = "letmein") throws -> String {
        var claims = JWTClaims(["iss": "edge-device", "aud": "am.iec.com", "sub": .string(subject)])
        claims.issuedAt = clock.now
        claims.expiration = clock.now + 120
        return try JWS.sign(claims: claims, key: .hs256(Array(secret.utf8), keyID: nil))
    }

    func answer(_ callbacks: [JSONValue], _ values: [String]) -> JSONValue {
        .array(callbacks.enumerated().map { index, callback in
            var members = callback.objectValue!
            let inputName = callback["input"]!.arrayValue![0]["name"]!
            members["input"] = [["name": inputName, "value": .string(index < values.count ? values[index] : "")]]
            return .object(members)
        })
    }

    func register(_ gateway: inout TestGateway, secret: String = "letmein") throws {
        let (authID, callbacks, nonce) = try challenge(AuthenticationChains.registration)
        let body: JSONValue = ["authId": .string(authID), "callbacks": answer(callbacks, [try pop(gateway, nonce: nonce, withKey: true), try idToken(gateway.name, secret: secret)])]
        guard case .session(let token, let identity, _) = try chains.authenticate(realm: "edge", chain: nil, body: body) else { return XCTFail("no session") }
        XCTAssertEqual(identity.type, .iec)
        gateway.session = token
    }

    func send(_ gateway: inout TestGateway, _ command: String, id: String? = nil, params: JSONValue = [:], nonce: Int64? = nil,
              signer: P256.PrivateKey? = nil) throws -> JSONValue {
        gateway.nonce += 1
        var claims = JWTClaims(["command": .string(command), "params": params, "nonce": .int(nonce ?? gateway.nonce),
                                "aud": .string(commands.url(realm: "edge")), "csrf": .string(gateway.session)])
        if let id { claims["id"] = .string(id) }
        let body = try JWS.sign(claims: claims, key: .es256(signer ?? gateway.key, keyID: nil))
        return try commands.handle(realm: "edge", sessionToken: gateway.session, body: Array(body.utf8))
    }

    func assertion(_ key: P256.PrivateKey, node: String) throws -> String {
        var claims = JWTClaims(["iss": .string(node), "sub": .string(node), "aud": .string(provider.tokenEndpoint(realm: "edge")), "jti": .string(UUID().uuidString)])
        claims.issuedAt = clock.now
        claims.expiration = clock.now + 120
        return try JWS.sign(claims: claims, key: .es256(key, keyID: nil))
    }

    // MARK: tests

    func testGatewayLife() throws {
        var gateway = TestGateway(name: "gw-1", key: try P256.PrivateKey())
        try register(&gateway)
        XCTAssertEqual(try store.identity(realm: "edge", id: "gw-1")?.type, .iec)
        XCTAssertEqual(try store.client(realm: "edge", clientID: "gw-1")?.tokenEndpointAuthMethod, ClientAuthMethod.privateKeyJWT)

        // Authenticate again with the stored key.
        let (authID, callbacks, nonce) = try challenge(AuthenticationChains.authentication)
        guard case .session(let token, _, _) = try chains.authenticate(
            realm: "edge", chain: nil, body: ["authId": .string(authID), "callbacks": answer(callbacks, [try pop(gateway, nonce: nonce, withKey: false)])])
        else { return XCTFail() }
        gateway.session = token

        let clientKey = try P256.PrivateKey()
        let deviceKey = try P256.PrivateKey()
        XCTAssertEqual(try send(&gateway, "REGISTER_CLIENT", params: ["id": "app-1", "jwk": JWK(publicKey: clientKey.publicKey).json])["parent"], "gw-1")
        XCTAssertEqual(
            try send(&gateway, "REGISTER_DEVICE", params: ["id": "Narwhal", "client": "app-1", "jwk": JWK(publicKey: deviceKey.publicKey).json,
                                                           "registration_data": ["custom_data": "here"]])["parent"], "app-1")
        XCTAssertEqual(try send(&gateway, "GET_CONFIG", id: "Narwhal"), [:])
        _ = try NodeRegistry(store: store, clock: clock).update(realm: "edge", id: "Narwhal") { $0.configuration = ["minimum": 3] }
        XCTAssertEqual(try send(&gateway, "GET_CONFIG", params: ["id": "Narwhal"]), ["minimum": 3])
        XCTAssertEqual(try send(&gateway, "GET_IEC_CONFIG"), [:])

        let tokens = try send(&gateway, "GET_TOKENS", id: "Narwhal", params: ["id": "Narwhal", "assertion": .string(try assertion(deviceKey, node: "Narwhal"))])
        let access = try XCTUnwrap(tokens["access_token"]?.stringValue)
        XCTAssertNotNil(tokens["id_token"])
        let introspection = try send(&gateway, "INTROSPECT", params: ["token": .string(access)])
        XCTAssertEqual(introspection["active"], true)
        XCTAssertEqual(introspection["sub"], "Narwhal")

        expectRefusal(400, "no script found for command") { _ = try send(&gateway, "HELLO_WORLD") }

        // Pairing: a user approves the device's code.
        let code = try send(&gateway, "GET_USER_CODE", id: "Narwhal")
        let userCode = try XCTUnwrap(code["user_code"]?.stringValue)
        expectRefusal(400, "authorization_pending") { _ = try send(&gateway, "GET_USER_TOKENS", id: "Narwhal", params: ["device_code": code["device_code"]!]) }
        XCTAssertTrue(try provider.decideDeviceCode(realm: "edge", userCode: userCode, subject: "alice", approve: true))
        clock.advance(6)
        let userTokens = try send(&gateway, "GET_USER_TOKENS", id: "Narwhal", params: ["device_code": code["device_code"]!])
        XCTAssertNotNil(userTokens["access_token"])
        XCTAssertEqual(try store.identity(realm: "edge", id: "Narwhal")?.pairedUser, "alice")
    }

    func testCustomScriptsAndTheirLimits() throws {
        var gateway = TestGateway(name: "gw-1", key: try P256.PrivateKey())
        try register(&gateway)
        var record = try store.realm(named: "edge")!
        var settings = record.settings.objectValue!
        var iecSettings = IECServiceSettings(json: settings["iec"])
        iecSettings.commandScripts["HELLO_WORLD"] = DefaultScripts.helloWorldName
        iecSettings.commandScripts["SPIN"] = "Spin"
        iecSettings.commandScripts["HOG"] = "Hog"
        settings["iec"] = iecSettings.json
        record.settings = .object(settings)
        try store.putRealm(record)
        provider.invalidateRealm("edge")
        try store.putScript(ScriptRecord(realm: "edge", name: "Spin", kind: "command", source: "while (true) {}", createdAt: 0, updatedAt: 0))
        try store.putScript(ScriptRecord(realm: "edge", name: "Hog", kind: "command", source: "var a = []; while (true) { a.push(new Array(100000).join('x')); }", createdAt: 0, updatedAt: 0))

        let hello = try send(&gateway, "HELLO_WORLD", params: ["x": 1])
        XCTAssertEqual(hello["response"]?["message"], "Hello World from gw-1")
        XCTAssertEqual(hello["response"]?["calls"], 1)
        XCTAssertEqual(try send(&gateway, "HELLO_WORLD")["response"]?["calls"], 2, "the user configuration was stored")
        expectRefusal(500, "Spin") { _ = try send(&gateway, "SPIN") }
        expectRefusal(500, "Hog") { _ = try send(&gateway, "HOG") }
        XCTAssertEqual(try send(&gateway, "GET_IEC_CONFIG"), [:], "the next request is fine")

        // A replaced built-in runs in the sandbox, with the built-in at hand.
        try store.putScript(ScriptRecord(realm: "edge", name: "GetIecConfig", kind: "command",
                                         source: "var c = builtin(params); c.decorated = true; response = c;", createdAt: 0, updatedAt: 0))
        XCTAssertEqual(try send(&gateway, "GET_IEC_CONFIG"), ["decorated": true])
    }

    func testAttacks() throws {
        var gateway = TestGateway(name: "gw-1", key: try P256.PrivateKey())

        // Replayed challenge: the second answer to one challenge fails.
        let (authID, callbacks, nonce) = try challenge(AuthenticationChains.registration)
        let body: JSONValue = ["authId": .string(authID), "callbacks": answer(callbacks, [try pop(gateway, nonce: nonce, withKey: true), try idToken("gw-1")])]
        _ = try chains.authenticate(realm: "edge", chain: nil, body: body)
        expectRefusal(401, "already used") { _ = try chains.authenticate(realm: "edge", chain: nil, body: body) }

        // A PoP signed by another key than its cnf.jwk; a wrong vendor secret; an expired challenge.
        var other = TestGateway(name: "gw-2", key: try P256.PrivateKey())
        let c1 = try challenge(AuthenticationChains.registration)
        expectRefusal(401, "proof of possession") {
            _ = try chains.authenticate(realm: "edge", chain: nil, body: ["authId": .string(c1.authID), "callbacks": answer(c1.callbacks, [
                try pop(other, nonce: c1.nonce, withKey: true, signer: try P256.PrivateKey()), try idToken("gw-2")])])
        }
        expectRefusal(401, "ID token") { try register(&other, secret: "wrong") }
        let c2 = try challenge(AuthenticationChains.registration)
        clock.advance(61)
        expectRefusal(401, "expired") {
            _ = try chains.authenticate(realm: "edge", chain: nil, body: ["authId": .string(c2.authID), "callbacks": answer(c2.callbacks, [
                try pop(other, nonce: c2.nonce, withKey: true), try idToken("gw-2")])])
        }
        try register(&other)
        try register(&gateway)

        // Command nonces: replayed and out of order.
        _ = try send(&gateway, "GET_IEC_CONFIG", nonce: 10)
        gateway.nonce = 10
        expectRefusal(401, "nonce") { _ = try send(&gateway, "GET_IEC_CONFIG", nonce: 10) }
        expectRefusal(401, "nonce") { _ = try send(&gateway, "GET_IEC_CONFIG", nonce: 5) }
        // A body signed by another gateway's key.
        expectRefusal(401, "signature") { _ = try send(&gateway, "GET_IEC_CONFIG", signer: other.key) }
        // Acting for a node that is not its own.
        let deviceKey = try P256.PrivateKey()
        _ = try send(&gateway, "REGISTER_CLIENT", params: ["id": "app-1", "jwk": JWK(publicKey: try P256.PrivateKey().publicKey).json])
        _ = try send(&gateway, "REGISTER_DEVICE", params: ["id": "dev-1", "client": "app-1", "jwk": JWK(publicKey: deviceKey.publicKey).json])
        expectRefusal(403, "not a node of the gateway") { _ = try send(&other, "GET_CONFIG", id: "dev-1") }
        expectRefusal(403, "not a client of the gateway") {
            _ = try send(&other, "REGISTER_DEVICE", params: ["id": "dev-2", "client": "app-1", "jwk": JWK(publicKey: deviceKey.publicKey).json])
        }
        // A disabled node: its tokens stop, its commands are refused.
        let tokens = try send(&gateway, "GET_TOKENS", id: "dev-1", params: ["assertion": .string(try assertion(deviceKey, node: "dev-1"))])
        let access = tokens["access_token"]!.stringValue!
        _ = try NodeRegistry(store: store, clock: clock).setDisabled(realm: "edge", id: "dev-1", disabled: true)
        expectRefusal(403, "disabled") { _ = try send(&gateway, "GET_TOKENS", id: "dev-1", params: ["assertion": .string(try assertion(deviceKey, node: "dev-1"))]) }
        XCTAssertEqual(try provider.introspect(realm: provider.realmContext("edge")!, token: access, hint: nil)["active"], false)
        // A disabled gateway's session no longer works.
        _ = try NodeRegistry(store: store, clock: clock).setDisabled(realm: "edge", id: "gw-2", disabled: true)
        expectRefusal(401, "session") { _ = try send(&other, "GET_IEC_CONFIG") }
        // Registering an existing name with another key.
        var impostor = TestGateway(name: "gw-1", key: try P256.PrivateKey())
        expectRefusal(409, "already registered") { try register(&impostor) }
    }
}
