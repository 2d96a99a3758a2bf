public import IECCrypto
public import IECJSON
public import JOSE
public import OAuth2
public import Store

/// The two authentication chains of an IEC realm, in AM's callback shape:
///
/// 1. The gateway POSTs to `.../authenticate?authIndexType=service&authIndexValue=CHAIN`
///    with no body; the answer holds `authId` and `HiddenValueCallback`s, the
///    first carrying a challenge JWT signed with the realm's ES256 challenge key.
/// 2. It POSTs `authId` and the callbacks back with their inputs filled: a
///    proof-of-possession JWT over the challenge nonce, signed with its own key
///    (and, to register, an ID token HMAC-signed with the vendor secret).
/// 3. The answer is `tokenId`, the node's session.
///
/// `authId` is itself a short-lived HS256 JWT, so that any iec-am sharing the
/// store can finish a chain another one started; the nonce is single-use in the store.
public struct AuthenticationChains: Sendable {
    public static let registration = "device_registration"
    public static let authentication = "device_authentication"
    public static let registrationCallback = "jwt-pop-registration"
    public static let authenticationCallback = "jwt-pop-authentication"
    public static let idTokenCallback = "jwt-id-token"
    /// How long a challenge may be answered.
    public static let challengeLifetime: Double = 60

    public let store: any Store
    public let provider: OAuth2Provider
    public let registry: NodeRegistry
    public let sessions: SessionManager
    public let random: any RandomSource
    var clock: any WallClock { provider.clock }

    public init(store: any Store, provider: OAuth2Provider, sessions: SessionManager, random: any RandomSource = SystemRandom()) {
        self.store = store
        self.provider = provider
        self.registry = NodeRegistry(store: store, clock: provider.clock)
        self.sessions = sessions
        self.random = random
    }

    /// The realm URL the PoP JWT must name as its audience (or the realm's OAuth2 issuer).
    public func audience(realm: String) -> String { provider.publicURL + "/json/realms/root/realms/\(realm)" }

    /// What the chain's answer is: a step with callbacks, or a session.
    public enum Outcome: Sendable {
        case callbacks(JSONValue)
        case session(token: String, identity: IdentityRecord, maxAge: Double)
    }

    /// One POST to the authenticate endpoint.
    public func authenticate(realm: String, chain requested: String?, body: JSONValue?) throws -> Outcome {
        let context = try realmContext(realm)
        if let body, let authID = body["authId"]?.stringValue {
            return try finish(context: context, authID: authID, callbacks: body["callbacks"]?.arrayValue ?? [], requested: requested)
        }
        guard let chain = requested, [Self.registration, Self.authentication].contains(chain) else {
            throw IECRealmError.badRequest("authIndexValue must be \(Self.registration) or \(Self.authentication)")
        }
        return .callbacks(try begin(context: context, chain: chain))
    }

    func realmContext(_ realm: String) throws -> RealmContext {
        guard let context = try provider.realmContext(realm) else { throw IECRealmError.notFound("realm \(realm) not found") }
        return context
    }

    private func settings(_ context: RealmContext) -> IECServiceSettings { IECServiceSettings(json: context.record.settings["iec"]) }

    private func stateKey(_ context: RealmContext) throws -> [UInt8] {
        guard let text = context.record.settings["verification_secret"]?.stringValue, let key = Base64.urlDecode(text) else {
            throw IECRealmError.serverError(hint: "realm \(context.name) has no verification_secret; run iec-am setup")
        }
        return key
    }

    private func begin(context: RealmContext, chain: String) throws -> JSONValue {
        let iec = settings(context)
        let keys = try store.signingKeys(realm: context.name, purpose: SigningKeyPurpose.challenge)
        guard let record = keys.last(where: { $0.status == .active && (iec.challengeKeyID.isEmpty || $0.keyID == iec.challengeKeyID) })
            ?? keys.last(where: { $0.status == .active }),
            let key = try? JWK(json: record.privateJWK).privateKey()
        else { throw IECRealmError.serverError(hint: "realm \(context.name) has no challenge signing key; run iec-am setup") }
        let now = clock.now.rounded(.down)
        let nonce = Base64.urlEncode(random.bytes(24))
        var challenge = JWTClaims(["nonce": .string(nonce), "chain": .string(chain)])
        challenge.issuer = provider.issuer(realm: context.name)
        challenge.setAudience([audience(realm: context.name)])
        challenge.issuedAt = now
        challenge.expiration = now + Self.challengeLifetime
        let challengeJWT = try JWS.sign(claims: challenge, key: .es256(key, keyID: record.keyID))
        let state = try JWS.sign(
            claims: JWTClaims(["realm": .string(context.name), "chain": .string(chain), "nonce": .string(nonce), "exp": .int(Int64(now + Self.challengeLifetime))]),
            key: .hs256(try stateKey(context), keyID: nil), type: "iec-auth")
        func callback(_ id: String, value: String, input: String) -> JSONValue {
            [
                "type": "HiddenValueCallback",
                "output": [["name": "value", "value": .string(value)], ["name": "id", "value": .string(id)]],
                "input": [["name": .string(input), "value": ""]],
            ]
        }
        var callbacks: [JSONValue] = []
        if chain == Self.registration {
            callbacks.append(callback(Self.registrationCallback, value: challengeJWT, input: "IDToken1"))
            callbacks.append(callback(Self.idTokenCallback, value: "", input: "IDToken2"))
        } else {
            callbacks.append(callback(Self.authenticationCallback, value: challengeJWT, input: "IDToken1"))
        }
        return ["authId": .string(state), "callbacks": .array(callbacks)]
    }

    /// The value the caller put in the input of the callback with `id`.
    private func input(_ callbacks: [JSONValue], id: String) -> String? {
        for callback in callbacks {
            let outputs = callback["output"]?.arrayValue ?? []
            guard outputs.contains(where: { $0["name"]?.stringValue == "id" && $0["value"]?.stringValue == id }) else { continue }
            return callback["input"]?.arrayValue?.first?["value"]?.stringValue
        }
        return nil
    }

    private func finish(context: RealmContext, authID: String, callbacks: [JSONValue], requested: String?) throws -> Outcome {
        let now = clock.now
        let state: JWTClaims
        do {
            let verified = try JWS.verify(authID, keys: .hs256(try stateKey(context)), maxBytes: 4096)
            guard verified.header["typ"]?.stringValue == "iec-auth" else { throw IECRealmError.unauthorized("the authId is not valid") }
            state = try verified.claims()
            try JWTValidationPolicy(leeway: 0).validate(state, now: now)
        } catch let error as JOSEError {
            throw IECRealmError.unauthorized(error.kind == .expired ? "the challenge has expired; start again" : "the authId is not valid")
        }
        guard state["realm"]?.stringValue == context.name, let chain = state["chain"]?.stringValue, let nonce = state.nonce else {
            throw IECRealmError.unauthorized("the authId is not valid")
        }
        if let requested, requested != chain { throw IECRealmError.unauthorized("the authId belongs to another chain") }
        let callbackID = chain == Self.registration ? Self.registrationCallback : Self.authenticationCallback
        guard let pop = input(callbacks, id: callbackID), !pop.isEmpty else {
            throw IECRealmError.unauthorized("the \(callbackID) callback has no proof-of-possession JWT")
        }
        // Single use: the first answer to a challenge consumes it, right or wrong.
        guard try store.consumeOnce(namespace: "challenge", key: "\(context.name)/\(nonce)", expiresAt: now + Self.challengeLifetime + 60, now: now) else {
            throw IECRealmError.unauthorized("the challenge was already used; start again")
        }
        let iec = settings(context)
        let identity: IdentityRecord
        if chain == Self.registration {
            identity = try register(context: context, iec: iec, pop: pop, idToken: input(callbacks, id: Self.idTokenCallback), nonce: nonce)
        } else {
            identity = try authenticateNode(context: context, pop: pop, nonce: nonce)
        }
        let token = try sessions.create(
            realm: context.name, subject: identity.id, kind: "node", idleTimeout: iec.sessionIdleTimeout, maxLifetime: iec.sessionMaxLifetime)
        return .session(token: token, identity: identity, maxAge: iec.sessionMaxLifetime)
    }

    /// The PoP's claims after checking them against `key`: audience, nonce, times.
    private func verifyPoP(_ pop: String, key: JWSVerificationKeys, context: RealmContext, nonce: String) throws -> JWTClaims {
        do {
            let verified = try JWS.verify(pop, keys: key, maxBytes: 16 * 1024)
            guard verified.algorithm == .es256 else { throw IECRealmError.unauthorized("the proof of possession must be ES256") }
            let claims = try verified.claims()
            try JWTValidationPolicy(nonce: nonce, leeway: 30, requireExpiration: true, maxLifetime: 600).validate(claims, now: clock.now)
            let accepted = [audience(realm: context.name), provider.issuer(realm: context.name)]
            guard claims.audience.contains(where: accepted.contains) else {
                throw IECRealmError.unauthorized("the proof of possession is not addressed to this realm (aud)")
            }
            guard claims.subject != nil else { throw IECRealmError.unauthorized("the proof of possession has no subject") }
            return claims
        } catch let error as JOSEError {
            throw IECRealmError.unauthorized("the proof of possession was refused: \(error.reason)")
        }
    }

    private func register(context: RealmContext, iec: IECServiceSettings, pop: String, idToken: String?, nonce: String) throws -> IdentityRecord {
        // The key to check the PoP with comes from the PoP itself (cnf.jwk): proving possession of it.
        let unverified: JWTClaims
        do {
            unverified = try JWTClaims(payload: JWS.decode(pop).payload)
        } catch let error as JOSEError {
            throw IECRealmError.unauthorized("the proof of possession is malformed: \(error.reason)")
        }
        guard let jwkJSON = unverified["cnf"]?["jwk"] else { throw IECRealmError.unauthorized("the proof of possession has no cnf.jwk") }
        let key = try NodeRegistry.publicKey(fromJWK: jwkJSON)
        let claims = try verifyPoP(pop, key: .es256(try key.publicKey()), context: context, nonce: nonce)
        let subject = claims.subject!

        guard let idToken, !idToken.isEmpty else { throw IECRealmError.unauthorized("registration needs the ID token (\(Self.idTokenCallback))") }
        guard !iec.vendorSecret.isEmpty else { throw IECRealmError.serverError(hint: "realm \(context.name) has no vendor secret") }
        do {
            let verified = try JWS.verify(idToken, keys: .hs256(Array(iec.vendorSecret.utf8)), maxBytes: 16 * 1024)
            let id = try verified.claims()
            try JWTValidationPolicy(
                issuer: iec.idTokenIssuer, audience: iec.idTokenAudience, subject: subject, leeway: 30, requireExpiration: true,
                maxLifetime: iec.maxIDTokenLifetime
            ).validate(id, now: clock.now)
        } catch let error as JOSEError {
            throw IECRealmError.unauthorized("the registration ID token was refused: \(error.reason)")
        }
        let existing = try store.identity(realm: context.name, id: subject)
        if existing == nil, !context.settings.dynamicProfileCreation {
            throw IECRealmError.unauthorized("no identity \(subject) exists and dynamic profile creation is off")
        }
        var attributes: [String: JSONValue] = [:]
        for name in ["platform", "version"] { if let value = claims[name]?.stringValue { attributes[name] = .string(value) } }
        let identity = try registry.register(realm: context.name, id: subject, type: .iec, parentID: nil, key: key, attributes: .object(attributes))
        if existing == nil {
            try? store.appendAudit(AuditEvent(realm: context.name, time: clock.now, actor: subject, action: "node.register", target: subject, outcome: "success", details: ["type": "iec"]))
        }
        return identity
    }

    private func authenticateNode(context: RealmContext, pop: String, nonce: String) throws -> IdentityRecord {
        let unverified: JWTClaims
        do {
            unverified = try JWTClaims(payload: JWS.decode(pop).payload)
        } catch let error as JOSEError {
            throw IECRealmError.unauthorized("the proof of possession is malformed: \(error.reason)")
        }
        guard let subject = unverified.subject, let identity = try store.identity(realm: context.name, id: subject) else {
            throw IECRealmError.unauthorized("authentication failed")
        }
        guard identity.status == .registered else { throw IECRealmError.unauthorized("the identity \(subject) is disabled") }
        _ = try verifyPoP(pop, key: .set(try registry.keys(of: identity)), context: context, nonce: nonce)
        return identity
    }
}
