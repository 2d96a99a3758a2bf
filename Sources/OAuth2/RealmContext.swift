public import IECCrypto
public import IECJSON
public import JOSE
public import Store

/// What the endpoints of one realm need, loaded from the store and cached briefly.
public struct RealmContext: Sendable {
    public let name: String
    public let record: RealmRecord
    public let settings: OAuth2Settings
    /// The key that signs new tokens.
    public let signingKey: P256.PrivateKey
    public let signingKeyID: String
    /// Every published token key (active and retired), to verify and for the JWKS.
    public let verificationKeys: JWKS
}

extension OAuth2Provider {
    /// The realm, or `nil` when it does not exist.
    public func realmContext(_ realm: String) throws -> RealmContext? {
        let now = clock.now
        return try realms.value(realm, now: now) { try loadRealm(realm, now: now) }
    }

    func requireRealm(_ realm: String) throws -> RealmContext {
        guard let context = try storeCall({ try realmContext(realm) }) else {
            throw OAuth2Error(code: "invalid_request", description: "realm \"\(realm.prefix(64))\" not found", status: 404)
        }
        return context
    }

    /// Forgets cached realm data, after an administrator changed it.
    public func invalidateRealm(_ realm: String) { realms.invalidate(realm) }

    private func loadRealm(_ name: String, now: Double) throws -> RealmContext? {
        guard let record = try store.realm(named: name) else { return nil }
        var keys = try store.signingKeys(realm: name, purpose: SigningKeyPurpose.token)
        if !keys.contains(where: { $0.status == .active }) {
            // A realm made by hand (or by an older setup) gets its first token key here;
            // two servers racing both publish their key, which is harmless.
            let key = try P256.PrivateKey()
            let jwk = JWK(privateKey: key)
            let record = SigningKeyRecord(
                realm: name, keyID: jwk.thumbprint(), purpose: SigningKeyPurpose.token, privateJWK: jwk.json, status: .active,
                createdAt: now)
            try store.putSigningKey(record)
            keys.append(record)
        }
        guard let active = keys.last(where: { $0.status == .active }) else { return nil }
        let activeJWK = try JWK(json: active.privateJWK)
        let published = try keys.map { try JWK(json: $0.privateJWK).publicJWK }
        return RealmContext(
            name: name, record: record, settings: OAuth2Settings(json: record.settings["oauth2"]),
            signingKey: try activeJWK.privateKey(), signingKeyID: active.keyID, verificationKeys: JWKS(keys: published))
    }
}

/// Purposes of realm signing keys.
public enum SigningKeyPurpose {
    /// Access and ID tokens; published in the realm's JWKS.
    public static let token = "token"
    /// IEC registration challenges (the seed's "Challenge Signing Key").
    public static let challenge = "challenge"
}
