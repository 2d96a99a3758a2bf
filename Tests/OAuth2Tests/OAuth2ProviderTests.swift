import Foundation
import IECAM
import IECCrypto
import IECJSON
import JOSE
import OAuth2
import Store
import StoreSQLite
import Synchronization
import XCTest

/// A clock the test moves.
final class TestClock: WallClock {
    private let time: Mutex<Double>
    init(_ start: Double) { time = Mutex(start) }
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

/// The grants, device flow, introspection and revocation, driven as values:
/// no sockets, a fixed clock, a real SQLite store in a temporary folder.
final class OAuth2ProviderTests: XCTestCase {
    var folder: URL!
    var store: SQLiteStore!
    var clock: TestClock!
    var provider: OAuth2Provider!
    let base = "http://am.test:8080"
    var tokenURL: String { base + "/oauth2/realms/root/realms/edge/access_token" }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("oauth2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        store = try SQLiteStore(path: folder.appendingPathComponent("am.db").path)
        clock = TestClock(1_800_000_000)
        var options = RealmSetup.Options()
        options.adminPassword = "admin-password"
        options.passwordCost = .minimum
        _ = try RealmSetup(store: store, clock: clock).run(options)
        provider = OAuth2Provider(store: store, publicURL: base, clock: clock)
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: helpers

    @discardableResult
    func makeClient(_ id: String, method: String = ClientAuthMethod.secretBasic, grants: [String], key: P256.PrivateKey? = nil) throws -> String? {
        let secret = method.hasPrefix("client_secret") ? provider.makeClientSecret() : nil
        try store.createClient(
            OAuth2ClientRecord(
                realm: "edge", clientID: id, tokenEndpointAuthMethod: method, secretHash: secret.map(OAuth2Provider.hashSecret),
                jwks: key.map { JWKS(keys: [JWK(publicKey: $0.publicKey)]).json }, grantTypes: grants, scopes: ["openid", "profile"],
                name: "Client \(id)", createdAt: clock.now, updatedAt: clock.now))
        return secret
    }

    func basic(_ id: String, _ secret: String) -> String { "Basic " + Base64.encode(Array("\(id):\(secret)".utf8)) }

    func form(_ pairs: [String: String]) -> [String: [String]] { pairs.mapValues { [$0] } }

    func assertion(_ key: P256.PrivateKey, iss: String, sub: String? = nil, aud: String? = nil, lifetime: Double = 120,
                   jti: String = UUID().uuidString, nbf: Double? = nil) throws -> String {
        var claims = JWTClaims(["iss": .string(iss), "sub": .string(sub ?? iss), "aud": .string(aud ?? tokenURL), "jti": .string(jti)])
        claims.issuedAt = clock.now
        claims.expiration = clock.now + lifetime
        if let nbf { claims.notBefore = nbf }
        return try JWS.sign(claims: claims, key: .es256(key, keyID: nil))
    }

    func expectOAuth2Error(_ code: String, status: Int = 400, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected \(code)", file: file, line: line)
        } catch let error as OAuth2Error {
            XCTAssertEqual(error.code, code, error.description, file: file, line: line)
            XCTAssertEqual(error.status, status, file: file, line: line)
        } catch {
            XCTFail("expected OAuth2Error \(code), got \(error)", file: file, line: line)
        }
    }

    func verifyAccessToken(_ token: String, audience: String) throws -> JWTClaims {
        let jwks = try JWKS(json: try provider.jwks(realm: "edge"))
        let verified = try JWS.verify(token, keys: .set(jwks))
        XCTAssertEqual(verified.header["typ"], "at+jwt")
        let claims = try verified.claims()
        try JWTValidationPolicy(issuer: base + "/oauth2/realms/root/realms/edge", audience: audience).validate(claims, now: clock.now)
        return claims
    }

    // MARK: client_credentials and client authentication

    func testClientCredentialsWithBasicAndPost() throws {
        let secret = try XCTUnwrap(try makeClient("svc", grants: [GrantType.clientCredentials]))
        let basicResponse = try provider.token(
            realm: "edge", request: OAuth2Request(form: form(["grant_type": "client_credentials", "scope": "openid"]), authorization: basic("svc", secret)))
        XCTAssertEqual(basicResponse["token_type"], "Bearer")
        XCTAssertEqual(basicResponse["expires_in"], 3600)
        XCTAssertNil(basicResponse["refresh_token"], "RFC 6749 §4.4.3")
        let claims = try verifyAccessToken(basicResponse["access_token"]!.stringValue!, audience: "svc")
        XCTAssertEqual(claims.subject, "svc")
        XCTAssertEqual(claims["client_id"], "svc")
        XCTAssertEqual(claims["scope"], "openid")
        XCTAssertNotNil(claims.jwtID)
        XCTAssertNotNil(basicResponse["id_token"])

        let postResponse = try provider.token(
            realm: "edge", request: OAuth2Request(form: form(["grant_type": "client_credentials", "client_id": "svc", "client_secret": secret])))
        XCTAssertEqual(postResponse["scope"], "openid profile", "all allowed scopes by default")
    }

    func testClientAuthenticationFailures() throws {
        let secret = try XCTUnwrap(try makeClient("svc", grants: [GrantType.clientCredentials]))
        let grant = ["grant_type": "client_credentials"]
        expectOAuth2Error("invalid_client", status: 401) {
            _ = try provider.token(realm: "edge", request: OAuth2Request(form: form(grant), authorization: basic("svc", "wrong")))
        }
        expectOAuth2Error("invalid_client", status: 401) {
            _ = try provider.token(realm: "edge", request: OAuth2Request(form: form(grant), authorization: basic("nobody", secret)))
        }
        expectOAuth2Error("invalid_client", status: 401) { _ = try provider.token(realm: "edge", request: OAuth2Request(form: form(grant))) }
        expectOAuth2Error("invalid_client", status: 401) {
            _ = try provider.token(realm: "edge", request: OAuth2Request(form: form(["grant_type": "client_credentials", "client_id": "svc"])))
        }
        expectOAuth2Error("invalid_request") {
            var both = self.form(grant)
            both["client_secret"] = [secret]
            both["client_id"] = ["svc"]
            _ = try provider.token(realm: "edge", request: OAuth2Request(form: both, authorization: basic("svc", secret)))
        }
        expectOAuth2Error("invalid_request") {
            _ = try provider.token(
                realm: "edge", request: OAuth2Request(form: ["grant_type": ["client_credentials", "client_credentials"]], authorization: basic("svc", secret)))
        }
        expectOAuth2Error("unsupported_grant_type") {
            _ = try provider.token(realm: "edge", request: OAuth2Request(form: form(["grant_type": "password"]), authorization: basic("svc", secret)))
        }
        expectOAuth2Error("unauthorized_client") {
            _ = try provider.token(
                realm: "edge",
                request: OAuth2Request(form: form(["grant_type": GrantType.refreshToken, "refresh_token": "x"]), authorization: basic("svc", secret)))
        }
        expectOAuth2Error("invalid_scope") {
            _ = try provider.token(
                realm: "edge", request: OAuth2Request(form: form(["grant_type": "client_credentials", "scope": "admin"]), authorization: basic("svc", secret)))
        }
        expectOAuth2Error("invalid_request", status: 404) {
            _ = try provider.token(realm: "nowhere", request: OAuth2Request(form: form(grant), authorization: basic("svc", secret)))
        }
        let error = OAuth2Error.invalidClient("client authentication failed")
        XCTAssertTrue(error.headers(realm: "OpenIEC").first?.1.hasPrefix("Basic realm=\"OpenIEC\"") ?? false)
    }

    func testPrivateKeyJWTClientAuthentication() throws {
        let key = try P256.PrivateKey()
        try makeClient("keyed", method: ClientAuthMethod.privateKeyJWT, grants: [GrantType.clientCredentials], key: key)
        func request(_ assertion: String) -> OAuth2Request {
            OAuth2Request(
                form: form(["grant_type": "client_credentials", "client_assertion_type": ClientAuthMethod.assertionType, "client_assertion": assertion]),
                endpointURL: tokenURL)
        }
        let good = try assertion(key, iss: "keyed")
        XCTAssertNotNil(try provider.token(realm: "edge", request: request(good))["access_token"])
        expectOAuth2Error("invalid_client", status: 401) { _ = try provider.token(realm: "edge", request: request(good)) }  // jti replay
        expectOAuth2Error("invalid_client", status: 401) { _ = try provider.token(realm: "edge", request: request(try assertion(P256.PrivateKey(), iss: "keyed"))) }
        expectOAuth2Error("invalid_client", status: 401) { _ = try provider.token(realm: "edge", request: request(try assertion(key, iss: "keyed", aud: "https://elsewhere"))) }
        expectOAuth2Error("invalid_client", status: 401) { _ = try provider.token(realm: "edge", request: request(try assertion(key, iss: "keyed", sub: "other"))) }
    }

    // MARK: JWT bearer

    func testJWTBearerGrantAndItsRefusals() throws {
        let key = try P256.PrivateKey()
        try makeClient("node-1", method: ClientAuthMethod.privateKeyJWT, grants: [GrantType.jwtBearer], key: key)
        func grant(_ assertion: String) throws -> JSONValue {
            try provider.token(
                realm: "edge", request: OAuth2Request(form: form(["grant_type": GrantType.jwtBearer, "assertion": assertion]), endpointURL: tokenURL))
        }
        let good = try assertion(key, iss: "node-1")
        let response = try grant(good)
        XCTAssertEqual(try verifyAccessToken(response["access_token"]!.stringValue!, audience: "node-1").subject, "node-1")
        expectOAuth2Error("invalid_grant") { _ = try grant(good) }  // replayed jti
        expectOAuth2Error("invalid_grant") { _ = try grant(try assertion(key, iss: "node-1", lifetime: -120)) }  // expired
        expectOAuth2Error("invalid_grant") { _ = try grant(try assertion(key, iss: "node-1", nbf: clock.now + 600)) }
        expectOAuth2Error("invalid_grant") { _ = try grant(try assertion(key, iss: "node-1", aud: "https://other")) }
        expectOAuth2Error("invalid_grant") { _ = try grant(try assertion(P256.PrivateKey(), iss: "node-1")) }
        expectOAuth2Error("invalid_grant") { _ = try grant(try assertion(key, iss: "node-1", lifetime: 7200)) }  // too long
        expectOAuth2Error("invalid_grant") { _ = try grant(try assertion(key, iss: "unknown")) }
        expectOAuth2Error("invalid_grant") { _ = try grant("not.a.jwt") }
        // Issuer URL is an accepted audience too.
        XCTAssertNotNil(try grant(try assertion(key, iss: "node-1", aud: base + "/oauth2/realms/root/realms/edge"))["access_token"])
    }

    // MARK: Device flow, refresh

    func testDeviceFlowApproveThenRefreshWithRotation() throws {
        let secret = try XCTUnwrap(try makeClient("tv", grants: [GrantType.deviceCode, GrantType.refreshToken]))
        let auth = basic("tv", secret)
        let start = try provider.deviceAuthorization(realm: "edge", request: OAuth2Request(form: form(["scope": "openid"]), authorization: auth))
        let deviceCode = try XCTUnwrap(start["device_code"]?.stringValue)
        let userCode = try XCTUnwrap(start["user_code"]?.stringValue)
        XCTAssertEqual(start["interval"], 5)
        XCTAssertEqual(start["expires_in"], 300)
        XCTAssertTrue(start["verification_uri_complete"]!.stringValue!.hasSuffix("user_code=" + userCode))
        XCTAssertNotNil(UserCode.normalise(userCode.lowercased()))

        func poll() throws -> JSONValue {
            try provider.token(realm: "edge", request: OAuth2Request(form: form(["grant_type": GrantType.deviceCode, "device_code": deviceCode]), authorization: auth))
        }
        expectOAuth2Error("authorization_pending") { _ = try poll() }
        clock.advance(1)
        expectOAuth2Error("slow_down") { _ = try poll() }
        clock.advance(11)
        expectOAuth2Error("authorization_pending") { _ = try poll() }

        let pending = try XCTUnwrap(try provider.pendingDeviceCode(realm: "edge", userCode: userCode))
        XCTAssertEqual(pending.client.clientID, "tv")
        XCTAssertTrue(try provider.decideDeviceCode(realm: "edge", userCode: userCode, subject: "alice", approve: true))
        XCTAssertFalse(try provider.decideDeviceCode(realm: "edge", userCode: userCode, subject: "mallory", approve: false), "decided once")
        clock.advance(11)
        let tokens = try poll()
        XCTAssertEqual(try verifyAccessToken(tokens["access_token"]!.stringValue!, audience: "tv").subject, "alice")
        let refresh = try XCTUnwrap(tokens["refresh_token"]?.stringValue)
        clock.advance(11)
        expectOAuth2Error("invalid_grant") { _ = try poll() }  // consumed

        func refreshWith(_ token: String) throws -> JSONValue {
            try provider.token(realm: "edge", request: OAuth2Request(form: form(["grant_type": "refresh_token", "refresh_token": token]), authorization: auth))
        }
        let rotated = try refreshWith(refresh)
        let next = try XCTUnwrap(rotated["refresh_token"]?.stringValue)
        XCTAssertNotEqual(next, refresh)
        XCTAssertEqual(try verifyAccessToken(rotated["access_token"]!.stringValue!, audience: "tv").subject, "alice")
        expectOAuth2Error("invalid_grant") { _ = try refreshWith(refresh) }  // reuse: the family dies
        expectOAuth2Error("invalid_grant") { _ = try refreshWith(next) }
    }

    func testDeviceFlowDenyAndExpiry() throws {
        let secret = try XCTUnwrap(try makeClient("tv", grants: [GrantType.deviceCode]))
        let auth = basic("tv", secret)
        func start() throws -> (String, String) {
            let response = try provider.deviceAuthorization(realm: "edge", request: OAuth2Request(form: [:], authorization: auth))
            return (response["device_code"]!.stringValue!, response["user_code"]!.stringValue!)
        }
        func poll(_ code: String) throws {
            _ = try provider.token(realm: "edge", request: OAuth2Request(form: form(["grant_type": GrantType.deviceCode, "device_code": code]), authorization: auth))
        }
        let (denied, deniedUser) = try start()
        XCTAssertTrue(try provider.decideDeviceCode(realm: "edge", userCode: deniedUser, subject: "bob", approve: false))
        expectOAuth2Error("access_denied") { try poll(denied) }
        let (expiring, expiringUser) = try start()
        clock.advance(301)
        expectOAuth2Error("expired_token") { try poll(expiring) }
        XCTAssertNil(try provider.pendingDeviceCode(realm: "edge", userCode: expiringUser))
        expectOAuth2Error("invalid_grant") { try poll("made-up") }
        XCTAssertNil(try provider.pendingDeviceCode(realm: "edge", userCode: "AAAA-AAAA"), "vowels are never in user codes")
    }

    // MARK: Introspection, revocation

    func testIntrospectionAndRevocation() throws {
        let secret = try XCTUnwrap(try makeClient("svc", grants: [GrantType.clientCredentials]))
        let auth = basic("svc", secret)
        let token = try provider.token(realm: "edge", request: OAuth2Request(form: form(["grant_type": "client_credentials"]), authorization: auth))["access_token"]!.stringValue!
        let active = try provider.introspect(realm: "edge", request: OAuth2Request(form: form(["token": token]), authorization: auth))
        XCTAssertEqual(active["active"], true)
        XCTAssertEqual(active["client_id"], "svc")
        expectOAuth2Error("invalid_client", status: 401) { _ = try provider.introspect(realm: "edge", request: OAuth2Request(form: form(["token": token]))) }
        XCTAssertEqual(try provider.introspect(realm: "edge", request: OAuth2Request(form: form(["token": "garbage"]), authorization: auth))["active"], false)

        try provider.revoke(realm: "edge", request: OAuth2Request(form: form(["token": token]), authorization: auth))
        XCTAssertEqual(try provider.introspect(realm: "edge", request: OAuth2Request(form: form(["token": token]), authorization: auth))["active"], false)
        // Unknown tokens revoke without error (RFC 7009 §2.2).
        XCTAssertNoThrow(try provider.revoke(realm: "edge", request: OAuth2Request(form: form(["token": "nothing"]), authorization: auth)))

        // Expired tokens are inactive.
        let later = try provider.token(realm: "edge", request: OAuth2Request(form: form(["grant_type": "client_credentials"]), authorization: auth))["access_token"]!.stringValue!
        clock.advance(3601)
        XCTAssertEqual(try provider.introspect(realm: "edge", request: OAuth2Request(form: form(["token": later]), authorization: auth))["active"], false)
    }

    func testUserinfoAndDiscovery() throws {
        let secret = try XCTUnwrap(try makeClient("svc", grants: [GrantType.clientCredentials]))
        let token = try provider.token(
            realm: "edge", request: OAuth2Request(form: form(["grant_type": "client_credentials", "scope": "openid"]), authorization: basic("svc", secret)))["access_token"]!.stringValue!
        XCTAssertEqual(try provider.userinfo(realm: "edge", authorization: "Bearer " + token)["sub"], "svc")
        expectOAuth2Error("invalid_token", status: 401) { _ = try provider.userinfo(realm: "edge", authorization: nil) }
        expectOAuth2Error("invalid_token", status: 401) { _ = try provider.userinfo(realm: "edge", authorization: "Bearer x.y.z") }
        let discovery = try provider.discovery(realm: "edge")
        XCTAssertEqual(discovery["issuer"], .string(base + "/oauth2/realms/root/realms/edge"))
        XCTAssertEqual(discovery["jwks_uri"], .string(base + "/oauth2/realms/root/realms/edge/connect/jwk_uri"))
        XCTAssertEqual(try JWKS(json: try provider.jwks(realm: "edge")).keys.count, 1)
    }

    func testUserCodes() {
        let random = SystemRandom()
        for _ in 0..<200 {
            let code = UserCode.make(using: random)
            XCTAssertEqual(code.count, 8)
            XCTAssertEqual(UserCode.normalise(UserCode.display(code).lowercased()), code)
        }
        XCTAssertNil(UserCode.normalise("BCDF-GHJ"))
        XCTAssertNil(UserCode.normalise("BCDF-GHJ1"))
        XCTAssertEqual(UserCode.display("BCDFGHJK"), "BCDF-GHJK")
    }
}
