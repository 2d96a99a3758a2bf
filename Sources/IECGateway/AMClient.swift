public import HTTPClient
public import IECConfig
public import IECCrypto
public import IECJSON
public import JOSE
internal import Synchronization

/// A refusal or failure of a call to iec-am, in the SDK's terms.
public struct AMError: Error, Sendable, CustomStringConvertible {
    /// 0 when iec-am could not be reached.
    public let status: Int
    /// iec-am's `message` (AM shape) or `error_description`, or what went wrong on the way.
    public let message: String
    public let url: String

    public var isUnreachable: Bool { status == 0 }
    public var description: String { status == 0 ? "iec-am unreachable (\(url)): \(message)" : "iec-am answered \(status): \(message)" }
}

/// The gateway's REST client for iec-am: the two authentication chains, the
/// command endpoint and session checks (docs/protocol-am.md). Synchronous and
/// thread-safe; each call has the configured timeout.
public final class AMClient: Sendable {
    public let configuration: GatewayConfiguration
    let http: HTTPClient
    let clock: any WallClock
    /// Strictly increasing across restarts without being stored: microseconds of
    /// the wall clock, or one more than the last when the clock has not moved on.
    private let lastNonce = Mutex<Int64>(0)
    private let challengeKey: P256.PublicKey?

    public init(configuration: GatewayConfiguration, clock: any WallClock = SystemClock()) throws {
        self.configuration = configuration
        self.clock = clock
        http = HTTPClient(configuration: HTTPClientConfiguration(caFile: configuration.caFile, maxResponseBytes: 1 << 20,
                                                                 connectTimeout: .seconds(min(5, configuration.requestTimeoutSeconds))))
        if let text = configuration.amPublicKey, let der = Base64.decode(text) {
            challengeKey = try P256.PublicKey(derRepresentation: der)
        } else {
            challengeKey = nil
        }
    }

    var realmURL: String { configuration.amURL + "/json/realms/root/realms/" + configuration.realm }
    public var commandURL: String { realmURL + "/iec?_action=command" }
    public var tokenEndpoint: String { configuration.amURL + "/oauth2/realms/root/realms/" + configuration.realm + "/access_token" }

    // MARK: HTTP

    func call(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> JSONValue {
        let response: HTTPResponse
        do {
            response = try http.send(HTTPRequest(
                method: method, url: url, headers: headers.map { (name: $0.0, value: $0.1) }, body: body,
                timeout: .seconds(configuration.requestTimeoutSeconds)))
        } catch {
            throw AMError(status: 0, message: "\(error)", url: url)
        }
        let json = (try? JSONValue.parse(response.body, limits: .init(maxBytes: 1 << 20, maxDepth: 32))) ?? .null
        guard (200..<300).contains(response.status) else {
            let message = json["message"]?.stringValue ?? json["error_description"]?.stringValue ?? json["error"]?.stringValue ?? "HTTP \(response.status)"
            throw AMError(status: response.status, message: message, url: url)
        }
        return json
    }

    // MARK: Chains

    /// Runs the registration chain (when `register`) or the authentication chain and returns the session token.
    public func signIn(key: P256.PrivateKey, register: Bool) throws -> String {
        let chain = register ? configuration.registrationChain : configuration.authenticationChain
        let url = realmURL + "/authenticate?authIndexType=service&authIndexValue=" + chain
        let json = ["Content-Type": "application/json", "Accept-API-Version": "resource=2.0, protocol=1.0"].map { ($0.key, $0.value) }
        let step = try call("POST", url, headers: json)
        guard let authID = step["authId"]?.stringValue, var callbacks = step["callbacks"]?.arrayValue, !callbacks.isEmpty,
            let challenge = callbacks[0]["output"]?.arrayValue?.first(where: { $0["name"] == "value" })?["value"]?.stringValue
        else { throw AMError(status: 502, message: "iec-am's answer has no challenge", url: url) }
        let nonce = try verifyChallenge(challenge, url: url)
        let now = clock.now.rounded(.down)
        var pop = JWTClaims(["nonce": .string(nonce)])
        pop.subject = configuration.subject
        pop.setAudience([realmURL])
        pop.issuedAt = now
        pop.expiration = now + 60
        let jwk = JWK(publicKey: key.publicKey)
        if register { pop["cnf"] = ["jwk": jwk.json] }
        var answers = [try JWS.sign(claims: pop, key: .es256(key, keyID: jwk.keyID))]
        if register {
            var id = JWTClaims()
            id.issuer = configuration.idTokenIssuer
            id.setAudience([configuration.idTokenAudience])
            id.subject = configuration.subject
            id.issuedAt = now
            id.expiration = now + Double(configuration.idTokenLifetime)
            answers.append(try JWS.sign(claims: id, key: .hs256(Array(configuration.vendorSecret.utf8), keyID: nil)))
        }
        for index in callbacks.indices {
            guard var members = callbacks[index].objectValue, let name = callbacks[index]["input"]?.arrayValue?.first?["name"] else { continue }
            members["input"] = [["name": name, "value": .string(index < answers.count ? answers[index] : "")]]
            callbacks[index] = .object(members)
        }
        let body: JSONValue = ["authId": .string(authID), "callbacks": .array(callbacks)]
        let result = try call("POST", url, headers: json, body: body.serializedBytes())
        guard let token = result["tokenId"]?.stringValue else { throw AMError(status: 502, message: "iec-am's answer has no tokenId", url: url) }
        return token
    }

    /// Checks the challenge against `am_public_key` (when configured) and returns its nonce.
    func verifyChallenge(_ challenge: String, url: String) throws -> String {
        let claims: JWTClaims
        do {
            if let challengeKey {
                claims = try JWS.verify(challenge, keys: .es256(challengeKey)).claims()
                try JWTValidationPolicy(leeway: 30).validate(claims, now: clock.now)
            } else {
                claims = try JWTClaims(payload: JWS.decode(challenge).payload)
            }
        } catch let error as JOSEError {
            throw AMError(status: 502, message: "the challenge from iec-am was refused (\(error.reason)); check am_public_key", url: url)
        }
        guard let nonce = claims.nonce else { throw AMError(status: 502, message: "the challenge has no nonce", url: url) }
        return nonce
    }

    /// True when iec-am still knows the session.
    public func validate(session: String) throws -> Bool {
        let result = try call("POST", realmURL + "/sessions?_action=validate", headers: [(configuration.cookieName, session)])
        return result["valid"]?.boolValue ?? false
    }

    // MARK: Commands

    func nextNonce() -> Int64 {
        let micros = Int64(clock.now * 1_000_000)
        return lastNonce.withLock { last in
            last = max(last + 1, micros)
            return last
        }
    }

    /// Sends one command, signed with the gateway's key and bound to the session.
    public func command(_ name: String, nodeID: String?, params: JSONValue, session: String, key: P256.PrivateKey) throws -> JSONValue {
        let now = clock.now.rounded(.down)
        var claims = JWTClaims(["command": .string(name), "params": params, "nonce": .int(nextNonce()), "csrf": .string(session)])
        if let nodeID { claims["id"] = .string(nodeID) }
        claims.setAudience([commandURL])
        claims.issuedAt = now
        claims.expiration = now + 60
        let body = try JWS.sign(claims: claims, key: .es256(key, keyID: JWK(publicKey: key.publicKey).keyID), type: "JOSE")
        return try call("POST", commandURL, headers: [
            (configuration.cookieName, session), ("Content-Type", "application/jose"), ("Accept-API-Version", configuration.commandEndpointVersion),
        ], body: Array(body.utf8))
    }

    /// A JWT-bearer assertion for a node, signed with the node's key (RFC 7523).
    public func assertion(for nodeID: String, key: P256.PrivateKey) throws -> String {
        let now = clock.now.rounded(.down)
        var claims = JWTClaims()
        claims.issuer = nodeID
        claims.subject = nodeID
        claims.setAudience([tokenEndpoint])
        claims.issuedAt = now
        claims.expiration = now + 120
        claims.jwtID = Base64.urlEncode(SecureRandom.bytes(16))
        return try JWS.sign(claims: claims, key: .es256(key, keyID: JWK(publicKey: key.publicKey).keyID))
    }
}
